//! The audit log page and its CSV file: entries in words (no action code shown), the
//! filters (Vietnam days, actor, action) kept across pages, `422` with the form again on bad
//! input, the CSV file with its byte-order mark and the filters applied, and who may read it.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::NotSet, EntityTrait, Set};

use crate::both;
use crate::helpers::TestApp;
use crate::staff::signed_in;

/// Writes an entry at a given instant (the application stamps its own with the clock).
async fn entry(app: &TestApp, at: &str, actor: &str, action: &str, target: &str, detail: &str) {
    let at: DateTime<Utc> = at.parse().unwrap();
    hailong::entities::audit_log::Entity::insert(hailong::entities::audit_log::ActiveModel {
        id: NotSet,
        at: Set(at),
        actor: Set(actor.into()),
        action: Set(action.into()),
        target: Set(target.into()),
        detail: Set((!detail.is_empty()).then(|| detail.to_string())),
    })
    .exec(&app.state.db)
    .await
    .unwrap();
}

/// The text a reader sees: tags removed, entities of `/` undone.
fn visible(page: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in page.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#x2F;", "/")
}

/// The rows of the log table.
fn rows(page: &str) -> Vec<String> {
    let body = page
        .split("<tbody>")
        .nth(1)
        .and_then(|b| b.split("</tbody>").next())
        .unwrap_or("");
    body.split("</tr>")
        .filter(|r| r.contains("<td"))
        .map(visible)
        .collect()
}

async fn seed(app: &TestApp) {
    // 02/11/2026 10:00 in Vietnam.
    entry(
        app,
        "2026-11-02T03:00:00Z",
        "w@example.vn",
        "response.exclude",
        "response:5",
        r#"{"ward_code":"00004","receipt":"HL-7K2Q","from":"counted","to":"flagged","previous_flag":null}"#,
    )
    .await;
    // 20/11/2026 23:30 in Vietnam: still the 20th there, the 20th in UTC too.
    entry(
        app,
        "2026-11-20T16:30:00Z",
        "resident",
        "privacy.erase_text",
        "response:7",
        r#"{"fields":["comment"],"cleaned":0}"#,
    )
    .await;
    // 01/12/2026 00:10 in Vietnam, which is still 30/11 in UTC.
    entry(
        app,
        "2026-11-30T17:10:00Z",
        "p@example.vn",
        "response.include_group",
        "ward:00004",
        r#"{"ward_code":"00004","day":"2026-11-30","count":4,"previous_flag":"same_address","from":"flagged","to":"counted"}"#,
    )
    .await;
}

both!(the_audit_log_reads_in_words_and_filters, |app| {
    let w = signed_in(app, "w@example.vn", "ward:00004").await;
    let p = signed_in(app, "p@example.vn", "province:01").await;
    let bo = signed_in(app, "bo@example.vn", "ministry").await;
    seed(app).await;

    // Only the ministry reads it, page and file.
    for b in [&w, &p] {
        assert_eq!(b.get("/staff/audit").await.status(), 404);
        assert_eq!(b.get("/staff/audit.csv").await.status(), 404);
    }

    let page = bo.get("/staff/audit").await.text().await.unwrap();
    let all = rows(&page);
    assert_eq!(all.len(), 6, "three logins and three entries: {all:?}");
    let seen = visible(&page);
    for words in [
        "Loại phiếu khỏi chỉ số",
        "Người dân xoá nội dung ý kiến đã viết",
        "Tính một nhóm phiếu cùng địa chỉ mạng vào chỉ số",
        "Người dân (qua đường dẫn riêng)",
        "Phường Ba Đình (00004)",
        "Phiếu số 5",
        "02/11/2026 10:00",
        "01/12/2026 00:10",
        "Trước: Được tính vào chỉ số; Sau: Không tính (gắn cờ)",
        "Mã biên nhận: HL-7K2Q",
        "Lý do gắn cờ trước đó: Nhiều ý kiến từ cùng một địa chỉ mạng trong ngày",
        "Đăng nhập",
    ] {
        assert!(seen.contains(words), "{words} in {seen}");
    }
    // No action code, no JSON, reaches the reader.
    for code in hailong::web::staff::audit::words::ACTIONS
        .iter()
        .map(|a| a.code)
        .filter(|c| c.contains('.') || c.contains('_'))
    {
        assert!(!seen.contains(code), "{code} is shown as a code");
    }
    assert!(!seen.contains('{') && !seen.contains("ward_code"), "{seen}");
    // Every action the product writes is in the filter, in words.
    assert!(page.contains(r#"<option value="response.exclude">Loại phiếu khỏi chỉ số</option>"#));
    let en = bo.get("/staff/audit?lang=en").await.text().await.unwrap();
    assert!(visible(&en).contains("Took a response out of the index"));
    assert!(visible(&en).contains("A resident (private link)"));

    // Days in Vietnam time, both ends included, in either form.
    let nov = rows(
        &bo.get("/staff/audit?from=01/11/2026&to=2026-11-30")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(nov.len(), 2, "{nov:?}");
    assert!(nov[0].contains("20/11/2026 23:30") && nov[1].contains("02/11/2026 10:00"));
    let dec = rows(
        &bo.get("/staff/audit?from=1/12/2026&to=01/12/2026")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(dec.len(), 1, "{dec:?}");
    assert!(dec[0].contains("01/12/2026 00:10"));
    // The actor: part of an e-mail (any case), or the words of the other actors.
    let by_w = rows(
        &bo.get("/staff/audit?actor=W%40EXAMPLE")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(by_w.len(), 2, "{by_w:?}");
    assert!(by_w.iter().all(|r| r.contains("w@example.vn")));
    let residents = rows(
        &bo.get("/staff/audit?actor=nguoi+dan")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(residents.len(), 1, "{residents:?}");
    // `_` and `%` are themselves, not wildcards.
    assert!(rows(&bo.get("/staff/audit?actor=%25").await.text().await.unwrap()).is_empty());
    let excluded = rows(
        &bo.get("/staff/audit?action=response.exclude")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(excluded.len(), 1);
    assert!(excluded[0].contains("Loại phiếu khỏi chỉ số"));

    // Bad input: 422, the form again with what was typed and the message beside the field.
    let r = bo
        .get("/staff/audit?from=31%2F02%2F2026&to=hom+qua&actor=bo&action=response.exclude")
        .await;
    assert_eq!(r.status(), 422);
    let bad = r.text().await.unwrap();
    assert!(
        bad.contains(r#"value="31&#x2F;02&#x2F;2026""#),
        "the typed date is kept"
    );
    assert!(bad.contains(r#"value="hom qua""#) && bad.contains(r#"value="bo""#));
    assert!(bad.contains(r#"<option value="response.exclude" selected>"#));
    assert!(
        bad.contains(r#"id="a-from-err">Ngày không hợp lệ"#),
        "{bad}"
    );
    assert!(bad.contains(r#"id="a-to-err">Ngày không hợp lệ"#));
    assert!(bad.contains(r#"aria-invalid="true""#));
    assert!(rows(&bad).is_empty(), "no entries under an invalid filter");
    let r = bo.get("/staff/audit?from=05/12/2026&to=01/12/2026").await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(r#"id="a-to-err">Ngày kết thúc phải cùng ngày hoặc sau ngày bắt đầu."#)
    );
    let r = bo.get("/staff/audit?action=drop.table").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(r#"id="a-action-err""#));
    let r = bo.get("/staff/audit?from=xx&lang=en").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Not a valid date"));

    // The filters survive paging.
    for i in 0..130 {
        entry(
            app,
            "2026-10-15T02:00:00Z",
            "w@example.vn",
            "feedback_note",
            &format!("response:{i}"),
            r#"{"ward":"00004"}"#,
        )
        .await;
    }
    let first = bo
        .get("/staff/audit?action=feedback_note&from=15/10/2026")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows(&first).len(), 100);
    let next = "/staff/audit?page=1&amp;from=15%2F10%2F2026&amp;action=feedback_note";
    assert!(first.contains(next), "the next page keeps the filters");
    let second = bo
        .get(&next.replace("&amp;", "&"))
        .await
        .text()
        .await
        .unwrap();
    let second_rows = rows(&second);
    assert_eq!(second_rows.len(), 30);
    assert!(
        second_rows
            .iter()
            .all(|r| r.contains("Ghi chú nội bộ về ý kiến"))
    );
    assert!(
        second.contains("/staff/audit?page=0&amp;from=15%2F10%2F2026&amp;action=feedback_note")
    );
    assert!(
        second.contains(r#"value="15&#x2F;10&#x2F;2026""#),
        "and the form shows them"
    );

    // The CSV file: BOM, Vietnamese columns, Vietnam time, the filters applied.
    let link = "/staff/audit.csv?from=01%2F11%2F2026&amp;to=2026-11-30";
    let filtered = bo
        .get("/staff/audit?from=01/11/2026&to=2026-11-30")
        .await
        .text()
        .await
        .unwrap();
    assert!(filtered.contains(link), "the page links the filtered file");
    let r = bo.get(&link.replace("&amp;", "&")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("hailong-nhat-ky-2026-11-01-2026-11-30.csv")
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Số thứ tự,Thời điểm (giờ Việt Nam),Người thực hiện,Thao tác,Đối tượng,Chi tiết,Mã thao tác"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].contains("20/11/2026 23:30")
            && lines[1].contains("Người dân xoá nội dung ý kiến đã viết")
    );
    assert!(lines[2].contains("02/11/2026 10:00") && lines[2].contains("Loại phiếu khỏi chỉ số"));
    assert!(lines[2].ends_with(",response.exclude"));
    let by_action = bo
        .get("/staff/audit.csv?action=feedback_note")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(by_action.lines().count(), 131, "every entry, past one page");
    // Bad filters: the page with its messages, not a file.
    let r = bo.get("/staff/audit.csv?to=32/12/2026").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(r#"id="a-to-err""#));
    // The export is itself audited.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND target = 'audit.csv' \
             AND actor = 'bo@example.vn'"
        )
        .await,
        2
    );
    let log = bo
        .get("/staff/audit?action=export")
        .await
        .text()
        .await
        .unwrap();
    assert!(visible(&log).contains("Tệp nhật ký thao tác (CSV)"));
    assert!(visible(&log).contains("Từ ngày: 01/11/2026; Đến ngày: 30/11/2026"));
});
