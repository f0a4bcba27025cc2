//! A province's posters as one printable document: one A4 sheet per unit, each the single
//! poster's sheet exactly (same poster id, same QR code), for the province's users and the
//! ministry only.

use crate::both;
use crate::staff::signed_in;

fn sheets(doc: &str) -> Vec<&str> {
    doc.split(r#"<section class="sheet">"#)
        .skip(1)
        .map(|s| s.split("</section>").next().unwrap())
        .collect()
}

both!(a_province_prints_every_poster_in_one_document, |app| {
    let p = signed_in(app, "p@example.vn", "province:01").await;
    let province = p.get("/staff/provinces/01").await.text().await.unwrap();
    assert!(
        province.contains(r#"href="/staff/provinces/01/posters""#),
        "the province page links the document"
    );
    let r = p.get("/staff/provinces/01/posters").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let doc = r.text().await.unwrap();
    let units = app
        .count("SELECT COUNT(*) FROM units WHERE province_code = '01'")
        .await;
    assert!(units > 100);
    let all = sheets(&doc);
    assert_eq!(all.len() as i64, units, "one page per unit");
    assert_eq!(
        doc.matches("<svg").count() as i64,
        units,
        "one QR code each"
    );
    assert!(doc.contains(r#"<link rel="stylesheet" href="&#x2F;static&#x2F;poster.css">"#));
    assert!(doc.contains("<title>Áp phích khảo sát – Thành phố Hà Nội"));
    // Each page is the unit's single poster, sheet for sheet.
    let single = app.get("/poster/00004").await.text().await.unwrap();
    let one = single
        .split(r#"<main class="sheet">"#)
        .nth(1)
        .and_then(|s| s.split("</main>").next())
        .expect("the single poster's sheet");
    assert!(one.contains("Công an phường Ba Đình") && one.contains("<svg"));
    assert!(
        all.contains(&one),
        "the document's sheet of 00004 is the single poster's"
    );
    // One poster id per unit, made once: printing again changes nothing.
    let posters = "SELECT COUNT(*) FROM posters WHERE ward_code IN \
                   (SELECT code FROM units WHERE province_code = '01') AND revoked_at IS NULL";
    assert_eq!(app.count(posters).await, units);
    let again = p
        .get("/staff/provinces/01/posters")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(again, doc);
    assert_eq!(app.count(posters).await, units);
    // A4, one sheet a page.
    let css = app.get("/static/poster.css").await.text().await.unwrap();
    assert!(css.contains("@page { size: A4"));
    assert!(css.contains(".sheets .sheet { break-after: page;"));

    // The ministry prints any province, the largest too (168 units).
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    let started = std::time::Instant::now();
    let r = bo.get("/staff/provinces/79/posters").await;
    assert_eq!(r.status(), 200);
    let big = r.text().await.unwrap();
    let took = started.elapsed();
    assert_eq!(sheets(&big).len(), 168);
    eprintln!(
        "posters of province 79 (168 units): {} ms, {} KB",
        took.as_millis(),
        big.len() / 1024
    );
    assert_eq!(bo.get("/staff/provinces/99/posters").await.status(), 404);

    // Nobody else: another province's user, a ward's user, anyone signed out.
    assert_eq!(p.get("/staff/provinces/79/posters").await.status(), 404);
    let w = signed_in(app, "w@example.vn", "ward:00004").await;
    assert_eq!(w.get("/staff/provinces/01/posters").await.status(), 404);
    let out = crate::staff::Browser::new(app);
    let r = out.get("/staff/provinces/01/posters").await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/staff/login")
    );
});
