//! [`open`]: the database URL picks the store.

use super::fixtures::TestDatabase;
use super::*;

#[tokio::test]
async fn a_postgres_url_opens_postgresql_and_none_opens_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = open(None, dir.path()).await.unwrap();
    user(&sqlite, "ann").await;
    sqlite.close().await;
    assert!(dir.path().join("chat.db").exists());
    let blank = open(Some(" "), dir.path()).await.unwrap();
    assert!(blank.has_accounts().await.unwrap(), "the same SQLite file");
    blank.close().await;

    let database = TestDatabase::create().await;
    let url = database.url();
    let postgres = open(Some(&url), dir.path()).await.unwrap();
    assert!(
        !postgres.has_accounts().await.unwrap(),
        "a database of its own"
    );
    postgres.close().await;
    let other_spelling = url.replacen("postgres://", "postgresql://", 1);
    let postgres = open(Some(&other_spelling), dir.path()).await.unwrap();
    postgres.close().await;
}

#[tokio::test]
async fn another_url_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    for (url, scheme) in [
        ("mysql://chat:s3cret@db/chat", "mysql"),
        ("sqlite://chat.db", "sqlite"),
        ("chat:s3cret@db/chat", ""),
    ] {
        let Err(e) = open(Some(url), dir.path()).await else {
            panic!("{url} opened");
        };
        assert!(
            matches!(&e, StoreError::UnsupportedUrl(s) if s == scheme),
            "{e:?}"
        );
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
