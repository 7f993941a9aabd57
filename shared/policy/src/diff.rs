//! What applying a policy would change, for `apply --dry-run` and the applied version's record.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::document::PolicyDocument;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub kind: ChangeKind,
    /// `pools/hot`, `reps/alice`, `routing.rules/emea-hot`, `qualification`.
    pub path: String,
}

/// The sections compared item by item (by id) above, not whole.
const BY_ID: [&str; 5] = ["teams", "reps", "rotations", "pools", "routing"];

/// The changes from `old` (None: nothing applied yet) to `new`.
pub fn diff(old: Option<&PolicyDocument>, new: &PolicyDocument) -> Vec<Change> {
    let mut changes = Vec::new();
    let empty = PolicyDocument::empty();
    let old = old.unwrap_or(&empty);
    by_id(&mut changes, "teams", &old.teams, &new.teams, |t| &t.id);
    by_id(&mut changes, "reps", &old.reps, &new.reps, |r| &r.id);
    by_id(
        &mut changes,
        "rotations",
        &old.rotations,
        &new.rotations,
        |r| &r.id,
    );
    by_id(&mut changes, "pools", &old.pools, &new.pools, |p| &p.id);
    by_id(
        &mut changes,
        "routing.rules",
        &old.routing.rules,
        &new.routing.rules,
        |r| &r.name,
    );
    let old_order: Vec<&str> = old.routing.rules.iter().map(|r| r.name.as_str()).collect();
    let new_order: Vec<&str> = new.routing.rules.iter().map(|r| r.name.as_str()).collect();
    let kept_old: Vec<&str> = old_order
        .iter()
        .copied()
        .filter(|n| new_order.contains(n))
        .collect();
    let kept_new: Vec<&str> = new_order
        .iter()
        .copied()
        .filter(|n| old_order.contains(n))
        .collect();
    if kept_old != kept_new {
        changes.push(Change {
            kind: ChangeKind::Changed,
            path: "routing.rules (order)".to_owned(),
        });
    }
    if json(&old.routing.default) != json(&new.routing.default) {
        changes.push(Change {
            kind: ChangeKind::Changed,
            path: "routing.default".to_owned(),
        });
    }
    // Every other section compares whole, so a section added to the document later is never
    // missed (an apply that changes only it is still a change). In document order.
    let sections = |document: &PolicyDocument| match serde_yaml_ng::to_value(document) {
        Ok(serde_yaml_ng::Value::Mapping(sections)) => sections,
        _ => serde_yaml_ng::Mapping::new(),
    };
    let (old, new) = (sections(old), sections(new));
    let mut seen = Vec::new();
    for key in new.keys().chain(old.keys()) {
        let Some(name) = key.as_str().filter(|name| !BY_ID.contains(name)) else {
            continue;
        };
        if !seen.contains(&name) && old.get(key) != new.get(key) {
            changes.push(Change {
                kind: ChangeKind::Changed,
                path: name.to_owned(),
            });
        }
        seen.push(name);
    }
    changes
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn by_id<T: Serialize>(
    changes: &mut Vec<Change>,
    section: &str,
    old: &[T],
    new: &[T],
    id: impl Fn(&T) -> &String,
) {
    let old: BTreeMap<&String, serde_json::Value> =
        old.iter().map(|item| (id(item), json(item))).collect();
    let new: BTreeMap<&String, serde_json::Value> =
        new.iter().map(|item| (id(item), json(item))).collect();
    for (key, value) in &new {
        match old.get(key) {
            None => changes.push(Change {
                kind: ChangeKind::Added,
                path: format!("{section}/{key}"),
            }),
            Some(previous) if previous != value => {
                changes.push(Change {
                    kind: ChangeKind::Changed,
                    path: format!("{section}/{key}"),
                });
            }
            Some(_) => {}
        }
    }
    for key in old.keys().filter(|key| !new.contains_key(*key)) {
        changes.push(Change {
            kind: ChangeKind::Removed,
            path: format!("{section}/{key}"),
        });
    }
}
