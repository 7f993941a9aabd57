//! Skills (P2, A1, H4): the products, industries and languages a rep covers. Access rules may
//! require some of them of a rep (any or all of a list); a pool, or an assignment rule, may ask
//! that a lead go only to a rep covering the lead's own product, industry or language — until
//! the lead has waited `relaxAfter`, when any rep of the pool may take it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::model::{Pool, PoolClock, Rep};
use crate::route::LeadFacts;

/// A kind of skill, and the lead attribute it is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skill {
    Product,
    Industry,
    Language,
}

impl Skill {
    pub const NAMES: &'static [&'static str] = &["product", "industry", "language"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "product" => Some(Self::Product),
            "industry" => Some(Self::Industry),
            "language" => Some(Self::Language),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// What `rep` covers of this kind.
    pub fn of_rep(self, rep: &Rep) -> &BTreeSet<String> {
        match self {
            Self::Product => &rep.products,
            Self::Industry => &rep.industries,
            Self::Language => &rep.languages,
        }
    }

    /// The lead's value of this kind ("" when it has none).
    pub fn of_lead(self, lead: &LeadFacts) -> &str {
        match self {
            Self::Product => &lead.product,
            Self::Industry => &lead.industry,
            Self::Language => &lead.language,
        }
    }
}

/// What an access rule requires a rep to cover: of each list given, any (or all) of its values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkillRequirement {
    pub products: BTreeSet<String>,
    pub industries: BTreeSet<String>,
    pub languages: BTreeSet<String>,
    /// Every value of each list, not just one.
    pub all: bool,
}

impl SkillRequirement {
    /// The requirement in words: "any of products [crm], languages [de, en]".
    pub fn describe(&self) -> String {
        let lists: Vec<String> = [
            ("products", &self.products),
            ("industries", &self.industries),
            ("languages", &self.languages),
        ]
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(what, values)| {
            format!(
                "{what} [{}]",
                values.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
        format!(
            "{} of {}",
            if self.all { "all" } else { "any" },
            lists.join(", ")
        )
    }

    /// What `rep` lacks, as sentences ("covers none of products [crm, erp]"); empty when she
    /// meets it.
    pub fn misses(&self, rep: &Rep) -> Vec<String> {
        [
            (Skill::Product, &self.products),
            (Skill::Industry, &self.industries),
            (Skill::Language, &self.languages),
        ]
        .into_iter()
        .filter(|(_, wanted)| !wanted.is_empty())
        .filter_map(|(skill, wanted)| {
            let has = skill.of_rep(rep);
            let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
            if self.all {
                let lacking: BTreeSet<String> = wanted.difference(has).cloned().collect();
                (!lacking.is_empty())
                    .then(|| format!("lacks {}s [{}]", skill.name(), list(&lacking)))
            } else {
                wanted.is_disjoint(has).then(|| {
                    format!(
                        "covers none of {}s [{}] (she covers [{}])",
                        skill.name(),
                        list(wanted),
                        list(has)
                    )
                })
            }
        })
        .collect()
    }
}

/// A lead of a pool (or of an assignment rule) goes only to reps covering its own value of
/// each of `skills`, until it has waited `relax_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillMatch {
    pub skills: BTreeSet<Skill>,
    pub relax_after: Option<Duration>,
}

impl SkillMatch {
    /// Why `rep` may not take `lead` ("lacks product acme"); empty when she may. A lead
    /// without a value of a skill asks nothing of it.
    pub fn lacking(&self, rep: &Rep, lead: &LeadFacts) -> Vec<String> {
        self.skills
            .iter()
            .filter_map(|skill| {
                let value = skill.of_lead(lead);
                (!value.is_empty() && !skill.of_rep(rep).contains(value))
                    .then(|| format!("lacks {} {value}", skill.name()))
            })
            .collect()
    }

    /// From when a lead that started waiting at `since` is open to every rep, on `clock`;
    /// `None` if it never is.
    pub fn relaxed_from(&self, since: DateTime<Utc>, clock: &PoolClock) -> Option<DateTime<Utc>> {
        self.relax_after.map(|after| clock.after(since, after))
    }

    /// What it still asks of a rep at `now` for a lead that started waiting at `since`
    /// (counted on `clock`): itself, or nothing once the wait relaxed it.
    pub fn asked(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        clock: &PoolClock,
    ) -> Option<&Self> {
        (since > self.relaxed_before(now, clock)).then_some(self)
    }

    /// Leads that started waiting at or before this instant are open to every rep at `now`
    /// (the distant past when the match never relaxes).
    pub fn relaxed_before(&self, now: DateTime<Utc>, clock: &PoolClock) -> DateTime<Utc> {
        self.relax_after
            .map_or(DateTime::<Utc>::MIN_UTC, |after| clock.before(now, after))
    }
}

impl Pool {
    /// The skills a lead of this pool that entered it at `pooled_at` still asks of a rep at
    /// `now`: none once its wait relaxed them (on the pool's lifecycle clock).
    pub fn skills_asked(
        &self,
        pooled_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<&SkillMatch> {
        let skills = self.skills.as_ref()?;
        match pooled_at {
            Some(at) => skills.asked(at, now, &self.clocks.lifecycle),
            None => Some(skills),
        }
    }
}
