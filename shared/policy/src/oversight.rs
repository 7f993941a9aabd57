//! Who oversees what: a manager acts on the reps of the teams she oversees (her own team, and
//! teams that name her among their managers) and on the leads of those teams — leads in the
//! pools their reps may work, or held by their reps. Admins and services oversee everything.

use std::collections::BTreeSet;

use leadpool_domain::{Authority, PoolId, RepId};

use crate::model::{Policy, Role};

/// What a caller may see and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Oversight {
    Everything,
    Teams {
        teams: BTreeSet<String>,
        /// Their reps.
        reps: BTreeSet<RepId>,
        /// The pools their active reps may work.
        pools: BTreeSet<PoolId>,
    },
}

impl Oversight {
    pub fn covers_rep(&self, rep: &RepId) -> bool {
        match self {
            Self::Everything => true,
            Self::Teams { reps, .. } => reps.contains(rep),
        }
    }

    pub fn covers_team(&self, team: &str) -> bool {
        match self {
            Self::Everything => true,
            Self::Teams { teams, .. } => teams.contains(team),
        }
    }

    /// A lead in `pool`, held by `owner`.
    pub fn covers_lead(&self, pool: Option<&PoolId>, owner: Option<&RepId>) -> bool {
        match self {
            Self::Everything => true,
            Self::Teams { reps, pools, .. } => {
                pool.is_some_and(|p| pools.contains(p)) || owner.is_some_and(|r| reps.contains(r))
            }
        }
    }
}

impl Policy {
    /// What a caller with `authority` oversees: admins and services everything, a manager her
    /// teams, anyone else (reps included) nothing.
    pub fn oversight(&self, authority: &Authority) -> Oversight {
        match authority {
            Authority::Everything => Oversight::Everything,
            Authority::Manager(manager) => self.oversight_of(manager),
            Authority::Rep(_) | Authority::Nothing => self.oversight_of_teams(BTreeSet::new()),
        }
    }

    /// What `manager` oversees: nothing unless she is a rep of the policy with role `manager`.
    pub fn oversight_of(&self, manager: &RepId) -> Oversight {
        let teams: BTreeSet<String> = match self.rep(manager) {
            Some(rep) if rep.role == Role::Manager && rep.active => self
                .teams
                .values()
                .filter(|team| {
                    team.managers.contains(manager) || rep.team.as_deref() == Some(&team.id)
                })
                .map(|team| team.id.clone())
                .collect(),
            _ => BTreeSet::new(),
        };
        self.oversight_of_teams(teams)
    }

    /// The reps and pools of `teams`.
    pub fn oversight_of_teams(&self, teams: BTreeSet<String>) -> Oversight {
        let reps: BTreeSet<RepId> = self
            .reps
            .values()
            .filter(|rep| rep.team.as_ref().is_some_and(|t| teams.contains(t)))
            .map(|rep| rep.id.clone())
            .collect();
        let pools = self
            .pools
            .iter()
            .filter(|pool| reps.iter().any(|rep| self.may_work(rep, &pool.id).is_ok()))
            .map(|pool| pool.id.clone())
            .collect();
        Oversight::Teams { teams, reps, pools }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
teams:
  - { id: west }
  - { id: east, managers: [mia] }
  - { id: hq }
reps:
  - { id: wendy, team: west, role: ae, regions: [west] }
  - { id: max, team: west, role: manager }
  - { id: eric, team: east, role: ae, regions: [east] }
  - { id: mia, team: hq, role: manager }
  - { id: sam, team: west, role: sdr, active: false }
pools:
  - { id: west, type: segmented, access: [{ name: west, regions: [west] }] }
  - { id: east, type: segmented, access: [{ name: east, regions: [east] }] }
  - { id: sdr-only, type: open, access: [{ name: sdrs, roles: [sdr] }] }
";

    fn rep(id: &str) -> RepId {
        RepId::parse(id, "rep").unwrap()
    }

    fn pool(id: &str) -> PoolId {
        PoolId::parse(id, "pool").unwrap()
    }

    #[test]
    fn a_manager_oversees_her_team_and_the_teams_that_name_her() {
        let policy = crate::load(&POLICY.replace("team: hq", "team: west")).unwrap();
        let Oversight::Teams { teams, reps, pools } = policy.oversight_of(&rep("mia")) else {
            panic!("mia oversees teams");
        };
        assert_eq!(teams, ["east", "west"].map(String::from).into());
        assert!(reps.contains(&rep("eric")) && reps.contains(&rep("wendy")));
        // Only inactive sam could work sdr-only: it is nobody's pool.
        assert_eq!(pools, [pool("east"), pool("west")].into());
    }

    #[test]
    fn reps_and_unknown_managers_oversee_nothing() {
        let policy = crate::load(POLICY).unwrap();
        let nothing = |who: &str| policy.oversight_of(&rep(who));
        for who in ["wendy", "nobody"] {
            assert!(!nothing(who).covers_rep(&rep("wendy")), "{who}");
            assert!(
                !nothing(who).covers_lead(Some(&pool("west")), None),
                "{who}"
            );
        }
    }

    #[test]
    fn a_lead_is_covered_by_its_pool_or_its_owner() {
        let policy = crate::load(POLICY).unwrap();
        let max = policy.oversight_of(&rep("max"));
        assert!(max.covers_lead(Some(&pool("west")), None));
        assert!(!max.covers_lead(Some(&pool("east")), None));
        assert!(max.covers_lead(Some(&pool("east")), Some(&rep("wendy"))));
        assert!(max.covers_rep(&rep("wendy")) && !max.covers_rep(&rep("eric")));
    }

    #[test]
    fn may_work_follows_access_rules_whatever_the_hour() {
        let policy = crate::load(POLICY).unwrap();
        assert!(policy.may_work(&rep("wendy"), &pool("west")).is_ok());
        assert!(policy.may_work(&rep("wendy"), &pool("east")).is_err());
        assert!(
            policy.may_work(&rep("sam"), &pool("sdr-only")).is_err(),
            "inactive"
        );
    }

    #[test]
    fn a_team_manager_must_be_a_manager() {
        let errors =
            crate::load(&POLICY.replace("managers: [mia]", "managers: [eric, zed]")).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["teams[1].managers[0]", "teams[1].managers[1]"]);
    }
}
