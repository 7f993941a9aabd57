//! Qualification (I2): is a lead good enough to enter a pool? A rejected lead is kept, with the
//! reason this returns.

use leadpool_domain::NewLead;

use crate::model::{LeadField, Qualification};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Qualified,
    Rejected {
        /// Which rule refused it, stable for counting: `required-fields`, `excluded-domain`,
        /// `excluded-country`, `competitor`, `min-score`.
        rule: &'static str,
        reason: String,
    },
}

impl Qualification {
    /// Required fields first, then exclusions, then the score threshold: the first failure is
    /// the reason.
    pub fn qualify(&self, lead: &NewLead) -> Verdict {
        let reject = |rule: &'static str, reason: String| Verdict::Rejected { rule, reason };
        let missing: Vec<&str> = self
            .required_fields
            .iter()
            .filter(|field| field_value(lead, **field).trim().is_empty())
            .map(|field| field.name())
            .collect();
        if !missing.is_empty() {
            return reject(
                "required-fields",
                format!("required field(s) missing: {}", missing.join(", ")),
            );
        }
        let email_domain = lead.email.rsplit_once('@').map_or("", |(_, d)| d);
        for domain in [email_domain, lead.company_domain.as_str()] {
            if let Some(excluded) = self
                .excluded_domains
                .iter()
                .find(|excluded| is_same_or_subdomain(domain, excluded))
            {
                return reject(
                    "excluded-domain",
                    format!("domain {domain} is excluded ({excluded})"),
                );
            }
        }
        if self.excluded_countries.contains(&lead.country) {
            return reject(
                "excluded-country",
                format!("country {} is excluded", lead.country),
            );
        }
        let company = lead.company.trim().to_ascii_lowercase();
        if let Some(competitor) = self.competitors.iter().find(|c| {
            **c == company
                || is_same_or_subdomain(&lead.company_domain, c)
                || is_same_or_subdomain(email_domain, c)
        }) {
            return reject(
                "competitor",
                format!("the lead is from a competitor ({competitor})"),
            );
        }
        if lead.score < self.min_score {
            return reject(
                "min-score",
                format!(
                    "score {} is below the qualification threshold {}",
                    lead.score, self.min_score
                ),
            );
        }
        Verdict::Qualified
    }
}

fn field_value(lead: &NewLead, field: LeadField) -> &str {
    match field {
        LeadField::Email => &lead.email,
        LeadField::Phone => &lead.phone,
        LeadField::Name => &lead.contact_name,
        LeadField::Company => &lead.company,
        LeadField::CompanyDomain => &lead.company_domain,
        LeadField::Country => &lead.country,
        LeadField::Region => &lead.region,
        LeadField::Product => &lead.product,
        LeadField::Industry => &lead.industry,
        LeadField::Source => &lead.source,
    }
}

fn is_same_or_subdomain(domain: &str, of: &str) -> bool {
    !domain.is_empty()
        && (domain == of
            || domain
                .strip_suffix(of)
                .is_some_and(|rest| rest.ends_with('.')))
}

#[cfg(test)]
mod tests {
    use leadpool_domain::new_lead::LeadInput;

    use super::*;

    fn lead(f: impl FnOnce(&mut LeadInput)) -> NewLead {
        let mut input = LeadInput {
            idempotency_key: "k".into(),
            email: "ada@analytical.example".into(),
            company: "Analytical Engines".into(),
            country: "GB".into(),
            score: 60,
            ..LeadInput::default()
        };
        f(&mut input);
        NewLead::parse(input).unwrap()
    }

    fn rules() -> Qualification {
        Qualification {
            min_score: 40,
            required_fields: vec![LeadField::Email, LeadField::Company],
            excluded_domains: ["mailinator.com".to_owned()].into(),
            excluded_countries: ["KP".to_owned()].into(),
            competitors: ["rivalsoft".to_owned(), "rival.example".to_owned()].into(),
        }
    }

    fn reason(verdict: Verdict) -> String {
        match verdict {
            Verdict::Rejected { reason, .. } => reason,
            Verdict::Qualified => "qualified".into(),
        }
    }

    #[test]
    fn a_lead_meeting_every_rule_qualifies() {
        assert_eq!(rules().qualify(&lead(|_| {})), Verdict::Qualified);
    }

    #[test]
    fn each_rule_rejects_with_its_own_reason() {
        let q = rules();
        assert_eq!(
            reason(q.qualify(&lead(|l| l.company = String::new()))),
            "required field(s) missing: company"
        );
        assert_eq!(
            reason(q.qualify(&lead(|l| l.email = "x@eu.mailinator.com".into()))),
            "domain eu.mailinator.com is excluded (mailinator.com)"
        );
        assert_eq!(
            reason(q.qualify(&lead(|l| l.country = "KP".into()))),
            "country KP is excluded"
        );
        assert_eq!(
            reason(q.qualify(&lead(|l| l.company = "RivalSoft".into()))),
            "the lead is from a competitor (rivalsoft)"
        );
        assert_eq!(
            reason(q.qualify(&lead(|l| l.email = "cto@rival.example".into()))),
            "the lead is from a competitor (rival.example)"
        );
        assert_eq!(
            reason(q.qualify(&lead(|l| l.score = 39))),
            "score 39 is below the qualification threshold 40"
        );
    }

    #[test]
    fn a_similar_but_different_domain_is_not_excluded() {
        let q = rules();
        assert_eq!(
            q.qualify(&lead(|l| l.email = "a@notmailinator.com".into())),
            Verdict::Qualified
        );
    }
}
