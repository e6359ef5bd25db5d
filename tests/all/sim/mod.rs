//! End-to-end tests of the embedded Auto Scaling simulator, through the real SDK client.

mod activities;
mod early_ends;
mod facts;
mod faults;
mod fuzz;
mod lifecycle;
mod preferences;
mod progress;
mod requests;
mod rollback;
mod unknowns;
mod virtual_time;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::retry::RetryConfig;
use aws_sdk_autoscaling::types::builders::RefreshPreferencesBuilder;
use aws_sdk_autoscaling::types::{
    Activity, InstanceRefresh, InstanceRefreshStatus, RefreshPreferences,
};
use instance_refresh_retry::sim::{
    AutoScalingSim, GroupConfig, ItuReading, ReasonWording, RefreshSnapshot, Unknowns,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::secs;

/// A client with the SDK's retries off, so one SDK call is one HTTP request.
pub(crate) fn client(sim: &AutoScalingSim) -> Client {
    Client::from_conf(
        sim.sdk_config_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// A simulator with group `web` (defaults) already created.
pub(crate) async fn sim_with_web(config: GroupConfig) -> AutoScalingSim {
    let sim = AutoScalingSim::builder()
        .seed(7)
        .start()
        .await
        .expect("sim starts");
    sim.create_group("web", config);
    sim
}

/// 2026-11-26T10:00:00Z, in seconds since the epoch.
pub(crate) const TEN_O_CLOCK: i64 = 1_795_687_200;

/// The wall-clock time `offset` after 2026-11-26T10:00:00Z.
pub(crate) fn ten_o_clock_plus(offset: Duration) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(TEN_O_CLOCK.unsigned_abs()) + offset
}

/// A simulator whose clock starts at 2026-11-26T10:00:00Z (plus `subsec`), with group `web`.
pub(crate) async fn sim_at_ten(config: GroupConfig, subsec: Duration) -> AutoScalingSim {
    let sim = AutoScalingSim::builder()
        .seed(7)
        .wall_clock_start(ten_o_clock_plus(subsec))
        .start()
        .await
        .expect("sim starts");
    sim.create_group("web", config);
    sim
}

/// A simulator whose clock starts at 2026-11-26T10:00:00Z with group `web`, a client, and the
/// (tokio) instant it started at: the tests read refreshes at exact seconds after that start.
pub(crate) struct Timeline {
    pub(crate) sim: AutoScalingSim,
    pub(crate) client: Client,
    t0: Instant,
}

impl Timeline {
    pub(crate) async fn new(config: GroupConfig) -> Self {
        let sim = sim_at_ten(config, Duration::ZERO).await;
        let client = client(&sim);
        Timeline {
            sim,
            client,
            t0: Instant::now(),
        }
    }

    /// Sleeps until `at` seconds after the start.
    pub(crate) async fn sleep_until(&self, at: u64) {
        tokio::time::sleep_until(self.t0 + secs(at)).await;
    }

    /// The newest refresh of group `web` now, described through the SDK.
    pub(crate) async fn latest(&self) -> InstanceRefresh {
        latest_web(&self.client).await
    }

    /// The newest refresh of group `web` `at` seconds after the start.
    pub(crate) async fn latest_at(&self, at: u64) -> InstanceRefresh {
        self.sleep_until(at).await;
        self.latest().await
    }

    /// What the simulator knows of `group`'s newest refresh now.
    pub(crate) fn snapshot(&self, group: &str) -> RefreshSnapshot {
        self.sim.refreshes(group).expect("group")[0].clone()
    }
}

/// The guesses this simulator made before it followed the public facts, for tests about
/// something else that read them: the old wording of every `StatusReason`
/// ([`ReasonWording::Variant`] 0) and `InstancesToUpdate` counting the instances not yet
/// replaced.
pub(crate) fn legacy() -> Unknowns {
    Unknowns::default()
        .with_status_reasons(ReasonWording::Variant(0))
        .with_instances_to_update(ItuReading::NotYetReplaced)
}

/// A group of `instances` whose refreshes start at once (no pending time) and launch each new
/// instance in `launch` seconds.
pub(crate) fn launching(instances: u32, launch: u64) -> GroupConfig {
    GroupConfig::default()
        .instances(instances)
        .pending_duration(Duration::ZERO)
        .launch_duration(secs(launch))
}

/// Preferences that replace instances in batches: `min_healthy` % stay healthy, and each new
/// instance warms up for `warmup` seconds.
pub(crate) fn batches(min_healthy: i32, warmup: i32) -> RefreshPreferencesBuilder {
    RefreshPreferences::builder()
        .min_healthy_percentage(min_healthy)
        .instance_warmup(warmup)
}

/// Starts a refresh of `group` with these preferences: its id.
pub(crate) async fn start_with(c: &Client, group: &str, preferences: RefreshPreferences) -> String {
    crate::support::start_refresh(c, group, None, Some(preferences)).await
}

/// Every scaling activity of `group`, through the SDK's paginator (100 a page).
pub(crate) async fn scaling_activities(c: &Client, group: &str) -> Vec<Activity> {
    c.describe_scaling_activities()
        .auto_scaling_group_name(group)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("activities")
}

/// The refreshes of `group`, newest first, described through the SDK.
pub(crate) async fn describe(c: &Client, group: &str) -> Vec<InstanceRefresh> {
    c.describe_instance_refreshes()
        .auto_scaling_group_name(group)
        .send()
        .await
        .expect("describe")
        .instance_refreshes()
        .to_vec()
}

/// The newest refresh of `group`, described through the SDK.
pub(crate) async fn latest(c: &Client, group: &str) -> InstanceRefresh {
    describe(c, group)
        .await
        .into_iter()
        .next()
        .expect("a refresh")
}

/// The newest refresh of group `web`, described through the SDK.
pub(crate) async fn latest_web(c: &Client) -> InstanceRefresh {
    latest(c, "web").await
}

/// (Status, PercentageComplete, InstancesToUpdate), as the SDK parsed them.
pub(crate) fn progress(r: &InstanceRefresh) -> (InstanceRefreshStatus, i32, i32) {
    (
        r.status().cloned().expect("status"),
        r.percentage_complete().expect("percentage"),
        r.instances_to_update().expect("to update"),
    )
}

/// `EndTime`, in seconds since the epoch.
pub(crate) fn end_secs(r: &InstanceRefresh) -> Option<i64> {
    r.end_time().map(|t| t.secs())
}

/// The raw `DescribeInstanceRefreshes` body for group `web`.
pub(crate) async fn describe_web_raw(sim: &AutoScalingSim) -> String {
    let r = post_form(
        sim.local_addr(),
        "Action=DescribeInstanceRefreshes&Version=2011-01-01&AutoScalingGroupName=web",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// A raw HTTP/1.1 response: status, lower-cased headers and body.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

/// Send one HTTP/1.1 request over a fresh TCP connection (`Connection: close`) and read the
/// whole answer. `None` if the server closed the connection without a response.
pub(crate) async fn raw_request(
    addr: SocketAddr,
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<RawResponse> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut buf = Vec::new();
    // A reset counts as "closed without a response" too.
    let _ = stream.read_to_end(&mut buf).await;
    parse_response(&buf)
}

/// POST a form body the way the SDK does.
pub(crate) async fn post_form(addr: SocketAddr, form: &str) -> RawResponse {
    raw_request(
        addr,
        "POST",
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        form.as_bytes(),
    )
    .await
    .expect("a response")
}

pub(crate) fn parse_response(buf: &[u8]) -> Option<RawResponse> {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(RawResponse {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// Flatten an XML document into `path -> text` for leaf elements, plus `path/@attr -> value`
/// for attributes. Paths join element names (with their prefix, if any) with `/`; text and
/// attribute values are unescaped. Tokenized by `xmlparser` (the tokenizer the SDK's XML
/// decoder uses); panics with the reason and position on anything that is not one well-formed
/// document: tokenizer errors, mismatched or unclosed tags, duplicate attributes, undeclared
/// entities, text outside the root element, or no root element at all. DTDs are rejected too.
pub(crate) fn xml_paths(xml: &str) -> BTreeMap<String, String> {
    use xmlparser::{ElementEnd, Token, Tokenizer};

    let malformed = |what: String| -> ! { panic!("malformed XML: {what}\n{xml}") };
    let mut out = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut saw_root = false;
    for token in Tokenizer::from(xml) {
        let token = token.unwrap_or_else(|e| malformed(e.to_string()));
        match token {
            Token::Declaration { .. }
            | Token::Comment { .. }
            | Token::ProcessingInstruction { .. } => {}
            Token::DtdStart { .. }
            | Token::EmptyDtd { .. }
            | Token::EntityDeclaration { .. }
            | Token::DtdEnd { .. } => malformed("DTDs are not supported".to_owned()),
            Token::ElementStart { prefix, local, .. } => {
                if stack.is_empty() {
                    if saw_root {
                        malformed("more than one root element".to_owned());
                    }
                    saw_root = true;
                }
                stack.push(qualified(prefix.as_str(), local.as_str()));
                text.clear();
            }
            Token::Attribute {
                prefix,
                local,
                value,
                ..
            } => {
                let key = format!(
                    "{}/@{}",
                    stack.join("/"),
                    qualified(prefix.as_str(), local.as_str())
                );
                let value = unescape(value.as_str()).unwrap_or_else(|e| malformed(e));
                if out.insert(key.clone(), value).is_some() {
                    malformed(format!("duplicate attribute {key}"));
                }
            }
            Token::ElementEnd {
                end: ElementEnd::Open,
                ..
            } => {}
            Token::ElementEnd {
                end: ElementEnd::Empty,
                ..
            } => {
                out.insert(stack.join("/"), String::new());
                stack.pop();
                text.clear();
            }
            Token::ElementEnd {
                end: ElementEnd::Close(prefix, local),
                span,
            } => {
                let path = stack.join("/");
                let name = qualified(prefix.as_str(), local.as_str());
                if stack.pop().as_deref() != Some(name.as_str()) {
                    malformed(format!(
                        "close tag `</{name}>` at byte {} does not match the open element `{path}`",
                        span.start()
                    ));
                }
                let prefix = format!("{path}/");
                if !text.trim().is_empty() || !out.keys().any(|k| k.starts_with(&prefix)) {
                    out.insert(path, std::mem::take(&mut text));
                }
                text.clear();
            }
            Token::Text { text: raw } => {
                if stack.is_empty() {
                    // The tokenizer only lets whitespace through outside the root.
                    continue;
                }
                text.push_str(&unescape(raw.as_str()).unwrap_or_else(|e| malformed(e)));
            }
            Token::Cdata { text: raw, .. } => text.push_str(raw.as_str()),
        }
    }
    if !stack.is_empty() {
        malformed(format!("unclosed elements: {stack:?}"));
    }
    if !saw_root {
        malformed("no root element".to_owned());
    }
    out
}

fn qualified(prefix: &str, local: &str) -> String {
    if prefix.is_empty() {
        local.to_owned()
    } else {
        format!("{prefix}:{local}")
    }
}

/// Resolve the character and predefined entity references in `raw` (text or attribute value).
fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut stream = xmlparser::Stream::from(raw);
    while !stream.at_end() {
        if stream.curr_byte_unchecked() == b'&' {
            let at = stream.pos();
            match stream.consume_reference() {
                Ok(xmlparser::Reference::Char(c)) => out.push(c),
                Ok(xmlparser::Reference::Entity(name)) => {
                    return Err(format!("undeclared entity `&{name};`"));
                }
                Err(e) => return Err(format!("{e} in `{}`", &raw[at..])),
            }
        } else {
            out.push_str(stream.consume_bytes(|_, b| b != b'&').as_str());
        }
    }
    Ok(out)
}

#[test]
fn xml_paths_flattens_leaves_and_attributes() {
    let map = xml_paths(
        r#"<?xml version="1.0"?><A xmlns="ns" k='a&lt;b'><B><C>x &amp; y &#x41;&#10;</C></B><D/><E></E><F> <G>1</G> </F></A>"#,
    );
    let expected: BTreeMap<String, String> = [
        ("A/@xmlns", "ns"),
        ("A/@k", "a<b"),
        ("A/B/C", "x & y A\n"),
        ("A/D", ""),
        ("A/E", ""),
        ("A/F/G", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(map, expected);
}

#[test]
fn xml_paths_rejects_malformed_xml() {
    for bad in [
        "",
        "plain text",
        "<A><B></A></B>",
        "<A><B></B>",
        "<A></A><B></B>",
        "<A>x</A>trailing",
        "<A>a & b</A>",
        "<A>&nbsp;</A>",
        "<A x=\"1\" x=\"2\"></A>",
        "<A x=1></A>",
        "<A><</A>",
        "<A",
        "<!DOCTYPE A><A></A>",
    ] {
        let result = std::panic::catch_unwind(|| xml_paths(bad));
        let message = result
            .err()
            .and_then(|e| e.downcast::<String>().ok())
            .unwrap_or_else(|| panic!("accepted malformed XML {bad:?}"));
        assert!(message.starts_with("malformed XML: "), "{bad:?}: {message}");
    }
}
