//! Heap cost of wrapped calls that are all waiting at once, on paused tokio time.
//!
//! Shared by `benches/scale.rs` (1k to 100k calls) and the CI-sized test `tests/all/scale.rs`
//! (1k calls); each of those binaries installs [`CountingAlloc`] as its global allocator.
//!
//! One run ([`measure`]) spawns `n` calls on a current-thread runtime whose clock is paused,
//! yields until every call sleeps (a counting [`AsyncSleep`] counts the sleeps in progress; it
//! wraps each of tokio's in one more small state, on every path alike), reads the heap, then lets the runtime advance the paused clock so that every call
//! completes. The answers come from an in-memory HTTP client: the first `n` requests (each call's
//! first attempt) are refused, every later one succeeds, so each call waits exactly once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_autoscaling::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, Sleep};
use aws_smithy_async::time::StaticTimeSource;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use instance_refresh_retry::{
    AutoScalingConfigExt, InstanceRefreshRetryConfig, InstanceRefreshRetryLayer, Jitter,
    RetryPolicy, StartInstanceRefreshService,
};
use tower::{Layer, Service};

/// Allocation sizes tracked one by one; larger ones share the last class.
const SIZE_CLASSES: usize = 8192;

thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LIVE_BY_SIZE: [Cell<isize>; SIZE_CLASSES + 1] =
        const { [const { Cell::new(0) }; SIZE_CLASSES + 1] };
}

/// The system allocator, counting the bytes and blocks that the *current thread* allocates and
/// frees: its live bytes, their peak, and its live blocks by size. Per thread, so that tests
/// running beside it on other threads do not show up (each run here keeps its runtime on the
/// calling thread).
pub struct CountingAlloc;

fn record(size: usize, sign: isize) {
    // `try_with`: never panic inside the allocator (a thread being torn down).
    let _ = CURRENT.try_with(|current| {
        let now = current.get() + sign * size as isize;
        current.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    let _ = LIVE_BY_SIZE.try_with(|live| {
        let class = &live[size.min(SIZE_CLASSES)];
        class.set(class.get() + sign);
    });
}

// SAFETY: every call goes to `System` unchanged; the counting touches only thread-local cells
// of types without destructors, which neither allocate nor unwind.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record(layout.size(), 1);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(layout.size(), 1);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        record(layout.size(), -1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            record(layout.size(), -1);
            record(new_size, 1);
        }
        new
    }
}

/// The current thread's heap: its live bytes now.
fn heap_now() -> isize {
    CURRENT.with(Cell::get)
}

/// Starts a new peak at the current heap.
fn reset_peak() {
    PEAK.with(|peak| peak.set(heap_now()));
}

fn heap_peak() -> isize {
    PEAK.with(Cell::get)
}

fn live_by_size() -> Vec<isize> {
    LIVE_BY_SIZE.with(|live| live.iter().map(Cell::get).collect())
}

/// Which calls wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Tasks that only sleep (the same counting sleep): what the runtime itself costs per
    /// waiting task, the floor under every other row.
    Floor,
    /// `InstanceRefreshRetryLayer` over `StartInstanceRefreshService` (an SDK client without
    /// the interceptor): each call is refused with `InstanceRefreshInProgress` once and waits
    /// in the layer's sleep.
    Tower,
    /// The SDK client with `.instance_refresh_retry(..)`: refused with
    /// `InstanceRefreshInProgress` once, waits inside the SDK's retry loop.
    SdkInterceptor,
    /// The same SDK client without the interceptor: refused with `Throttling` once, waits in
    /// the SDK's own retry backoff.
    SdkPlain,
}

impl Path {
    pub const ALL: [Path; 4] = [
        Path::Floor,
        Path::Tower,
        Path::SdkInterceptor,
        Path::SdkPlain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Path::Floor => "floor: tokio task + sleep",
            Path::Tower => "tower: layer over StartInstanceRefreshService",
            Path::SdkInterceptor => "SDK: send() with the interceptor",
            Path::SdkPlain => "SDK: plain send(), SDK retry backoff",
        }
    }
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Measured {
    pub path: Path,
    pub calls: usize,
    /// Live heap above the baseline while all `calls` were waiting.
    pub parked_bytes: isize,
    /// The highest live heap above the baseline from the first spawn to the last completion.
    pub peak_bytes: isize,
    /// `size_of_val` of one call's future (spawned as is: its tokio task holds it on the heap,
    /// so it is part of `parked_bytes` already).
    pub future_size: usize,
    /// Sleeps in progress when the heap was read: every call was waiting.
    pub waiting: usize,
    /// HTTP requests answered by the end (two per call on the SDK-backed paths: refused, then
    /// answered; none on the floor).
    pub requests: usize,
    /// `on_retry` callbacks (the tower and interceptor paths; 0 elsewhere).
    pub on_retry: usize,
    /// Calls that returned `Ok`.
    pub completed: usize,
    /// Paused (virtual) time from the first spawn to the last completion.
    pub virtual_time: Duration,
    /// Wall-clock time for the same (reported only, never asserted).
    pub real_time: Duration,
    /// Wall-clock time from the first spawn until every call was waiting (reported only).
    pub real_to_park: Duration,
    /// Blocks per waiting call by size, for the sizes that at least half of the calls hold:
    /// `(size in bytes, blocks per call)`; the last class counts every size from
    /// `SIZE_CLASSES` up.
    pub blocks_per_call: Vec<(usize, f64)>,
}

impl Measured {
    /// Heap bytes per waiting call, the call's future (inside its task) included.
    pub fn bytes_per_call(&self) -> f64 {
        self.parked_bytes as f64 / self.calls as f64
    }

    /// Asserts that the run did what it measures: every call was waiting at once, each was
    /// refused once and then answered, and every call completed with `Ok`; on the tower and
    /// interceptor paths, one `on_retry` per call and all done after exactly one wait of [`WAIT`].
    pub fn check(&self) {
        let path = self.path;
        assert_eq!(self.completed, self.calls, "{path:?}: every call completes");
        assert_eq!(self.waiting, self.calls, "{path:?}: every call was waiting");
        if path != Path::Floor {
            assert_eq!(
                self.requests,
                2 * self.calls,
                "{path:?}: refused once, then answered"
            );
        }
        if matches!(path, Path::Tower | Path::SdkInterceptor) {
            assert_eq!(self.on_retry, self.calls, "{path:?}: one on_retry per call");
            assert_eq!(
                self.virtual_time, WAIT,
                "{path:?}: all calls wait {WAIT:?} together"
            );
        }
    }
}

/// The wait of the tower and interceptor paths: exactly 5 s (no jitter), so that the virtual
/// time to complete is exact.
pub const WAIT: Duration = Duration::from_secs(5);

fn policy() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_delay(WAIT)
        .jitter(Jitter::None)
        .build()
        .expect("a valid policy")
}

const START_OK: &str = include_str!("../../tests/fixtures/wire/start_ok.xml");
const START_IN_PROGRESS: &str = include_str!("../../tests/fixtures/wire/start_in_progress.xml");
const THROTTLING: &str = include_str!("../../tests/fixtures/wire/throttling.xml");

/// Tokio's sleep, counting the sleeps in progress: a sleep counts from its start until it is
/// dropped. The SDK starts short-lived sleeps of its own too (the identity cache's load timeout,
/// the upload throughput check), but they end within the task poll that started them, so
/// between polls the count is that of the calls waiting.
#[derive(Debug, Clone, Default)]
struct CountingSleep {
    live: Arc<AtomicUsize>,
}

struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncSleep for CountingSleep {
    fn sleep(&self, duration: Duration) -> Sleep {
        self.live.fetch_add(1, Ordering::Relaxed);
        let live = Live(self.live.clone());
        Sleep::new(async move {
            let _live = live;
            tokio::time::sleep(duration).await;
        })
    }
}

/// An SDK client over an in-memory HTTP client that refuses the first `refused` requests with
/// HTTP 400 and `refusal`, and answers every later one with 200; the counter counts the
/// requests. Its retry partition has a
/// token bucket large enough for every SDK retry of a run (the default 500 tokens would stop
/// retrying after 100 throttled calls); its clock is fixed (signing and `max_elapsed` read it,
/// never the wall clock); it sleeps on `sleep` (tokio's).
fn sdk_client(
    refused: usize,
    refusal: &'static str,
    sleep: &CountingSleep,
    retry: Option<InstanceRefreshRetryConfig>,
) -> (aws_sdk_autoscaling::Client, Arc<AtomicUsize>) {
    let answered = Arc::new(AtomicUsize::new(0));
    let requests = answered.clone();
    let http_client = infallible_client_fn(move |_req| {
        let (status, body) = if answered.fetch_add(1, Ordering::Relaxed) < refused {
            (400, refusal)
        } else {
            (200, START_OK)
        };
        HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
            .try_into_http1x()
            .unwrap()
    });
    let partition = RetryPartition::custom("scale")
        .token_bucket(TokenBucket::new(100 * refused.max(100)))
        .build();
    let builder = aws_sdk_autoscaling::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::from_static("us-east-1"))
        .credentials_provider(Credentials::new("AKIDSCALE", "secret", None, None, "scale"))
        .retry_partition(partition)
        .time_source(StaticTimeSource::new(
            UNIX_EPOCH + Duration::from_secs(1_764_000_000),
        ))
        .sleep_impl(SharedAsyncSleep::new(sleep.clone()))
        .http_client(http_client);
    let builder = match retry {
        Some(retry) => builder.instance_refresh_retry(retry),
        None => builder,
    };
    (
        aws_sdk_autoscaling::Client::from_conf(builder.build()),
        requests,
    )
}

/// Runs `n` calls on `path` on a fresh current-thread runtime with a paused clock; see the
/// module docs. Panics if a call does not wait exactly once.
pub fn measure(path: Path, n: usize) -> Measured {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    // No subscriber on this thread, whatever another test installed globally: the calls' spans
    // stay disabled, as in a program without tracing.
    let quiet = tracing::subscriber::NoSubscriber::default();
    tracing::subscriber::with_default(quiet, || runtime.block_on(run(path, n)))
}

async fn run(path: Path, n: usize) -> Measured {
    let sleep = CountingSleep::default();
    let on_retry = Arc::new(AtomicUsize::new(0));
    let counter = on_retry.clone();
    let count_retry = move |_: &instance_refresh_retry::RetryEvent<'_>| {
        counter.fetch_add(1, Ordering::Relaxed);
    };
    // Everything the calls share is built before `park_all` reads its baseline.
    let (mut measured, requests) = match path {
        Path::Floor => {
            let floor = || {
                let sleep = sleep.clone();
                async move {
                    sleep.sleep(WAIT).await;
                    Ok::<_, ()>(())
                }
            };
            (park_all(path, n, &sleep, floor).await, 0)
        }
        Path::Tower => {
            let (sdk, requests) = sdk_client(n, START_IN_PROGRESS, &sleep, None);
            let layer = InstanceRefreshRetryLayer::new(policy())
                .sleep_impl(sleep.clone())
                .on_retry(count_retry);
            let mut svc = layer.layer(StartInstanceRefreshService::new(sdk));
            let input = StartInstanceRefreshInput::builder()
                .auto_scaling_group_name("web")
                .build()
                .expect("a valid input");
            // The SDK service is always ready: no `poll_ready` needed.
            let call = || svc.call(input.clone());
            (
                park_all(path, n, &sleep, call).await,
                requests.load(Ordering::Relaxed),
            )
        }
        Path::SdkInterceptor | Path::SdkPlain => {
            let (sdk, requests) = if path == Path::SdkInterceptor {
                let retry = InstanceRefreshRetryConfig::new(policy()).on_retry(count_retry);
                sdk_client(n, START_IN_PROGRESS, &sleep, Some(retry))
            } else {
                sdk_client(n, THROTTLING, &sleep, None)
            };
            let call = || {
                sdk.start_instance_refresh()
                    .auto_scaling_group_name("web")
                    .send()
            };
            (
                park_all(path, n, &sleep, call).await,
                requests.load(Ordering::Relaxed),
            )
        }
    };
    measured.requests = requests;
    measured.on_retry = on_retry.load(Ordering::Relaxed);
    measured
}

/// Spawns `n` calls made by `call`, each its own task holding the call's future as is; yields
/// until all `n` sleep, reads the heap, then waits for every call to complete.
async fn park_all<F, T, E>(
    path: Path,
    n: usize,
    sleep: &CountingSleep,
    mut call: impl FnMut() -> F,
) -> Measured
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let mut handles = Vec::with_capacity(n);
    let mut future_size = 0;
    let before_by_size = live_by_size();
    let baseline = heap_now();
    reset_peak();
    let virtual_start = tokio::time::Instant::now();
    let real_start = std::time::Instant::now();

    for _ in 0..n {
        let call = call();
        future_size = std::mem::size_of_val(&call);
        handles.push(tokio::spawn(call));
    }
    // The clock stays put while this task keeps yielding: tokio advances a paused clock only
    // when the runtime has nothing to run.
    while sleep.live.load(Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
    let real_to_park = real_start.elapsed();
    let parked_bytes = heap_now() - baseline;
    let after_by_size = live_by_size();
    let waiting = sleep.live.load(Ordering::Relaxed);

    let mut completed = 0;
    for handle in handles {
        if handle.await.expect("no call panics").is_ok() {
            completed += 1;
        }
    }
    let virtual_time = virtual_start.elapsed();
    let real_time = real_start.elapsed();
    let blocks_per_call = before_by_size
        .iter()
        .zip(&after_by_size)
        .enumerate()
        .filter_map(|(size, (before, after))| {
            let per_call = (after - before) as f64 / n as f64;
            (per_call >= 0.5).then_some((size, per_call))
        })
        .collect();
    Measured {
        path,
        calls: n,
        parked_bytes,
        peak_bytes: heap_peak() - baseline,
        future_size,
        waiting,
        requests: 0,
        on_retry: 0,
        completed,
        virtual_time,
        real_time,
        real_to_park,
        blocks_per_call,
    }
}
