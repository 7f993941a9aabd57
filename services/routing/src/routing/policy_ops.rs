//! Applying policy documents, and the imperative edits (create a pool, save a rep) that are
//! applied as new policy versions too, so the policy stays the one source of truth.

use leadpool_domain::{Error, PoolId, PoolSummary, Reason, RepId};
use leadpool_policy::PolicyDocument;
use leadpool_policy::document::{PoolDoc, RepDoc};
use leadpool_store::{Applied, PolicyRecord};

use super::{RepView, Routing};

/// How often an edit is retried when another apply lands between its read and its write.
const EDIT_ATTEMPTS: usize = 5;

impl Routing {
    /// Validates `yaml` whole and applies it (unless `dry_run`). An invalid document changes
    /// nothing and reports every error.
    pub async fn apply(
        &self,
        yaml: &str,
        dry_run: bool,
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<Applied, Error> {
        if yaml.trim().is_empty() {
            return Err(Error::invalid(
                "document",
                "is required: a YAML policy document",
            ));
        }
        let policy = leadpool_policy::load(yaml).map_err(leadpool_policy::invalid_document)?;
        let applied = self
            .store
            .apply_policy(
                &policy,
                yaml,
                expected_version,
                dry_run,
                actor,
                self.clock.now(),
            )
            .await?;
        if applied.applied {
            self.policy.invalidate().await;
            tracing::info!(
                version = applied.record.as_ref().map_or(0, |r| r.version),
                changes = applied.changes.len(),
                by = actor,
                "policy applied"
            );
        }
        Ok(applied)
    }

    /// CreatePool: adds `pool` to the policy as its next version.
    pub async fn create_pool(
        &self,
        id: PoolId,
        pool: PoolDoc,
        actor: &str,
    ) -> Result<PoolSummary, Error> {
        self.edit(actor, |document| {
            document
                .add_pool(pool.clone())
                .map_err(|_| Error::AlreadyExists {
                    name: id.name(),
                    message: format!("pool {} already exists", id.name()),
                })
        })
        .await?;
        self.store.get_pool(&id).await
    }

    /// UpsertRep: adds or updates `rep` in the policy as its next version.
    pub async fn save_rep(&self, id: &RepId, rep: RepDoc, actor: &str) -> Result<RepView, Error> {
        self.edit(actor, |document| {
            document.upsert_rep(rep.clone());
            Ok(())
        })
        .await?;
        let current = self.policy.current().await?;
        if current.policy.rep(id).is_none() {
            return Err(Error::internal("the saved rep is not in the policy"));
        }
        self.rep(id).await
    }

    /// A version of the policy (0: the one in force; `None` before any was applied).
    pub async fn policy_version(&self, version: i64) -> Result<Option<PolicyRecord>, Error> {
        match version {
            0 => self.store.current_policy().await,
            v => self.store.policy(v).await.map(Some),
        }
    }

    /// Versions newest first, below `before`.
    pub async fn policy_versions(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PolicyRecord>, Error> {
        self.store.list_policies(before, limit).await
    }

    /// Reads the current document, lets `edit` change it, and applies the result as the next
    /// version — retrying if another apply got in between.
    async fn edit(
        &self,
        actor: &str,
        edit: impl Fn(&mut PolicyDocument) -> Result<(), Error>,
    ) -> Result<Applied, Error> {
        for _ in 0..EDIT_ATTEMPTS {
            let current = self.store.current_policy().await?;
            let version = current.as_ref().map_or(0, |c| c.version);
            let mut document = match &current {
                Some(record) => leadpool_policy::parse(&record.document).map_err(|_| {
                    Error::internal(format!("stored policy version {version} does not parse"))
                })?,
                None => PolicyDocument::empty(),
            };
            edit(&mut document)?;
            match self
                .apply(&document.to_yaml(), false, Some(version), actor)
                .await
            {
                Err(Error::FailedPrecondition { violations, .. })
                    if violations
                        .first()
                        .is_some_and(|v| v.kind == Reason::PolicyVersionChanged) =>
                {
                    continue;
                }
                other => return other,
            }
        }
        Err(Error::Unavailable {
            dependency: "policy",
            message: "the policy kept changing while this edit was applied; try again".to_owned(),
        })
    }
}
