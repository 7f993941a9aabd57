//! Per-rep claim limits, kept in Redis so every claim replica sees the same counts.
//!
//! Each rep has one claim log: a sorted set of claim tokens scored by claim time. A limit is a
//! rolling window ("at most 15 in any 24 hours"), not a counter reset at midnight. One Lua
//! script checks every window and reserves the claims atomically, in one round trip; a
//! reservation that did not turn into claims is handed back. Time comes from the caller's
//! clock, so tests move it instead of waiting.

mod redis_handle;

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_config::RedisConfig;
use leadpool_domain::{Error, RepId};
use redis::Script;

pub use redis_handle::RedisHandle;

/// "At most `max` claims in any `window`."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingLimit {
    /// Stable, machine-readable: `DAILY_CLAIM_LIMIT`.
    pub reason: &'static str,
    /// For people: "daily claim limit".
    pub label: &'static str,
    pub window: Duration,
    pub max: u32,
}

/// Claims reserved for a rep. Hand back what was not used with [`ClaimLimiter::release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    key: String,
    members: Vec<String>,
}

impl Reservation {
    pub fn granted(&self) -> usize {
        self.members.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// Up to the number wanted; fewer when a limit leaves less room.
    Granted(Reservation),
    /// No room at all: `limit` is used up until `retry_after` from now.
    Exhausted {
        limit: RollingLimit,
        used: u32,
        retry_after: Duration,
    },
}

const RESERVE: &str = r"
-- KEYS[1]: the rep's claim log, a sorted set of claim tokens scored by claim time (ms).
-- ARGV: now_ms, wanted, token, window count, then (window_ms, max) per window.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local token = ARGV[3]
local windows = tonumber(ARGV[4])
local function ms(x) return string.format('%d', x) end

local longest = 0
for i = 0, windows - 1 do
  local w = tonumber(ARGV[5 + 2 * i])
  if w > longest then longest = w end
end
-- A claim counts in a window while it is younger than the window; older ones count nowhere.
redis.call('ZREMRANGEBYSCORE', key, '-inf', ms(now - longest))

local grant = wanted
local blocking, used_in_blocking, retry_ms = -1, 0, 0
for i = 0, windows - 1 do
  local w = tonumber(ARGV[5 + 2 * i])
  local max = tonumber(ARGV[6 + 2 * i])
  local used = redis.call('ZCOUNT', key, '(' .. ms(now - w), '+inf')
  local free = max - used
  if free < 1 then
    -- Room returns when the claim that is (used - max + 1)-th oldest in the window leaves it.
    local entry = redis.call('ZRANGEBYSCORE', key, '(' .. ms(now - w), '+inf', 'WITHSCORES', 'LIMIT', used - max, 1)
    local wait = tonumber(entry[2]) + w - now
    if wait > retry_ms then blocking, used_in_blocking, retry_ms = i, used, wait end
    grant = 0
  elseif free < grant then
    grant = free
  end
end
if grant > 0 then
  for j = 1, grant do
    redis.call('ZADD', key, ARGV[1], token .. ':' .. j)
  end
  redis.call('PEXPIRE', key, ms(longest))
end
return {grant, blocking, used_in_blocking, retry_ms}
";

/// Checks and reserves claims against a rep's rolling limits.
#[derive(Clone)]
pub struct ClaimLimiter {
    redis: RedisHandle,
    prefix: String,
    script: Script,
}

impl ClaimLimiter {
    pub fn new(config: &RedisConfig) -> Result<Self, Error> {
        Ok(Self {
            redis: RedisHandle::new(config)?,
            prefix: config.key_prefix.clone(),
            script: Script::new(RESERVE),
        })
    }

    pub fn redis(&self) -> &RedisHandle {
        &self.redis
    }

    fn claim_log_key(&self, rep: &RepId) -> String {
        format!("{}claims:{}", self.prefix, rep.as_str())
    }

    /// Reserves up to `wanted` claims for `rep` at `now` within every limit in `limits`.
    pub async fn reserve(
        &self,
        rep: &RepId,
        wanted: u32,
        limits: &[RollingLimit],
        now: DateTime<Utc>,
    ) -> Result<ReserveOutcome, Error> {
        let key = self.claim_log_key(rep);
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut invocation = self.script.key(&key);
        invocation
            .arg(now.timestamp_millis())
            .arg(wanted)
            .arg(&token)
            .arg(limits.len());
        for limit in limits {
            invocation.arg(duration_ms(limit.window)).arg(limit.max);
        }
        let (granted, blocking, used, retry_ms): (u32, i64, u32, u64) =
            self.redis.invoke(&invocation).await?;
        let blocking_limit = usize::try_from(blocking).ok().and_then(|i| limits.get(i));
        match blocking_limit {
            Some(limit) if granted == 0 => Ok(ReserveOutcome::Exhausted {
                limit: limit.clone(),
                used,
                retry_after: Duration::from_millis(retry_ms),
            }),
            _ => Ok(ReserveOutcome::Granted(Reservation {
                key,
                members: (1..=granted).map(|j| format!("{token}:{j}")).collect(),
            })),
        }
    }

    /// Hands back the last `unused` claims of `reservation` (claims that did not happen).
    pub async fn release(&self, reservation: &Reservation, unused: usize) -> Result<(), Error> {
        let start = reservation.members.len().saturating_sub(unused);
        let members = &reservation.members[start..];
        if members.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(&reservation.key).arg(members);
        self.redis.query::<i64>(&cmd).await.map(|_| ())
    }

    /// Claims counted in `window` for `rep` at `now`.
    pub async fn used(
        &self,
        rep: &RepId,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<u32, Error> {
        let mut cmd = redis::cmd("ZCOUNT");
        cmd.arg(self.claim_log_key(rep))
            .arg(format!(
                "({}",
                now.timestamp_millis() - duration_ms(window) as i64
            ))
            .arg("+inf");
        self.redis.query(&cmd).await
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
