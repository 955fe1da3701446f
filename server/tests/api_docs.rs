//! docs/api.md cannot drift from the API's types (`lookout::model`).
//!
//! Every example body in the reference is a fenced `json` block preceded by a marker
//! line `<!-- shape: TypeName -->`. For each one this test
//! - deserialises the documented JSON into the named type, and
//! - compares its shape (the keys, recursively, and the JSON kind of every value) with
//!   the shape of that type's own example ([`lookout::model::ApiBody::example`]);
//!
//! and it fails when a body type has no documented block, when a block names no body
//! type, when a `json` block has no marker, or when a route of the server has no section.
//! So renaming, adding or removing a field fails here until the reference says the same.
//!
//! `LOOKOUT_PRINT_API_EXAMPLES=1 cargo test -p lookout-server --test api_docs -- --nocapture`
//! prints every type's example, to paste into the reference after a change.

use lookout::model::{api_body_example, api_body_reread, API_BODIES};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn reference() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// One marked example: the type it names, its line, the JSON text.
struct Block {
    name: String,
    line: usize,
    json: String,
}

/// The marked `json` blocks of the reference; panics on a `json` block without a marker.
fn blocks(doc: &str) -> Vec<Block> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut marker: Option<(String, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(rest) = line.strip_prefix("<!-- shape:") {
            let name = rest.trim_end_matches("-->").trim().to_string();
            marker = Some((name, i + 1));
        } else if line == "```json" {
            let (name, at) = marker.take().unwrap_or_else(|| {
                panic!(
                    "docs/api.md:{}: a json block without a `<!-- shape: Type -->` line before it",
                    i + 1
                )
            });
            assert_eq!(
                at + 1,
                i + 1,
                "docs/api.md:{at}: the shape marker must be right before its json block"
            );
            let mut json = String::new();
            i += 1;
            while i < lines.len() && lines[i].trim() != "```" {
                json.push_str(lines[i]);
                json.push('\n');
                i += 1;
            }
            out.push(Block {
                name,
                line: at,
                json,
            });
        } else if !line.is_empty() {
            if let Some((name, at)) = marker.take() {
                panic!("docs/api.md:{at}: marker for {name} is not followed by a json block");
            }
        }
        i += 1;
    }
    out
}

/// The shape of a JSON value: object keys with the shapes of their values, arrays as
/// the set of their elements' shapes, and the kind of every scalar.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Null,
    Bool,
    Number,
    String,
    Array(BTreeSet<Shape>),
    Object(BTreeMap<String, Shape>),
}

fn shape(v: &Value) -> Shape {
    match v {
        Value::Null => Shape::Null,
        Value::Bool(_) => Shape::Bool,
        Value::Number(_) => Shape::Number,
        Value::String(_) => Shape::String,
        Value::Array(a) => Shape::Array(a.iter().map(shape).collect()),
        Value::Object(m) => Shape::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Where two shapes differ, as `path: documented vs type` lines.
fn differences(path: &str, doc: &Shape, typed: &Shape, out: &mut Vec<String>) {
    match (doc, typed) {
        (Shape::Object(a), Shape::Object(b)) => {
            for k in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => differences(&p, x, y, out),
                    (Some(_), None) => out.push(format!("{p}: documented, not in the type")),
                    (None, Some(_)) => out.push(format!("{p}: in the type, not documented")),
                    (None, None) => {}
                }
            }
        }
        (Shape::Array(a), Shape::Array(b)) if a.len() == 1 && b.len() == 1 => {
            let (x, y) = (a.iter().next().unwrap(), b.iter().next().unwrap());
            differences(&format!("{path}[]"), x, y, out);
        }
        (a, b) if a != b => out.push(format!("{path}: documented {a:?}, the type gives {b:?}")),
        _ => {}
    }
}

#[test]
fn print_examples_on_request() {
    if std::env::var_os("LOOKOUT_PRINT_API_EXAMPLES").is_none() {
        return;
    }
    for name in API_BODIES {
        let text = lookout::model::api_body_example_text(name).unwrap();
        println!("<!-- shape: {name} -->\n```json\n{text}\n```\n");
    }
}

#[test]
fn every_documented_body_matches_its_type() {
    let doc = reference();
    let blocks = blocks(&doc);
    assert!(!blocks.is_empty(), "docs/api.md has no marked examples");
    let mut failures = Vec::new();
    for b in &blocks {
        let at = format!("docs/api.md:{} ({})", b.line, b.name);
        let documented: Value = match serde_json::from_str(&b.json) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{at}: not JSON: {e}"));
                continue;
            }
        };
        match api_body_reread(&b.name, &b.json) {
            None => {
                failures.push(format!("{at}: no API body type of that name"));
                continue;
            }
            Some(Err(e)) => failures.push(format!("{at}: does not deserialise: {e}")),
            Some(Ok(_)) => {}
        }
        let typed = api_body_example(&b.name).expect("known name");
        let mut diff = Vec::new();
        differences("$", &shape(&documented), &shape(&typed), &mut diff);
        for d in diff {
            failures.push(format!("{at}: {d}"));
        }
    }
    let documented: BTreeSet<&str> = blocks.iter().map(|b| b.name.as_str()).collect();
    for name in API_BODIES {
        if !documented.contains(name) {
            failures.push(format!(
                "{name}: an API body type with no `<!-- shape: {name} -->` example in docs/api.md"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

/// Every route has a section (`` ### `METHOD /path` ``), the plain ones of the server's
/// table and the Leptos server functions alike.
#[test]
fn every_route_has_a_section() {
    let doc = reference();
    let mut routes: Vec<(String, String)> = lookout_server::endpoints::ENDPOINTS
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    for (m, p) in [
        ("GET", "/metrics"),
        ("GET", "/api/series"),
        ("GET", "/api/settings"),
        ("GET", "/api/auth/me"),
    ] {
        routes.push((m.into(), p.into()));
    }
    let missing: Vec<String> = routes
        .iter()
        .map(|(m, p)| format!("`{m} {p}`"))
        .filter(|r| {
            !doc.lines()
                .any(|l| l.starts_with("###") && l.contains(r.as_str()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a section in docs/api.md: {}",
        missing.join(", ")
    );
}

#[test]
fn the_shape_check_sees_a_renamed_field() {
    let a = shape(&serde_json::json!({"events": [{"id": 1, "end": null}]}));
    let b = shape(&serde_json::json!({"events": [{"id": 1, "ends": null}]}));
    let mut diff = Vec::new();
    differences("$", &a, &b, &mut diff);
    assert_eq!(diff.len(), 2, "{diff:?}");
    let c = shape(&serde_json::json!({"events": [{"id": "1", "end": null}]}));
    diff.clear();
    differences("$", &a, &c, &mut diff);
    assert_eq!(diff.len(), 1, "{diff:?}");
}
