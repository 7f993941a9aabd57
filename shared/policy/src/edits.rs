//! The imperative edits of the routing API (CreatePool, UpsertRep) as changes to the policy
//! document, so the document stays the one source of truth: an edit becomes the next policy
//! version like any apply.

use crate::document::{LimitsDoc, PolicyDocument, PoolDoc, RepDoc, TeamDoc};

/// The pool an edit adds is in the policy already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolExists(pub String);

impl PolicyDocument {
    /// Adds `pool`, unless a pool with its id exists.
    pub fn add_pool(&mut self, pool: PoolDoc) -> Result<(), PoolExists> {
        if self.pools.iter().any(|p| p.id == pool.id) {
            return Err(PoolExists(pool.id));
        }
        self.pools.push(pool);
        Ok(())
    }

    /// Adds `rep`, or updates the rep with her id in what the API speaks about (name, team,
    /// role, active, daily limit), keeping everything else the document says of her. A team
    /// she names that the document lacks is added.
    pub fn upsert_rep(&mut self, rep: RepDoc) {
        if let Some(team) = &rep.team
            && !self.teams.iter().any(|t| &t.id == team)
        {
            self.teams.push(TeamDoc {
                id: team.clone(),
                name: None,
                time_zone: None,
                business_hours: None,
                after_hours: None,
                weekends: None,
                limits: None,
                managers: Vec::new(),
                holidays: Vec::new(),
            });
        }
        match self.reps.iter_mut().find(|r| r.id == rep.id) {
            Some(existing) => {
                let mut limits = existing.limits.take().unwrap_or_default();
                limits.per_day = rep.limits.as_ref().and_then(|l| l.per_day);
                existing.name = rep.name;
                existing.team = rep.team;
                existing.role = rep.role;
                existing.active = rep.active;
                existing.limits = (limits != LimitsDoc::default()).then_some(limits);
            }
            None => self.reps.push(rep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::AbsenceDoc;

    fn rep(id: &str, team: Option<&str>, per_day: Option<u32>) -> RepDoc {
        RepDoc {
            id: id.into(),
            name: Some(format!("{id} name")),
            team: team.map(Into::into),
            role: "sdr".into(),
            email: None,
            login: None,
            seniority: None,
            performance: None,
            regions: Vec::new(),
            products: Vec::new(),
            industries: Vec::new(),
            languages: Vec::new(),
            active: Some(true),
            weight: None,
            unavailable: Vec::new(),
            limits: per_day.map(|per_day| LimitsDoc {
                per_day: Some(per_day),
                ..LimitsDoc::default()
            }),
        }
    }

    fn pool(id: &str) -> PoolDoc {
        serde_yaml_ng::from_str(&format!("id: {id}\ntype: open\n")).unwrap()
    }

    #[test]
    fn a_pool_is_added_once() {
        let mut document = PolicyDocument::empty();
        assert_eq!(document.add_pool(pool("west")), Ok(()));
        assert_eq!(
            document.add_pool(pool("west")),
            Err(PoolExists("west".into()))
        );
        assert_eq!(document.pools.len(), 1);
    }

    #[test]
    fn a_new_rep_is_added_with_her_team() {
        let mut document = PolicyDocument::empty();
        document.upsert_rep(rep("alice", Some("emea"), None));
        assert_eq!(document.reps.len(), 1);
        assert_eq!(document.teams.len(), 1);
        assert_eq!(document.teams[0].id, "emea");
        document.upsert_rep(rep("bob", Some("emea"), None));
        assert_eq!(
            document.teams.len(),
            1,
            "an existing team is not added twice"
        );
    }

    #[test]
    fn updating_a_rep_keeps_what_the_api_does_not_speak_about() {
        let mut document = PolicyDocument::empty();
        let mut alice = rep("alice", None, Some(10));
        alice.seniority = Some("senior".into());
        alice.regions = vec!["west".into()];
        alice.unavailable = vec![AbsenceDoc {
            from: "2026-03-02".into(),
            to: "2026-03-06".into(),
            reason: None,
        }];
        alice.limits.as_mut().unwrap().per_hour = Some(3);
        document.upsert_rep(alice);
        let mut update = rep("alice", Some("emea"), Some(20));
        update.role = "ae".into();
        document.upsert_rep(update);
        let saved = &document.reps[0];
        assert_eq!(saved.role, "ae");
        assert_eq!(saved.team.as_deref(), Some("emea"));
        assert_eq!(saved.seniority.as_deref(), Some("senior"));
        assert_eq!(saved.regions, ["west"]);
        assert_eq!(saved.unavailable.len(), 1);
        let limits = saved.limits.as_ref().unwrap();
        assert_eq!((limits.per_day, limits.per_hour), (Some(20), Some(3)));
    }

    #[test]
    fn clearing_the_only_limit_leaves_no_limits_section() {
        let mut document = PolicyDocument::empty();
        document.upsert_rep(rep("alice", None, Some(10)));
        document.upsert_rep(rep("alice", None, None));
        assert_eq!(document.reps[0].limits, None);
    }
}
