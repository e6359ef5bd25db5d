//! [`LayerConfig`]: what the layer and every service it builds share.

use std::ops::Deref;
use std::sync::Arc;

use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::SharedTimeSource;

use crate::core::clock::TokioTime;
use crate::core::policy::RetryPolicy;
use crate::core::settings::Settings;

/// What the layer and every service it builds share: the [`Settings`] of both paths, plus the
/// sleep and the clock of this one.
#[derive(Debug, Clone)]
pub(crate) struct LayerConfig {
    pub(crate) settings: Settings,
    pub(crate) sleep: SharedAsyncSleep,
    pub(crate) time: SharedTimeSource,
}

impl LayerConfig {
    /// This policy with the layer's defaults: the default classifier, no callbacks, tokio's sleep
    /// and clock.
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        LayerConfig {
            settings: Settings::new(policy),
            sleep: SharedAsyncSleep::new(TokioSleep::new()),
            time: SharedTimeSource::new(TokioTime::new()),
        }
    }
}

/// How a layer, its services and their calls share the [`LayerConfig`]: a counted reference whose
/// release (the atomic decrement, and the free after the last one) is out of line. The future of
/// a call then drops without inline atomics, which lets the compiler build and return it in place:
/// on the success path that halves the cost of a call (see `benches/overhead.rs`).
#[derive(Debug, Clone)]
pub(crate) struct SharedConfig(Option<Arc<LayerConfig>>);

impl SharedConfig {
    pub(crate) fn new(config: LayerConfig) -> Self {
        SharedConfig(Some(Arc::new(config)))
    }
}

impl Drop for SharedConfig {
    #[inline]
    fn drop(&mut self) {
        #[inline(never)]
        fn release(config: Arc<LayerConfig>) {
            drop(config);
        }
        if let Some(config) = self.0.take() {
            release(config);
        }
    }
}

impl Deref for SharedConfig {
    type Target = LayerConfig;

    #[inline]
    fn deref(&self) -> &LayerConfig {
        match &self.0 {
            Some(config) => config,
            // Empty only inside `drop`.
            None => unreachable!("the configuration is read after its release"),
        }
    }
}
