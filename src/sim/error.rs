//! Errors of the simulator's Rust API.

/// Errors from the simulator's Rust API (not from its HTTP API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No group with this name was created.
    #[error("unknown Auto Scaling group {0:?}")]
    UnknownGroup(String),
    /// The group already has an active refresh.
    #[error("group {group:?} already has an active instance refresh {id}")]
    RefreshInProgress {
        /// The group.
        group: String,
        /// The active refresh.
        id: String,
    },
    /// The group has no Pending, InProgress or Baking refresh (to fail).
    #[error("group {0:?} has no Pending, InProgress or Baking instance refresh")]
    NoActiveRefresh(String),
}
