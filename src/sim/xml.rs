//! XML rendering for awsQuery responses: envelopes, error bodies and result trees.
//!
//! Bodies are written with [`aws_smithy_xml::encode::XmlWriter`] (the writer the SDK itself
//! uses), which escapes text and attribute values and closes every element it opens.

use aws_smithy_xml::decode::{Document, try_data};
use aws_smithy_xml::encode::{ElWriter, ScopeWriter, XmlWriter};

/// The Auto Scaling 2011-01-01 XML namespace.
pub(crate) const NAMESPACE: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

/// Write `<name>text</name>` inside `parent`. `name` is trusted (a fixed element name).
fn write_leaf(parent: &mut ScopeWriter<'_, '_>, name: &str, text: &str) {
    parent.start_el(name).finish().data(&xml_chars(text));
}

/// `text` with every character that XML 1.0 does not allow (even escaped: the C0 controls but
/// tab, newline and carriage return, and U+FFFE and U+FFFF) replaced by U+FFFD. The writer
/// escapes markup but passes these through, and requests echo parameters (an `Action` of
/// `"\0"` comes back in the error message): the answer must stay a well-formed document.
fn xml_chars(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if text.chars().all(allowed) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if allowed(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect()
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
    let mut writer = XmlWriter::new(&mut out);
    let mut root = writer
        .start_el("ErrorResponse")
        .write_ns(NAMESPACE, None)
        .finish();
    let mut error = root.start_el("Error").finish();
    write_leaf(&mut error, "Type", kind.as_str());
    write_leaf(&mut error, "Code", code);
    write_leaf(&mut error, "Message", message);
    error.finish();
    write_leaf(&mut root, "RequestId", request_id);
    root.finish();
    out
}

/// `<{Action}Response>` envelope whose `<{Action}Result>` holds the elements `result`.
pub(crate) fn success_body(action: &str, result: &[Node], request_id: &str) -> String {
    let response_name = format!("{action}Response");
    let result_name = format!("{action}Result");
    let mut out = String::with_capacity(512);
    let mut writer = XmlWriter::new(&mut out);
    let mut root = writer
        .start_el(&response_name)
        .write_ns(NAMESPACE, None)
        .finish();
    let mut result_el = root.start_el(&result_name).finish();
    for node in result {
        node.write(result_el.start_el(node.element_name()));
    }
    result_el.finish();
    let mut metadata = root.start_el("ResponseMetadata").finish();
    write_leaf(&mut metadata, "RequestId", request_id);
    metadata.finish();
    root.finish();
    out
}

/// The (unescaped) text of the first non-empty `<RequestId>` element in `body`, if any (used
/// for canned raw bodies, which need not be well-formed: reading stops at the first token the
/// tokenizer rejects).
pub(crate) fn find_request_id(body: &str) -> Option<String> {
    let mut doc = Document::new(body);
    while let Some(start) = doc.next_start_element() {
        if start.local() == "RequestId" {
            let mut scope = doc.scoped_to(start);
            return try_data(&mut scope)
                .ok()
                .filter(|id| !id.is_empty())
                .map(|id| id.into_owned());
        }
    }
    None
}

/// A small element tree: result elements, and nested request parameters such as
/// `Preferences.*` echoed back.
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

    /// `<name>text</name>`.
    pub(crate) fn leaf(name: &str, text: &str) -> Self {
        Node {
            name: name.to_owned(),
            text: Some(text.to_owned()),
            children: Vec::new(),
        }
    }

    /// Append `child` (after the existing children).
    pub(crate) fn push(&mut self, child: Node) -> &mut Self {
        self.children.push(child);
        self
    }

    /// Append the leaf `<name>text</name>`.
    pub(crate) fn push_leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.push(Node::leaf(name, text))
    }

    /// The first child element called `name` (not a `member`).
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Whether some element called `name` anywhere below this one has text satisfying `pred`.
    pub(crate) fn any_leaf(&self, name: &str, pred: &dyn Fn(&str) -> bool) -> bool {
        self.children.iter().any(|c| {
            (c.element_name() == name && c.text.as_deref().is_some_and(pred))
                || c.any_leaf(name, pred)
        })
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

    /// The element name as written (`member#N` keys from [`Node::insert`] become `member`).
    fn element_name(&self) -> &str {
        self.name.split('#').next().unwrap_or(&self.name)
    }

    /// Write the element (and its subtree) into `el`, a start tag opened with
    /// [`Node::element_name`].
    fn write(&self, el: ElWriter<'_, '_>) {
        let mut scope = el.finish();
        if let Some(text) = &self.text {
            scope.data(&xml_chars(text));
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
            child.write(scope.start_el(child.element_name()));
        }
    }

    /// Render the element (and its subtree) as a standalone string.
    #[cfg(test)]
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(XmlWriter::new(&mut out).start_el(self.element_name()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_all_special_characters() {
        assert_eq!(
            Node::leaf("Message", r#"a&b<c>d"e'f"#).render(),
            "<Message>a&amp;b&lt;c&gt;d&quot;e&apos;f</Message>"
        );
        let body = error_body(ErrorType::Receiver, "C&de", r#"<"it's">"#, "r&id");
        assert_eq!(
            body,
            "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Receiver</Type><Code>C&amp;de</Code><Message>&lt;&quot;it&apos;s&quot;&gt;</Message></Error><RequestId>r&amp;id</RequestId></ErrorResponse>"
        );
        assert_eq!(find_request_id(&body).as_deref(), Some("r&id"));
    }

    #[test]
    fn characters_xml_does_not_allow_are_replaced() {
        assert_eq!(
            Node::leaf("Message", "a\0b\u{1}\u{1f}\t\n\r\u{FFFE}\u{FFFF}é").render(),
            "<Message>a\u{FFFD}b\u{FFFD}\u{FFFD}\t&#xA;&#xD;\u{FFFD}\u{FFFD}é</Message>"
        );
        let body = error_body(ErrorType::Sender, "InvalidAction", "operation \0", "rid");
        assert!(
            body.contains("<Message>operation \u{FFFD}</Message>"),
            "{body}"
        );
    }

    #[test]
    fn error_body_matches_wire_shape() {
        let body = error_body(ErrorType::Sender, "Throttling", "Rate exceeded", "rid");
        assert_eq!(
            body,
            "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
        );
        assert_eq!(find_request_id(&body).as_deref(), Some("rid"));
    }

    #[test]
    fn success_body_matches_wire_shape() {
        let mut refreshes = Node::new("InstanceRefreshes");
        refreshes.push(Node::leaf("member", "x"));
        let body = success_body(
            "DescribeInstanceRefreshes",
            &[refreshes, Node::new("Empty")],
            "rid",
        );
        assert_eq!(
            body,
            "<DescribeInstanceRefreshesResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><DescribeInstanceRefreshesResult><InstanceRefreshes><member>x</member></InstanceRefreshes><Empty></Empty></DescribeInstanceRefreshesResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DescribeInstanceRefreshesResponse>"
        );
    }

    #[test]
    fn find_request_id_tolerates_raw_bodies() {
        assert_eq!(find_request_id("not xml at all"), None);
        assert_eq!(find_request_id("<A><RequestId/></A>"), None);
        assert_eq!(
            find_request_id("<A><B>1</B><RequestId>abc</RequestId>").as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn node_renders_members_in_index_order() {
        let mut root = Node::new("Preferences");
        root.insert(&["CheckpointPercentages", "member", "2"], "100");
        root.insert(&["CheckpointPercentages", "member", "1"], "50");
        root.insert(&["MinHealthyPercentage"], "<9>");
        assert_eq!(
            root.render(),
            "<Preferences><CheckpointPercentages><member>50</member><member>100</member></CheckpointPercentages><MinHealthyPercentage>&lt;9&gt;</MinHealthyPercentage></Preferences>"
        );
    }

    #[test]
    fn child_and_any_leaf_look_below() {
        let mut root = Node::new("DesiredConfiguration");
        root.insert(&["LaunchTemplate", "Version"], "$Latest");
        assert!(root.child("LaunchTemplate").is_some());
        assert!(root.child("MixedInstancesPolicy").is_none());
        assert!(root.any_leaf("Version", &|v| v == "$Latest"));
        assert!(!root.any_leaf("Version", &|v| v == "1"));
        assert!(!root.any_leaf("LaunchTemplate", &|_| true));
    }
}
