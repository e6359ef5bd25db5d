//! XML rendering for awsQuery responses: escaping, envelopes and error bodies.

use std::fmt::Write as _;

/// The Auto Scaling 2011-01-01 XML namespace.
pub(crate) const NAMESPACE: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

/// Append `text` to `out`, escaping the five XML special characters.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// Return `text` with the five XML special characters escaped.
#[cfg(test)]
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// Append `<name>text</name>` to `out`. `name` is trusted (a fixed element name).
pub(crate) fn push_element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>");
    push_escaped(out, text);
    let _ = write!(out, "</{name}>");
}

/// Who is to blame for an error, as the `<Type>` element says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    /// The caller (4xx, and some 5xx such as `ResourceContention`).
    Sender,
    /// The service.
    Receiver,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Sender => "Sender",
            ErrorType::Receiver => "Receiver",
        }
    }
}

/// `<ErrorResponse>` body shaped like the wire samples.
pub(crate) fn error_body(kind: ErrorType, code: &str, message: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(256 + message.len());
    let _ = write!(out, "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error>");
    push_element(&mut out, "Type", kind.as_str());
    push_element(&mut out, "Code", code);
    push_element(&mut out, "Message", message);
    out.push_str("</Error>");
    push_element(&mut out, "RequestId", request_id);
    out.push_str("</ErrorResponse>");
    out
}

/// `<{Action}Response>` envelope around an already rendered `<{Action}Result>` content.
pub(crate) fn success_body(action: &str, result_inner: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(256 + result_inner.len());
    let _ = write!(
        out,
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result_inner}</{action}Result><ResponseMetadata>"
    );
    push_element(&mut out, "RequestId", request_id);
    let _ = write!(out, "</ResponseMetadata></{action}Response>");
    out
}

/// Find the text of the first `<RequestId>` element in `body`, if any (used for raw bodies).
pub(crate) fn find_request_id(body: &str) -> Option<&str> {
    let start = body.find("<RequestId>")? + "<RequestId>".len();
    let len = body[start..].find("</RequestId>")?;
    Some(&body[start..start + len])
}

/// A small element tree, used to echo nested request parameters such as `Preferences.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    name: String,
    text: Option<String>,
    children: Vec<Node>,
}

impl Node {
    /// An empty element called `name`.
    pub(crate) fn new(name: &str) -> Self {
        Node {
            name: name.to_owned(),
            ..Node::default()
        }
    }

    /// Whether this element has neither text nor children.
    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_none() && self.children.is_empty()
    }

    /// Insert `value` at the awsQuery path `segments` (e.g. `["CheckpointPercentages", "member", "1"]`).
    ///
    /// `member.N` pairs become distinct `<member>` elements in index order.
    pub(crate) fn insert(&mut self, segments: &[&str], value: &str) {
        let Some((first, rest)) = segments.split_first() else {
            self.text = Some(value.to_owned());
            return;
        };
        let (key, rest) = match (*first, rest.split_first()) {
            ("member", Some((index, rest))) => (format!("member#{index}"), rest),
            _ => ((*first).to_owned(), rest),
        };
        let pos = match self.children.iter().position(|c| c.name == key) {
            Some(pos) => pos,
            None => {
                self.children.push(Node::new(&key));
                self.children.len() - 1
            }
        };
        self.children[pos].insert(rest, value);
    }

    /// Render the element (and its subtree) into `out`.
    pub(crate) fn render(&self, out: &mut String) {
        let name = self.name.split('#').next().unwrap_or(&self.name);
        let _ = write!(out, "<{name}>");
        if let Some(text) = &self.text {
            push_escaped(out, text);
        }
        let mut children: Vec<&Node> = self.children.iter().collect();
        // Order list members by their numeric index; keep other elements in insertion order.
        children.sort_by_key(|c| {
            c.name
                .strip_prefix("member#")
                .and_then(|i| i.parse::<u64>().ok())
                .unwrap_or(0)
        });
        for child in children {
            child.render(out);
        }
        let _ = write!(out, "</{name}>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_all_special_characters() {
        assert_eq!(escape(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    }

    #[test]
    fn error_body_matches_wire_shape() {
        let body = error_body(ErrorType::Sender, "Throttling", "Rate exceeded", "rid");
        assert_eq!(
            body,
            "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
        );
        assert_eq!(find_request_id(&body), Some("rid"));
    }

    #[test]
    fn node_renders_members_in_index_order() {
        let mut root = Node::new("Preferences");
        root.insert(&["CheckpointPercentages", "member", "2"], "100");
        root.insert(&["CheckpointPercentages", "member", "1"], "50");
        root.insert(&["MinHealthyPercentage"], "<9>");
        let mut out = String::new();
        root.render(&mut out);
        assert_eq!(
            out,
            "<Preferences><CheckpointPercentages><member>50</member><member>100</member></CheckpointPercentages><MinHealthyPercentage>&lt;9&gt;</MinHealthyPercentage></Preferences>"
        );
    }
}
