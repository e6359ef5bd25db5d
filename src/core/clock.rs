//! The default clock of the tower path and the Refresher: tokio's, so that a test under
//! `tokio::time::pause()` measures `max_elapsed` on the same clock that the default sleep
//! (tokio's) advances.

use std::time::SystemTime;

use aws_smithy_async::time::TimeSource;
use tokio::time::Instant;

/// A [`TimeSource`] that reads tokio's clock: the wall-clock time at creation plus the tokio time
/// that has passed since.
#[derive(Debug)]
pub(crate) struct TokioTime {
    base: SystemTime,
    start: Instant,
}

impl TokioTime {
    pub(crate) fn new() -> Self {
        TokioTime {
            base: SystemTime::now(),
            start: Instant::now(),
        }
    }
}

impl TimeSource for TokioTime {
    fn now(&self) -> SystemTime {
        self.base + self.start.elapsed()
    }
}
