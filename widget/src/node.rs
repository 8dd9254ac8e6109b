//! The panel as data ([`Node`]), and the one function that brings the page's DOM in
//! line with it ([`patch_children`]).
//!
//! Why not Leptos's `view!` for the panel: every element of a `view!` is its own Rust
//! type, and tachys compiles build, rebuild and unmount code for each of them. For this
//! panel that was 17.7 KB of the widget's 130 KB brotli (measured 2026-12-02 by replacing
//! the panel with one `<div>`), the biggest item standing between the widget and its
//! 120 KB budget. Here every element is one type, patched by one function. Leptos still
//! mounts the widget's root, owns its event listeners and re-runs the render on a change
//! (`view::paint`).
//!
//! Patching is by position: the n-th child is patched into the n-th DOM child when both
//! are the same kind (the same tag, text, or gap), else replaced. So a panel keeps its
//! shape from one render to the next: an optional part is a [`Kid::Gap`] (an empty
//! comment) when absent, and a list is the only content of its parent (messages, chips,
//! card lines), so the input and the log keep their DOM nodes (focus, scroll, screen
//! readers' live region) while messages come and go.
//!
//! Text is always a text node and attribute values go through `setAttribute`: nothing a
//! homeowner types is ever parsed as HTML.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element};

const SVG: &str = "http://www.w3.org/2000/svg";

/// One element: its tag, attributes (a name starting with `.` is a DOM property, set to
/// true when its value is non-empty) and children.
pub(crate) struct Node {
    tag: &'static str,
    attrs: Vec<(&'static str, String)>,
    kids: Vec<Kid>,
}

/// A child: an element, text, or the place of an optional part that is absent.
pub(crate) enum Kid {
    El(Node),
    Text(String),
    Gap,
}

/// A new element with no attributes or children.
pub(crate) fn el(tag: &'static str) -> Node {
    Node { tag, attrs: Vec::new(), kids: Vec::new() }
}

impl Node {
    /// With attribute `name`.
    pub(crate) fn a(mut self, name: &'static str, value: &str) -> Node {
        self.attrs.push((name, value.to_string()));
        self
    }

    /// With the boolean attribute `name` (`disabled`, ...) when `on`.
    pub(crate) fn flag(self, name: &'static str, on: bool) -> Node {
        self.flag_as(name, "", on)
    }

    /// With attribute `name` set to `value` when `on`.
    pub(crate) fn flag_as(self, name: &'static str, value: &str, on: bool) -> Node {
        if on {
            self.a(name, value)
        } else {
            self
        }
    }

    /// With a text child.
    pub(crate) fn t(mut self, text: &str) -> Node {
        self.kids.push(Kid::Text(text.to_string()));
        self
    }

    /// With an element child.
    pub(crate) fn k(mut self, kid: Node) -> Node {
        self.kids.push(Kid::El(kid));
        self
    }

    /// With an optional part: a gap where it is absent, so what follows keeps its place.
    pub(crate) fn opt(mut self, kid: Option<Node>) -> Node {
        self.kids.push(kid.map_or(Kid::Gap, Kid::El));
        self
    }

    /// With the children of `fragment` (an [`el`] of no tag), in its place.
    pub(crate) fn with(mut self, fragment: Node) -> Node {
        self.kids.extend(fragment.kids);
        self
    }

    /// The children of a fragment, to patch into a parent.
    pub(crate) fn into_kids(self) -> Vec<Kid> {
        self.kids
    }

    /// With a list of children. A list must be the last children of its parent, or
    /// what follows would shift with its length.
    pub(crate) fn all(mut self, kids: impl IntoIterator<Item = Node>) -> Node {
        self.kids.extend(kids.into_iter().map(Kid::El));
        self
    }
}

/// Makes `parent`'s children what `kids` say, reusing every DOM node that fits.
pub(crate) fn patch_children(parent: &Element, kids: Vec<Kid>) {
    let Some(doc) = parent.owner_document() else { return };
    let mut at = parent.first_child();
    for kid in kids {
        match at {
            Some(node) => {
                at = node.next_sibling();
                patch(&doc, parent, &node, kid);
            }
            None => {
                let _ = parent.append_child(&create(&doc, kid));
            }
        }
    }
    while let Some(node) = at {
        at = node.next_sibling();
        let _ = parent.remove_child(&node);
    }
}

/// `node` made into `kid`: patched in place when it is the same kind, else replaced.
fn patch(doc: &Document, parent: &Element, node: &web_sys::Node, kid: Kid) {
    match (&kid, node.node_type()) {
        (Kid::El(n), web_sys::Node::ELEMENT_NODE) => {
            if let Some(e) = node.dyn_ref::<Element>().filter(|e| e.local_name() == n.tag) {
                let Kid::El(n) = kid else { return };
                set_attributes(e, &n.attrs);
                return patch_children(e, n.kids);
            }
        }
        (Kid::Text(text), web_sys::Node::TEXT_NODE) => {
            if node.text_content().as_deref() != Some(text.as_str()) {
                node.set_text_content(Some(text));
            }
            return;
        }
        (Kid::Gap, web_sys::Node::COMMENT_NODE) => return,
        _ => {}
    }
    let _ = parent.replace_child(&create(doc, kid), node);
}

fn create(doc: &Document, kid: Kid) -> web_sys::Node {
    match kid {
        Kid::Text(text) => doc.create_text_node(&text).into(),
        Kid::Gap => doc.create_comment("").into(),
        Kid::El(n) => {
            let made = if matches!(n.tag, "svg" | "path") {
                doc.create_element_ns(Some(SVG), n.tag)
            } else {
                doc.create_element(n.tag)
            };
            let Ok(e) = made else { return doc.create_comment("").into() };
            set_attributes(&e, &n.attrs);
            patch_children(&e, n.kids);
            e.into()
        }
    }
}

/// Sets what changed, removes what is no longer given.
fn set_attributes(e: &Element, attrs: &[(&'static str, String)]) {
    for name in e.get_attribute_names().iter().filter_map(|n| n.as_string()) {
        if !attrs.iter().any(|(k, _)| *k == name) {
            let _ = e.remove_attribute(&name);
        }
    }
    for (name, value) in attrs {
        if let Some(property) = name.strip_prefix('.') {
            let on = wasm_bindgen::JsValue::from_bool(!value.is_empty());
            let _ = js_sys::Reflect::set(e, &property.into(), &on);
        } else if e.get_attribute(name).as_deref() != Some(value.as_str()) {
            let _ = e.set_attribute(name, value);
        }
    }
}
