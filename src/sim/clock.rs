//! The simulator's clock: tokio time for ordering and durations, mapped onto wall-clock timestamps.
//!
//! Everything the simulator decides (status, progress, delays) is computed from
//! [`tokio::time::Instant`], so `tokio::time::pause()` makes an hour-long refresh pass in
//! milliseconds. Timestamps sent on the wire are `wall_start + (tokio now - tokio start)`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Maps tokio instants to wall-clock times.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
    wall_start: SystemTime,
}

impl Clock {
    /// A clock whose tokio origin is "now" and whose wall-clock origin is `wall_start`.
    pub(crate) fn new(wall_start: SystemTime) -> Self {
        Clock {
            start: Instant::now(),
            wall_start,
        }
    }

    /// The current tokio instant.
    pub(crate) fn now(&self) -> Instant {
        Instant::now()
    }

    /// Time since the simulator started, measured on the tokio clock.
    pub(crate) fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    /// The wall-clock time for a tokio instant.
    pub(crate) fn wall(&self, at: Instant) -> SystemTime {
        self.wall_start + self.since_start(at)
    }

    /// ISO-8601 UTC timestamp in whole seconds for a tokio instant, e.g. `2026-11-26T03:57:26Z`
    /// (Auto Scaling sends no fractional seconds; the fraction is truncated).
    pub(crate) fn timestamp(&self, at: Instant) -> String {
        format_timestamp(self.wall(at))
    }
}

/// Format `t` as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds: the fraction is truncated, as in
/// real Auto Scaling responses). Times before 1970 are clamped to the epoch.
pub(crate) fn format_timestamp(t: SystemTime) -> String {
    let since_epoch = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_timestamps() {
        assert_eq!(format_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2026-11-26T03:57:26.223Z: Auto Scaling sends whole seconds, so the fraction is cut.
        let t = UNIX_EPOCH + Duration::from_millis(1_795_665_446_223);
        assert_eq!(format_timestamp(t), "2026-11-26T03:57:26Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_665_446_999);
        assert_eq!(format_timestamp(t), "2026-11-26T03:57:26Z");
        // Leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format_timestamp(t), "2000-02-29T00:00:00Z");
    }
}
