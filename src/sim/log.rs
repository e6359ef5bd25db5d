//! The call log: one record per HTTP request the simulator received.

use std::collections::BTreeMap;
use std::time::Duration;

use super::fault::Fault;

/// One request received by the simulator, as returned by
/// [`AutoScalingSim::calls`](super::AutoScalingSim::calls).
///
/// See the [module docs](super) for an overview.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallRecord {
    /// Position in arrival order, starting at 0.
    pub index: usize,
    /// The `Action` parameter, e.g. `"StartInstanceRefresh"`; `None` if the request had none
    /// or could not be decoded.
    pub operation: Option<String>,
    /// All form parameters except `Action` and `Version`, sorted by name. A repeated name keeps
    /// its last value.
    pub params: BTreeMap<String, String>,
    /// When the request arrived, as tokio time since the simulator started.
    pub at: Duration,
    /// The request id sent back (header and body), if a response was written.
    pub request_id: Option<String>,
    /// What the simulator answered.
    pub outcome: CallOutcome,
    /// The fault injected into this call, if any.
    pub fault: Option<Fault>,
    /// Whether the request changed the simulated state (started, cancelled or rolled back a
    /// refresh).
    pub applied: bool,
}

impl CallRecord {
    /// Whether this call was for `operation`.
    pub fn is(&self, operation: &str) -> bool {
        self.operation.as_deref() == Some(operation)
    }

    /// The error code answered, if the outcome was an error response.
    pub fn error_code(&self) -> Option<&str> {
        match &self.outcome {
            CallOutcome::Error { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// What the simulator did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallOutcome {
    /// A well-formed success response.
    Ok {
        /// HTTP status code (200).
        status: u16,
    },
    /// A well-formed `<ErrorResponse>`.
    Error {
        /// HTTP status code.
        status: u16,
        /// The `<Code>` element, e.g. `"InstanceRefreshInProgress"`.
        code: String,
    },
    /// A canned or deliberately malformed body ([`Fault::Raw`], [`Fault::MalformedBody`]).
    Raw {
        /// HTTP status code.
        status: u16,
    },
    /// The connection was closed without a response.
    Dropped,
}

impl CallOutcome {
    /// The HTTP status written, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallOutcome::Ok { status }
            | CallOutcome::Error { status, .. }
            | CallOutcome::Raw { status } => Some(*status),
            CallOutcome::Dropped => None,
        }
    }
}
