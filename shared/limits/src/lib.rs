//! Per-rep claim limits, kept in Redis so every claim replica sees the same counts.
//!
//! Each rep has a claim log (a sorted set of claim tokens scored by claim time) and one per
//! pool she claims from. A limit is a rolling window over one of those logs ("at most 15 in
//! any 24 hours"), not a counter reset at midnight. A cooldown pauses a rep after a run of
//! claims. One Lua script checks every window and the cooldown and reserves the claims
//! atomically, in one round trip; a reservation that did not turn into claims is handed back.
//!
//! Redis is not the record: Postgres's lead history is. A log Redis does not have (after a
//! restart or eviction) is rebuilt from that history before it is trusted ([`Unseeded`]).
//! Time comes from the caller's clock, so tests move it instead of waiting.

mod redis_handle;
mod scripts;

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_config::RedisConfig;
use leadpool_domain::{Error, PoolId, RepId};
use redis::Script;

use redis_handle::RedisHandle;

/// How far back claim logs reach: the longest window a limit may have.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Which claim log a window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every claim of the rep.
    Rep,
    /// The rep's claims from the pool being claimed from.
    Pool,
}

/// "At most `max` claims in any `window`" over the claims of `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingLimit {
    /// Stable, machine-readable: `HOURLY_CLAIM_LIMIT`.
    pub reason: leadpool_domain::Reason,
    /// For people: "hourly claim limit".
    pub label: String,
    pub scope: Scope,
    pub window: Duration,
    pub max: u32,
}

/// "After `after` claims in a row, pause for `pause`." A break as long as the pause ends a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CooldownRule {
    pub after: u32,
    pub pause: Duration,
}

/// Everything Redis checks for one claim.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LimitSet {
    pub windows: Vec<RollingLimit>,
    pub cooldown: Option<CooldownRule>,
}

/// The logs of one rep claiming from one pool. Claims always come from a pool; status pages
/// may ask about the rep's own logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub rep: RepId,
    pub pool: Option<PoolId>,
}

/// What to reserve for one claim.
#[derive(Debug, Clone, Copy)]
pub struct ReserveRequest<'a> {
    pub subject: &'a Subject,
    pub wanted: u32,
    pub limits: &'a LimitSet,
}

/// A claim log Redis does not hold; refill it with [`ClaimLimiter::seed`] and try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unseeded(pub Scope);

/// Claims reserved for a rep. Hand back what was not used with [`ClaimLimiter::release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    keys: [String; 3],
    token: String,
    granted: u32,
    cooldown_after: u32,
}

impl Reservation {
    pub fn granted(&self) -> u32 {
        self.granted
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// Up to the number wanted; fewer when a limit leaves less room.
    Granted(Reservation),
    /// No room at all: `limit` is used up until `retry_after` from now.
    Exhausted {
        limit: Refusal,
        used: u32,
        retry_after: Duration,
    },
}

/// What refused a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Window(RollingLimit),
    Cooldown(CooldownRule),
}

/// One window's use at a moment, for status pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowUse {
    pub limit: RollingLimit,
    pub used: u32,
    /// When the oldest claim in the window leaves it (and frees one claim), if any is in it.
    pub frees_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitStatus {
    pub windows: Vec<WindowUse>,
    /// Claims made in the current run towards the cooldown.
    pub streak: u32,
    /// When the current cooldown ends, if one is running.
    pub cooling_until: Option<DateTime<Utc>>,
}

/// Checks and reserves claims against a rep's rolling limits and cooldown.
#[derive(Clone)]
pub struct ClaimLimiter {
    redis: RedisHandle,
    prefix: String,
    reserve: Script,
    release: Script,
    seed: Script,
    status: Script,
}

impl ClaimLimiter {
    pub fn new(config: &RedisConfig) -> Result<Self, Error> {
        Ok(Self {
            redis: RedisHandle::new(config)?,
            prefix: config.key_prefix.clone(),
            reserve: Script::new(scripts::RESERVE),
            release: Script::new(scripts::RELEASE),
            seed: Script::new(scripts::SEED),
            status: Script::new(scripts::STATUS),
        })
    }

    fn keys(&self, subject: &Subject) -> [String; 3] {
        let (prefix, rep) = (&self.prefix, subject.rep.as_str());
        let pool = subject.pool.as_ref().map_or("-", PoolId::as_str);
        [
            format!("{prefix}claims:{rep}"),
            format!("{prefix}claims:{rep}:pool:{pool}"),
            format!("{prefix}cooldown:{rep}"),
        ]
    }

    /// Reserves, for each request in turn, up to `wanted` claims for its subject at `now`
    /// within every limit of its `limits` — in one round trip, whether one request or the
    /// claims of a whole group commit. A later request sees what an earlier one reserved.
    pub async fn reserve(
        &self,
        requests: &[ReserveRequest<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ReserveOutcome, Unseeded>>, Error> {
        let mut invocation = self.reserve.prepare_invoke();
        invocation
            .arg(now.timestamp_millis())
            .arg(duration_ms(RETENTION));
        let mut prepared = Vec::with_capacity(requests.len());
        for request in requests {
            let keys = self.keys(request.subject);
            for key in &keys {
                invocation.key(key);
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            invocation
                .arg(request.wanted)
                .arg(&token)
                .arg(request.limits.windows.len());
            for limit in &request.limits.windows {
                invocation
                    .arg(log_index(limit.scope))
                    .arg(duration_ms(limit.window))
                    .arg(limit.max);
            }
            let cooldown = request.limits.cooldown;
            invocation
                .arg(cooldown.map_or(0, |c| c.after))
                .arg(cooldown.map_or(0, |c| duration_ms(c.pause)));
            prepared.push((keys, token));
        }
        let answers: Vec<i64> = self.redis.invoke(&invocation).await?;
        if answers.len() != 4 * requests.len() {
            return Err(Error::internal(
                "the reserve script answered the wrong number of figures",
            ));
        }
        Ok(requests
            .iter()
            .zip(prepared)
            .zip(answers.chunks(4))
            .map(|((request, (keys, token)), answer)| outcome(request.limits, keys, token, answer))
            .collect())
    }

    /// Hands back, for each reservation, its last `unused` claims (claims that did not
    /// happen), in one round trip.
    pub async fn release(&self, unused: &[(&Reservation, u32)]) -> Result<(), Error> {
        let mut invocation = self.release.prepare_invoke();
        let mut any = false;
        for (reservation, unused) in unused {
            let unused = (*unused).min(reservation.granted);
            if unused == 0 {
                continue;
            }
            any = true;
            for key in &reservation.keys {
                invocation.key(key);
            }
            invocation
                .arg(&reservation.token)
                .arg(reservation.granted)
                .arg(unused)
                .arg(reservation.cooldown_after);
        }
        if !any {
            return Ok(());
        }
        self.redis.invoke::<i64>(&invocation).await.map(|_| ())
    }

    /// Refills one claim log of `subject` with the claim times Postgres recorded in the last
    /// [`RETENTION`], unless another replica did so first.
    pub async fn seed(
        &self,
        subject: &Subject,
        scope: Scope,
        claimed_at: &[DateTime<Utc>],
    ) -> Result<(), Error> {
        let keys = self.keys(subject);
        let mut invocation = self.seed.key(&keys[log_index(scope) - 1]);
        invocation.arg(duration_ms(RETENTION));
        for at in claimed_at {
            invocation.arg(at.timestamp_millis());
        }
        self.redis.invoke::<i64>(&invocation).await.map(|_| ())
    }

    /// How much of each limit `subject` has used at `now`, and the cooldown state.
    pub async fn status(
        &self,
        subject: &Subject,
        limits: &LimitSet,
        now: DateTime<Utc>,
    ) -> Result<Result<LimitStatus, Unseeded>, Error> {
        let keys = self.keys(subject);
        let mut invocation = self.status.prepare_invoke();
        invocation.key(&keys[0]).key(&keys[1]).key(&keys[2]);
        invocation
            .arg(now.timestamp_millis())
            .arg(limits.windows.len());
        for limit in &limits.windows {
            invocation
                .arg(log_index(limit.scope))
                .arg(duration_ms(limit.window));
        }
        let values: Vec<i64> = self.redis.invoke(&invocation).await?;
        if values.first() == Some(&-1) {
            return Ok(Err(Unseeded(scope_of(values.get(1).copied().unwrap_or(1)))));
        }
        let at = |ms: i64| DateTime::from_timestamp_millis(ms);
        let windows = limits
            .windows
            .iter()
            .zip(values.chunks(2))
            .map(|(limit, pair)| WindowUse {
                limit: limit.clone(),
                used: u32::try_from(pair[0]).unwrap_or(0),
                frees_at: (pair[1] >= 0)
                    .then(|| at(pair[1]).map(|oldest| oldest + limit.window))
                    .flatten(),
            })
            .collect();
        let cooldown = &values[2 * limits.windows.len()..];
        let streak = cooldown.first().copied().unwrap_or(0);
        let last = cooldown.get(1).copied().unwrap_or(0);
        let until = cooldown.get(2).copied().unwrap_or(0);
        let now_ms = now.timestamp_millis();
        let run_over = limits
            .cooldown
            .is_none_or(|c| now_ms - last >= i64::try_from(duration_ms(c.pause)).unwrap_or(0));
        Ok(Ok(LimitStatus {
            windows,
            streak: if run_over {
                0
            } else {
                u32::try_from(streak).unwrap_or(0)
            },
            cooling_until: (until > now_ms).then(|| at(until)).flatten(),
        }))
    }
}

/// One subject's answer of the reserve script: {granted, blocking, used, retry_ms}.
fn outcome(
    limits: &LimitSet,
    keys: [String; 3],
    token: String,
    answer: &[i64],
) -> Result<ReserveOutcome, Unseeded> {
    let (granted, blocking, used, retry_ms) = (answer[0], answer[1], answer[2], answer[3]);
    if granted < 0 {
        return Err(Unseeded(scope_of(blocking)));
    }
    let cooldown = limits.cooldown;
    let refusal = match usize::try_from(blocking).unwrap_or(0) {
        0 => None,
        i if i <= limits.windows.len() => Some(Refusal::Window(limits.windows[i - 1].clone())),
        _ => cooldown.map(Refusal::Cooldown),
    };
    Ok(match refusal {
        Some(limit) if granted == 0 => ReserveOutcome::Exhausted {
            limit,
            used: u32::try_from(used).unwrap_or(0),
            retry_after: Duration::from_millis(u64::try_from(retry_ms).unwrap_or(0)),
        },
        _ => ReserveOutcome::Granted(Reservation {
            keys,
            token,
            granted: u32::try_from(granted).unwrap_or(0),
            cooldown_after: cooldown.map_or(0, |c| c.after),
        }),
    })
}

fn log_index(scope: Scope) -> usize {
    match scope {
        Scope::Rep => 1,
        Scope::Pool => 2,
    }
}

fn scope_of(log_index: i64) -> Scope {
    if log_index == 2 {
        Scope::Pool
    } else {
        Scope::Rep
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
