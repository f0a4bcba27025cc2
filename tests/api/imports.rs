//! `hailong responses import` on bad files: every bad line named by its file line in
//! Vietnamese and English, nothing stored when any line is bad, and big files in batches
//! within one transaction (see docs/hardening.md, "Imports").

use crate::both;
use crate::helpers::{TestApp, stderr, stdout};

const HEADER: &str = "ward_code,submitted_at,sex,age,a1,a2,overall,trust,comment\n";

fn ballot(overall: u8) -> String {
    format!("00004,2026-02-01,m,18-34,4,4,{overall},7,\n")
}

async fn responses(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM responses").await
}

/// Imports `text` as a file that must be refused with nothing stored; returns what it said.
async fn refused(app: &TestApp, name: &str, text: &str) -> String {
    let f = app.write_file(name, text);
    let out = app.cli(&["responses", "import", &f]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert_eq!(responses(app).await, 0);
    stderr(&out)
}

async fn rollup_rows(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM rollup_cells").await
}

both!(
    an_unterminated_quote_refuses_the_file_naming_its_line,
    |app| {
        let text = format!(
            "{HEADER}{}00004,2026-02-01,f,35-54,3,3,3,5,\"Cán bộ tốt\n{}{}",
            ballot(4),
            ballot(5),
            ballot(3)
        );
        let err = refused(app, "quote.csv", &text).await;
        assert!(
            err.contains("dòng 3: dấu ngoặc kép") && err.contains("line 3: a quote"),
            "{err}"
        );
    }
);

both!(a_wrong_field_count_does_not_hide_other_errors, |app| {
    // Line 3's comment spans lines 3 and 4; line 5 has a field too few; line 6 a bad sex.
    let text = format!(
        "{HEADER}{}00004,2026-02-01,m,18-34,4,4,4,7,\"hai\ndòng\"\n00004,2026-02-01,m,4,4,4,7,\n\
         00004,2026-02-01,q,18-34,4,4,4,7,\n{}",
        ballot(4),
        ballot(4)
    );
    let err = refused(app, "count.csv", &text).await;
    assert!(
        err.contains("line 5: 8 fields where the header has 9"),
        "{err}"
    );
    assert!(err.contains("line 6: sex \"q\" is not valid"), "{err}");
    for good in ["line 2", "line 3", "line 4", "line 7"] {
        assert!(!err.contains(good), "{good}: {err}");
    }
});

both!(
    blank_ballots_and_ballots_without_overall_are_refused,
    |app| {
        let text = format!(
            "{HEADER}00004,2026-02-01,,,,,,,\n00004,2026-02-01,m,18-34,na,,na,,\n\
         00004,2026-02-01,m,18-34,4,4,,7,Tốt\n00004,2026-02-01,f,55+,4,4,na,7,\n{}",
            ballot(4)
        );
        let err = refused(app, "blank.csv", &text).await;
        assert!(
            err.contains(
                "dòng 2: phiếu không có câu trả lời nào / line 2: the ballot has no answers"
            ),
            "{err}"
        );
        assert!(err.contains("line 3: the ballot has no answers"), "{err}");
        assert!(
            err.contains("line 4: overall (the overall rating) is missing"),
            "{err}"
        );
        assert!(err.contains("dòng 5: thiếu câu overall"), "{err}");
        assert!(!err.contains("line 6"), "{err}");
    }
);

both!(bad_values_name_the_allowed_ones_in_both_languages, |app| {
    let mut text = String::from(HEADER);
    for _ in 0..5 {
        text.push_str(&ballot(4));
    }
    text.push_str("00004,2026-02-01,M?,18-34,4,4,4,7,\n");
    text.push_str("00004,2026-02-01,f,18-34,6,4,4,11,\n");
    let err = refused(app, "values.csv", &text).await;
    assert!(
        err.contains(
            "dòng 7: sex \"M?\" không hợp lệ — giá trị cho phép: m, f, x, để trống / \
             line 7: sex \"M?\" is not valid — allowed: m, f, x, empty"
        ),
        "{err}"
    );
    assert!(
        err.contains("line 8: a1 \"6\" is not valid — allowed: 1, 2, 3, 4, 5, empty"),
        "{err}"
    );
    assert!(err.contains("line 8: trust \"11\" is not valid"), "{err}");
});

both!(
    a_bad_last_line_stores_nothing_and_a_big_file_stores_all,
    |app| {
        crate::staff::add_user(app, "canbo@cand.vn", "ward:00004").await;
        // 2,500 ballots: more than one batch, every tenth one with a low overall rating.
        let mut good = String::from(HEADER);
        for i in 0..2500u32 {
            let ward = ["00004", "00008", "00025"][(i % 3) as usize];
            let overall = if i % 10 == 0 { 1 } else { 2 + (i % 4) as u8 };
            let sex = ["m", "f", "x"][(i % 3) as usize];
            good.push_str(&format!(
                "{ward},2026-0{}-1{},{sex},35-54,{},4,{overall},{},\"góp ý, số {i}\"\n",
                1 + i % 6,
                i % 10,
                1 + i % 5,
                i % 11
            ));
        }
        let bad = format!("{good}00004,2026-02-01,m,18-34,4,4,7,7,\n");
        let err = refused(app, "bad-last.csv", &bad).await;
        assert!(err.contains("line 2502: overall \"7\""), "{err}");
        assert_eq!(rollup_rows(app).await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM outbox").await, 0);

        let f = app.write_file("good.csv", &good);
        let out = app.cli(&["responses", "import", &f]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("imported 2500 paper ballots"));
        assert_eq!(responses(app).await, 2500);
        let out = app.cli(&["index", "verify"]);
        assert!(out.status.success(), "{}", stderr(&out));
        // One alert for the whole file to the ward's officer, whatever the batches.
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'ward_alert'")
                .await,
            1
        );
    }
);

both!(
    more_than_a_thousand_bad_lines_are_listed_then_counted,
    |app| {
        let mut text = String::from(HEADER);
        text.push_str(&ballot(4));
        for _ in 0..1500 {
            text.push_str("00004,2026-02-01,m,18-34,4,4,9,7,\n");
        }
        let err = refused(app, "many.csv", &text).await;
        assert!(
            err.contains("line 3: overall \"9\""),
            "{}",
            err.lines().take(3).collect::<Vec<_>>().join("\n")
        );
        assert!(err.contains("line 1002: overall \"9\""));
        assert!(!err.contains("line 1003:"));
        assert!(
            err.contains("và 500 dòng lỗi khác / and 500 more bad lines"),
            "{}",
            err.lines().last().unwrap_or_default()
        );
    }
);

both!(
    ballots_take_iso_times_without_seconds_and_sex_in_any_case,
    |app| {
        // Each form of one instant, 23:00 on 31 March Vietnam time (16:00 UTC), and a date
        // alone (noon, Vietnam time); sex as the margins file takes it, in either case.
        let text = format!(
            "{HEADER}00004,2026-03-31T23:00+07:00,M,18-34,4,4,4,7,\n\
             00004,2026-03-31T23:00:00+07:00,F,35-54,4,4,4,7,\n\
             00004,2026-03-31T16:00Z,m,55+,4,4,4,7,\n\
             00004,2026-03-31T16:00:00Z,f,18-34,4,4,4,7,\n\
             00004,2026-03-31 23:00,X,18-34,NA,4,4,7,Ghi Chú Viết Hoa\n\
             00004,2026-03-31,m,18-34,4,4,4,7,\n"
        );
        let f = app.write_file("iso.csv", &text);
        let out = app.cli(&["responses", "import", &f]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        assert_eq!(responses(app).await, 6);
        // Five at the same instant, the date alone at noon: all in March (Vietnam time).
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM responses WHERE month = '2026-03'")
                .await,
            6
        );
        use hailong::entities::response;
        use sea_orm::{EntityTrait, QueryOrder};
        let stored = response::Entity::find()
            .order_by_asc(response::Column::Id)
            .all(&app.state.db)
            .await
            .unwrap();
        let utc = chrono::DateTime::parse_from_rfc3339("2026-03-31T16:00:00Z").unwrap();
        for r in &stored[..5] {
            assert_eq!(r.submitted_at, utc, "{}", r.receipt);
        }
        assert_eq!(
            stored[5].submitted_at,
            chrono::DateTime::parse_from_rfc3339("2026-03-31T05:00:00Z").unwrap()
        );
        let cells: Vec<&str> = stored.iter().map(|r| r.cell.as_str()).collect();
        assert_eq!(
            cells,
            [
                "m:18-34", "f:35-54", "m:55+", "f:18-34", "unknown", "m:18-34"
            ]
        );
        // Free text keeps its case; `NA` is not answered.
        assert_eq!(stored[4].answers["comment"], "Ghi Chú Viết Hoa");
        assert!(stored[4].answers["a1"].is_null());
        // A time the standard does not allow is still refused, naming the accepted forms.
        let bad = format!("{HEADER}00004,31/03/2026 23:00,m,18-34,4,4,4,7,\n");
        let f = app.write_file("bad.csv", &bad);
        let out = app.cli(&["responses", "import", &f]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("2026-12-03T14:05+07:00"),
            "{}",
            stderr(&out)
        );
        assert_eq!(responses(app).await, 6);
    }
);
