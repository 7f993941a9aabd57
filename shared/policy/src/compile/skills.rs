//! Skills in the document: what access rules require of a rep, and which of a lead's
//! attributes a pool or an assignment rule matches reps against.

use super::Checker;
use crate::document::{SkillMatchDoc, SkillsDoc};
use crate::skills::{Skill, SkillMatch, SkillRequirement};

pub(crate) fn requirement(c: &mut Checker, path: &str, doc: &SkillsDoc) -> SkillRequirement {
    let all = match doc.matching.as_deref() {
        None | Some("any") => false,
        Some("all") => true,
        Some(other) => {
            c.error(
                format!("{path}.match"),
                format!("`{other}` is not one of: any, all"),
            );
            false
        }
    };
    if doc.products.is_empty() && doc.industries.is_empty() && doc.languages.is_empty() {
        c.error(
            path,
            "names no products, industries or languages: leave `skills` out to require none",
        );
    }
    SkillRequirement {
        products: Checker::tags(&doc.products),
        industries: Checker::tags(&doc.industries),
        languages: Checker::tags(&doc.languages),
        all,
    }
}

pub(crate) fn matching(c: &mut Checker, path: &str, doc: &SkillMatchDoc) -> SkillMatch {
    let skills = c.choices(
        &format!("{path}.match"),
        &doc.matching,
        Skill::from_name,
        Skill::NAMES,
    );
    if doc.matching.is_empty() {
        c.error(
            format!("{path}.match"),
            "names no skill: product, industry or language",
        );
    }
    SkillMatch {
        skills,
        relax_after: doc
            .relax_after
            .as_ref()
            .and_then(|after| c.duration(&format!("{path}.relaxAfter"), after)),
    }
}
