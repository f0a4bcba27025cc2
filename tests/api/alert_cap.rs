//! A ward alert lists at most 20 items, then "và N phản ánh khác / and N more" with the inbox
//! link: an alert about thousands of low ballots stays small (one was 17 MB).

use crate::both;
use crate::helpers::stderr;
use crate::staff::add_user;

/// The text column `col` of the ward alerts in the outbox.
async fn alert_bodies(app: &crate::helpers::TestApp, col: &str) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT {col} AS body FROM outbox WHERE kind = 'ward_alert'"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", "body").unwrap())
        .collect()
}

both!(a_ward_alert_lists_twenty_items_and_counts_the_rest, |app| {
    const N: usize = 3_000;
    add_user(app, "canbo@cand.vn", "ward:00004").await;
    // Half of the ballots are for ward 00004, every one with overall = 1.
    let f = app.write_file("low.csv", &crate::exports::ballots(N, 1));
    let out = app.cli(&["responses", "import", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (texts, htmls) = (
        alert_bodies(app, "body_text").await,
        alert_bodies(app, "body_html").await,
    );
    assert_eq!(texts.len(), 1, "one alert for the one officer");
    let inbox = "/staff/wards/00004/feedback";
    for (body, what) in [(&texts[0], "text"), (&htmls[0], "html")] {
        let body = body.replace("&#x2F;", "/");
        assert_eq!(body.matches("Mã phiếu").count(), 20, "{what}");
        assert_eq!(body.matches("Receipt").count(), 20, "{what}");
        assert!(body.contains("vừa nhận 1.500 phản ánh"), "{what}: {body}");
        assert!(body.contains("và 1.480 phản ánh khác"), "{what}: {body}");
        assert!(body.contains("and 1,480 more"), "{what}: {body}");
        assert!(body.contains(&format!("{inbox}\"")) || body.contains(&format!("{inbox}\n")));
        assert!(body.len() < 20_000, "{what}: {} bytes", body.len());
    }
    assert!(texts[0].contains(&format!(
        "- và 1.480 phản ánh khác: http://127.0.0.1:8080{inbox}"
    )));
});
