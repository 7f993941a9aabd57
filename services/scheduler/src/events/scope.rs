//! Who may read which events: a rep the events naming her (and, watching a pool she may browse,
//! its leads entering and leaving `available`), a manager her teams' (their reps', their pools'
//! and those pools' alerts), admins and services everything — narrowed by the reader's own
//! filters.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use leadpool_domain::{Authority, Error, PoolId};
use leadpool_policy::{Oversight, Policy};
use leadpool_store::{EventFilter, EventScope};

/// What a reader asked for.
pub struct Wanted<'a> {
    pub types: &'a [String],
    pub pool: Option<PoolId>,
    /// A team (empty: every one the reader may see).
    pub team: &'a str,
}

/// The filter for `authority` (called `actor`) reading `wanted` at `now`, or why not.
pub fn filter_for(
    policy: &Policy,
    authority: &Authority,
    actor: &str,
    wanted: &Wanted<'_>,
    now: DateTime<Utc>,
) -> Result<EventFilter, Error> {
    let mut filter = EventFilter {
        types: wanted.types.to_vec(),
        pool: wanted.pool.as_ref().map(|p| p.as_str().to_owned()),
        scope: None,
        service_events: true,
    };
    let team = (!wanted.team.is_empty()).then_some(wanted.team);
    if let Some(team) = team
        && !policy.teams.contains_key(team)
    {
        return Err(Error::not_found("team", team));
    }
    let oversight = match (authority, team) {
        (Authority::Rep(rep), None) => {
            // The live pool view: what leaves or enters a pool she may browse right now.
            let browsable = wanted
                .pool
                .as_ref()
                .filter(|pool| policy.explain_access(rep, pool, now).allowed);
            filter.scope = Some(EventScope {
                reps: vec![rep.as_str().to_owned()],
                pools: Vec::new(),
                available_in: browsable
                    .map(|p| p.as_str().to_owned())
                    .into_iter()
                    .collect(),
            });
            filter.service_events = false;
            return Ok(filter);
        }
        (Authority::Rep(rep), Some(_)) => {
            return Err(Error::PermissionDenied(format!(
                "{} may read her own leads' events only, not a team's",
                rep.name()
            )));
        }
        (Authority::Nothing, _) => {
            return Err(Error::PermissionDenied(format!(
                "{actor} may not read events: a rep, manager, admin or service role is needed"
            )));
        }
        (Authority::Everything, None) => return Ok(filter),
        (Authority::Everything, Some(team)) => {
            policy.oversight_of_teams(BTreeSet::from([team.to_owned()]))
        }
        (Authority::Manager(_), team) => {
            let own = policy.oversight(authority);
            match team {
                None => own,
                Some(team) if own.covers_team(team) => {
                    policy.oversight_of_teams(BTreeSet::from([team.to_owned()]))
                }
                Some(team) => {
                    return Err(Error::PermissionDenied(format!(
                        "{actor} does not oversee team {team}"
                    )));
                }
            }
        }
    };
    if let Oversight::Teams { reps, pools, .. } = oversight {
        filter.scope = Some(EventScope {
            reps: reps.iter().map(|r| r.as_str().to_owned()).collect(),
            pools: pools.iter().map(|p| p.as_str().to_owned()).collect(),
            available_in: Vec::new(),
        });
    }
    Ok(filter)
}
