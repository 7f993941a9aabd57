//! Qualification: is a lead good enough to enter a pool? A rejected lead is kept with its reason.

use crate::lead::NewLead;

/// The rules a lead must pass before it is routed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QualificationRules {
    /// Leads scoring below this are rejected.
    pub min_score: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Qualified,
    Rejected { reason: String },
}

impl QualificationRules {
    pub fn qualify(&self, lead: &NewLead) -> Verdict {
        if lead.score < self.min_score {
            return Verdict::Rejected {
                reason: format!(
                    "score {} is below the qualification threshold {}",
                    lead.score, self.min_score
                ),
            };
        }
        Verdict::Qualified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadInput;

    fn lead(score: i32) -> NewLead {
        NewLead::parse(LeadInput {
            idempotency_key: "k".into(),
            email: "a@example.com".into(),
            score,
            ..LeadInput::default()
        })
        .unwrap()
    }

    #[test]
    fn scores_at_or_above_the_threshold_qualify() {
        let rules = QualificationRules { min_score: 40 };
        assert_eq!(rules.qualify(&lead(40)), Verdict::Qualified);
        assert_eq!(
            rules.qualify(&lead(39)),
            Verdict::Rejected {
                reason: "score 39 is below the qualification threshold 40".into()
            }
        );
    }
}
