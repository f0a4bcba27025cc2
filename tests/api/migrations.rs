//! The long → wide rollup migration: rows stored in the old long table (one per metric) end up
//! in the wide rows with the same values, on SQLite and PostgreSQL.

use std::collections::BTreeMap;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::helpers::{fresh_postgres, postgres_url};

/// Migrations before the wide rollups.
const BEFORE_WIDE: u32 = 6;

async fn long_to_wide(url: &str) {
    let db = Database::connect(url).await.unwrap();
    Migrator::up(&db, Some(BEFORE_WIDE)).await.unwrap();
    hailong::store::units::load_shipped_if_empty(&db)
        .await
        .unwrap();
    let rows = [
        ("00004", "2026-10", "m:18-34", "resp", 3i64, 0.0f64, 0.0f64),
        ("00004", "2026-10", "m:18-34", "score", 3, 210.5, 15000.25),
        ("00004", "2026-10", "f:55+", "score", 1, 80.0, 6400.0),
        (
            "00004",
            "2026-11",
            "m:18-34",
            "dim:access",
            2,
            150.0,
            11250.0,
        ),
        ("00008", "2026-10", "x:x", "alpha:all:a1", 4, 13.0, 45.0),
    ];
    for (ward, month, cell, metric, n, sum, sumsq) in rows {
        db.execute_unprepared(&format!(
            "INSERT INTO rollups (ward_code, month, cell, metric, n, sum, sumsq) \
             VALUES ('{ward}', '{month}', '{cell}', '{metric}', {n}, {sum}, {sumsq})"
        ))
        .await
        .unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let stored = hailong::store::rollups::read_all(&db).await.unwrap();
    let expected: BTreeMap<_, _> = rows
        .iter()
        .filter(|r| r.4 != 0 || r.5 != 0.0)
        .map(|(w, m, c, metric, n, s, q)| {
            (
                (
                    w.to_string(),
                    m.to_string(),
                    c.to_string(),
                    metric.to_string(),
                ),
                hailong::measure::Acc {
                    n: *n,
                    sum: *s,
                    sumsq: *q,
                },
            )
        })
        .collect();
    assert_eq!(stored, expected);
    let slots = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM rollup_slots",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(slots, 4, "one slot per distinct metric");
    let old = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM rollups",
        ))
        .await;
    assert!(old.is_err(), "the long table is dropped");
    db.close().await.unwrap();
}

#[tokio::test]
async fn long_rollups_move_to_wide_rows_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    long_to_wide(&url).await;
}

#[tokio::test]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn long_rollups_move_to_wide_rows_postgres() {
    let Some(admin) = postgres_url("migrations::long_rollups_move_to_wide_rows_postgres") else {
        return;
    };
    let (url, admin, name) = fresh_postgres(&admin).await;
    long_to_wide(&url).await;
    crate::helpers::drop_postgres(&admin, &name).await;
}

/// Migrations before the answers moved into the response rows.
const BEFORE_INLINE: u32 = 8;

/// Answer rows of the old table end up as each response's JSON object (numbers, texts, null
/// for `na`; a response without answers gets `{}`), and `down` moves them back.
async fn answers_move_inline(url: &str) {
    use hailong::store::responses::AnswerRow;
    use sea_orm::{EntityTrait, QueryOrder};
    let db = Database::connect(url).await.unwrap();
    Migrator::up(&db, Some(BEFORE_INLINE)).await.unwrap();
    hailong::store::units::load_shipped_if_empty(&db)
        .await
        .unwrap();
    for (id, receipt) in [(1, "AAAA-AAAA-AA"), (2, "BBBB-BBBB-BB")] {
        db.execute_unprepared(&format!(
            "INSERT INTO responses (id, receipt, ward_code, survey_id, survey_version, channel, \
             submitted_at, month, cell, status) VALUES ({id}, '{receipt}', '00004', \
             'ward-police', 1, 'web', '2026-11-02 10:00:00+00:00', '2026-11', 'm:18-34', 'counted')"
        ))
        .await
        .unwrap();
    }
    let old = [
        ("a1", Some(4), None),
        ("p2", None, None),
        ("trust", Some(10), None),
        ("comment", None, Some("Đèn đường hỏng, 'ngõ' 5")),
    ];
    for (q, n, t) in old {
        let n = n.map_or("NULL".to_string(), |n: i32| n.to_string());
        let t = t.map_or("NULL".to_string(), |t: &str| {
            format!("'{}'", t.replace('\'', "''"))
        });
        db.execute_unprepared(&format!(
            "INSERT INTO answers (response_id, question_id, value_num, value_text) \
             VALUES (1, '{q}', {n}, {t})"
        ))
        .await
        .unwrap();
    }
    Migrator::up(&db, Some(1)).await.unwrap();
    let stored = hailong::entities::response::Entity::find()
        .order_by_asc(hailong::entities::response::Column::Id)
        .all(&db)
        .await
        .unwrap();
    let mut first = AnswerRow::from_json(&stored[0].answers);
    first.sort_by(|a, b| a.question_id.cmp(&b.question_id));
    let mut expected: Vec<AnswerRow> = old
        .iter()
        .map(|(q, n, t)| AnswerRow {
            question_id: q.to_string(),
            value_num: *n,
            value_text: t.map(str::to_string),
        })
        .collect();
    expected.sort_by(|a, b| a.question_id.cmp(&b.question_id));
    assert_eq!(first, expected);
    assert_eq!(stored[1].answers, serde_json::json!({}));
    let gone = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM answers",
        ))
        .await;
    assert!(gone.is_err(), "the answers table is dropped");
    Migrator::down(&db, Some(1)).await.unwrap();
    let back = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COUNT(*) AS BIGINT) FROM answers WHERE response_id = 1 \
             AND ((question_id = 'a1' AND value_num = 4) OR (question_id = 'p2' \
             AND value_num IS NULL AND value_text IS NULL) OR (question_id = 'comment' \
             AND value_text = 'Đèn đường hỏng, ''ngõ'' 5'))",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(back, 3, "down moves the answers back to their rows");
    db.close().await.unwrap();
}

#[tokio::test]
async fn answers_move_into_response_rows_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    answers_move_inline(&url).await;
}

#[tokio::test]
#[cfg_attr(
    not(hailong_postgres),
    ignore = "needs PostgreSQL: set HAILONG_TEST_POSTGRES_URL"
)]
async fn answers_move_into_response_rows_postgres() {
    let Some(admin) = postgres_url("migrations::answers_move_into_response_rows_postgres") else {
        return;
    };
    let (url, admin, name) = fresh_postgres(&admin).await;
    answers_move_inline(&url).await;
    crate::helpers::drop_postgres(&admin, &name).await;
}
