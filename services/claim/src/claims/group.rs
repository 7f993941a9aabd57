//! Group commit for ClaimNext and ClaimBatch: claims waiting for the same pool are made
//! together — their allowances reserved in one Redis call, their leads handed out by one
//! statement in one transaction (which holds each rep's claim lock, so her caps are exact),
//! the unused allowances handed back in one call. While one batch is in the database the next
//! one forms, so a busy pool pays a few round trips per batch instead of five per claim.
//!
//! A claim whose rep's lock is busy right now (her other claim, a manager's assignment) is not
//! waited for: it is answered [`Grouped::Alone`] and claims on its own, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, PoolId, RepId};
use leadpool_limits::{
    ClaimLimiter, LimitSet, Reservation, ReserveOutcome, ReserveRequest, Subject, Unseeded,
};
use leadpool_store::{BatchClaim, Slot, Store};
use tokio::sync::{mpsc, oneshot};

use super::{active_room, exhausted, limits_unreachable, seed_claim_log};

/// One claim waiting to be made with others.
pub struct Waiting {
    /// The rep and the pool (always set).
    pub subject: Subject,
    pub wanted: u32,
    pub limits: LimitSet,
    /// Open leads the rep may hold, over all pools and from this pool.
    pub active_leads: Option<u32>,
    pub pool_active_leads: Option<u32>,
    pub actor: String,
    pub reason: &'static str,
    pub traceparent: Option<String>,
    pub now: DateTime<Utc>,
    /// When a lead claimed at `now` must be contacted (the pool's SLA on its clock).
    pub due: DateTime<Utc>,
}

/// How a grouped claim went.
pub enum Grouped {
    /// What it got (perhaps nothing: the pool ran dry).
    Claimed(Vec<Lead>),
    /// Its rep's claim lock was busy: claim on your own, waiting for it.
    Alone,
}

type Reply = oneshot::Sender<Result<Grouped, Error>>;

/// The queues of waiting claims, one per pool, each drained by a few workers.
#[derive(Clone)]
pub struct ClaimGroups {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    limiter: ClaimLimiter,
    /// The most claims one batch makes.
    max: usize,
    /// Batches of one pool in flight at once.
    workers: usize,
    queues: Mutex<HashMap<PoolId, mpsc::Sender<(Waiting, Reply)>>>,
}

impl ClaimGroups {
    pub fn new(store: Store, limiter: ClaimLimiter, max: usize, workers: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                limiter,
                max: max.max(1),
                workers: workers.max(1),
                queues: Mutex::default(),
            }),
        }
    }

    /// Makes `claim` (for `pool`) with whatever other claims of that pool are waiting.
    pub async fn claim(&self, pool: &PoolId, claim: Waiting) -> Result<Grouped, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue(pool)
            .send((claim, reply))
            .await
            .map_err(|_| Error::internal("the claim queue stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("a grouped claim was dropped"))?
    }

    fn queue(&self, pool: &PoolId) -> mpsc::Sender<(Waiting, Reply)> {
        let mut queues = self
            .inner
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        queues
            .entry(pool.clone())
            .or_insert_with(|| {
                let (send, receive) = mpsc::channel(4 * self.inner.max);
                let receive = Arc::new(tokio::sync::Mutex::new(receive));
                for _ in 0..self.inner.workers {
                    tokio::spawn(drain(self.inner.clone(), pool.clone(), receive.clone()));
                }
                send
            })
            .clone()
    }
}

/// Takes a batch off the pool's queue (the first claim waits, the rest are whatever is queued
/// behind it) and makes it, until the queue closes.
async fn drain(
    inner: Arc<Inner>,
    pool: PoolId,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<(Waiting, Reply)>>>,
) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < inner.max {
                match queue.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        // Callers that gave up are not claimed for.
        let members: Vec<Member> = batch
            .into_iter()
            .filter(|(_, reply)| !reply.is_closed())
            .map(|(claim, reply)| Member {
                claim,
                reply: Some(reply),
                reservation: None,
                alone: false,
                leads: Vec::new(),
            })
            .collect();
        if !members.is_empty() {
            inner.make(&pool, members).await;
        }
    }
}

/// A claim of the batch and what has come of it so far.
struct Member {
    claim: Waiting,
    /// `None` once answered.
    reply: Option<Reply>,
    reservation: Option<Reservation>,
    /// Its rep's lock was busy: it claims on its own.
    alone: bool,
    leads: Vec<Lead>,
}

impl Member {
    fn answer(&mut self, answer: Result<Grouped, Error>) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(answer);
        }
    }

    /// Reserved, not answered, not alone: to be claimed for in this batch.
    fn claiming(&self) -> bool {
        self.reservation.is_some() && self.reply.is_some() && !self.alone
    }
}

impl Inner {
    async fn make(&self, pool: &PoolId, mut members: Vec<Member>) {
        // The group claims as of its latest member's time, with that member's deadline.
        let (now, due) = members
            .iter()
            .map(|m| (m.claim.now, m.claim.due))
            .max()
            .unwrap_or_else(|| (Utc::now(), Utc::now()));
        let made = match self.reserve(&mut members, now).await {
            Ok(()) => self.claim_in_postgres(pool, &mut members, now, due).await,
            Err(err) => Err(err),
        };
        // What was not used goes back, in one call: all of it after a failure, none after a
        // commit whose outcome is unknown (the claims may have been made).
        let unused: Vec<(&Reservation, u32)> = members
            .iter()
            .filter_map(|m| {
                let reservation = m.reservation.as_ref()?;
                let used = match &made {
                    Ok(()) => u32::try_from(m.leads.len()).unwrap_or(u32::MAX),
                    Err(Error::OutcomeUnknown(_)) => reservation.granted(),
                    Err(_) => 0,
                };
                Some((reservation, reservation.granted().saturating_sub(used)))
            })
            .collect();
        if let Err(err) = self.limiter.release(&unused).await {
            tracing::warn!(error = %err, "could not hand back unused claim allowance");
        }
        for member in &mut members {
            let answer = match &made {
                Err(err) => Err(err.clone()),
                Ok(()) if member.alone => Ok(Grouped::Alone),
                Ok(()) => Ok(Grouped::Claimed(std::mem::take(&mut member.leads))),
            };
            member.answer(answer);
        }
    }

    /// Reserves every member's allowance in one call and answers those Redis refuses. Claim
    /// logs Redis lost are rebuilt from the history first.
    async fn reserve(&self, members: &mut [Member], now: DateTime<Utc>) -> Result<(), Error> {
        let mut pending: Vec<usize> = (0..members.len()).collect();
        // Two logs per subject: a third miss means they vanish as fast as they are rebuilt.
        for _ in 0..3 {
            let requests: Vec<ReserveRequest<'_>> = pending
                .iter()
                .map(|&i| ReserveRequest {
                    subject: &members[i].claim.subject,
                    wanted: members[i].claim.wanted,
                    limits: &members[i].claim.limits,
                })
                .collect();
            let outcomes = self
                .limiter
                .reserve(&requests, now)
                .await
                .map_err(limits_unreachable)?;
            let mut unseeded = Vec::new();
            for (&i, outcome) in pending.iter().zip(outcomes) {
                let member = &mut members[i];
                match outcome {
                    Ok(ReserveOutcome::Granted(reservation)) => {
                        member.reservation = Some(reservation);
                    }
                    Ok(ReserveOutcome::Exhausted {
                        limit,
                        used,
                        retry_after,
                    }) => {
                        let rep = &member.claim.subject.rep;
                        let refusal = exhausted(rep, &limit, used, retry_after);
                        member.answer(Err(refusal));
                    }
                    Err(Unseeded(scope)) => unseeded.push((i, scope)),
                }
            }
            if unseeded.is_empty() {
                return Ok(());
            }
            for &(i, scope) in &unseeded {
                let subject = &members[i].claim.subject;
                seed_claim_log(&self.store, &self.limiter, subject, scope, now).await?;
            }
            pending = unseeded.into_iter().map(|(i, _)| i).collect();
        }
        Err(Error::internal(
            "claim logs kept disappearing while being rebuilt",
        ))
    }

    /// Locks the reps it can (the others claim alone), reads their caps, hands out the leads
    /// and commits.
    async fn claim_in_postgres(
        &self,
        pool: &PoolId,
        members: &mut [Member],
        now: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> Result<(), Error> {
        let reps: Vec<RepId> = members
            .iter()
            .filter(|m| m.claiming())
            .map(|m| m.claim.subject.rep.clone())
            .collect();
        if reps.is_empty() {
            return Ok(());
        }
        let (mut tx, locked) = self.store.begin_batch_claim(&reps).await?;
        for member in members.iter_mut() {
            member.alone = !locked.contains(&member.claim.subject.rep);
        }
        let slots = self.slots(&mut tx, pool, members).await?;
        let handed: Vec<Slot> = slots.iter().map(|(_, slot)| slot.clone()).collect();
        let leads = if handed.is_empty() {
            Vec::new()
        } else {
            tx.hand_out(pool, &handed, due, now).await?
        };
        tx.commit().await?;
        for ((member, _), lead) in slots.into_iter().zip(leads) {
            members[member].leads.push(lead);
        }
        Ok(())
    }

    /// The leads to hand out, as (member, slot) in the members' order (see [`grants`]); a
    /// member at a cap is answered here.
    async fn slots(
        &self,
        tx: &mut BatchClaim,
        pool: &PoolId,
        members: &mut [Member],
    ) -> Result<Vec<(usize, Slot)>, Error> {
        let claiming: Vec<usize> = (0..members.len())
            .filter(|&i| members[i].claiming())
            .collect();
        let capped: Vec<RepId> = claiming
            .iter()
            .map(|&i| &members[i].claim)
            .filter(|claim| claim.has_caps())
            .map(|claim| claim.subject.rep.clone())
            .collect();
        let held = if capped.is_empty() {
            HashMap::new()
        } else {
            tx.open_leads(&capped, pool).await?
        };
        let granted: Vec<(&Waiting, u32)> = claiming
            .iter()
            .map(|&i| {
                let member = &members[i];
                let granted = member.reservation.as_ref().map_or(0, Reservation::granted);
                (&member.claim, granted)
            })
            .collect();
        let grants = grants(&granted, pool, held);
        let mut slots = Vec::new();
        for (&i, grant) in claiming.iter().zip(grants) {
            match grant {
                Ok(grant) => slots.extend((0..grant).map(|_| (i, members[i].claim.slot()))),
                Err(refusal) => members[i].answer(Err(refusal)),
            }
        }
        Ok(slots)
    }
}

/// How many leads each claim of a group gets, in order: what Redis granted it, within the room
/// its rep's caps leave given the open leads she holds (`held`: in total and from `pool`, for
/// the reps with caps) — room that earlier claims of the same rep in the group use up. A claim
/// with no room at all is refused as a single claim would be.
fn grants(
    claims: &[(&Waiting, u32)],
    pool: &PoolId,
    mut held: HashMap<RepId, (i64, i64)>,
) -> Vec<Result<u32, Error>> {
    claims
        .iter()
        .map(|&(claim, granted)| {
            let holding = held.get_mut(&claim.subject.rep);
            let room = claim.room_under_caps(pool, holding.as_deref().copied())?;
            let grant = granted.min(room);
            if let Some((total, in_pool)) = holding {
                *total += i64::from(grant);
                *in_pool += i64::from(grant);
            }
            Ok(grant)
        })
        .collect()
}

impl Waiting {
    fn has_caps(&self) -> bool {
        self.active_leads.is_some() || self.pool_active_leads.is_some()
    }

    /// How many more leads the rep may take under her caps, holding `held` open leads (in
    /// total, from this pool); unbounded without caps.
    fn room_under_caps(&self, pool: &PoolId, held: Option<(i64, i64)>) -> Result<u32, Error> {
        let (total, in_pool) = held.unwrap_or((0, 0));
        let rep = &self.subject.rep;
        let mut room = i64::from(u32::MAX);
        if let Some(max) = self.active_leads {
            room = room.min(active_room(rep, max, total, None)?);
        }
        if let Some(max) = self.pool_active_leads {
            room = room.min(active_room(rep, max, in_pool, Some(pool))?);
        }
        Ok(u32::try_from(room).unwrap_or(u32::MAX))
    }

    fn slot(&self) -> Slot {
        Slot {
            rep: self.subject.rep.clone(),
            actor: self.actor.clone(),
            reason: self.reason,
            traceparent: self.traceparent.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(rep: &str, wanted: u32, active: Option<u32>, in_pool: Option<u32>) -> Waiting {
        Waiting {
            subject: Subject {
                rep: RepId::parse(rep, "rep").unwrap(),
                pool: Some(PoolId::parse("hot", "pool").unwrap()),
            },
            wanted,
            limits: LimitSet::default(),
            active_leads: active,
            pool_active_leads: in_pool,
            actor: format!("reps/{rep}"),
            reason: "claim-next",
            traceparent: None,
            now: Utc::now(),
            due: Utc::now(),
        }
    }

    fn granted(results: Vec<Result<u32, Error>>) -> Vec<Option<u32>> {
        results.into_iter().map(Result::ok).collect()
    }

    #[test]
    fn a_reps_claims_in_one_group_share_the_room_her_caps_leave() {
        let pool = PoolId::parse("hot", "pool").unwrap();
        let alice = RepId::parse("alice", "rep").unwrap();
        let (a1, a2, a3) = (
            claim("alice", 1, Some(3), None),
            claim("alice", 1, Some(3), None),
            claim("alice", 1, Some(3), None),
        );
        let held = HashMap::from([(alice.clone(), (1, 1))]);
        let claims = [(&a1, 1), (&a2, 1), (&a3, 1)];
        assert_eq!(
            granted(grants(&claims, &pool, held)),
            [Some(1), Some(1), None],
            "holding 1 of 3: two more, the third refused"
        );
        let (b1, b2) = (
            claim("alice", 2, Some(3), None),
            claim("alice", 2, Some(3), None),
        );
        let held = HashMap::from([(alice.clone(), (0, 0))]);
        assert_eq!(
            granted(grants(&[(&b1, 2), (&b2, 2)], &pool, held)),
            [Some(2), Some(1)],
            "a batch takes what is left"
        );
        let (p1, p2) = (
            claim("alice", 1, None, Some(1)),
            claim("alice", 1, None, Some(1)),
        );
        let held = HashMap::from([(alice, (5, 0))]);
        assert_eq!(
            granted(grants(&[(&p1, 1), (&p2, 1)], &pool, held)),
            [Some(1), None],
            "the pool's cap counts the pool's leads"
        );
    }

    #[test]
    fn without_caps_a_claim_gets_what_redis_granted() {
        let pool = PoolId::parse("hot", "pool").unwrap();
        let (bob, carol) = (claim("bob", 10, None, None), claim("carol", 1, None, None));
        assert_eq!(
            granted(grants(&[(&bob, 7), (&carol, 1)], &pool, HashMap::new())),
            [Some(7), Some(1)]
        );
    }
}
