//! What every awsQuery operation shares: its form parameters, and the error it answers.

use super::error::SimError;
use super::xml::{ErrorType, Node};

/// The exact message AWS sends with `InstanceRefreshInProgress`.
pub(crate) const IN_PROGRESS_MESSAGE: &str =
    "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.";

/// An error answered as an `<ErrorResponse>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) kind: ErrorType,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: if status >= 500 && code != "ResourceContention" {
                ErrorType::Receiver
            } else {
                ErrorType::Sender
            },
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// `MalformedInput` for a value of `key` that is not of its type.
    pub(crate) fn malformed(key: &str, raw: &str) -> Self {
        ApiError::new(
            400,
            "MalformedInput",
            format!("Invalid value for {key}: '{raw}'"),
        )
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        ApiError::new(400, "ValidationError", message)
    }

    pub(crate) fn missing(member: &str) -> Self {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    pub(crate) fn unknown_group(name: &str) -> Self {
        ApiError::validation(format!(
            "AutoScalingGroup name not found - AutoScalingGroup '{name}' not found"
        ))
    }

    pub(crate) fn no_active(group: &str) -> Self {
        ApiError::new(
            400,
            "ActiveInstanceRefreshNotFound",
            format!(
                "No in progress or pending Instance Refresh found for Auto Scaling group {group}"
            ),
        )
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::UnknownGroup(name) => ApiError::unknown_group(&name),
            SimError::RefreshInProgress { .. } => {
                ApiError::new(400, "InstanceRefreshInProgress", IN_PROGRESS_MESSAGE)
            }
            SimError::NoActiveRefresh(group) => ApiError::no_active(&group),
        }
    }
}

/// A successful operation: the elements inside `<{Action}Result>` and whether state changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) result: Vec<Node>,
    pub(crate) applied: bool,
}

/// Form parameters of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a>(pub(crate) &'a [(String, String)]);

impl<'a> Params<'a> {
    /// The last value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `AutoScalingGroupName` parameter, required and not empty.
    pub(crate) fn group(&self) -> Result<&'a str, ApiError> {
        let name = self
            .get("AutoScalingGroupName")
            .ok_or_else(|| ApiError::missing("autoScalingGroupName"))?;
        if name.is_empty() {
            return Err(ApiError::validation(
                "1 validation error detected: Value '' at 'autoScalingGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        Ok(name)
    }

    /// `name` as a boolean (`true`/`false`, any case), if present; `MalformedInput` if not one.
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|raw| {
                if raw.eq_ignore_ascii_case("true") {
                    Ok(true)
                } else if raw.eq_ignore_ascii_case("false") {
                    Ok(false)
                } else {
                    Err(ApiError::malformed(name, raw))
                }
            })
            .transpose()
    }

    /// `name` as an integer, if present; `MalformedInput` if not one.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|raw| {
                raw.parse::<i64>()
                    .map_err(|_| ApiError::malformed(name, raw))
            })
            .transpose()
    }

    /// Every parameter whose name starts with `prefix`, with the rest of the name.
    pub(crate) fn with_prefix(
        &self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }
}

/// `MaxRecords`: absent, `default`; otherwise an integer in `1..=100` (API reference of both
/// describe operations).
pub(crate) fn max_records(params: Params<'_>, default: usize) -> Result<usize, ApiError> {
    let Some(raw) = params.get("MaxRecords") else {
        return Ok(default);
    };
    match raw.parse::<i64>() {
        Ok(n) if n > 100 => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100"
        ))),
        Ok(n) if n < 1 => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxRecords' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        Ok(n) => Ok(usize::try_from(n).unwrap_or(default)),
        Err(_) => Err(ApiError::malformed("MaxRecords", raw)),
    }
}

/// The offset a `NextToken` of ours (`{prefix}{offset}`) stands for; 0 without one.
pub(crate) fn next_token_offset(params: Params<'_>, prefix: &str) -> Result<usize, ApiError> {
    match params.get("NextToken") {
        None | Some("") => Ok(0),
        Some(token) => token
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidNextToken",
                    format!("The token '{token}' is invalid."),
                )
            }),
    }
}
