//! The homes behind `GET /staff`: a ward's (this quarter's index, its inbox by status, the
//! overdue items, this week's low scores, replies to follow up), a province's (its wards
//! compared, with the new items waiting) and the ministry's (every province compared), each
//! sortable by a column link.

use crate::both;
use crate::helpers::TestApp;
use crate::staff::{signed_in, submit};

async fn backdate_oldest(app: &TestApp, ward: &str, days: i64) {
    use hailong::entities::response;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let oldest = response::Entity::find()
        .filter(response::Column::WardCode.eq(ward))
        .order_by_asc(response::Column::Id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    response::Entity::update_many()
        .col_expr(
            response::Column::SubmittedAt,
            Expr::value(oldest.submitted_at - chrono::Duration::days(days)),
        )
        .filter(response::Column::Id.eq(oldest.id))
        .exec(&app.state.db)
        .await
        .unwrap();
}

/// The position of `needle` in `page`, for order checks.
fn at(page: &str, needle: &str) -> usize {
    page.find(needle)
        .unwrap_or_else(|| panic!("{needle} not on the page"))
}

both!(the_ward_home_says_how_the_ward_does_and_what_waits, |app| {
    submit(app, "00004", "Ngõ 7 mất điện, đèn đường tắt", 1).await;
    submit(app, "00004", "Cần thêm tuần tra buổi tối", 2).await;
    submit(app, "00004", "Cán bộ tận tình, cảm ơn", 5).await;
    backdate_oldest(app, "00004", 10).await;
    let ward = signed_in(app, "canbo@cand.vn", "ward:00004").await;
    let page = ward.get("/staff").await.text().await.unwrap();
    assert!(page.contains("Việc cần làm"), "{page}");
    // Three new items, one of them ten days old.
    assert!(
        page.contains(r#"?status=new">Mới</a></td><td class="num">3</td>"#),
        "{page}"
    );
    assert!(page.contains("<strong>1</strong> <a href=\"/staff/wards/00004/feedback?overdue=1\">ý kiến mới chưa ai xử lý quá 7 ngày</a>"), "{page}");
    // The backdated one is outside the last seven days: one low score this week.
    assert!(
        page.contains("<strong>1</strong> <a href=\"/staff/wards/00004/feedback?band=low\">"),
        "{page}"
    );
    assert!(
        page.contains("Quý này chưa đủ ý kiến để tính chỉ số"),
        "no index under the threshold"
    );
    assert!(!page.contains("insufficient_data"), "no raw status");
    // The overdue link shows exactly that item.
    let inbox = ward
        .get("/staff/wards/00004/feedback?overdue=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(inbox.contains("Ngõ 7 mất điện"), "{inbox}");
    assert!(!inbox.contains("Cần thêm tuần tra"), "{inbox}");
    assert!(inbox.contains("chưa ai xử lý quá 7 ngày"));
});

both!(province_and_ministry_homes_compare_and_sort, |app| {
    submit(app, "00004", "Đèn ngõ 3 hỏng", 2).await;
    submit(app, "00004", "Rác chưa được thu", 3).await;
    submit(app, "00008", "Cảm ơn các anh", 5).await;
    let province = signed_in(app, "tinh@cand.vn", "province:01").await;
    let page = province
        .get("/staff?sort=waiting&dir=desc")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"aria-sort="descending""#), "{page}");
    assert!(
        page.contains(r#"<a href="/staff/wards/00004/feedback?status=new">2</a>"#),
        "{page}"
    );
    assert!(
        at(&page, "/staff/wards/00004\"") < at(&page, "/staff/wards/00008\""),
        "most waiting first"
    );
    let page = province
        .get("/staff?sort=waiting&dir=asc")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        at(&page, "/staff/wards/00008\"") < at(&page, "/staff/wards/00004\""),
        "fewest waiting first"
    );
    let ministry = signed_in(app, "bo@bocongan.gov.vn", "ministry").await;
    let page = ministry
        .get("/staff?sort=n&dir=desc")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches("<tr><td><a href=\"/staff/provinces/").count(),
        34,
        "every province"
    );
    let first = at(&page, "<tr><td><a href=\"/staff/provinces/");
    assert_eq!(
        &page[first..first + 40],
        "<tr><td><a href=\"/staff/provinces/01\">Th",
        "Hà Nội has the most answers"
    );
    assert!(page.contains("0/126"), "published wards of Hà Nội: {page}");
    assert!(!page.contains("insufficient_data") && !page.contains("significant_"));
    let asc = ministry
        .get("/staff?sort=n&dir=asc")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        at(&asc, "/staff/provinces/01\"") > at(&asc, "/staff/provinces/79\""),
        "ascending puts Hà Nội after a province without answers"
    );
    // A province user sees no other province's wards.
    assert!(
        !province
            .get("/staff")
            .await
            .text()
            .await
            .unwrap()
            .contains("/staff/provinces/79")
    );
});

both!(
    the_inbox_searches_without_accents_and_counts_by_status,
    |app| {
        submit(app, "00004", "Đèn đường ngõ 12 hỏng đã lâu", 2).await;
        submit(app, "00004", "Rác ở chợ chưa được thu gom", 3).await;
        submit(app, "00004", "Đường ngõ 5 ngập khi mưa", 2).await;
        let ward = signed_in(app, "canbo@cand.vn", "ward:00004").await;
        let page = ward
            .get("/staff/wards/00004/feedback?q=duong+ngo")
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Đèn đường ngõ 12"), "{page}");
        assert!(page.contains("Đường ngõ 5"), "{page}");
        assert!(!page.contains("Rác ở chợ"), "{page}");
        assert!(page.contains("2 phiếu có ý kiến"), "{page}");
        assert!(page.contains("Mới (3)"), "counts per status: {page}");
        // The search survives a filter: the filter form carries it.
        assert!(
            page.contains(r#"<input type="hidden" name="q" value="duong ngo">"#),
            "{page}"
        );
        let page = ward
            .get("/staff/wards/00004/feedback?q=DEN+DUONG&band=low")
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("1 phiếu có ý kiến"), "{page}");
        // The item page shows every answer, in words.
        let id = app
            .count("SELECT MIN(id) FROM responses WHERE ward_code = '00004'")
            .await;
        let item = ward
            .get(&format!("/staff/wards/00004/feedback/{id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(item.contains("Xem mọi câu trả lời của phiếu"), "{item}");
        assert!(item.contains("Giới tính</dt><dd>"), "{item}");
    }
);

both!(every_item_action_confirms_itself, |app| {
    submit(app, "00004", "Cống thoát nước bị tắc", 2).await;
    let ward = signed_in(app, "canbo@cand.vn", "ward:00004").await;
    let id = app
        .count("SELECT MIN(id) FROM responses WHERE ward_code = '00004'")
        .await;
    let item = format!("/staff/wards/00004/feedback/{id}");
    let csrf = ward.csrf().await;
    let r = ward
        .post(
            &format!("{item}/status"),
            &[("csrf", csrf.as_str()), ("status", "in_progress")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?done=status#done"), "{to}");
    let page = ward.get(&to).await.text().await.unwrap();
    assert!(
        page.contains("Đã đổi trạng thái thành «Đang xử lý»."),
        "{page}"
    );
    let r = ward
        .post(
            &format!("{item}/notes"),
            &[("csrf", csrf.as_str()), ("body", "Đã báo đội công trình")],
        )
        .await;
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let page = ward.get(&to).await.text().await.unwrap();
    assert!(page.contains("Đã thêm ghi chú nội bộ."), "{page}");
    assert!(page.contains("Đã báo đội công trình"), "{page}");
    // A confirmation is only shown for the actions there are.
    let page = ward
        .get(&format!("{item}?done=bogus"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(r#"id="done""#));
});
