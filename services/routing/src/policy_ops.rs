//! Applying policy documents, and the imperative edits (create a pool, save a rep) that are
//! applied as new policy versions too, so the policy stays the one source of truth.

use leadpool_domain::{Clock, Error, FieldViolation, Reason};
use leadpool_policy::PolicyDocument;
use leadpool_store::{Applied, PolicyCache, Store};

/// How often an edit is retried when another apply lands between its read and its write.
const EDIT_ATTEMPTS: usize = 5;

pub struct PolicyOps<'a> {
    pub store: &'a Store,
    pub cache: &'a PolicyCache,
    pub clock: &'a dyn Clock,
}

/// Every problem in a document, as field violations named by document path.
fn invalid(errors: Vec<leadpool_policy::PolicyError>) -> Error {
    Error::InvalidArgument(
        errors
            .into_iter()
            .map(|e| {
                FieldViolation::new(
                    if e.path.is_empty() {
                        "document".to_owned()
                    } else {
                        e.path
                    },
                    e.message,
                )
            })
            .collect(),
    )
}

impl PolicyOps<'_> {
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
        let policy = leadpool_policy::load(yaml).map_err(invalid)?;
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
            self.cache.invalidate().await;
            tracing::info!(
                version = applied.record.as_ref().map_or(0, |r| r.version),
                changes = applied.changes.len(),
                by = actor,
                "policy applied"
            );
        }
        Ok(applied)
    }

    /// Reads the current document, lets `edit` change it, and applies the result as the next
    /// version — retrying if another apply got in between.
    pub async fn edit(
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
