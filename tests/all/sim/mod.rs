//! End-to-end tests of the embedded Auto Scaling simulator, through the real SDK client.

mod faults;
mod fuzz;
mod lifecycle;
mod requests;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::retry::RetryConfig;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Flatten a simple XML document into `path -> text` for leaf elements, plus `path/@attr ->
/// value` for attributes. Paths join element names with `/`. Enough for awsQuery bodies (no
/// CDATA, comments or processing instructions); panics on anything malformed.
pub(crate) fn xml_paths(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut rest = xml.trim();
    while !rest.is_empty() {
        if let Some(tag_body) = rest.strip_prefix('<') {
            let end = tag_body.find('>').expect("unterminated tag");
            let tag = &tag_body[..end];
            rest = &tag_body[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let path = stack.join("/");
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "mismatched close tag"
                );
                if !text.trim().is_empty()
                    || !out
                        .keys()
                        .any(|k: &String| k.starts_with(&format!("{path}/")))
                {
                    out.insert(path, unescape(&text));
                }
                text.clear();
            } else {
                let self_closing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let mut parts = tag.split_whitespace();
                let name = parts.next().expect("tag name").to_owned();
                stack.push(name);
                let path = stack.join("/");
                for attr in parts {
                    let (k, v) = attr.split_once('=').expect("attribute");
                    out.insert(format!("{path}/@{k}"), unescape(v.trim_matches('"')));
                }
                if self_closing {
                    out.insert(path, String::new());
                    stack.pop();
                }
                text.clear();
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            text.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[test]
fn xml_paths_flattens_leaves_and_attributes() {
    let map = xml_paths(r#"<A xmlns="ns"><B><C>x &amp; y</C></B><D/><E></E></A>"#);
    let expected: BTreeMap<String, String> = [
        ("A/@xmlns", "ns"),
        ("A/B/C", "x & y"),
        ("A/D", ""),
        ("A/E", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(map, expected);
}
