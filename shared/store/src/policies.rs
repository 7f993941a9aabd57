//! Applied policy versions. Applying writes the new version and brings the pool and rep
//! projections in line with it, in one transaction, so readers never see half a policy.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, PreconditionViolation, Reason};
use leadpool_policy::duplicates::IN_PLAY;
use leadpool_policy::{Change, ChangeKind, Drain, Holding, Policy, PolicyDocument};
use sqlx::types::Json;

use crate::Store;
use crate::error::db_error;
use crate::rows;

/// Serialises policy applies across routing replicas.
const POLICY_LOCK: i64 = 0x1ead_0001;

#[derive(Debug, Clone)]
pub struct PolicyRecord {
    pub version: i64,
    pub document: String,
    pub name: String,
    pub applied_by: String,
    pub applied_at: DateTime<Utc>,
    pub changes: Json<Vec<ChangeRecord>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeRecord {
    pub kind: String,
    pub path: String,
}

impl From<&Change> for ChangeRecord {
    fn from(change: &Change) -> Self {
        let kind = match change.kind {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        };
        Self {
            kind: kind.to_owned(),
            path: change.path.clone(),
        }
    }
}

/// What an apply did.
#[derive(Debug)]
pub struct Applied {
    /// The version in force afterwards (`None`: still none at all).
    pub record: Option<PolicyRecord>,
    pub changes: Vec<Change>,
    /// False when nothing changed, so no version was written.
    pub applied: bool,
    /// Retired pools' leads moved (dry run: that would move).
    pub drains: Vec<Drain>,
}

/// `SELECT <policy columns> FROM policies <rest>`, checked.
macro_rules! policy_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            PolicyRecord,
            r#"SELECT version, document, name, applied_by, applied_at,
                 changes AS "changes: Json<Vec<ChangeRecord>>" FROM policies "# + $rest
            $(, $arg)*
        )
    };
}

impl Store {
    /// The newest applied version, if any.
    pub async fn current_policy(&self) -> Result<Option<PolicyRecord>, Error> {
        policy_rows!("ORDER BY version DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    /// The number of the newest applied version; 0 when none was ever applied.
    /// The latest policy version and the latest performance rating run (0 before any): what
    /// the policy in force is made of.
    pub async fn policy_generation(&self) -> Result<(i64, i64), Error> {
        let row = sqlx::query!(
            r#"SELECT (SELECT COALESCE(max(version), 0) FROM policies) AS "version!",
                 (SELECT COALESCE(max(id), 0) FROM performance_runs) AS "ratings!""#
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok((row.version, row.ratings))
    }

    pub async fn policy(&self, version: i64) -> Result<PolicyRecord, Error> {
        policy_rows!("WHERE version = $1", version)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("policy version", version.to_string()))
    }

    /// Versions newest first, below `before` (exclusive).
    pub async fn list_policies(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PolicyRecord>, Error> {
        policy_rows!(
            "WHERE $1::bigint IS NULL OR version < $1 ORDER BY version DESC LIMIT $2",
            before,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Applies `policy` (compiled from `yaml`) as the next version, unless it changes nothing.
    /// With `expected_version`, refuses when another apply got there first. With `dry_run`,
    /// reports the changes and writes nothing.
    pub async fn apply_policy(
        &self,
        policy: &Policy,
        yaml: &str,
        expected_version: Option<i64>,
        dry_run: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Applied, Error> {
        let mut tx = self.begin().await?;
        sqlx::query!("SELECT pg_advisory_xact_lock($1)", POLICY_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let current = policy_rows!("ORDER BY version DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        let current_version = current.as_ref().map_or(0, |c| c.version);
        if let Some(expected) = expected_version
            && expected != current_version
        {
            return Err(Error::precondition(
                Reason::PolicyVersionChanged,
                "policy",
                format!(
                    "the policy is at version {current_version}, not {expected}; fetch it again and reapply your change"
                ),
            ));
        }
        let current_document = match &current {
            Some(record) => Some(parse_stored(record)?),
            None => None,
        };
        let changes = leadpool_policy::diff(current_document.as_ref(), &policy.document);
        let holdings = holdings_outside(&mut tx, policy).await?;
        let drains =
            policy
                .plan_retirement(&holdings)
                .map_err(|orphans| Error::FailedPrecondition {
                    message: orphans
                        .iter()
                        .map(|(_, why)| why.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    violations: orphans
                        .into_iter()
                        .map(|(pool, description)| PreconditionViolation {
                            kind: Reason::PoolHoldsLeads,
                            subject: pool.name(),
                            description,
                        })
                        .collect(),
                })?;
        if dry_run || changes.is_empty() {
            return Ok(Applied {
                record: current,
                changes,
                applied: false,
                drains,
            });
        }
        let change_records: Vec<ChangeRecord> = changes.iter().map(ChangeRecord::from).collect();
        let record = sqlx::query_as!(
            PolicyRecord,
            r#"INSERT INTO policies (version, document, name, applied_by, applied_at, changes)
               VALUES ($1, $2, $3, $4, $5, $6)
               RETURNING version, document, name, applied_by, applied_at,
                 changes AS "changes: Json<Vec<ChangeRecord>>""#,
            current_version + 1,
            yaml,
            &policy.name,
            actor,
            now,
            Json(&change_records) as _
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        project_pools(&mut tx, policy, now).await?;
        for drain in &drains {
            drain_pool(&mut tx, drain, actor, now).await?;
        }
        project_reps(&mut tx, policy, now).await?;
        // The event platforms hear (issue 13), committed with the version itself.
        let event = serde_json::json!({
            "version": record.version,
            "appliedBy": actor,
            "changes": change_records,
            "drains": drains.len(),
        });
        sqlx::query!(
            "INSERT INTO service_events (type, subject, data, occurred_at) \
             VALUES ($1, 'policy', $2, $3)",
            leadpool_domain::events::POLICY_APPLIED,
            event,
            now
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Applied {
            record: Some(record),
            changes,
            applied: true,
            drains,
        })
    }
}

/// Re-reads a stored document. It was valid when applied; a failure here means a newer build
/// reads it differently, which is an internal error to investigate, not the caller's fault.
pub(crate) fn parse_stored(record: &PolicyRecord) -> Result<PolicyDocument, Error> {
    leadpool_policy::parse(&record.document).map_err(|errors| {
        Error::internal(format!(
            "stored policy version {} no longer parses: {}",
            record.version,
            leadpool_policy::PolicyError::join(&errors)
        ))
    })
}

/// The leads in play held by pools outside `policy`, by pool and state.
async fn holdings_outside(
    tx: &mut sqlx::PgConnection,
    policy: &Policy,
) -> Result<Vec<Holding>, Error> {
    let kept: Vec<&str> = policy.pools.iter().map(|p| p.id.as_str()).collect();
    let in_play: Vec<&str> = IN_PLAY.iter().map(|s| s.as_str()).collect();
    let rows = sqlx::query!(
        r#"SELECT l.pool_id AS "pool!", l.state, count(*) AS "leads!" FROM leads l
           WHERE l.pool_id IN (SELECT id FROM pools WHERE id <> ALL($1)) AND l.state = ANY($2)
           GROUP BY l.pool_id, l.state ORDER BY l.pool_id, l.state"#,
        &kept as &[&str],
        &in_play as &[&str]
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let mut holdings: Vec<Holding> = Vec::new();
    for row in rows {
        let pool = rows::stored_pool(&row.pool)?;
        let state = rows::stored_state(&row.state)?;
        match holdings.last_mut() {
            Some(holding) if holding.pool == pool => holding.leads.push((state, row.leads)),
            _ => holdings.push(Holding {
                pool,
                leads: vec![(state, row.leads)],
            }),
        }
    }
    Ok(holdings)
}

/// Moves a retired pool's leads in play to the pool it drains to, each with its history row:
/// in their state (a waiting lead of a timed pool becomes available unless the target is timed
/// too), unclaimed ones entering the new pool now.
async fn drain_pool(
    tx: &mut sqlx::PgConnection,
    drain: &Drain,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let in_play: Vec<&str> = IN_PLAY.iter().map(|s| s.as_str()).collect();
    let reason = format!(
        "{} retired: drained to {}",
        drain.from.name(),
        drain.to.name()
    );
    transition!(ids:
        "WITH target AS (SELECT id, state AS old_state FROM leads \
           WHERE pool_id = $1 AND state = ANY($6) FOR UPDATE) \
         UPDATE leads l SET pool_id = $2, updated_at = $3, \
           state = CASE WHEN l.state = 'scheduled' AND p.kind <> 'timed' THEN 'available' \
             ELSE l.state END, \
           pooled_at = CASE WHEN l.state IN ('available', 'escalated') \
               OR (l.state = 'scheduled' AND p.kind <> 'timed') THEN $3 ELSE l.pooled_at END \
         FROM target, pools p WHERE l.id = target.id AND p.id = $2 \
         RETURNING l.*, target.old_state",
        "'lead.drained', $4, $5, pool_id, owner_rep_id, $3, false",
        drain.from.as_str(),
        drain.to.as_str(),
        now,
        actor,
        reason,
        &in_play as &[&str]
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn project_pools(
    tx: &mut sqlx::PgConnection,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let ids: Vec<&str> = policy.pools.iter().map(|p| p.id.as_str()).collect();
    let names: Vec<&str> = policy.pools.iter().map(|p| p.name.as_str()).collect();
    let kinds: Vec<&str> = policy.pools.iter().map(|p| p.kind.name()).collect();
    let slas: Vec<i32> = policy
        .pools
        .iter()
        .map(|p| i32::try_from(p.contact_sla.num_seconds()).unwrap_or(i32::MAX))
        .collect();
    let min_scores: Vec<Option<i32>> = policy.pools.iter().map(|p| p.min_score).collect();
    sqlx::query!(
        "INSERT INTO pools (id, display_name, kind, contact_sla_seconds, min_score, retired, created_at, updated_at) \
         SELECT id, name, kind, sla, min_score, false, $6, $6 \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) AS t(id, name, kind, sla, min_score) \
         ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, kind = EXCLUDED.kind, \
         contact_sla_seconds = EXCLUDED.contact_sla_seconds, min_score = EXCLUDED.min_score, retired = false, \
         updated_at = EXCLUDED.updated_at",
        &ids as &[&str],
        &names as &[&str],
        &kinds as &[&str],
        &slas,
        &min_scores as &[Option<i32>],
        now
    )
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    sqlx::query!(
        "UPDATE pools SET retired = true, updated_at = $2 WHERE NOT retired AND id <> ALL($1)",
        &ids as &[&str],
        now
    )
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn project_reps(
    tx: &mut sqlx::PgConnection,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let reps: Vec<&leadpool_policy::Rep> = policy.reps.values().collect();
    let ids: Vec<&str> = reps.iter().map(|r| r.id.as_str()).collect();
    let names: Vec<&str> = reps.iter().map(|r| r.name.as_str()).collect();
    let teams: Vec<&str> = reps
        .iter()
        .map(|r| r.team.as_deref().unwrap_or(""))
        .collect();
    let roles: Vec<&str> = reps.iter().map(|r| r.role.name()).collect();
    let active: Vec<bool> = reps.iter().map(|r| r.active).collect();
    sqlx::query!(
        "INSERT INTO reps (id, display_name, team, role, active, created_at, updated_at) \
         SELECT id, name, team, role, active, $6, $6 \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[]) AS t(id, name, team, role, active) \
         ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, team = EXCLUDED.team, \
         role = EXCLUDED.role, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at",
        &ids as &[&str],
        &names as &[&str],
        &teams as &[&str],
        &roles as &[&str],
        &active,
        now
    )
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    sqlx::query!(
        "UPDATE reps SET active = false, updated_at = $2 WHERE active AND id <> ALL($1)",
        &ids as &[&str],
        now
    )
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    Ok(())
}
