//! The tower path through the real SDK client, scripted with aws-smithy-mocks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshError, StartInstanceRefreshInput, StartInstanceRefreshOutput,
};
use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use instance_refresh_retry::{
    InstanceRefreshRetryLayer, Jitter, RetryOutcome, RetryPolicy, RetryStats,
    StartInstanceRefreshService,
};
use tokio::time::Instant;
use tower::{ServiceBuilder, ServiceExt};

#[tokio::test(start_paused = true)]
async fn in_progress_three_times_then_success_through_the_sdk_client() {
    let rule = mock!(Client::start_instance_refresh)
        .match_requests(|req| req.auto_scaling_group_name() == Some("web"))
        .sequence()
        .error(|| {
            StartInstanceRefreshError::InstanceRefreshInProgressFault(
                InstanceRefreshInProgressFault::builder().build(),
            )
        })
        .times(3)
        .output(|| {
            StartInstanceRefreshOutput::builder()
                .instance_refresh_id("a6daf44f-3a2a-47a6-ae05-153de6c69b78")
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule]);
    let stats: Arc<Mutex<Vec<RetryStats>>> = Arc::default();
    let sink = stats.clone();
    let policy = RetryPolicy::builder()
        .initial_delay(Duration::from_secs(30))
        .jitter(Jitter::None)
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(
            InstanceRefreshRetryLayer::new(policy)
                .on_finish(move |s| sink.lock().unwrap().push(*s)),
        )
        .timeout(Duration::from_secs(10))
        .service(StartInstanceRefreshService::new(client));
    let input = StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .build()
        .unwrap();
    let start = Instant::now();

    let out = svc.oneshot(input).await.unwrap();

    assert_eq!(
        out.instance_refresh_id(),
        Some("a6daf44f-3a2a-47a6-ae05-153de6c69b78")
    );
    assert_eq!(rule.num_calls(), 4);
    // 30 + 60 + 120 s (the default 2 min cap) of virtual time.
    assert_eq!(start.elapsed(), Duration::from_secs(210));
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            4,
            Duration::from_secs(210),
            Duration::from_secs(210),
            RetryOutcome::Succeeded
        )]
    );
}
