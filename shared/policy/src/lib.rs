//! Policy as code. Ops teams describe their whole setup — teams, reps, rotations, pools,
//! qualification, duplicates, routing, access and hybrid assignment — in one YAML document kept
//! in git. This crate reads it ([`parse`]), checks it, reporting every problem with its path
//! ([`compile`]), and answers the questions the services ask of it: does this lead qualify,
//! where does it go, may this rep claim here now, who receives a pushed lead. No I/O.

mod access;
mod assign;
mod availability;
mod cleanup;
mod compile;
mod diff;
pub mod document;
pub mod duplicates;
mod edits;
mod forced;
mod model;
mod oversight;
mod performance;
mod qualify;
mod rebalance;
mod retirement;
mod route;
mod skills;
mod span;
mod text;

use serde::Deserialize;

pub use access::AccessExplanation;
pub use assign::{Candidate, Candidates, OpenCaps, next_assignee};
pub use availability::Away;
pub use cleanup::{Merge, Proposal};
pub use compile::{DEFAULT_CONTACT_SLA, PolicyError, compile};
pub use diff::{Change, ChangeKind, diff};
pub use document::PolicyDocument;
pub use edits::PoolExists;
pub use model::*;
pub use oversight::Oversight;
pub use performance::{Rating, RepFigures};
pub use qualify::Verdict;
pub use rebalance::{Rebalance, SegmentMove, Share};
pub use retirement::{Drain, Holding};
pub use route::{Decision, LeadFacts, PoolEntry, RouteExplanation, RuleCheck, split_bucket};
pub use skills::{Skill, SkillMatch, SkillRequirement};
pub use span::span;

/// Reads a YAML policy document. Syntax and type errors name the path where reading stopped;
/// text holding control characters is named at every path where it occurs.
pub fn parse(yaml: &str) -> Result<PolicyDocument, Vec<PolicyError>> {
    // Text escaped into control characters is refused first, at its path: it would reach the
    // database (names, reasons) or an answer quoting the document.
    if let Ok(value) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(yaml) {
        let refused = text::violations(&value);
        if !refused.is_empty() {
            return Err(refused);
        }
    }
    let deserializer = serde_yaml_ng::Deserializer::from_str(yaml);
    PolicyDocument::deserialize(deserializer)
        .map_err(|_| ())
        .or_else(|()| {
            // Read again, tracking the path, to say where the problem is.
            let deserializer = serde_yaml_ng::Deserializer::from_str(yaml);
            match serde_path_to_error::deserialize::<_, PolicyDocument>(deserializer) {
                Ok(document) => Ok(document),
                Err(err) => {
                    let path = err.path().to_string();
                    Err(vec![PolicyError {
                        path: if path == "." { String::new() } else { path },
                        message: err.into_inner().to_string(),
                    }])
                }
            }
        })
}

/// [`parse`] then [`compile`].
pub fn load(yaml: &str) -> Result<Policy, Vec<PolicyError>> {
    compile(&parse(yaml)?)
}

/// The JSON Schema of the policy document (published as `policy.schema.json`).
/// A document's problems as the API reports them: `INVALID_ARGUMENT`, one field violation per
/// problem at its document path (`document` for the whole).
pub fn invalid_document(errors: Vec<PolicyError>) -> leadpool_domain::Error {
    leadpool_domain::Error::InvalidArgument(
        errors
            .into_iter()
            .map(|e| {
                let path = if e.path.is_empty() {
                    "document".to_owned()
                } else {
                    e.path
                };
                leadpool_domain::FieldViolation::new(path, e.message)
            })
            .collect(),
    )
}

pub fn json_schema() -> String {
    let schema = schemars::schema_for!(PolicyDocument);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

impl PolicyDocument {
    /// A policy with nothing in it: what applies before anyone applied one.
    pub fn empty() -> Self {
        Self {
            api_version: document::API_VERSION.to_owned(),
            kind: document::KIND.to_owned(),
            metadata: document::Metadata::default(),
            teams: Vec::new(),
            holidays: Vec::new(),
            working_time: None,
            reps: Vec::new(),
            rotations: Vec::new(),
            pools: Vec::new(),
            retired_pools: Vec::new(),
            qualification: document::QualificationDoc::default(),
            duplicates: document::DuplicatesDoc::default(),
            routing: document::RoutingDoc::default(),
            limits: None,
            acceptance: None,
            manual_assignment: None,
            self_availability: None,
            lifecycle: None,
            aging: None,
            health: None,
            performance: None,
        }
    }

    /// The document as YAML.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

impl Policy {
    /// The policy in force before any was applied: no pools, no reps, everything qualifies.
    pub fn empty() -> Self {
        Self {
            name: String::new(),
            teams: std::collections::BTreeMap::new(),
            reps: std::collections::BTreeMap::new(),
            rotations: Vec::new(),
            pools: Vec::new(),
            qualification: Qualification::default(),
            duplicates: Duplicates::default(),
            routing: Routing::default(),
            limits: Limits::default(),
            acceptance: None,
            manual_assignment_rejectable: false,
            self_availability: SelfAvailability::default(),
            retired_pools: std::collections::BTreeMap::new(),
            health: HealthRules::default(),
            performance: None,
            document: PolicyDocument::empty(),
        }
    }
}

#[cfg(test)]
mod tests;
