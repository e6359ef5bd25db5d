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

/// How a layer, its services and their calls hold the [`LayerConfig`]: shared with a reference
/// count (the default), or in static memory after
/// [`InstanceRefreshRetryLayer::leak`](crate::InstanceRefreshRetryLayer::leak), where handing it
/// to a call costs no atomic operation.
#[derive(Debug, Clone)]
pub(crate) enum ConfigRef {
    Shared(Arc<LayerConfig>),
    Static(&'static LayerConfig),
}

impl ConfigRef {
    pub(crate) fn new(config: LayerConfig) -> Self {
        ConfigRef::Shared(Arc::new(config))
    }
}

impl Deref for ConfigRef {
    type Target = LayerConfig;

    #[inline]
    fn deref(&self) -> &LayerConfig {
        match self {
            ConfigRef::Shared(config) => config,
            ConfigRef::Static(config) => config,
        }
    }
}
