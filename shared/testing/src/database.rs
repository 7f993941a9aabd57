//! A fresh, migrated database per test.

use std::sync::OnceLock;

use leadpool_config::{DatabaseConfig, Secret};
use leadpool_store::{MIGRATOR, Store};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Serialises template creation and cloning across test processes.
const TEMPLATE_LOCK: i64 = 0x1ead_9001;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// `postgres://…/postgres` with the database name replaced.
fn url_for(database: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{database}")
}

/// The template's name changes whenever a migration does, so a stale template is never used.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut hash = Sha256::new();
        for migration in MIGRATOR.iter() {
            hash.update(migration.version.to_le_bytes());
            hash.update(&migration.checksum);
        }
        format!("leadpool_template_{}", &hex::encode(hash.finalize())[..16])
    })
}

/// A database of its own for one test, dropped when the value is dropped.
pub struct TestDatabase {
    name: String,
    store: Store,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let name = format!("leadpool_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("connect to the test Postgres (TEST_DATABASE_URL)");
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await
            .expect("template lock");
        ensure_template(&mut admin).await;
        sqlx::query(&format!(
            r#"CREATE DATABASE "{name}" TEMPLATE "{}""#,
            template_name()
        ))
        .execute(&mut admin)
        .await
        .expect("create test database");
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(TEMPLATE_LOCK)
            .execute(&mut admin)
            .await
            .expect("template unlock");
        let _ = admin.close().await;
        Self::connect(name).await
    }

    /// A database migrated only up to `version`, as a deployment of that release left it: a
    /// migration's test writes rows the old way, then [`TestDatabase::migrate`]s the rest.
    pub async fn at_migration(version: i64) -> Self {
        let name = format!("leadpool_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("connect to the test Postgres (TEST_DATABASE_URL)");
        sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        // The migrations up to `version`, as files sqlx reads like the real ones (same names,
        // same text, so the same checksums: the rest apply on top).
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).expect("migrations folder");
        for migration in MIGRATOR.iter().filter(|m| m.version <= version) {
            let file = format!(
                "{:04}_{}.sql",
                migration.version,
                migration.description.replace(' ', "_")
            );
            std::fs::write(dir.join(file), migration.sql.as_bytes()).expect("write migration");
        }
        let database = Self::connect(name).await;
        let older = sqlx::migrate::Migrator::new(dir.as_path())
            .await
            .expect("read the older migrations");
        older
            .run(database.store.pool())
            .await
            .expect("migrate to the older version");
        let _ = std::fs::remove_dir_all(&dir);
        database
    }

    /// Applies every migration not applied yet.
    pub async fn migrate(&self) {
        MIGRATOR
            .run(self.store.pool())
            .await
            .expect("migrate to the latest version");
    }

    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// A copy of this database as it is now (a benchmark seeds once and measures two systems
    /// on the same data). Connections to this one are closed for the copy; its pool reconnects.
    pub async fn duplicate(&self) -> Self {
        let name = format!("leadpool_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("connect to the test Postgres (TEST_DATABASE_URL)");
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .execute(&mut admin)
        .await
        .expect("close connections to the database being copied");
        sqlx::query(&format!(
            r#"CREATE DATABASE "{name}" TEMPLATE "{}""#,
            self.name
        ))
        .execute(&mut admin)
        .await
        .expect("copy the database");
        let _ = admin.close().await;
        Self::connect(name).await
    }

    /// Opens the pool of the database `name`, just created.
    async fn connect(name: String) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .connect(&url_for(&name))
            .await
            .expect("connect to the test database");
        Self {
            name,
            store: Store::from_pool(pool),
        }
    }

    pub fn url(&self) -> String {
        url_for(&self.name)
    }

    /// A database section pointing services at this database.
    pub fn config(&self) -> DatabaseConfig {
        DatabaseConfig {
            url: Secret::new(self.url()),
            migrate_on_start: false,
            ..DatabaseConfig::default()
        }
    }
}

async fn ensure_template(admin: &mut PgConnection) {
    let template = template_name();
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(template)
        .fetch_optional(&mut *admin)
        .await
        .expect("look up template");
    if exists.is_some() {
        return;
    }
    let building = format!("{template}_building");
    sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{building}""#))
        .execute(&mut *admin)
        .await
        .expect("drop half-built template");
    sqlx::query(&format!(r#"CREATE DATABASE "{building}""#))
        .execute(&mut *admin)
        .await
        .expect("create template");
    let mut conn = PgConnection::connect(&url_for(&building))
        .await
        .expect("connect to template");
    MIGRATOR.run(&mut conn).await.expect("migrate template");
    let _ = conn.close().await;
    // Renamed only once complete, so a crash mid-way never leaves a half-migrated template.
    sqlx::query(&format!(
        r#"ALTER DATABASE "{building}" RENAME TO "{template}""#
    ))
    .execute(&mut *admin)
    .await
    .expect("publish template");
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // FORCE ends whatever connections of the test are still open.
        crate::run_cleanup(async move {
            if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                let _ = sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
                    .execute(&mut admin)
                    .await;
                let _ = admin.close().await;
            }
        });
    }
}
