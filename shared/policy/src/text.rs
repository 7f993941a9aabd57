//! The text a policy document carries into the database — names, descriptions, reasons, ids —
//! is held to the same rule as every text field of a request
//! ([`leadpool_domain::validation::control_character`]). A request's own check sees only the
//! document as written; YAML escapes (`"\0"`, `"\x1b"`, `"\u0007"`) make control characters
//! of plain text, so the parsed document is checked again, every string at every depth, keys
//! included, each problem at its document path (`pools[2].name`).

use leadpool_domain::validation::control_character;
use serde_yaml_ng::Value;

use crate::PolicyError;

/// Every string in `document` that may not be stored, with its path.
pub fn violations(document: &Value) -> Vec<PolicyError> {
    let mut out = Vec::new();
    walk(document, "", &mut out);
    out
}

fn walk(value: &Value, path: &str, out: &mut Vec<PolicyError>) {
    match value {
        Value::String(text) => check(text, path, out),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Mapping(entries) => {
            for (key, item) in entries {
                let name = match key {
                    Value::String(name) => {
                        let here = join(path, &leadpool_domain::validation::excerpt(name, 32));
                        check(name, &format!("{here} (a key)"), out);
                        here
                    }
                    other => join(path, &format!("{other:?}")),
                };
                walk(item, &name, out);
            }
        }
        Value::Tagged(tagged) => walk(&tagged.value, path, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn check(text: &str, path: &str, out: &mut Vec<PolicyError>) {
    if let Some(message) = control_character(text) {
        out.push(PolicyError {
            path: path.to_owned(),
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// A document with text at every kind of place: top-level metadata, a team, a rep and her
    /// absence, a pool, a routing rule, qualification lists.
    const DOCUMENT: &str = r#"apiVersion: leadpool.dev/v1
kind: Policy
metadata: { name: "NAME", description: "DESCRIPTION" }
teams:
  - { id: west, name: "TEAM", timeZone: America/Los_Angeles }
reps:
  - { id: wendy, name: "REP", team: west, role: ae,
      unavailable: [{ from: 2026-03-02, to: 2026-03-03, reason: "ABSENCE" }] }
pools:
  - { id: a, type: open }
  - { id: b, type: open }
  - { id: c, name: "POOL", type: open }
qualification: { exclude: { competitors: ["COMPETITOR"] } }
routing:
  rules:
    - { name: "RULE", pool: c }
"#;

    /// Where each placeholder is in the document.
    const PLACES: [(&str, &str); 8] = [
        ("NAME", "metadata.name"),
        ("DESCRIPTION", "metadata.description"),
        ("TEAM", "teams[0].name"),
        ("REP", "reps[0].name"),
        ("ABSENCE", "reps[0].unavailable[0].reason"),
        ("POOL", "pools[2].name"),
        ("COMPETITOR", "qualification.exclude.competitors[0]"),
        ("RULE", "routing.rules[0].name"),
    ];

    #[test]
    fn the_document_with_plain_text_is_valid() {
        crate::load(DOCUMENT).unwrap();
    }

    /// Every control character but tab, line feed and carriage return, as a YAML escape.
    fn refused() -> impl Strategy<Value = char> {
        prop::sample::select(
            (0..=0x9f_u32)
                .filter_map(char::from_u32)
                .filter(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                .collect::<Vec<_>>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any control character, escaped into any text of the document, is refused at that
        /// text's path and nowhere else.
        #[test]
        fn an_escaped_control_character_is_refused_at_its_path(
            c in refused(),
            place in prop::sample::select(PLACES.to_vec()),
            before in "[a-z ]{0,6}",
        ) {
            let (placeholder, path) = place;
            let escaped = format!("{before}\\u{:04X}x", u32::from(c));
            let document = DOCUMENT.replace(placeholder, &escaped);
            let errors = crate::parse(&document).unwrap_err();
            prop_assert_eq!(errors.len(), 1, "{:?}", errors);
            prop_assert_eq!(&errors[0].path, path);
            let at = format!("U+{:04X} at character {}", u32::from(c), before.chars().count() + 1);
            prop_assert!(errors[0].message.contains(&at), "{}", errors[0].message);
        }

        /// Tabs and line breaks are text like any other.
        #[test]
        fn tabs_and_line_breaks_pass(
            c in prop::sample::select(vec!['\t', '\n', '\r']),
            place in prop::sample::select(PLACES.to_vec()),
        ) {
            let escaped = format!("a\\u{:04X}b", u32::from(c));
            let document = DOCUMENT.replace(place.0, &escaped);
            prop_assert!(crate::parse(&document).is_ok());
        }
    }

    #[test]
    fn a_key_with_a_control_character_is_named_as_a_key() {
        let document = "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: { \"na\\0me\": x }\n";
        let errors = crate::parse(document).unwrap_err();
        assert_eq!(errors[0].path, "metadata.na\u{FFFD}me (a key)");
    }
}
