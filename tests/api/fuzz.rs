//! Fuzzing with proptest: the form decoder, the survey parser and the CSV importers never panic
//! on any input, and the HTTP server never answers a random body with a 5xx.

use std::collections::HashSet;

use hailong::survey::Mode;
use hailong::survey::catalog::Catalog;
use proptest::prelude::*;

use crate::helpers::{Backend, TestApp, repo_path};

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::load(repo_path("surveys")).expect("valid surveys"))
}

/// Field names and values close to real ones, plus noise, so the parser's deep paths run.
fn field() -> impl Strategy<Value = (String, String)> {
    let names = prop::sample::select(vec![
        "a1",
        "a2",
        "r1",
        "r2",
        "s1",
        "s2",
        "c1",
        "c2",
        "p1",
        "p2",
        "used_procedures",
        "overall",
        "trust",
        "sex",
        "age",
        "comment",
        "issue",
        "contact_email",
        "contact_consent",
        "lang",
        "t",
        "p",
        "zz",
    ]);
    let values = prop_oneof![
        prop::sample::select(vec![
            "1", "5", "na", "0", "10", "11", "-1", "yes", "no", "m", "f", "x", "18-34", "55+",
            "on", "a@b.vn", "", " 3 ",
        ])
        .prop_map(str::to_string),
        "\\PC{0,40}",
    ];
    (names.prop_map(str::to_string), values)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn form_decoder_never_panics(body in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = hailong::web::form::decode(&body);
    }

    #[test]
    fn form_decoder_never_panics_on_form_like_bytes(body in "[a-z0-9=&%+._\\-]{0,300}") {
        let _ = hailong::web::form::decode(body.as_bytes());
    }

    #[test]
    fn survey_parser_never_panics(fields in prop::collection::vec(field(), 0..30), paper in any::<bool>()) {
        let survey = catalog().get("ward-police").unwrap();
        let mode = if paper { Mode::Paper } else { Mode::Web };
        let _ = hailong::survey::parse_form(survey, &fields, mode);
    }

    #[test]
    fn ballot_importer_never_panics(text in "[a-z0-9_,\\-:T \\n\"+]{0,400}", header in any::<bool>()) {
        let survey = catalog().get("ward-police").unwrap();
        let wards: HashSet<String> = ["00004".to_string()].into();
        let text = if header {
            format!("ward_code,submitted_at,sex,age,a1,overall,trust\n{text}")
        } else {
            text
        };
        let _ = hailong::commands::parse_ballots(survey, &wards, &text);
    }

    #[test]
    fn ballot_importer_never_panics_on_any_text(text in "\\PC{0,300}") {
        let survey = catalog().get("ward-police").unwrap();
        let _ = hailong::commands::parse_ballots(survey, &HashSet::new(), &text);
    }

    #[test]
    fn unit_importer_never_panics(text in "\\PC{0,300}", header in any::<bool>()) {
        let text = if header {
            format!("province_code,province_name,province_type,ward_code,ward_name,ward_type\n{text}")
        } else {
            text
        };
        let _ = hailong::store::units::parse_units(&text);
    }
}

/// Random bodies (bytes, form-like text, near-valid forms) posted over HTTP: never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_posts_never_get_a_5xx() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut runner = TestRunner::deterministic();
    let bytes = prop::collection::vec(any::<u8>(), 0..400);
    let forms = prop::collection::vec(field(), 0..25);
    let content_types = [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "text/plain",
        "multipart/form-data; boundary=x",
    ];
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..300 {
        let body: Vec<u8> = if i % 2 == 0 {
            bytes.new_tree(&mut runner).unwrap().current()
        } else {
            let fields = forms.new_tree(&mut runner).unwrap().current();
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &fields {
                s.append_pair(k, v);
            }
            s.finish().into_bytes()
        };
        let path = match i % 5 {
            0 => "/s/00007",
            1 => "/s/99999",
            _ => "/s/00004",
        };
        let r = app
            .client
            .post(app.url(path))
            .header("content-type", content_types[i % content_types.len()])
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let code = r.status().as_u16();
        assert!(
            code < 500,
            "{path} answered {code} to {:?}",
            String::from_utf8_lossy(&body)
        );
        *statuses.entry(code).or_insert(0) += 1;
    }
    // The loop reached the storing path as well as the refusals.
    assert!(statuses.keys().any(|c| *c == 422), "{statuses:?}");
    app.finish().await;
}
