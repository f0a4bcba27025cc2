//! Tests of the survey module: catalog validation, answer parsing, view and templates.

use std::path::PathBuf;

use super::answers::{Age, Answer, Mode, Sex, parse_form};
use super::catalog::{Catalog, Problem};
use super::definition::{Kind, Lang, Survey, UnitKind};
use super::view::survey_form;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ward_police() -> Survey {
    let path = root().join("surveys/ward-police.toml");
    let src = std::fs::read_to_string(&path).expect("read ward-police.toml");
    Survey::from_toml_str("surveys/ward-police.toml", &src).unwrap_or_else(|p| {
        panic!(
            "{}",
            p.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

// ---------------------------------------------------------------- catalog

/// A small valid survey; tests break it with `replace`.
const MINI: &str = r#"
id = "mini"
version = 1
title = { vi = "Khảo sát {unit}", en = "Survey of {unit}" }

[measure]
overall = "overall"
trust = "trust"

[scales.agreement]
labels = [
  { vi = "Rất không đồng ý", en = "Strongly disagree" },
  { vi = "Không đồng ý", en = "Disagree" },
  { vi = "Bình thường", en = "Neutral" },
  { vi = "Đồng ý", en = "Agree" },
  { vi = "Rất đồng ý", en = "Strongly agree" },
]
na = { vi = "Không rõ", en = "Don't know" }

[[dimensions]]
id = "service"
weight = 0.6
label = { vi = "Phục vụ", en = "Service" }

[[dimensions]]
id = "procedures"
weight = 0.4
label = { vi = "Thủ tục", en = "Procedures" }

[[questions]]
id = "a1"
kind = "likert5"
dimension = "service"
scale = "agreement"
required = true
text = { vi = "Câu a1", en = "Item a1" }

[[questions]]
id = "used"
kind = "single"
required = true
text = { vi = "Có làm thủ tục?", en = "Procedures?" }
options = [
  { value = "yes", label = { vi = "Có", en = "Yes" } },
  { value = "no", label = { vi = "Không", en = "No" } },
]

[[questions]]
id = "p1"
kind = "likert5"
dimension = "procedures"
scale = "agreement"
shown_if = { question = "used", equals = "yes" }
text = { vi = "Câu p1", en = "Item p1" }

[[questions]]
id = "overall"
kind = "likert5"
scale = "agreement"
required = true
text = { vi = "Nhìn chung", en = "Overall" }

[[questions]]
id = "trust"
kind = "scale0_10"
text = { vi = "Tin tưởng", en = "Trust" }
"#;

fn problems(src: &str) -> Vec<Problem> {
    match Survey::from_toml_str("surveys/x.toml", src) {
        Ok(_) => Vec::new(),
        Err(p) => p,
    }
}

fn messages(src: &str) -> Vec<String> {
    problems(src).iter().map(ToString::to_string).collect()
}

fn assert_problem(src: &str, expected: &str) {
    let got = messages(src);
    assert!(
        got.iter().any(|m| m == expected),
        "expected {expected:?} among {got:#?}"
    );
}

#[test]
fn mini_is_valid() {
    assert_eq!(messages(MINI), Vec::<String>::new());
}

#[test]
fn unknown_kind() {
    let src = MINI.replace(
        "id = \"a1\"\nkind = \"likert5\"",
        "id = \"a3\"\nkind = \"likert7\"",
    );
    assert_problem(
        &src,
        "surveys/x.toml: question a3: unknown kind \"likert7\"",
    );
}

#[test]
fn duplicate_question_id() {
    let src = MINI.replace("id = \"trust\"", "id = \"a1\"");
    assert_problem(&src, "surveys/x.toml: question a1: duplicate question id");
}

#[test]
fn weights_must_sum_to_one() {
    let src = MINI.replace("weight = 0.4", "weight = 0.3");
    let got = messages(&src);
    assert!(
        got.iter()
            .any(|m| m.starts_with("surveys/x.toml: dimension weights sum to 0.8")),
        "{got:?}"
    );
    // Within 1e-9 is fine.
    let ok = MINI
        .replace("weight = 0.6", "weight = 0.1")
        .replace("weight = 0.4", "weight = 0.9");
    assert!(messages(&ok).is_empty());
}

#[test]
fn missing_dimension() {
    let src = MINI.replace("dimension = \"procedures\"", "dimension = \"speed\"");
    assert_problem(
        &src,
        "surveys/x.toml: question p1: unknown dimension \"speed\"",
    );
}

#[test]
fn shown_if_missing_later_or_self() {
    let missing = MINI.replace("question = \"used\", equals", "question = \"nope\", equals");
    assert_problem(
        &missing,
        "surveys/x.toml: question p1: shown_if names a missing or later question \"nope\"",
    );
    let itself = MINI.replace("question = \"used\", equals", "question = \"p1\", equals");
    assert_problem(
        &itself,
        "surveys/x.toml: question p1: shown_if names the question itself",
    );
    let later = MINI.replace(
        "question = \"used\", equals",
        "question = \"trust\", equals",
    );
    assert_problem(
        &later,
        "surveys/x.toml: question p1: shown_if names a missing or later question \"trust\"",
    );
    let bad_value = MINI.replace("equals = \"yes\"", "equals = \"maybe\"");
    assert_problem(
        &bad_value,
        "surveys/x.toml: question p1: shown_if: \"used\" has no option \"maybe\"",
    );
}

#[test]
fn missing_or_empty_translations() {
    let title = MINI.replace(", en = \"Survey of {unit}\"", "");
    assert_problem(&title, "surveys/x.toml: missing en translation of title");
    let label = MINI.replace(
        "{ vi = \"Thủ tục\", en = \"Procedures\" }",
        "{ vi = \"\", en = \"Procedures\" }",
    );
    assert_problem(
        &label,
        "surveys/x.toml: empty vi translation of dimension procedures label",
    );
    let text = MINI.replace(
        "{ vi = \"Câu a1\", en = \"Item a1\" }",
        "{ vi = \"Câu a1\", en = \"  \" }",
    );
    assert_problem(
        &text,
        "surveys/x.toml: question a1: empty en translation of text",
    );
    let option = MINI.replace("{ vi = \"Không\", en = \"No\" }", "{ vi = \"Không\" }");
    assert_problem(
        &option,
        "surveys/x.toml: question used: missing en translation of option no label",
    );
    let scale = MINI.replace("{ vi = \"Đồng ý\", en = \"Agree\" }", "{ en = \"Agree\" }");
    assert_problem(
        &scale,
        "surveys/x.toml: missing vi translation of scale agreement label 4",
    );
    let na = MINI.replace(
        "na = { vi = \"Không rõ\", en = \"Don't know\" }",
        "na = { vi = \"Không rõ\", en = \"\" }",
    );
    assert_problem(
        &na,
        "surveys/x.toml: empty en translation of scale agreement label na",
    );
    let no_text = MINI.replace("text = { vi = \"Tin tưởng\", en = \"Trust\" }", "");
    assert_problem(&no_text, "surveys/x.toml: question trust: missing text");
}

#[test]
fn likert_needs_known_scale() {
    let unknown = MINI.replace(
        "id = \"a1\"\nkind = \"likert5\"\ndimension = \"service\"\nscale = \"agreement\"",
        "id = \"a1\"\nkind = \"likert5\"\ndimension = \"service\"\nscale = \"agree\"",
    );
    assert_problem(
        &unknown,
        "surveys/x.toml: question a1: unknown scale \"agree\"",
    );
    let none = MINI.replace(
        "dimension = \"service\"\nscale = \"agreement\"",
        "dimension = \"service\"",
    );
    assert_problem(
        &none,
        "surveys/x.toml: question a1: likert5 question without a scale",
    );
}

#[test]
fn single_needs_options() {
    let src = MINI.replace(
        "options = [\n  { value = \"yes\", label = { vi = \"Có\", en = \"Yes\" } },\n  { value = \"no\", label = { vi = \"Không\", en = \"No\" } },\n]\n",
        "",
    );
    assert_problem(
        &src,
        "surveys/x.toml: question used: single question without options",
    );
}

#[test]
fn toml_syntax_error_has_line() {
    let src = MINI.replace("version = 1", "version = = 1");
    let got = messages(&src);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("surveys/x.toml: TOML error at line 3"),
        "{got:?}"
    );
}

#[test]
fn unknown_field_is_reported() {
    let src = MINI.replace(
        "required = true\ntext = { vi = \"Câu a1\"",
        "requird = true\ntext = { vi = \"Câu a1\"",
    );
    let got = messages(&src);
    assert!(got[0].contains("requird"), "{got:?}");
}

#[test]
fn all_problems_are_collected() {
    let src = MINI
        .replace("kind = \"scale0_10\"", "kind = \"slider\"")
        .replace("weight = 0.4", "weight = 0.5")
        .replace("dimension = \"procedures\"", "dimension = \"nope\"");
    let got = messages(&src);
    assert!(got.len() >= 3, "{got:#?}");
}

#[test]
fn duplicate_survey_id_across_files() {
    let err = Catalog::from_sources([("surveys/a.toml", MINI), ("surveys/b.toml", MINI)])
        .expect_err("duplicate");
    assert_eq!(
        err[0].to_string(),
        "surveys/b.toml: duplicate survey id \"mini\" (also in surveys/a.toml)"
    );
}

#[test]
fn catalog_collects_problems_of_every_file() {
    let bad1 = MINI.replace("kind = \"scale0_10\"", "kind = \"slider\"");
    let bad2 = MINI
        .replace("id = \"mini\"", "id = \"mini2\"")
        .replace("version = 1", "version = [");
    let err = Catalog::from_sources([
        ("surveys/a.toml", bad1.as_str()),
        ("surveys/b.toml", bad2.as_str()),
    ])
    .expect_err("bad");
    assert!(err.iter().any(|p| p.file == "surveys/a.toml"));
    assert!(err.iter().any(|p| p.file == "surveys/b.toml"));
}

#[test]
fn catalog_loads_directory() {
    let cat = Catalog::load(root().join("surveys")).expect("surveys/ loads clean");
    let s = cat.get("ward-police").expect("ward-police");
    assert_eq!(s.version, 1);
    assert!(cat.get("nope").is_none());
    let missing = Catalog::load(root().join("no-such-dir")).expect_err("missing dir");
    assert_eq!(missing.len(), 1);
}

#[test]
fn ward_police_matches_spec() {
    let s = ward_police();
    let ids: Vec<&str> = s.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "a1",
            "a2",
            "r1",
            "r2",
            "s1",
            "s2",
            "c1",
            "c2",
            "used_procedures",
            "p1",
            "p2",
            "overall",
            "trust",
            "issue",
            "comment",
            "sex",
            "age",
            "contact_email"
        ]
    );
    let dims: Vec<(String, f64, Vec<String>)> = s
        .scale_items()
        .into_iter()
        .map(|d| (d.id, d.weight, d.items))
        .collect();
    let expect = [
        ("service", 0.25, ["a1", "a2"]),
        ("response", 0.20, ["r1", "r2"]),
        ("security", 0.25, ["s1", "s2"]),
        ("civility", 0.15, ["c1", "c2"]),
        ("procedures", 0.15, ["p1", "p2"]),
    ];
    assert_eq!(dims.len(), 5);
    for ((id, w, items), (eid, ew, eitems)) in dims.iter().zip(expect) {
        assert_eq!(id, eid);
        assert!((w - ew).abs() < 1e-12);
        assert_eq!(items, &eitems.map(String::from).to_vec());
    }
    assert_eq!(s.overall_item(), "overall");
    assert_eq!(s.trust_item(), Some("trust"));
    assert_eq!(
        s.alpha_items(),
        ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2"]
            .map(String::from)
            .to_vec()
    );
    let overall = s.question("overall").unwrap();
    assert!(overall.required && !s.scale_of(overall).unwrap().allows_na());
    assert!(s.scale_of(s.question("a1").unwrap()).unwrap().allows_na());
    assert_eq!(s.question("trust").unwrap().kind, Kind::Scale0To10);
    // Verbatim Vietnamese texts of surveys/ward-police.toml with the unit word.
    let vi = |id: &str| {
        s.question(id)
            .unwrap()
            .text
            .render(Lang::Vi, UnitKind::Phuong)
    };
    assert_eq!(
        vi("a1"),
        "Cán bộ Công an phường tiếp đón, hướng dẫn người dân lịch sự, tận tình."
    );
    assert_eq!(
        vi("overall"),
        "Nhìn chung, anh/chị hài lòng với Công an phường."
    );
    assert_eq!(
        vi("trust"),
        "Anh/chị tin tưởng Công an phường ở mức nào? (0 = hoàn toàn không tin, 10 = hoàn toàn tin tưởng)"
    );
    assert_eq!(
        s.question("used_procedures")
            .unwrap()
            .text
            .render(Lang::Vi, UnitKind::Xa),
        "Trong 12 tháng qua, anh/chị có làm thủ tục cư trú, căn cước tại Công an xã không?"
    );
    assert_eq!(
        s.question("comment")
            .unwrap()
            .text
            .render(Lang::En, UnitKind::DacKhu),
        "Other comments or suggestions for the special zone police"
    );
}

#[test]
fn unit_kind_from_db() {
    assert_eq!(UnitKind::from_db("phường"), Some(UnitKind::Phuong));
    assert_eq!(UnitKind::from_db("xã"), Some(UnitKind::Xa));
    assert_eq!(UnitKind::from_db("đặc khu"), Some(UnitKind::DacKhu));
    assert_eq!(UnitKind::from_db("tỉnh"), None);
    assert_eq!(UnitKind::Xa.unit_word(Lang::En), "the commune police");
    assert_eq!(UnitKind::DacKhu.unit_word(Lang::Vi), "Công an đặc khu");
    for k in [UnitKind::Phuong, UnitKind::Xa, UnitKind::DacKhu] {
        assert_eq!(UnitKind::from_db(k.as_db()), Some(k));
    }
}

// ---------------------------------------------------------------- answers

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const CORE: [(&str, &str); 10] = [
    ("a1", "4"),
    ("a2", "5"),
    ("r1", "na"),
    ("r2", "3"),
    ("s1", "2"),
    ("s2", "1"),
    ("c1", "4"),
    ("c2", "4"),
    ("used_procedures", "no"),
    ("overall", "4"),
];

fn with(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = pairs(&CORE);
    for (k, val) in extra {
        v.retain(|(kk, _)| kk != k);
        v.push((k.to_string(), val.to_string()));
    }
    v
}

fn error_of(survey: &Survey, form: &[(String, String)], mode: Mode, q: &str) -> String {
    let e = parse_form(survey, form, mode).expect_err("should be refused");
    e.message(q, Lang::Vi)
        .unwrap_or_else(|| panic!("no error on {q}: {e:?}"))
        .to_string()
}

#[test]
fn valid_full_response() {
    let s = ward_police();
    let form = with(&[
        ("used_procedures", "yes"),
        ("p1", "5"),
        ("p2", "na"),
        ("trust", "10"),
        ("issue", "  Trộm cắp xe máy\u{7} ban đêm  "),
        ("comment", ""),
        ("sex", "f"),
        ("age", "55+"),
        ("contact_email", " an.nguyen@example.vn "),
        ("contact_consent", "on"),
        ("t", "tok"),
        ("p", "12"),
    ]);
    let r = parse_form(&s, &form, Mode::Web).expect("valid");
    assert_eq!(r.sex, Some(Sex::F));
    assert_eq!(r.age, Some(Age::A55p));
    assert_eq!(r.likert("a1"), Some(4));
    assert_eq!(r.likert("r1"), None);
    assert!(r.is_na("r1"));
    assert_eq!(r.likert("p1"), Some(5));
    assert!(r.is_na("p2"));
    assert_eq!(r.scale("trust"), Some(10));
    assert_eq!(r.choice("used_procedures"), Some("yes"));
    assert_eq!(r.text("issue"), Some("Trộm cắp xe máy ban đêm"));
    assert_eq!(r.text("comment"), None);
    let c = r.contact.as_ref().expect("contact");
    assert_eq!(c.email, "an.nguyen@example.vn");
    assert!(c.consent);
    let ids: Vec<&str> = r.answers.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "a1",
            "a2",
            "r1",
            "r2",
            "s1",
            "s2",
            "c1",
            "c2",
            "used_procedures",
            "p1",
            "p2",
            "overall",
            "trust",
            "issue"
        ]
    );
    assert_eq!(Sex::M.as_str(), "m");
    assert_eq!(Age::A18_34.as_str(), "18-34");
    assert_eq!(Age::A35_54.as_str(), "35-54");
}

#[test]
fn minimal_web_response_and_x_demographics() {
    let s = ward_police();
    let r = parse_form(&s, &with(&[("sex", "x"), ("age", "x")]), Mode::Web).expect("valid");
    assert_eq!((r.sex, r.age), (None, None));
    assert!(r.contact.is_none());
    assert_eq!(r.answers.len(), 10);
}

#[test]
fn required_questions() {
    let s = ward_police();
    let mut form = pairs(&CORE);
    form.retain(|(k, _)| k != "a1" && k != "overall" && k != "used_procedures");
    let e = parse_form(&s, &form, Mode::Web).expect_err("missing");
    assert_eq!(e.len(), 3);
    assert_eq!(
        e.message("a1", Lang::Vi),
        Some("Vui lòng chọn một mức đánh giá.")
    );
    assert_eq!(e.message("a1", Lang::En), Some("Please choose a rating."));
    assert_eq!(
        e.message("used_procedures", Lang::Vi),
        Some("Vui lòng chọn một câu trả lời.")
    );
    assert!(e.get("overall").is_some());
    // Empty strings count as missing; errors come in survey order and values are kept.
    let e = parse_form(&s, &with(&[("a2", "")]), Mode::Web).expect_err("empty");
    assert_eq!(e.errors[0].question, "a2");
    assert_eq!(e.value("a1"), Some("4"));
}

#[test]
fn invalid_values() {
    let s = ward_police();
    let invalid = "Giá trị không hợp lệ.";
    for (q, v) in [
        ("a1", "0"),
        ("a1", "6"),
        ("a1", "4.0"),
        ("a1", "04"),
        ("a1", "x"),
        ("overall", "na"),
        ("used_procedures", "maybe"),
        ("trust", "11"),
        ("trust", "-1"),
        ("trust", "na"),
        ("sex", "o"),
        ("age", "18-24"),
        ("age", "55"),
    ] {
        assert_eq!(
            error_of(&s, &with(&[(q, v)]), Mode::Web, q),
            invalid,
            "{q}={v}"
        );
    }
    let long = "a".repeat(2001);
    assert_eq!(
        error_of(&s, &with(&[("comment", &long)]), Mode::Web, "comment"),
        "Nội dung quá dài: tối đa 2000 ký tự."
    );
    assert!(parse_form(&s, &with(&[("comment", &"ố".repeat(2000))]), Mode::Web).is_ok());
}

#[test]
fn email_rules() {
    let s = ward_police();
    for bad in [
        "no-at", "a@b", "a@@b.vn", "a b@c.vn", "@x.vn", "a@-x.vn", "a@x.v",
    ] {
        let e = error_of(
            &s,
            &with(&[("contact_email", bad), ("contact_consent", "on")]),
            Mode::Web,
            "contact_email",
        );
        assert!(e.starts_with("Địa chỉ e-mail không hợp lệ"), "{bad}: {e}");
    }
    let long = format!("{}@example.vn", "a".repeat(250));
    assert!(
        parse_form(
            &s,
            &with(&[("contact_email", &long), ("contact_consent", "on")]),
            Mode::Web
        )
        .is_err()
    );
    // An e-mail without consent is refused with a clear message.
    let e = parse_form(&s, &with(&[("contact_email", "a@b.vn")]), Mode::Web).expect_err("consent");
    assert!(
        e.message("contact_email", Lang::En)
            .unwrap()
            .contains("consent")
    );
    assert!(
        e.message("contact_email", Lang::Vi)
            .unwrap()
            .contains("đồng ý")
    );
    // Consent without an e-mail is harmless.
    let r = parse_form(&s, &with(&[("contact_consent", "on")]), Mode::Web).expect("ok");
    assert!(r.contact.is_none());
    // A consent value other than `on` is invalid.
    assert_eq!(
        error_of(
            &s,
            &with(&[("contact_email", "a@b.vn"), ("contact_consent", "yes")]),
            Mode::Web,
            "contact_email"
        ),
        "Giá trị không hợp lệ."
    );
}

#[test]
fn field_given_twice() {
    let s = ward_police();
    let mut form = pairs(&CORE);
    form.push(("a1".into(), "5".into()));
    form.push(("t".into(), "x".into()));
    form.push(("t".into(), "y".into()));
    let e = parse_form(&s, &form, Mode::Web).expect_err("twice");
    assert_eq!(e.len(), 1);
    assert!(
        e.message("a1", Lang::En)
            .unwrap()
            .contains("more than once")
    );
    let mut form = with(&[("contact_email", "a@b.vn"), ("contact_consent", "on")]);
    form.push(("contact_consent".into(), "on".into()));
    assert!(
        parse_form(&s, &form, Mode::Web)
            .unwrap_err()
            .get("contact_email")
            .is_some()
    );
}

#[test]
fn unknown_fields_ignored() {
    let s = ward_police();
    let r = parse_form(
        &s,
        &with(&[("t", "abc"), ("p", "7"), ("zzz", "1"), ("lang", "en")]),
        Mode::Web,
    );
    assert!(r.is_ok());
}

#[test]
fn conditional_questions_ignored_unless_yes() {
    let s = ward_police();
    // used_procedures = no: p1/p2 are ignored, even when invalid.
    let r = parse_form(&s, &with(&[("p1", "9"), ("p2", "4")]), Mode::Web).expect("ignored");
    assert!(r.answer("p1").is_none() && r.answer("p2").is_none());
    // yes: required and checked.
    let e = parse_form(
        &s,
        &with(&[("used_procedures", "yes"), ("p1", "9")]),
        Mode::Web,
    )
    .expect_err("p");
    assert_eq!(e.message("p1", Lang::Vi), Some("Giá trị không hợp lệ."));
    assert_eq!(
        e.message("p2", Lang::Vi),
        Some("Vui lòng chọn một mức đánh giá.")
    );
    // An invalid used_procedures makes p1/p2 not apply, and is itself the error.
    let e = parse_form(
        &s,
        &with(&[("used_procedures", "oui"), ("p1", "9")]),
        Mode::Web,
    )
    .expect_err("u");
    assert_eq!(e.len(), 1);
    assert!(e.get("used_procedures").is_some());
}

#[test]
fn na_handling() {
    let s = ward_police();
    let all_na: Vec<(&str, &str)> = ["a1", "a2", "r1", "r2", "s1", "s2", "c1", "c2"]
        .iter()
        .map(|q| (*q, "na"))
        .collect();
    let r = parse_form(&s, &with(&all_na), Mode::Web).expect("na answers the required items");
    assert!(r.is_na("a1") && r.likert("a1").is_none());
    assert_eq!(r.answer("c2"), Some(&Answer::Na));
    assert!(
        parse_form(&s, &with(&[("a1", "NA")]), Mode::Web)
            .unwrap()
            .is_na("a1")
    );
}

#[test]
fn paper_mode() {
    let s = ward_police();
    // Nothing required; empty and `na` are not answered.
    let r = parse_form(
        &s,
        &pairs(&[
            ("a1", ""),
            ("a2", "na"),
            ("overall", "na"),
            ("trust", "na"),
            ("sex", ""),
        ]),
        Mode::Paper,
    )
    .expect("paper");
    assert!(r.answers.is_empty());
    let r = parse_form(
        &s,
        &pairs(&[
            ("a1", " 3 "),
            ("sex", "m"),
            ("age", "18-34"),
            ("used_procedures", "yes"),
            ("p1", "2"),
            ("overall", "5"),
            ("trust", "7"),
            ("comment", "na"),
        ]),
        Mode::Paper,
    )
    .expect("paper");
    assert_eq!(r.likert("a1"), Some(3));
    assert_eq!(r.likert("p1"), Some(2));
    assert_eq!(r.likert("overall"), Some(5));
    assert_eq!(r.scale("trust"), Some(7));
    assert_eq!((r.sex, r.age), (Some(Sex::M), Some(Age::A18_34)));
    assert!(r.text("comment").is_none());
    // Ranges are still checked.
    let e =
        parse_form(&s, &pairs(&[("a1", "7"), ("trust", "12")]), Mode::Paper).expect_err("range");
    assert_eq!(e.len(), 2);
    assert!(e.summary(Lang::En).contains("a1: Invalid value."));
    // p1 is ignored without used_procedures = yes.
    let r = parse_form(&s, &pairs(&[("p1", "4")]), Mode::Paper).expect("paper");
    assert!(r.answer("p1").is_none());
}

// ---------------------------------------------------------------- view and templates

fn tera() -> tera::Tera {
    let t = root().join("templates");
    let mut tera = tera::Tera::default();
    tera.add_template_files(vec![
        (t.join("base.html"), Some("base.html")),
        (t.join("public/survey.html"), Some("public/survey.html")),
        (
            t.join("public/survey_questions.html"),
            Some("public/survey_questions.html"),
        ),
        (t.join("public/thanks.html"), Some("public/thanks.html")),
    ])
    .expect("templates parse");
    tera
}

/// The rendered page with tera's `&#x2F;` (autoescaped `/`) decoded, for readable assertions.
fn render_survey(lang: Lang, unit: UnitKind, submitted: Option<&[(String, String)]>) -> String {
    render_survey_raw(lang, unit, submitted).replace("&#x2F;", "/")
}

fn render_survey_raw(lang: Lang, unit: UnitKind, submitted: Option<&[(String, String)]>) -> String {
    let s = ward_police();
    let errors = submitted.map(|f| parse_form(&s, f, Mode::Web).expect_err("invalid form"));
    let form = survey_form(&s, lang, unit, errors.as_ref());
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang.as_str());
    ctx.insert(
        "ward",
        &serde_json::json!({
            "code": "00004",
            "name": "Phường Ba Đình",
            "unit_word": unit.unit_word(lang),
            "province_name": "Thành phố Hà Nội"
        }),
    );
    ctx.insert("form", &form);
    ctx.insert("action", "/s/00004");
    ctx.insert(
        "hidden",
        &serde_json::json!([{ "name": "t", "value": "tok123" }, { "name": "p", "value": "9" }]),
    );
    ctx.insert("has_errors", &errors.is_some());
    ctx.insert("error_count", &errors.as_ref().map_or(0, |e| e.len()));
    tera()
        .render("public/survey.html", &ctx)
        .expect("render survey")
}

fn tera_render(name: &str, ctx: &tera::Context) -> String {
    tera().render(name, ctx).expect("render")
}

#[test]
fn survey_page_vi() {
    let html = render_survey(Lang::Vi, UnitKind::Phuong, None);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"vi\">"));
    assert!(html.contains("name=\"viewport\""));
    assert!(html.contains("href=\"/static/app.css\""));
    assert!(html.contains("<script src=\"/static/survey.js\" defer></script>"));
    assert!(
        html.contains("Cán bộ Công an phường tiếp đón, hướng dẫn người dân lịch sự, tận tình.")
    );
    assert!(html.contains("Nhìn chung, anh/chị hài lòng với Công an phường."));
    assert!(html.contains("Rất không hài lòng") && html.contains("Rất hài lòng"));
    assert!(html.contains("Không rõ / không áp dụng"));
    assert!(!html.contains("{unit}"));
    // One fieldset with a legend per choice question (8 + used + p1 + p2 + overall + trust + sex + age).
    assert_eq!(html.matches("<fieldset").count(), 15);
    assert_eq!(html.matches("<legend").count(), 15);
    assert!(html.contains("<legend class=\"qt\">Cán bộ làm việc đúng quy định, không gây phiền hà, sách nhiễu.</legend>"));
    // p1 is conditional, with its no-JS hint; overall offers no `na`.
    assert!(html.contains("id=\"q-p1\" data-if=\"used_procedures\" data-eq=\"yes\""));
    assert!(html.contains("Chỉ trả lời nếu anh/chị đã làm thủ tục"));
    assert!(!html.contains("name=\"overall\" value=\"na\""));
    assert!(html.contains("name=\"a1\" value=\"na\""));
    assert!(html.contains("type=\"hidden\" name=\"t\" value=\"tok123\""));
    assert!(html.contains("action=\"/s/00004\""));
    assert!(html.contains("href=\"?lang=en&amp;t=tok123&amp;p=9\""));
    assert!(html.contains("không bao giờ hiển thị cho Công an phường"));
    assert!(html.contains("name=\"contact_consent\" value=\"on\""));
    assert!(!html.contains("role=\"alert\""));
    assert!(!html.contains("style=") && !html.contains("<style") && !html.contains("onclick"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    // Every radio sits in a label (visible text, big tap target).
    assert_eq!(
        html.matches("type=\"radio\"").count(),
        html.matches("<label class=\"c").count() - 1
    );
}

#[test]
fn survey_page_en_commune() {
    let html = render_survey(Lang::En, UnitKind::Xa, None);
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains(
        "Officers of the commune police receive and guide residents politely and attentively."
    ));
    assert!(html.contains("Strongly disagree") && html.contains("Very satisfied"));
    assert!(html.contains("never shown to the commune police"));
    assert!(html.contains(">Tiếng Việt</a>"));
    assert_eq!(html.matches("<legend").count(), 15);
    let vi = render_survey(Lang::Vi, UnitKind::DacKhu, None);
    assert!(vi.contains("tại Công an đặc khu không?"));
}

#[test]
fn survey_page_with_errors_keeps_answers() {
    let mut form = with(&[
        ("used_procedures", "yes"),
        ("p1", "4"),
        ("comment", "Đèn đường <hỏng>"),
        ("contact_email", "a@b.vn"),
    ]);
    form.retain(|(k, _)| k != "a2");
    let html = render_survey(Lang::Vi, UnitKind::Phuong, Some(&form));
    assert!(html.contains("<title>Lỗi: "));
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("Vui lòng kiểm tra lại 3 câu"));
    // Summary links to the first control of each errored question.
    assert!(html.contains("<a href=\"#f-a2-0\">"));
    assert!(html.contains("<a href=\"#f-p2-0\">"));
    assert!(html.contains("<a href=\"#f-contact_email-0\">"));
    assert!(html.contains("<p class=\"err\" id=\"e-a2\">Vui lòng chọn một mức đánh giá.</p>"));
    assert!(html.contains(
        "id=\"f-a2-0\" name=\"a2\" value=\"1\" aria-describedby=\"e-a2\" aria-invalid=\"true\""
    ));
    assert!(html.contains("aria-describedby=\"h-p2 e-p2\" aria-invalid=\"true\""));
    // Answers kept, and escaped.
    assert!(html.contains("name=\"a1\" value=\"4\" checked"));
    assert!(html.contains("name=\"used_procedures\" value=\"yes\" checked"));
    assert!(html.contains("name=\"p1\" value=\"4\" checked"));
    assert!(html.contains("Đèn đường &lt;hỏng&gt;</textarea>"));
    assert!(html.contains("value=\"a@b.vn\""));
    assert!(html.contains("đánh dấu ô đồng ý"));
    let en = render_survey(Lang::En, UnitKind::Phuong, Some(&form));
    assert!(en.contains("Please check 3 questions"));
    assert!(en.contains("Please choose a rating."));
}

#[test]
fn thanks_page() {
    for (lang, expect) in [
        ("vi", "Mã biên nhận: <strong>HL-7Q2K</strong>"),
        ("en", "Receipt code: <strong>HL-7Q2K</strong>"),
    ] {
        let mut ctx = tera::Context::new();
        ctx.insert("lang", lang);
        ctx.insert(
            "ward",
            &serde_json::json!({"code": "00004", "name": "Phường Ba Đình", "unit_word": "Công an phường", "province_name": "Thành phố Hà Nội"}),
        );
        ctx.insert("receipt", "HL-7Q2K");
        let html = tera_render("public/thanks.html", &ctx).replace("&#x2F;", "/");
        assert!(html.contains(expect), "{html}");
        assert!(html.contains("href=\"/"));
        assert!(html.contains(&format!("<html lang=\"{lang}\">")));
    }
}

#[test]
fn base_renders_without_lang() {
    let mut tera = tera();
    tera.add_raw_template(
        "child.html",
        "{% extends \"base.html\" %}{% block content %}x{% endblock content %}",
    )
    .expect("child");
    let html = tera
        .render("child.html", &tera::Context::new())
        .expect("render");
    assert!(html.contains("<html lang=\"vi\">") && html.contains("?lang=en"));
}

#[test]
fn page_weight_under_budget() {
    let worst = render_survey_raw(
        Lang::Vi,
        UnitKind::DacKhu,
        Some(&pairs(&[("comment", "x")])),
    );
    let css = std::fs::metadata(root().join("static/app.css"))
        .expect("css")
        .len() as usize;
    let js = std::fs::metadata(root().join("static/survey.js"))
        .expect("js")
        .len() as usize;
    let plain = render_survey_raw(Lang::Vi, UnitKind::Phuong, None);
    let en = render_survey_raw(Lang::En, UnitKind::Phuong, None);
    let total = worst.len() + css + js;
    println!(
        "page weight: html vi {} B, html en {} B, html with all errors {} B, css {css} B, js {js} B, worst total {total} B",
        plain.len(),
        en.len(),
        worst.len()
    );
    assert!(total < 30 * 1024, "page too heavy: {total} bytes");
}
