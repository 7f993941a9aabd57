//! The validated shape of a newly submitted lead.

use std::collections::BTreeMap;

use crate::validation::{FieldViolation, Violations, excerpt};

/// Limits on free-text input, so one request cannot fill the database.
pub const MAX_TEXT_LEN: usize = 256;
pub const MAX_ATTRIBUTES: usize = 64;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// A lead as submitted, after every field was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLead {
    pub idempotency_key: String,
    pub email: String,
    pub contact_name: String,
    pub company: String,
    pub company_domain: String,
    pub country: String,
    pub phone: String,
    pub score: i32,
    pub source: String,
    pub region: String,
    pub product: String,
    pub industry: String,
    /// Lowercase language tag ("de", "en-us"); empty when unknown.
    pub language: String,
    pub attributes: BTreeMap<String, String>,
}

/// The unchecked input for a [`NewLead`], as it arrives from a caller.
#[derive(Debug, Clone, Default)]
pub struct LeadInput {
    pub idempotency_key: String,
    pub email: String,
    pub contact_name: String,
    pub company: String,
    pub company_domain: String,
    pub country: String,
    pub phone: String,
    pub score: i32,
    pub source: String,
    pub region: String,
    pub product: String,
    pub industry: String,
    pub language: String,
    pub attributes: BTreeMap<String, String>,
}

impl NewLead {
    /// Checks every field and reports every problem, with the request's field paths.
    pub fn parse(input: LeadInput) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let key = input.idempotency_key.trim().to_owned();
        if key.is_empty() {
            v.add(
                "idempotency_key",
                "is required: a caller-chosen id that is the same on every retry",
            );
        } else if key.len() > MAX_IDEMPOTENCY_KEY_LEN {
            v.add(
                "idempotency_key",
                format!("is longer than {MAX_IDEMPOTENCY_KEY_LEN} bytes"),
            );
        } else if key.chars().any(char::is_control) {
            v.add("idempotency_key", "contains control characters");
        }
        let email = input.email.trim().to_ascii_lowercase();
        if email.is_empty() && input.phone.trim().is_empty() {
            v.add(
                "contact.email",
                "is required unless contact.phone is given: a lead needs a way to be reached",
            );
        } else if !email.is_empty() && !is_plausible_email(&email) {
            v.add(
                "contact.email",
                format!("`{}` is not an email address", excerpt(&email, 64)),
            );
        }
        if !(0..=100).contains(&input.score) {
            v.add("score", format!("{} is outside 0..=100", input.score));
        }
        let mut domain = input.company_domain.trim().to_ascii_lowercase();
        if domain.is_empty() {
            domain = email
                .rsplit_once('@')
                .map(|(_, d)| d.to_owned())
                .unwrap_or_default();
        } else if !is_plausible_domain(&domain) {
            v.add(
                "contact.company_domain",
                format!(
                    "`{}` is not a domain name such as example.com",
                    excerpt(&domain, 64)
                ),
            );
        }
        let country = input.country.trim().to_ascii_uppercase();
        let is_alpha2 = country.len() == 2 && country.chars().all(|c| c.is_ascii_uppercase());
        if !country.is_empty() && !is_alpha2 {
            v.add(
                "contact.country",
                format!(
                    "`{}` is not an ISO 3166-1 alpha-2 code such as DE",
                    excerpt(&country, 8)
                ),
            );
        }
        for (field, value) in [
            ("contact.email", &input.email),
            ("contact.name", &input.contact_name),
            ("contact.company", &input.company),
            ("contact.company_domain", &input.company_domain),
            ("contact.phone", &input.phone),
            ("source", &input.source),
            ("region", &input.region),
            ("product", &input.product),
            ("industry", &input.industry),
        ] {
            check_text(&mut v, field, value);
        }
        let language = normalize_tag(&input.language);
        if !language.is_empty() && !is_language_tag(&language) {
            v.add(
                "language",
                format!(
                    "`{}` is not a language tag such as de or en-us",
                    excerpt(&language, 16)
                ),
            );
        }
        if input.attributes.len() > MAX_ATTRIBUTES {
            v.add(
                "attributes",
                format!(
                    "has {} entries; at most {MAX_ATTRIBUTES} are allowed",
                    input.attributes.len()
                ),
            );
        }
        for (key, value) in &input.attributes {
            if key.is_empty() {
                v.add("attributes", "has an empty key");
            }
            check_text(&mut v, &format!("attributes[{}]", excerpt(key, 32)), value);
            check_text(&mut v, "attributes", key);
        }
        v.into_result(|| NewLead {
            idempotency_key: key,
            email,
            contact_name: input.contact_name.trim().to_owned(),
            company: input.company.trim().to_owned(),
            company_domain: domain,
            country,
            phone: input.phone.trim().to_owned(),
            score: input.score,
            source: normalize_tag(&input.source),
            region: normalize_tag(&input.region),
            product: normalize_tag(&input.product),
            industry: normalize_tag(&input.industry),
            language,
            attributes: input.attributes,
        })
    }
}

impl NewLead {
    /// A digest of everything submitted except the idempotency key: a retry has the same
    /// fingerprint, a different lead reusing the key does not.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        let fields = [
            &self.email,
            &self.contact_name,
            &self.company,
            &self.company_domain,
            &self.country,
            &self.phone,
            &self.source,
            &self.region,
            &self.product,
            &self.industry,
        ];
        for field in fields {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            hash.update((field.len() as u64).to_le_bytes());
            hash.update(field.as_bytes());
        }
        hash.update(self.score.to_le_bytes());
        // Only when given, so leads submitted before languages existed keep their digest.
        if !self.language.is_empty() {
            hash.update(b"language");
            hash.update((self.language.len() as u64).to_le_bytes());
            hash.update(self.language.as_bytes());
        }
        for (key, value) in &self.attributes {
            hash.update((key.len() as u64).to_le_bytes());
            hash.update(key.as_bytes());
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(value.as_bytes());
        }
        hash.finalize().into()
    }
}

/// A BCP 47 language tag as people write them: a 2–3 letter language, then optional
/// subtags of 2–8 letters or digits (`de`, `en-us`, `zh-hant-tw`).
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Segment tags (source, region, product, industry) compare case-insensitively.
fn normalize_tag(tag: &str) -> String {
    tag.trim().to_ascii_lowercase()
}

fn check_text(v: &mut Violations, field: &str, value: &str) {
    if value.len() > MAX_TEXT_LEN {
        v.add(field, format!("is longer than {MAX_TEXT_LEN} bytes"));
    }
    if value.chars().any(char::is_control) {
        v.add(field, "contains control characters");
    }
}

fn is_plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.contains(char::is_whitespace)
                && !domain.contains('@')
                && is_plausible_domain(domain)
        }
        None => false,
    }
}

fn is_plausible_domain(domain: &str) -> bool {
    domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_input() -> LeadInput {
        LeadInput {
            idempotency_key: "form-1".into(),
            email: " Ada@Example.COM ".into(),
            score: 85,
            source: "Demo-Request".into(),
            country: "de".into(),
            ..LeadInput::default()
        }
    }

    #[test]
    fn a_valid_lead_is_normalized() {
        let lead = NewLead::parse(valid_input()).unwrap();
        assert_eq!(lead.email, "ada@example.com");
        assert_eq!(lead.company_domain, "example.com");
        assert_eq!(lead.country, "DE");
        assert_eq!(lead.source, "demo-request");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let input = LeadInput {
            idempotency_key: String::new(),
            email: "not-an-email".into(),
            score: 101,
            country: "Germany".into(),
            ..LeadInput::default()
        };
        let fields: Vec<String> = NewLead::parse(input)
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "idempotency_key",
                "contact.email",
                "score",
                "contact.country"
            ]
        );
    }

    #[test]
    fn fingerprints_ignore_the_key_but_not_the_lead() {
        let lead = NewLead::parse(valid_input()).unwrap();
        let retry = NewLead::parse(LeadInput {
            idempotency_key: "form-2".into(),
            ..valid_input()
        })
        .unwrap();
        let other = NewLead::parse(LeadInput {
            score: 10,
            ..valid_input()
        })
        .unwrap();
        assert_eq!(lead.fingerprint(), retry.fingerprint());
        assert_ne!(lead.fingerprint(), other.fingerprint());
    }

    #[test]
    fn a_phone_number_is_enough_contact() {
        let input = LeadInput {
            email: String::new(),
            phone: "+49 30 1234".into(),
            ..valid_input()
        };
        assert!(NewLead::parse(input).is_ok());
    }

    proptest::proptest! {
        /// Any text in any field: a lead with no control character and nothing overlong in
        /// it, or the problems by field — never a panic.
        #[test]
        fn any_input_is_a_clean_lead_or_its_problems(
            key in "\\PC{0,8}|.{0,8}",
            email in "\\PC{0,12}|.{0,12}|[a-z]{1,5}@[a-z]{1,5}\\.de",
            name in "\\PC{0,300}|.{0,20}",
            source in ".{0,10}",
            attribute in ".{0,10}",
            score in -5i32..110,
        ) {
            let input = LeadInput {
                idempotency_key: key,
                email,
                contact_name: name,
                source,
                score,
                attributes: BTreeMap::from([("utm".to_owned(), attribute)]),
                ..LeadInput::default()
            };
            match NewLead::parse(input) {
                Ok(lead) => {
                    let texts = [
                        &lead.idempotency_key, &lead.email, &lead.contact_name, &lead.source,
                        &lead.attributes["utm"],
                    ];
                    for text in texts {
                        proptest::prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
                        proptest::prop_assert!(text.len() <= MAX_TEXT_LEN);
                    }
                    proptest::prop_assert!((0..=100).contains(&lead.score));
                }
                Err(violations) => proptest::prop_assert!(!violations.is_empty()),
            }
        }

        /// Any resource name is an id of its kind or a violation naming the field.
        #[test]
        fn any_name_is_an_id_or_a_violation(name in "\\PC{0,40}|pools/.{0,10}|leads/.{0,40}") {
            match crate::PoolId::from_name(&name, "pool") {
                Ok(id) => proptest::prop_assert_eq!(id.name(), name.clone()),
                Err(v) => proptest::prop_assert_eq!(v.field, "pool"),
            }
            match crate::LeadId::from_name(&name, "lead") {
                Ok(id) => proptest::prop_assert_eq!(id.name(), name.to_ascii_lowercase()),
                Err(v) => proptest::prop_assert_eq!(v.field, "lead"),
            }
        }
    }
}
