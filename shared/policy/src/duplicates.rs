//! I1 idempotency and I4 duplicates, decided as a pure function: given a batch of submissions,
//! what the database already knows about their idempotency keys, and the earlier leads with the
//! same email or company, say what becomes of each submission. Only leads still in play are
//! duplicates; a new inquiry from a contact whose earlier lead is closed, nurtured or archived is
//! a new lead that points at it (a returning customer). The store takes the locks, reads what
//! this needs, and carries the plan out.

use std::collections::{BTreeSet, HashMap};

use leadpool_domain::{LeadId, LeadState, NewLead};

use crate::model::{DuplicateAction, Duplicates};

/// A validated, qualified submission.
#[derive(Debug, Clone)]
pub struct Submission {
    pub lead: NewLead,
    /// SHA-256 of the submitted lead ([`NewLead::fingerprint`]).
    pub fingerprint: [u8; 32],
    /// `Some(reason)` when qualification refused it.
    pub rejection: Option<String>,
}

/// An earlier submission with the same idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    /// The lead it created, or was merged into.
    pub id: LeadId,
    pub fingerprint: Vec<u8>,
    /// It was folded into `id` as a duplicate.
    pub merged: bool,
}

/// An earlier lead (not rejected) a new submission may duplicate or return to, as the
/// duplicate rules compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownLead {
    pub id: LeadId,
    pub email: String,
    pub company_domain: String,
    /// Lower-cased.
    pub company: String,
    /// Still being worked (received, scheduled, available, escalated, claimed, assigned,
    /// contacted): a duplicate. Otherwise (closed, nurture, archived) a returning contact.
    pub in_play: bool,
}

/// The states of a lead still in play.
pub const IN_PLAY: [LeadState; 7] = [
    LeadState::Received,
    LeadState::Scheduled,
    LeadState::Available,
    LeadState::Escalated,
    LeadState::Claimed,
    LeadState::Assigned,
    LeadState::Contacted,
];

/// What becomes of one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A new lead: `received` (qualified) or `rejected` (with `reason`; `duplicate_of` when it
    /// duplicates a lead in play under the reject policy). `previous`: the latest earlier lead
    /// of the same contact that is no longer in play.
    Create {
        id: LeadId,
        state: LeadState,
        reason: Option<String>,
        duplicate_of: Option<LeadId>,
        previous: Option<LeadId>,
    },
    /// The key was submitted before with the same lead: that answer again.
    Repeat { id: LeadId, merged: bool },
    /// The key was submitted before with a different lead.
    KeyReused(LeadId),
    /// Folded into the live lead it duplicates (merge policy).
    Merge(LeadId),
}

/// The email a submission is compared by, if the rules compare emails and it has one.
pub fn email_key(lead: &NewLead, rules: &Duplicates) -> Option<String> {
    (rules.by_email && !lead.email.is_empty()).then(|| lead.email.clone())
}

/// The (domain, lower-cased company) a submission is compared by, if the rules compare
/// companies and it has both.
pub fn company_key(lead: &NewLead, rules: &Duplicates) -> Option<(String, String)> {
    (rules.by_company && !lead.company_domain.is_empty() && !lead.company.is_empty())
        .then(|| (lead.company_domain.clone(), lead.company.to_lowercase()))
}

/// Every key a batch's storing must hold a lock on, so concurrent submissions of the same
/// lead (by key, email or company) serialise.
pub fn lock_keys(batch: &[Submission], rules: &Duplicates) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for sub in batch {
        keys.insert(format!("key:{}", sub.lead.idempotency_key));
        if let Some(email) = email_key(&sub.lead, rules) {
            keys.insert(format!("email:{email}"));
        }
        if let Some((domain, company)) = company_key(&sub.lead, rules) {
            keys.insert(format!("company:{domain}|{company}"));
        }
    }
    keys
}

/// Decides every submission of `batch`, in order. `earlier` holds what earlier submissions of
/// the batch's keys did; `known` the earlier leads sharing an email or company with the batch,
/// oldest first (the oldest in play is the one a duplicate names; the newest out of play the
/// one a returning contact's lead points at). Within the batch, a later submission duplicates
/// an earlier new lead, and a repeated key answers like its first occurrence. `new_id` names
/// new leads.
pub fn plan(
    batch: &[Submission],
    mut earlier: HashMap<String, Earlier>,
    known: &[KnownLead],
    rules: &Duplicates,
    mut new_id: impl FnMut() -> LeadId,
) -> Vec<Plan> {
    let mut by_email: HashMap<String, LeadId> = HashMap::new();
    let mut by_company: HashMap<(String, String), LeadId> = HashMap::new();
    let mut returning_email: HashMap<String, LeadId> = HashMap::new();
    let mut returning_company: HashMap<(String, String), LeadId> = HashMap::new();
    for lead in known {
        let (emails, companies) = if lead.in_play {
            (&mut by_email, &mut by_company)
        } else {
            (&mut returning_email, &mut returning_company)
        };
        if rules.by_email && !lead.email.is_empty() {
            let entry = emails.entry(lead.email.clone());
            if lead.in_play {
                entry.or_insert(lead.id);
            } else {
                *entry.or_insert(lead.id) = lead.id;
            }
        }
        if rules.by_company && !lead.company_domain.is_empty() && !lead.company.is_empty() {
            let entry = companies.entry((lead.company_domain.clone(), lead.company.clone()));
            if lead.in_play {
                entry.or_insert(lead.id);
            } else {
                *entry.or_insert(lead.id) = lead.id;
            }
        }
    }
    let mut plans = Vec::with_capacity(batch.len());
    for sub in batch {
        let key = &sub.lead.idempotency_key;
        if let Some(earlier) = earlier.get(key) {
            plans.push(if earlier.fingerprint == sub.fingerprint {
                Plan::Repeat {
                    id: earlier.id,
                    merged: earlier.merged,
                }
            } else {
                Plan::KeyReused(earlier.id)
            });
            continue;
        }
        let email = email_key(&sub.lead, rules);
        let company = company_key(&sub.lead, rules);
        let duplicate = email
            .as_ref()
            .and_then(|e| by_email.get(e).map(|id| (*id, "the same email")))
            .or_else(|| {
                company
                    .as_ref()
                    .and_then(|c| by_company.get(c).map(|id| (*id, "the same company")))
            });
        let plan = match (duplicate, rules.action) {
            (Some((original, _)), DuplicateAction::Merge) => Plan::Merge(original),
            (Some((original, why)), DuplicateAction::Reject) => Plan::Create {
                id: new_id(),
                state: LeadState::Rejected,
                reason: Some(format!("duplicate of {} ({why})", original.name())),
                duplicate_of: Some(original),
                previous: None,
            },
            (None, _) => {
                let id = new_id();
                let previous = email
                    .as_ref()
                    .and_then(|e| returning_email.get(e))
                    .or_else(|| company.as_ref().and_then(|c| returning_company.get(c)))
                    .copied();
                let state = if sub.rejection.is_some() {
                    LeadState::Rejected
                } else {
                    // Later submissions in this batch duplicate this one.
                    if let Some(email) = email {
                        by_email.insert(email, id);
                    }
                    if let Some(company) = company {
                        by_company.insert(company, id);
                    }
                    LeadState::Received
                };
                Plan::Create {
                    id,
                    state,
                    reason: sub.rejection.clone(),
                    duplicate_of: None,
                    previous,
                }
            }
        };
        let (answer, merged) = match &plan {
            Plan::Create { id, .. } => (*id, false),
            Plan::Merge(into) => (*into, true),
            Plan::Repeat { id, merged } => (*id, *merged),
            Plan::KeyReused(id) => (*id, false),
        };
        earlier.insert(
            key.clone(),
            Earlier {
                id: answer,
                fingerprint: sub.fingerprint.to_vec(),
                merged,
            },
        );
        plans.push(plan);
    }
    plans
}

#[cfg(test)]
mod tests {
    use leadpool_domain::new_lead::LeadInput;
    use uuid::Uuid;

    use super::*;

    fn submission(key: &str, email: &str, company: &str) -> Submission {
        let lead = NewLead::parse(LeadInput {
            idempotency_key: key.into(),
            email: email.into(),
            company: company.into(),
            score: 50,
            ..LeadInput::default()
        })
        .unwrap();
        Submission {
            fingerprint: lead.fingerprint(),
            lead,
            rejection: None,
        }
    }

    fn ids() -> impl FnMut() -> LeadId {
        let mut n = 0;
        move || {
            n += 1;
            LeadId(Uuid::from_u128(n))
        }
    }

    fn rules(action: DuplicateAction) -> Duplicates {
        Duplicates {
            by_email: true,
            by_company: true,
            action,
        }
    }

    fn live(id: u128, email: &str) -> KnownLead {
        KnownLead {
            id: LeadId(Uuid::from_u128(id)),
            email: email.into(),
            company_domain: String::new(),
            company: String::new(),
            in_play: true,
        }
    }

    fn closed(id: u128, email: &str) -> KnownLead {
        KnownLead {
            in_play: false,
            ..live(id, email)
        }
    }

    #[test]
    fn a_new_lead_is_created_received() {
        let plans = plan(
            &[submission("k1", "a@x.com", "")],
            HashMap::new(),
            &[],
            &rules(DuplicateAction::Reject),
            ids(),
        );
        assert_eq!(
            plans,
            [Plan::Create {
                id: LeadId(Uuid::from_u128(1)),
                state: LeadState::Received,
                reason: None,
                duplicate_of: None,
                previous: None,
            }]
        );
    }

    #[test]
    fn a_retry_repeats_and_a_reused_key_with_another_lead_is_refused() {
        let sub = submission("k1", "a@x.com", "");
        let earlier = |fingerprint: Vec<u8>| {
            HashMap::from([(
                "k1".to_owned(),
                Earlier {
                    id: LeadId(Uuid::from_u128(7)),
                    fingerprint,
                    merged: false,
                },
            )])
        };
        let rules = rules(DuplicateAction::Reject);
        let same = plan(
            std::slice::from_ref(&sub),
            earlier(sub.fingerprint.to_vec()),
            &[],
            &rules,
            ids(),
        );
        assert_eq!(
            same,
            [Plan::Repeat {
                id: LeadId(Uuid::from_u128(7)),
                merged: false
            }]
        );
        let other = plan(&[sub], earlier(vec![0; 32]), &[], &rules, ids());
        assert_eq!(other, [Plan::KeyReused(LeadId(Uuid::from_u128(7)))]);
    }

    #[test]
    fn a_duplicate_is_merged_or_rejected_naming_the_oldest_live_lead() {
        let live = [live(70, "a@x.com"), live(80, "a@x.com")];
        let batch = [submission("k1", "a@x.com", "")];
        let merged = plan(
            &batch,
            HashMap::new(),
            &live,
            &rules(DuplicateAction::Merge),
            ids(),
        );
        assert_eq!(merged, [Plan::Merge(LeadId(Uuid::from_u128(70)))]);
        let rejected = plan(
            &batch,
            HashMap::new(),
            &live,
            &rules(DuplicateAction::Reject),
            ids(),
        );
        let [
            Plan::Create {
                state,
                duplicate_of,
                reason,
                ..
            },
        ] = &rejected[..]
        else {
            panic!("{rejected:?}")
        };
        assert_eq!(*state, LeadState::Rejected);
        assert_eq!(*duplicate_of, Some(LeadId(Uuid::from_u128(70))));
        assert!(reason.as_deref().unwrap().contains("the same email"));
    }

    #[test]
    fn within_a_batch_later_submissions_duplicate_earlier_ones_and_keys_repeat() {
        let batch = [
            submission("k1", "a@x.com", "Acme"),
            submission("k2", "b@x.com", "acme"),
            submission("k1", "a@x.com", "Acme"),
        ];
        let plans = plan(
            &batch,
            HashMap::new(),
            &[],
            &rules(DuplicateAction::Merge),
            ids(),
        );
        let first = LeadId(Uuid::from_u128(1));
        assert!(matches!(plans[0], Plan::Create { id, .. } if id == first));
        // Same company domain (x.com) and name, case aside.
        assert_eq!(plans[1], Plan::Merge(first));
        assert_eq!(
            plans[2],
            Plan::Repeat {
                id: first,
                merged: false
            }
        );
    }

    #[test]
    fn a_rejected_submission_is_no_original_for_later_ones() {
        let mut refused = submission("k1", "a@x.com", "");
        refused.rejection = Some("score below 40".into());
        let batch = [refused, submission("k2", "a@x.com", "")];
        let plans = plan(
            &batch,
            HashMap::new(),
            &[],
            &rules(DuplicateAction::Reject),
            ids(),
        );
        assert!(matches!(
            &plans[0],
            Plan::Create {
                state: LeadState::Rejected,
                ..
            }
        ));
        assert!(matches!(
            &plans[1],
            Plan::Create {
                state: LeadState::Received,
                duplicate_of: None,
                ..
            }
        ));
    }

    #[test]
    fn a_returning_contact_is_a_new_lead_pointing_at_her_latest_closed_one() {
        let known = [closed(60, "a@x.com"), closed(70, "a@x.com")];
        for action in [DuplicateAction::Merge, DuplicateAction::Reject] {
            let plans = plan(
                &[submission("k1", "a@x.com", "")],
                HashMap::new(),
                &known,
                &rules(action),
                ids(),
            );
            assert_eq!(
                plans,
                [Plan::Create {
                    id: LeadId(Uuid::from_u128(1)),
                    state: LeadState::Received,
                    reason: None,
                    duplicate_of: None,
                    previous: Some(LeadId(Uuid::from_u128(70))),
                }]
            );
        }
        // A lead still in play wins over closed ones: a duplicate, as before.
        let with_open = [closed(60, "a@x.com"), live(80, "a@x.com")];
        let plans = plan(
            &[submission("k1", "a@x.com", "")],
            HashMap::new(),
            &with_open,
            &rules(DuplicateAction::Merge),
            ids(),
        );
        assert_eq!(plans, [Plan::Merge(LeadId(Uuid::from_u128(80)))]);
    }

    #[test]
    fn lock_keys_cover_key_email_and_company() {
        let keys = lock_keys(
            &[submission("k1", "a@x.com", "Acme")],
            &rules(DuplicateAction::Merge),
        );
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            ["company:x.com|acme", "email:a@x.com", "key:k1"]
        );
    }
}
