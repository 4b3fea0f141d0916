//! Where a conformance test's store lives: SQLite in a temporary directory, PostgreSQL in a
//! database of its own, created for the test and dropped after it.

use crate::store::{PgStore, SqliteStore, Storage};
use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The server the PostgreSQL tests create their databases on, unless `CHAT_TEST_POSTGRES_URL`
/// names another. Its role must be allowed to create databases.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Test databases are named `chat_test_<unix seconds>_<random>`.
const NAME_PREFIX: &str = "chat_test_";
/// A test database this old was left by a run that was killed: dropped by the next run.
const LEFTOVER_AGE_SECS: u64 = 3600;

pub(super) async fn on_sqlite<F: Future<Output = ()>>(test: impl FnOnce(Arc<dyn Storage>) -> F) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Storage> = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    test(store.clone()).await;
    store.close().await;
}

pub(super) async fn on_postgres<F: Future<Output = ()>>(test: impl FnOnce(Arc<dyn Storage>) -> F) {
    let database = TestDatabase::create().await;
    let store: Arc<dyn Storage> = Arc::new(database.store().await);
    test(store.clone()).await;
    store.close().await;
}

/// A fresh PostgreSQL database for one test, dropped with this value: after the test, and
/// also when it panics.
pub(super) struct TestDatabase {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Creates the database, or panics saying why: the suite never skips PostgreSQL silently.
    pub(super) async fn create() -> Self {
        let admin_url = std::env::var("CHAT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = admin_connection(&admin_url).await;
        drop_leftovers_once(&mut admin).await;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).expect("randomness");
        let name = format!(
            "{NAME_PREFIX}{}_{:016x}",
            unix_secs(),
            u64::from_le_bytes(random)
        );
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("creating the test database {name}: {e}"));
        let _ = admin.close().await;
        Self { admin_url, name }
    }

    /// The URL of this database.
    pub(super) fn url(&self) -> String {
        let mut url = url::Url::parse(&self.admin_url).expect("checked by admin_connection");
        url.set_path(&self.name);
        url.into()
    }

    /// A store on this database: a pool of its own, as another server process would have.
    pub(super) async fn store(&self) -> PgStore {
        PgStore::connect(&self.url()).await.unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot wait for a future here: a thread
        // with a runtime of its own does. FORCE ends the connections the test left open.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

async fn admin_connection(url: &str) -> PgConnection {
    let shown = match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(e) => panic!("CHAT_TEST_POSTGRES_URL is not a URL: {e}"),
    };
    match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => panic!(
            "the store tests need PostgreSQL and cannot reach it at {shown}: {e}. \
             Start a server there or set CHAT_TEST_POSTGRES_URL to one whose role may create \
             databases."
        ),
        Err(_) => panic!("the store tests need PostgreSQL: no answer from {shown} in 10 s"),
    }
}

/// Drops the test databases of runs that were killed before they could (once per process).
async fn drop_leftovers_once(admin: &mut PgConnection) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
    )
    .bind(NAME_PREFIX)
    .fetch_all(&mut *admin)
    .await
    else {
        return;
    };
    for name in names {
        let created = name
            .strip_prefix(NAME_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| unix_secs().saturating_sub(secs) > LEFTOVER_AGE_SECS) {
            // Best effort: another run may be dropping it too.
            let quoted = name.replace('"', "\"\"");
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS \"{quoted}\" WITH (FORCE)").as_str())
                .await;
        }
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
