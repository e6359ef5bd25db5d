//! Seeded garbage over raw TCP: the server answers or closes every time, never hangs or
//! panics, and keeps serving.

use std::time::Duration;

use instance_refresh_retry::sim::GroupConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{client, parse_response, sim_with_web, xml_paths};

const ROUNDS: usize = 300;

const KEYS: &[&str] = &[
    "Action",
    "Version",
    "AutoScalingGroupName",
    "MaxRecords",
    "NextToken",
    "Strategy",
    "InstanceRefreshIds.member.1",
    "InstanceRefreshIds.member.x",
    "Preferences.MinHealthyPercentage",
    "Preferences.CheckpointPercentages.member.2",
    "Preferences..member",
    "Preferences.",
    "",
];
const VALUES: &[&str] = &[
    "StartInstanceRefresh",
    "DescribeInstanceRefreshes",
    "CancelInstanceRefresh",
    "RollbackInstanceRefresh",
    "2011-01-01",
    "web",
    "nope",
    "-1",
    "0",
    "101",
    "99999999999999999999",
    "sim-1",
    "sim-18446744073709551615",
    "%",
    "%zz",
    "%00",
    "<&>\"'",
    "",
];

fn random_bytes(rng: &mut fastrand::Rng, max: usize) -> Vec<u8> {
    let len = rng.usize(0..max);
    (0..len).map(|_| rng.u8(..)).collect()
}

fn random_form(rng: &mut fastrand::Rng) -> Vec<u8> {
    let pairs = rng.usize(0..8);
    let mut out = String::new();
    for i in 0..pairs {
        if i > 0 {
            out.push(if rng.u8(..) < 240 { '&' } else { '=' });
        }
        out.push_str(KEYS[rng.usize(..KEYS.len())]);
        if rng.bool() {
            out.push('=');
            out.push_str(VALUES[rng.usize(..VALUES.len())]);
        }
    }
    out.into_bytes()
}

/// A complete HTTP request with a garbage body. Returns the bytes.
fn well_formed(rng: &mut fastrand::Rng) -> Vec<u8> {
    let body = if rng.bool() {
        random_form(rng)
    } else {
        random_bytes(rng, 256)
    };
    let method = ["POST", "POST", "POST", "GET", "PUT", "DELETE"][rng.usize(..6)];
    let content_type = [
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n",
        "Content-Type: text/plain\r\n",
        "Content-Type: APPLICATION/X-WWW-FORM-URLENCODED\r\n",
        "",
    ][rng.usize(..5)];
    let mut req = format!(
        "{method} / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{content_type}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend(body);
    req
}

/// Something that may not be a valid HTTP request at all.
fn malformed(rng: &mut fastrand::Rng) -> Vec<u8> {
    match rng.usize(0..4) {
        0 => random_bytes(rng, 512),
        // Body shorter than Content-Length: the server waits until we half-close.
        1 => {
            let mut req = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".to_vec();
            req.extend(random_form(rng));
            req
        }
        // Broken chunked encoding.
        2 => {
            let mut req =
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            req.extend(random_bytes(rng, 64));
            req
        }
        // A truncated header block.
        _ => {
            let req = well_formed(rng);
            let cut = rng.usize(0..=req.len());
            req[..cut].to_vec()
        }
    }
}

#[tokio::test]
async fn garbage_never_hangs_or_breaks_the_server() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let addr = sim.local_addr();
    let mut rng = fastrand::Rng::with_seed(0x5EED);
    let mut well_formed_sent = 0;
    let mut answered = 0;
    for round in 0..ROUNDS {
        let complete = rng.bool();
        let bytes = if complete {
            well_formed(&mut rng)
        } else {
            malformed(&mut rng)
        };
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // The server may close early on garbage; a failed write is fine.
        let _ = stream.write_all(&bytes).await;
        if !complete {
            let _ = stream.shutdown().await;
        }
        let mut buf = Vec::new();
        let read = timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "round {round}: server hung on {bytes:?}");
        if complete {
            well_formed_sent += 1;
            let response = parse_response(&buf)
                .unwrap_or_else(|| panic!("round {round}: no response to {bytes:?}"));
            assert!(
                matches!(response.status, 200 | 400 | 413),
                "round {round}: status {}",
                response.status
            );
            // Every answer of ours is well-formed XML of the expected shape.
            let map = xml_paths(&response.body);
            let root = map
                .keys()
                .next()
                .expect("root")
                .split('/')
                .next()
                .expect("root");
            assert!(
                root == "ErrorResponse" || (response.status == 200 && root.ends_with("Response")),
                "round {round}: {}",
                response.body
            );
            answered += 1;
        }
    }
    assert!(well_formed_sent > ROUNDS / 4);
    assert_eq!(answered, well_formed_sent);
    // Every complete request reached the handler and was logged (the incomplete ones may or
    // may not have, depending on where they were cut).
    assert!(sim.calls().len() >= well_formed_sent);

    // Still serving real clients.
    client(&sim)
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("still serving");
}
