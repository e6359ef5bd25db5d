//! The HTTP side: accept loop, per-connection tasks and request handling.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::api::{ApiError, Params};
use super::fault::Fault;
use super::log::{CallOutcome, CallRecord};
use super::ops;
use super::state::State;
use super::xml;

/// Largest request body accepted (real awsQuery requests are a few hundred bytes).
const MAX_BODY: usize = 1 << 20;

/// State shared by the accept loop, connection tasks and the [`AutoScalingSim`](super::AutoScalingSim) handle.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(state: State) -> Self {
        Shared {
            state: Mutex::new(state),
        }
    }

    /// Lock the state. A panic while holding the lock cannot leave it inconsistent in a way
    /// that matters for a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returned by the service to make hyper close the connection without writing a response.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("simulated connection drop")
    }
}

impl std::error::Error for DropConnection {}

/// Accept connections until `shutdown` changes or its sender is dropped.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let shared = Arc::clone(&shared);
                    let mut stop = shutdown.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |req| handle(Arc::clone(&shared), req));
                        let conn = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            result = conn => {
                                if let Err(error) = result {
                                    tracing::trace!(%error, "sim: connection ended");
                                }
                            }
                            _ = stop.changed() => {}
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "sim: accept failed");
                    tokio::task::yield_now().await;
                }
            },
            _ = shutdown.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

/// What to send back for one request.
#[derive(Debug)]
enum Reply {
    Respond {
        status: u16,
        body: String,
        request_id: Option<String>,
    },
    Drop,
}

/// A request decoded as far as possible: the Action (if any) and all parameters, or the error
/// to answer if it could not be decoded.
struct Decoded {
    operation: Option<String>,
    params: Vec<(String, String)>,
    error: Option<ApiError>,
}

fn is_form(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

async fn decode(req: Request<Incoming>) -> Result<Decoded, DropConnection> {
    let method_ok = req.method() == Method::POST;
    let method = req.method().clone();
    let form = is_form(req.headers().get(CONTENT_TYPE));
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Ok(Decoded {
                operation: None,
                params: Vec::new(),
                error: Some(ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    format!("Request body larger than {MAX_BODY} bytes"),
                )),
            });
        }
        // The client went away mid-body: nobody to answer.
        Err(_) => return Err(DropConnection),
    };
    let parsed = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body);
    let (params, parse_error) = match parsed {
        Ok(params) => (params, None),
        Err(error) => (
            Vec::new(),
            Some(ApiError::new(
                400,
                "MalformedQueryString",
                format!("The request body is not a valid form-urlencoded string: {error}"),
            )),
        ),
    };
    let operation = params
        .iter()
        .rev()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone());
    let error = if !method_ok {
        Some(ApiError::new(
            400,
            "InvalidHttpRequest",
            format!("Unsupported HTTP method {method}; awsQuery requests are POST /"),
        ))
    } else if !form {
        Some(ApiError::new(
            400,
            "InvalidHttpRequest",
            "Content-Type must be application/x-www-form-urlencoded",
        ))
    } else {
        parse_error
    };
    Ok(Decoded {
        operation,
        params,
        error,
    })
}

/// Serve one request: decode, pick a fault, apply, log, answer.
async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let decoded = decode(req).await?;
    let (reply, delay) = {
        let mut state = shared.lock();
        decide(&mut state, decoded)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match reply {
        Reply::Drop => Err(DropConnection),
        Reply::Respond {
            status,
            body,
            request_id,
        } => Ok(response(status, body, request_id.as_deref())),
    }
}

fn response(status: u16, body: String, request_id: Option<&str>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

fn error_reply(state: &mut State, error: &ApiError) -> (Reply, CallOutcome, Option<String>) {
    let request_id = state.request_id();
    let body = xml::error_body(error.kind, &error.code, &error.message, &request_id);
    (
        Reply::Respond {
            status: error.status,
            body,
            request_id: Some(request_id.clone()),
        },
        CallOutcome::Error {
            status: error.status,
            code: error.code.clone(),
        },
        Some(request_id),
    )
}

fn internal_failure() -> ApiError {
    ApiError::new(
        500,
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
    )
}

fn fault_error(fault: &Fault) -> Option<ApiError> {
    Some(match fault {
        Fault::Throttling => ApiError::new(400, "Throttling", "Rate exceeded"),
        Fault::InternalFailure => internal_failure(),
        Fault::ServiceUnavailable => ApiError::new(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
        Fault::ResourceContention => ApiError::new(
            500,
            "ResourceContention",
            "You already have a pending update to an Auto Scaling resource (for example, a group, instance, or load balancer).",
        ),
        Fault::Error {
            status,
            code,
            message,
        } => ApiError::new(*status, code, message.clone()),
        _ => return None,
    })
}

/// Decide the reply for one decoded request, applying it to `state` when appropriate, and log
/// it. Runs entirely under the state lock, so the log is in arrival order.
fn decide(state: &mut State, decoded: Decoded) -> (Reply, Option<Duration>) {
    let now = state.clock.now();
    let at = state.clock.since_start(now);
    let operation = decoded.operation;
    let fault = state.faults.take(operation.as_deref());
    let mut applied = false;
    let mut delay = None;

    let injected_error = fault.as_ref().and_then(fault_error);
    let (reply, outcome, request_id) = match (&fault, injected_error) {
        (_, Some(error)) => error_reply(state, &error),
        (Some(Fault::CloseConnection), None) => (Reply::Drop, CallOutcome::Dropped, None),
        (Some(Fault::Raw { status, body }), None) => {
            let request_id = xml::find_request_id(body);
            (
                Reply::Respond {
                    status: *status,
                    body: body.clone(),
                    request_id: request_id.clone(),
                },
                CallOutcome::Raw { status: *status },
                request_id,
            )
        }
        (Some(Fault::MalformedBody), None) => {
            let action = operation.as_deref().unwrap_or("Unknown");
            let action: String = action.chars().filter(char::is_ascii_alphanumeric).collect();
            let request_id = state.request_id();
            // Cut inside the root start tag: the SDK's XML reader accepts a document cut
            // anywhere after the root start tag as a (partial) success.
            let body = format!("<{action}Response xmlns=\"http://autoscaling.amazon");
            (
                Reply::Respond {
                    status: 200,
                    body,
                    request_id: Some(request_id.clone()),
                },
                CallOutcome::Raw { status: 200 },
                Some(request_id),
            )
        }
        (other, None) => {
            if let Some(Fault::Slow(d)) = other {
                delay = Some(*d);
            }
            let result = match (&decoded.error, &operation) {
                (Some(error), _) => Err(error.clone()),
                (None, None) => Err(ApiError::new(
                    400,
                    "MissingAction",
                    "The request must contain the parameter Action",
                )),
                (None, Some(action)) => ops::dispatch(state, now, action, Params(&decoded.params)),
            };
            let (reply, outcome, request_id) = match result {
                Ok(done) => {
                    applied = done.applied;
                    let action = operation.as_deref().unwrap_or_default();
                    let request_id = state.request_id();
                    let body = xml::success_body(action, &done.result, &request_id);
                    (
                        Reply::Respond {
                            status: 200,
                            body,
                            request_id: Some(request_id.clone()),
                        },
                        CallOutcome::Ok { status: 200 },
                        Some(request_id),
                    )
                }
                Err(error) => error_reply(state, &error),
            };
            match other {
                Some(Fault::ResponseLost) => (Reply::Drop, CallOutcome::Dropped, None),
                Some(Fault::AppliedInternalFailure) => error_reply(state, &internal_failure()),
                _ => (reply, outcome, request_id),
            }
        }
    };

    let params: BTreeMap<String, String> = decoded
        .params
        .into_iter()
        .filter(|(k, _)| k != "Action" && k != "Version")
        .collect();
    tracing::debug!(
        operation = operation.as_deref().unwrap_or("-"),
        status = outcome.status(),
        request_id = request_id.as_deref().unwrap_or("-"),
        fault = fault.as_ref().map(Fault::name),
        applied,
        "sim: call"
    );
    let index = state.calls.len();
    state.calls.push(CallRecord {
        index,
        operation,
        params,
        at,
        request_id,
        outcome,
        fault,
        applied,
    });
    (reply, delay)
}
