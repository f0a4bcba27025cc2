//! The group-commit writer: concurrent submissions share transactions, every one is stored and
//! acknowledged after its commit, and one that cannot be stored does not cost the others.

use chrono::Utc;
use hailong::store::responses::Channel;

use crate::both;
use crate::public::VALID;

fn response(app: &crate::helpers::TestApp, ward: &str) -> hailong::store::responses::NewResponse {
    let survey = app.state.catalog.get("ward-police").unwrap();
    let pairs = hailong::web::form::decode(VALID.as_bytes()).unwrap();
    let valid = hailong::intake::parse(survey, &pairs, hailong::survey::Mode::Web).unwrap();
    hailong::intake::new_response(survey, &valid, ward, Channel::Web, Utc::now())
}

both!(concurrent_submissions_share_commits, |app| {
    let writer = app.state.writer.clone();
    let (batches_before, stored_before, _) = writer.stats().get();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let w = writer.clone();
        let r = response(app, if i % 2 == 0 { "00004" } else { "00008" });
        tasks.push(tokio::spawn(async move { w.submit(r).await }));
    }
    let mut receipts = Vec::new();
    for t in tasks {
        let outcome = t.await.unwrap().expect("stored");
        receipts.push(outcome.receipt);
    }
    // Every acknowledged receipt is in the database.
    for r in &receipts {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM responses WHERE receipt = '{r}'"
            ))
            .await,
            1
        );
    }
    let (batches, stored, _) = writer.stats().get();
    assert_eq!(stored - stored_before, 200);
    let commits = batches - batches_before;
    assert!(
        commits < 100,
        "200 concurrent submissions took {commits} transactions"
    );
    let report = hailong::store::verify::verify(&app.state.db, &app.state.catalog)
        .await
        .unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
});

both!(a_bad_submission_does_not_sink_its_batch, |app| {
    // A ward that does not exist breaks the foreign key: the batch's transaction fails, and
    // each submission is then stored alone.
    let batch: Vec<_> = (0..60)
        .map(|i| response(app, if i == 30 { "99999" } else { "00004" }))
        .collect();
    let stats = hailong::store::writer::Stats::default();
    let db = hailong::db::connect_writer(&app.state.config.database_url)
        .await
        .unwrap();
    let results = hailong::store::writer::store_batch(&app.state, &db, &batch, &stats).await;
    assert_eq!(results.len(), 60);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.is_ok(), i != 30, "submission {i}: {r:?}");
    }
    let (commits, stored, split) = stats.get();
    assert_eq!((commits, stored, split), (59, 59, 1));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM responses").await, 59);
    let report = hailong::store::verify::verify(&app.state.db, &app.state.catalog)
        .await
        .unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    // A good batch is one transaction.
    let batch: Vec<_> = (0..60).map(|_| response(app, "00008")).collect();
    let results = hailong::store::writer::store_batch(&app.state, &db, &batch, &stats).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(stats.get(), (60, 119, 1));
});
