//! Seeded garbage over raw TCP (bodies, methods, headers, and bytes that are not HTTP at all):
//! the server answers or closes every time, never hangs or panics, and keeps serving. On paused
//! time: a hang would show as a virtual timeout, and the whole run takes no virtual time at all
//! (see `virtual_time` for why requests take none).

use std::time::Duration;

use instance_refresh_retry::sim::GroupConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use super::{client, parse_response, sim_with_web, xml_paths};

const ROUNDS: usize = 600;

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

/// A form body of random pairs; most of the time it starts with one of the four actions, so
/// that the garbage reaches the operations' own parameter handling.
fn random_form(rng: &mut fastrand::Rng) -> Vec<u8> {
    // Now and then a valid request, for answers that are not errors.
    if rng.u8(..) < 24 {
        return b"Action=DescribeInstanceRefreshes&Version=2011-01-01&AutoScalingGroupName=web"
            .to_vec();
    }
    let pairs = rng.usize(0..8);
    let mut out = String::new();
    if rng.u8(..) < 160 {
        out.push_str("Action=");
        out.push_str(VALUES[rng.usize(..4)]);
        out.push_str("&Version=2011-01-01");
    }
    for i in 0..pairs {
        if i > 0 || !out.is_empty() {
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

/// A method token: a common one, or random token characters (any token is a valid method).
fn random_method(rng: &mut fastrand::Rng) -> String {
    const COMMON: &[&str] = &[
        "POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS",
    ];
    if rng.u8(..) < 160 {
        return "POST".to_owned();
    }
    if rng.u8(..) < 200 {
        return COMMON[rng.usize(..COMMON.len())].to_owned();
    }
    const TOKEN: &[u8] =
        b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..rng.usize(1..12))
        .map(|_| char::from(TOKEN[rng.usize(..TOKEN.len())]))
        .collect()
}

/// Zero or more extra header lines with valid names and values (visible ASCII and spaces):
/// common headers with garbage values, and random names.
fn random_headers(rng: &mut fastrand::Rng) -> String {
    const NAMES: &[&str] = &[
        "Accept",
        "Accept-Encoding",
        "Authorization",
        "Content-Encoding",
        "Content-Type",
        "User-Agent",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "X-Amz-Target",
        "X-Amzn-RequestId",
        "amz-sdk-invocation-id",
        "Cookie",
    ];
    let mut out = String::new();
    for _ in 0..rng.usize(0..6) {
        let name = if rng.bool() {
            NAMES[rng.usize(..NAMES.len())].to_owned()
        } else {
            let len = rng.usize(1..20);
            (0..len).map(|_| rng.alphanumeric()).collect()
        };
        let max = if rng.u8(..) < 8 { 4000 } else { 60 };
        let len = rng.usize(0..max);
        let value: String = (0..len).map(|_| char::from(rng.u8(0x21..0x7f))).collect();
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out
}

/// A complete, valid HTTP/1.1 request (`Connection: close`) with a random method, random extra
/// headers and a garbage body. Returns the bytes.
fn well_formed(rng: &mut fastrand::Rng) -> Vec<u8> {
    let body = if rng.u8(..) < 200 {
        random_form(rng)
    } else {
        random_bytes(rng, 256)
    };
    let method = random_method(rng);
    let content_type = [
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n",
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n",
        "Content-Type: text/plain\r\n",
        "Content-Type: APPLICATION/X-WWW-FORM-URLENCODED\r\n",
        "",
    ][rng.usize(..6)];
    let headers = random_headers(rng);
    let mut req = format!(
        "{method} / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{content_type}{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend(body);
    req
}

/// Something that may not be a valid HTTP request at all.
fn malformed(rng: &mut fastrand::Rng) -> Vec<u8> {
    match rng.usize(0..7) {
        0 => random_bytes(rng, 512),
        // A method, target or version that is not one.
        4 => {
            let method = ["G ET", "", "P\0ST", "HEAD", "CONNECT", "\u{e9}"][rng.usize(..6)];
            let target = ["/", "", "*", "http://x/", "/%zz", "//..//"][rng.usize(..6)];
            let version =
                ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", "", "http/1.1"][rng.usize(..6)];
            format!("{method} {target} {version}\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                .into_bytes()
        }
        // Header lines that are not valid: control bytes, no colon, a space before the
        // colon, conflicting lengths, an unknown transfer coding, an expectation.
        5 => {
            let bad = [
                "X-A: \x01\x7f\r\n",
                "NoColon\r\n",
                "X-B : 1\r\n",
                "Content-Length: 3\r\nContent-Length: 4\r\n",
                "Content-Length: -1\r\n",
                "Transfer-Encoding: gzip\r\n",
                "Expect: 100-continue\r\n",
                " folded\r\n",
            ][rng.usize(..8)];
            let mut req = format!("POST / HTTP/1.1\r\nHost: x\r\n{bad}{}", random_headers(rng));
            req.push_str("\r\n");
            let mut req = req.into_bytes();
            req.extend(random_form(rng));
            req
        }
        // Valid, but the headers are random bytes.
        6 => {
            let mut req = b"POST / HTTP/1.1\r\nHost: x\r\n".to_vec();
            req.extend(random_bytes(rng, 300));
            req.extend(b"\r\n\r\n");
            req
        }
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

#[tokio::test(start_paused = true)]
async fn garbage_never_hangs_or_breaks_the_server() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let addr = sim.local_addr();
    let mut rng = fastrand::Rng::with_seed(0x5EED);
    let t0 = Instant::now();
    let mut well_formed_sent = 0;
    // Counted from the simulator's own call log, not from what the client saw.
    let mut logged_for_well_formed = 0;
    for round in 0..ROUNDS {
        let complete = rng.bool();
        let bytes = if complete {
            well_formed(&mut rng)
        } else {
            malformed(&mut rng)
        };
        let logged_before = sim.calls().len();
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // The server may close early on garbage; a failed write is fine.
        let _ = stream.write_all(&bytes).await;
        if !complete {
            let _ = stream.shutdown().await;
        }
        let mut buf = Vec::new();
        // A virtual timeout: a server that hung would let the paused clock jump to it.
        let read = timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "round {round}: server hung on {bytes:?}");
        let logged = sim.calls().split_off(logged_before);
        if !complete {
            assert!(logged.len() <= 1, "round {round}: {logged:?}");
            continue;
        }
        well_formed_sent += 1;
        logged_for_well_formed += logged.len();
        let response = parse_response(&buf)
            .unwrap_or_else(|| panic!("round {round}: no response to {bytes:?}"));
        assert!(
            matches!(response.status, 200 | 400 | 413),
            "round {round}: status {}",
            response.status
        );
        // The server logged this very answer.
        let [record] = logged.as_slice() else {
            panic!("round {round}: logged {logged:?} for {bytes:?}");
        };
        assert_eq!(
            record.outcome.status(),
            Some(response.status),
            "round {round}"
        );
        assert_eq!(
            record.request_id.as_ref(),
            response.headers.get("x-amzn-requestid"),
            "round {round}"
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
    }
    assert!(well_formed_sent > ROUNDS / 4, "{well_formed_sent}");
    assert_eq!(logged_for_well_formed, well_formed_sent);
    // Nothing waited: no timeout fired, and the server never slept.
    assert_eq!(t0.elapsed(), Duration::ZERO);

    // Still serving real clients.
    client(&sim)
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("still serving");
}
