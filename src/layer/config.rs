//! [`LayerConfig`]: what the layer and every service it builds share.

use aws_smithy_async::rt::sleep::SharedAsyncSleep;
use aws_smithy_async::time::SharedTimeSource;

use crate::core::settings::Settings;

/// What the layer and every service it builds share: the [`Settings`] of both paths, plus the
/// sleep and the clock of this one.
#[derive(Debug, Clone)]
pub(crate) struct LayerConfig {
    pub(crate) settings: Settings,
    pub(crate) sleep: SharedAsyncSleep,
    pub(crate) time: SharedTimeSource,
}
