//! Input problems, described per field so callers can fix them without parsing prose.

use std::fmt;

/// One thing wrong with one field of a request, e.g. `contact.email`: "is not an email address".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, dotted, with indexes: `leads[3].contact.email`.
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// The same violation, one level down: `email` under `contact` is `contact.email`.
    #[must_use]
    pub fn under(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Why `text` may not be stored, if it holds a control character other than tab, line feed and
/// carriage return: the one rule for every piece of text that reaches the database, whether a
/// request field or a string inside a document a request carries (Postgres refuses NUL; no
/// name, reason or note needs the others).
pub fn control_character(text: &str) -> Option<String> {
    let (at, c) = text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))?;
    Some(format!(
        "contains the control character U+{:04X} at character {}; text may hold tabs and line \
         breaks, no other control characters",
        u32::from(c),
        at + 1
    ))
}

/// `text` as it may be quoted back to a caller or stored beside an error: at most `max_chars`
/// characters (then `…`), every control character but tab and line feed shown as `�`. An
/// answer never echoes a megabyte, and nothing that Postgres or a terminal would choke on.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max_chars)
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if text.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// Collects violations while parsing a request, so the caller hears about all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Keeps the value if it parsed, records the violation otherwise.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(violation) => {
                self.0.push(violation);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }

    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tabs_and_line_breaks_pass_among_control_characters() {
        for c in (0..=0x9f_u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_control())
        {
            let text = format!("ab{c}");
            let found = control_character(&text);
            assert_eq!(found.is_none(), matches!(c, '\t' | '\n' | '\r'), "{c:?}");
            if let Some(message) = found {
                assert!(message.contains(&format!("U+{:04X} at character 3", u32::from(c))));
            }
        }
        assert_eq!(control_character("Zoë \u{1F600}"), None);
    }

    #[test]
    fn an_excerpt_is_short_and_printable() {
        assert_eq!(excerpt("plain", 10), "plain");
        assert_eq!(excerpt("a\0b\u{1b}c\td", 10), "a\u{FFFD}b\u{FFFD}c\td");
        assert_eq!(excerpt(&"x".repeat(1_000_000), 5), "xxxxx…");
        assert_eq!(excerpt("ééé", 2), "éé…", "characters, not bytes");
    }
}
