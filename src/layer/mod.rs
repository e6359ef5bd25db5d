//! The tower path: a [`Layer`](tower::Layer), the [`Service`](tower::Service) it builds, that
//! service's response future, and the adapter over the SDK client. tower's own `retry` module is
//! the model.
//!
//! - [`retry_layer`] holds [`InstanceRefreshRetryLayer`] and its options;
//! - [`service`] holds [`InstanceRefreshRetry`];
//! - [`future`] holds [`ResponseFuture`](future::ResponseFuture), one call from its first attempt to
//!   its end;
//! - [`respond`] holds how a success is handed back, [`Unchanged`] or [`WithStats`];
//! - [`sdk_service`] holds the adapter, [`StartInstanceRefreshService`](sdk_service::StartInstanceRefreshService);
//! - [`config`] holds what a layer's services share.
//!
//! Nothing here imports from `interceptor/`; both paths build on `core/`.

mod config;
pub(crate) mod future;
mod respond;
mod retry_layer;
pub(crate) mod sdk_service;
mod service;

pub use respond::{Respond, Unchanged, WithStats};
pub use retry_layer::InstanceRefreshRetryLayer;
pub use service::InstanceRefreshRetry;
