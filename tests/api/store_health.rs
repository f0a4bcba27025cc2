//! `/healthz` answers 503 while the last attempt to store failed, until one succeeds. Writes
//! are made to fail for real in the database: a trigger refuses every new response, as a full
//! disk or a read-only database refuses the write, on SQLite and on PostgreSQL.

use crate::both;
use crate::staff::exec;

async fn post_valid(app: &crate::helpers::TestApp) -> u16 {
    app.post_form("/s/00004", crate::public::VALID)
        .await
        .status()
        .as_u16()
}

both!(healthz_is_503_while_storing_fails, |app| {
    assert_eq!(app.get("/healthz").await.status(), 200);
    let postgres = app.state.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        exec(
            app,
            "CREATE FUNCTION refuse_store() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$",
        )
        .await;
        exec(
            app,
            "CREATE TRIGGER refuse_store BEFORE INSERT ON responses \
             FOR EACH ROW EXECUTE FUNCTION refuse_store()",
        )
        .await;
    } else {
        exec(
            app,
            "CREATE TRIGGER refuse_store BEFORE INSERT ON responses \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        )
        .await;
    }
    assert_eq!(post_valid(app).await, 500, "the submission is not stored");
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 503);
    // Reads still work: the database answers, only storing fails.
    assert_eq!(app.get("/s/00004").await.status(), 200);
    assert_eq!(
        app.get("/healthz").await.status(),
        503,
        "until a store succeeds"
    );
    exec(
        app,
        if postgres {
            "DROP TRIGGER refuse_store ON responses"
        } else {
            "DROP TRIGGER refuse_store"
        },
    )
    .await;
    assert_eq!(post_valid(app).await, 303);
    assert_eq!(app.get("/healthz").await.status(), 200);
});
