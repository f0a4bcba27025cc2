//! Metrics (docs/deployment.md): with `metrics_listen` set, `GET /metrics` on that listener (not
//! the public one) answers Prometheus text whose counts match a known load exactly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::helpers::{Backend, TestApp};
use crate::public::VALID;

/// The samples of a Prometheus text page: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

async fn scrape(app: &TestApp) -> (String, HashMap<String, f64>) {
    let addr = app.metrics_addr.expect("the metrics listener");
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = r.text().await.unwrap();
    let s = samples(&text);
    (text, s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_known_load_exactly() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.metrics_listen = Some("127.0.0.1:0".into());
        c.rate_limit.enabled = true;
        c.rate_limit.submissions_per_minute = 5;
    })
    .await;
    let metrics = app.metrics_addr.expect("a metrics listener");
    assert_ne!(metrics, app.addr, "a listener of its own");
    // The public listener has no /metrics.
    assert_eq!(app.get("/metrics").await.status(), 404);

    // A pending message (due tomorrow, so the worker leaves it), for the outbox gauge.
    hailong::mail::outbox::enqueue_at(
        &app.state.db,
        hailong::mail::Message {
            kind: "digest",
            to: "tinh@example.vn".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "<p>t</p>".into(),
            headers: Vec::new(),
            ref_key: None,
            dedup_key: None,
        },
        chrono::Utc::now() + chrono::Duration::days(1),
    )
    .await
    .unwrap();

    // 5 submissions, then a 6th over the limit of 5 a minute; one client, no cookie.
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = || {
        c.post(app.url("/s/00004"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(VALID)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(post().await.unwrap().status(), 303);
    }
    assert_eq!(post().await.unwrap().status(), 429);
    // Three 404s: two paths no route matches, one unknown ward on the survey route.
    for path in ["/nowhere", "/nowhere/else?x=1", "/s/99999"] {
        assert_eq!(c.get(app.url(path)).send().await.unwrap().status(), 404);
    }

    let (text, s) = scrape(&app).await;
    let get = |k: &str| {
        s.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k} in\n{text}"))
    };
    assert_eq!(get(r#"hailong_submissions_total{outcome="counted"}"#), 5.0);
    assert_eq!(get(r#"hailong_submissions_total{outcome="flagged"}"#), 0.0);
    assert_eq!(get(r#"hailong_submissions_total{outcome="refused"}"#), 1.0);
    assert_eq!(
        get(r#"hailong_rate_limited_total{limit="submissions"}"#),
        1.0
    );
    assert_eq!(get(r#"hailong_rate_limited_total{limit="pages"}"#), 0.0);
    let req = |route: &str, status: u16| {
        format!(r#"hailong_http_requests_total{{route="{route}",status="{status}"}}"#)
    };
    assert_eq!(get(&req("/s/{ward_code}", 303)), 5.0);
    assert_eq!(get(&req("/s/{ward_code}", 429)), 1.0);
    assert_eq!(get(&req("/s/{ward_code}", 404)), 1.0);
    assert_eq!(
        get(&req("unmatched", 404)),
        3.0,
        "two unknown paths and the public /metrics"
    );
    // No raw path is ever a label: every route is a template or `unmatched`.
    let routes: std::collections::BTreeSet<&str> = text
        .split("route=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        ["/s/{ward_code}", "unmatched"],
        "{text}"
    );
    assert_eq!(
        get(r#"hailong_http_request_duration_seconds_count{route="/s/{ward_code}"}"#),
        7.0
    );
    assert!(text.contains(
        r#"hailong_http_request_duration_seconds_bucket{route="/s/{ward_code}",le="+Inf"} 7"#
    ));
    // One histogram sample per committed batch: the sizes add up to the rows stored.
    assert_eq!(get("hailong_writer_batch_size_sum"), 5.0);
    let batches = get("hailong_writer_batch_size_count");
    assert!((1.0..=5.0).contains(&batches), "{batches}");
    assert_eq!(get("hailong_writer_commit_seconds_count"), batches);
    assert!(
        text.contains("# TYPE hailong_writer_commit_seconds histogram"),
        "{text}"
    );

    // The outbox gauge is refreshed from the table.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (text, s) = scrape(&app).await;
        if s.get(r#"hailong_outbox_messages{status="pending"}"#) == Some(&1.0) {
            assert_eq!(
                s.get(r#"hailong_outbox_messages{status="failed"}"#),
                Some(&0.0)
            );
            break;
        }
        assert!(Instant::now() < deadline, "no outbox gauge:\n{text}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_variable_there_is_no_metrics_listener() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.metrics_addr, None);
    assert!(!app.state.metrics.is_on());
    assert_eq!(app.state.metrics.render(), "");
    app.finish().await;
}
