//! The computed state of a refresh at one instant: what `DescribeInstanceRefreshes` answers.

use tokio::time::Instant;

use super::snapshot::RefreshStatus;

/// `RollbackDetails` as computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RollbackView {
    pub(crate) at: Instant,
    pub(crate) reason: Option<String>,
    pub(crate) percentage: u32,
    pub(crate) instances_to_update: u32,
}

/// The computed state of a refresh at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) status: RefreshStatus,
    pub(crate) reason: Option<String>,
    pub(crate) percentage: u32,
    pub(crate) instances_to_update: u32,
    pub(crate) end: Option<Instant>,
    pub(crate) checkpoint: Option<u32>,
    pub(crate) stalled: bool,
    pub(crate) rollback: Option<RollbackView>,
}
