//! Who is away now: the policy document's absences and what SetRepAvailability set, combined
//! (a rep is away when either says so). Auto-assignment, forced assignment, managers'
//! assignments and rotation windows pass over reps who are away.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{AvailabilitySetting, AwayNow, AwayStatus, RepId};

use crate::model::{Policy, RotationWindow};

/// The reps away at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Away(BTreeMap<RepId, AwayNow>);

impl Away {
    pub fn of(&self, rep: &RepId) -> Option<&AwayNow> {
        self.0.get(rep)
    }

    pub fn is_away(&self, rep: &RepId) -> bool {
        self.0.contains_key(rep)
    }
}

impl RotationWindow {
    /// The same rotation among the reps who are not `away`: an away rep's turns pass to the
    /// others, so nobody holds an exclusive window she cannot use.
    #[must_use]
    pub fn without(&self, away: &Away) -> RotationWindow {
        RotationWindow {
            window: self.window,
            reps: self
                .reps
                .iter()
                .filter(|rep| !away.is_away(rep))
                .cloned()
                .collect(),
            clock: self.clock.clone(),
        }
    }
}

impl Policy {
    /// Whether `rep` may mark herself away from `from` until `until` at `now` (SetRepAvailability
    /// on herself), as the policy's `selfAvailability` says; `Err` says why not.
    pub fn may_set_own_absence(
        &self,
        rep: &RepId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let rules = self.self_availability;
        if !rules.allowed {
            return Err(
                "the policy lets only managers set reps' availability (selfAvailability.allowed)"
                    .to_owned(),
            );
        }
        if until - now > rules.max_ahead {
            return Err(format!(
                "an absence may end at most {} ahead (selfAvailability.maxAhead); ask your manager",
                crate::span(rules.max_ahead)
            ));
        }
        if !rules.while_on_call {
            for rotation in &self.rotations {
                if let Some((start, end)) = rotation.shifts_of(rep, from, until).first() {
                    return Err(format!(
                        "you are on duty in rotation `{}` from {} to {}; your manager moves the \
                         shift or sets you away (selfAvailability.whileOnCall)",
                        rotation.id,
                        start.to_rfc3339(),
                        end.to_rfc3339()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Who is away at `now`, by the document's absences and `settings`. Where both cover a
    /// rep, the one ending later says until when.
    pub fn away_at(&self, now: DateTime<Utc>, settings: &[AvailabilitySetting]) -> Away {
        let mut away = BTreeMap::new();
        for rep in self.reps.values() {
            if let Some(absence) = rep.absence_at(now) {
                away.insert(
                    rep.id.clone(),
                    AwayNow {
                        status: AwayStatus::OutOfOffice,
                        until: Some(absence.to),
                        note: absence.reason.clone(),
                        from_policy: true,
                    },
                );
            }
        }
        for setting in settings.iter().filter(|s| s.covers(now)) {
            let api = AwayNow {
                status: setting.status,
                until: setting.until,
                note: setting.note.clone(),
                from_policy: false,
            };
            let later = |current: &AwayNow| match (current.until, api.until) {
                (Some(current), Some(new)) => new > current,
                (Some(_), None) => true,
                (None, _) => false,
            };
            match away.get(&setting.rep) {
                Some(current) if !later(current) => {}
                _ => {
                    away.insert(setting.rep.clone(), api);
                }
            }
        }
        Away(away)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn setting(rep: &str, from: &str, until: Option<&str>) -> AvailabilitySetting {
        AvailabilitySetting {
            rep: RepId::parse(rep, "rep").unwrap(),
            status: AwayStatus::Busy,
            from: at(from),
            until: until.map(at),
            note: "workshop".into(),
            set_by: "users/ops".into(),
            set_at: at(from),
        }
    }

    #[test]
    fn policy_absences_and_api_settings_combine() {
        let policy = crate::load(
            "apiVersion: leadpool.dev/v1\nkind: Policy\nreps:\n\
             - { id: erin, role: ae, unavailable: [{ from: 2026-03-02, to: 2026-03-06, reason: vacation }] }\n\
             - { id: bob, role: ae }\n- { id: cat, role: ae }\n",
        )
        .unwrap();
        let settings = [
            setting("bob", "2026-03-03T09:00:00Z", Some("2026-03-03T12:00:00Z")),
            setting("erin", "2026-03-03T00:00:00Z", Some("2026-03-10T00:00:00Z")),
        ];
        let away = policy.away_at(at("2026-03-03T10:00:00Z"), &settings);
        let bob = away.of(&RepId::parse("bob", "rep").unwrap()).unwrap();
        assert!(!bob.from_policy);
        assert_eq!(bob.describe(), "(workshop) until 2026-03-03 12:00 UTC");
        // Both cover erin: the setting ends later, so it says until when.
        let erin = away.of(&RepId::parse("erin", "rep").unwrap()).unwrap();
        assert_eq!(erin.until, Some(at("2026-03-10T00:00:00Z")));
        assert!(!away.is_away(&RepId::parse("cat", "rep").unwrap()));
        let later = policy.away_at(at("2026-03-03T13:00:00Z"), &settings);
        assert!(!later.is_away(&RepId::parse("bob", "rep").unwrap()));
    }

    #[test]
    fn an_away_reps_rotation_turns_pass_to_the_others() {
        let rep = |id: &str| RepId::parse(id, "rep").unwrap();
        let window = RotationWindow {
            window: chrono::Duration::minutes(15),
            reps: vec![rep("ann"), rep("bob")],
            clock: crate::PoolClock::Wall,
        };
        let policy = crate::Policy::empty();
        let away = policy.away_at(
            at("2026-03-03T10:00:00Z"),
            &[setting("bob", "2026-03-03T09:00:00Z", None)],
        );
        let only_ann = window.without(&away);
        for minute in [0, 15, 30, 45] {
            let now = at("2026-03-03T10:00:00Z") + chrono::Duration::minutes(minute);
            assert_eq!(only_ann.turn_at(now).unwrap().holder, rep("ann"));
        }
        assert!(
            window
                .without(&away)
                .next_turn_of(&rep("bob"), at("2026-03-03T10:00:00Z"))
                .is_none()
        );
    }
}
