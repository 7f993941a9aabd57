//! Postgres failures become domain errors here, once.

use leadpool_domain::Error;

/// Maps a database error: lost connections and exhausted pools are UNAVAILABLE (retryable), a
/// statement cancelled at the caller's deadline is DEADLINE_EXCEEDED, anything else is an
/// internal error.
pub fn db_error(err: sqlx::Error) -> Error {
    // 57014: query_canceled — the statement timeout set from the caller's deadline.
    if matches!(&err, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014")) {
        return Error::DeadlineExceeded("a database statement ran".to_owned());
    }
    let unavailable = match &err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 53: insufficient resources; 57P: operator intervention
            // (shutdown, crash recovery); 40001/40P01: serialization failure or deadlock.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    };
    if unavailable {
        Error::Unavailable {
            dependency: "postgres",
            message: err.to_string(),
        }
    } else {
        Error::Internal(format!("database: {err}"))
    }
}

/// True for a foreign-key violation (SQLSTATE 23503).
pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("23503"))
}
