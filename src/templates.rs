//! The HTML templates and static files, embedded in the binary so that `hailong` runs from any
//! folder. Add a line here when adding a template.

use tera::Tera;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "public/index.html",
        include_str!("../templates/public/index.html"),
    ),
    (
        "public/survey.html",
        include_str!("../templates/public/survey.html"),
    ),
    (
        "public/survey_questions.html",
        include_str!("../templates/public/survey_questions.html"),
    ),
    (
        "public/thanks.html",
        include_str!("../templates/public/thanks.html"),
    ),
    (
        "public/privacy.html",
        include_str!("../templates/public/privacy.html"),
    ),
    (
        "public/privacy_done.html",
        include_str!("../templates/public/privacy_done.html"),
    ),
    (
        "public/poster.html",
        include_str!("../templates/public/poster.html"),
    ),
    (
        "public/poster_sheet.html",
        include_str!("../templates/public/poster_sheet.html"),
    ),
    (
        "public/posters.html",
        include_str!("../templates/public/posters.html"),
    ),
    (
        "errors/error.html",
        include_str!("../templates/errors/error.html"),
    ),
    (
        "staff/macros.html",
        include_str!("../templates/staff/macros.html"),
    ),
    (
        "staff/layout.html",
        include_str!("../templates/staff/layout.html"),
    ),
    (
        "staff/login.html",
        include_str!("../templates/staff/login.html"),
    ),
    (
        "staff/password.html",
        include_str!("../templates/staff/password.html"),
    ),
    (
        "staff/inbox.html",
        include_str!("../templates/staff/inbox.html"),
    ),
    (
        "staff/feedback_item.html",
        include_str!("../templates/staff/feedback_item.html"),
    ),
    (
        "staff/exports.html",
        include_str!("../templates/staff/exports.html"),
    ),
    (
        "staff/overview.html",
        include_str!("../templates/staff/overview.html"),
    ),
    (
        "staff/province.html",
        include_str!("../templates/staff/province.html"),
    ),
    (
        "staff/ward.html",
        include_str!("../templates/staff/ward.html"),
    ),
    (
        "staff/tokens.html",
        include_str!("../templates/staff/tokens.html"),
    ),
    (
        "staff/audit.html",
        include_str!("../templates/staff/audit.html"),
    ),
    (
        "staff/interview.html",
        include_str!("../templates/staff/interview.html"),
    ),
    (
        "staff/pilot.html",
        include_str!("../templates/staff/pilot.html"),
    ),
    (
        "staff/flagged.html",
        include_str!("../templates/staff/flagged.html"),
    ),
    (
        "staff/users_macros.html",
        include_str!("../templates/staff/users_macros.html"),
    ),
    (
        "staff/users.html",
        include_str!("../templates/staff/users.html"),
    ),
    (
        "staff/user_new.html",
        include_str!("../templates/staff/user_new.html"),
    ),
    (
        "staff/user.html",
        include_str!("../templates/staff/user.html"),
    ),
    (
        "email/misconduct_alert/subject.txt",
        include_str!("../templates/email/misconduct_alert/subject.txt"),
    ),
    (
        "email/misconduct_alert/text.txt",
        include_str!("../templates/email/misconduct_alert/text.txt"),
    ),
    (
        "email/misconduct_alert/html.html",
        include_str!("../templates/email/misconduct_alert/html.html"),
    ),
    (
        "email/ward_alert/subject.txt",
        include_str!("../templates/email/ward_alert/subject.txt"),
    ),
    (
        "email/ward_alert/text.txt",
        include_str!("../templates/email/ward_alert/text.txt"),
    ),
    (
        "email/ward_alert/html.html",
        include_str!("../templates/email/ward_alert/html.html"),
    ),
    (
        "email/reply/subject.txt",
        include_str!("../templates/email/reply/subject.txt"),
    ),
    (
        "email/reply/text.txt",
        include_str!("../templates/email/reply/text.txt"),
    ),
    (
        "email/reply/html.html",
        include_str!("../templates/email/reply/html.html"),
    ),
    (
        "email/followup/subject.txt",
        include_str!("../templates/email/followup/subject.txt"),
    ),
    (
        "email/followup/text.txt",
        include_str!("../templates/email/followup/text.txt"),
    ),
    (
        "email/followup/html.html",
        include_str!("../templates/email/followup/html.html"),
    ),
    (
        "email/digest/subject.txt",
        include_str!("../templates/email/digest/subject.txt"),
    ),
    (
        "email/digest/text.txt",
        include_str!("../templates/email/digest/text.txt"),
    ),
    (
        "email/digest/html.html",
        include_str!("../templates/email/digest/html.html"),
    ),
    (
        "public/unsubscribe.html",
        include_str!("../templates/public/unsubscribe.html"),
    ),
    (
        "email/invite/subject.txt",
        include_str!("../templates/email/invite/subject.txt"),
    ),
    (
        "email/invite/text.txt",
        include_str!("../templates/email/invite/text.txt"),
    ),
    (
        "email/invite/html.html",
        include_str!("../templates/email/invite/html.html"),
    ),
    (
        "email/password_reset/subject.txt",
        include_str!("../templates/email/password_reset/subject.txt"),
    ),
    (
        "email/password_reset/text.txt",
        include_str!("../templates/email/password_reset/text.txt"),
    ),
    (
        "email/password_reset/html.html",
        include_str!("../templates/email/password_reset/html.html"),
    ),
    (
        "staff/forgot.html",
        include_str!("../templates/staff/forgot.html"),
    ),
    (
        "staff/reset.html",
        include_str!("../templates/staff/reset.html"),
    ),
    (
        "staff/mail.html",
        include_str!("../templates/staff/mail.html"),
    ),
    (
        "public/followup.html",
        include_str!("../templates/public/followup.html"),
    ),
    (
        "staff/action_notes.html",
        include_str!("../templates/staff/action_notes.html"),
    ),
    (
        "staff/actions.html",
        include_str!("../templates/staff/actions.html"),
    ),
    (
        "staff/review.html",
        include_str!("../templates/staff/review.html"),
    ),
    (
        "public/results/macros.html",
        include_str!("../templates/public/results/macros.html"),
    ),
    (
        "public/results/country.html",
        include_str!("../templates/public/results/country.html"),
    ),
    (
        "public/results/province.html",
        include_str!("../templates/public/results/province.html"),
    ),
    (
        "public/results/ward.html",
        include_str!("../templates/public/results/ward.html"),
    ),
    (
        "public/results/method.html",
        include_str!("../templates/public/results/method.html"),
    ),
];

/// Static assets: path under `/static/`, content type, body.
pub const STATIC_FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../static/app.css"),
    ),
    (
        "survey.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/survey.js"),
    ),
    (
        "privacy.css",
        "text/css; charset=utf-8",
        include_str!("../static/privacy.css"),
    ),
    (
        "results.css",
        "text/css; charset=utf-8",
        include_str!("../static/results.css"),
    ),
    (
        "poster.css",
        "text/css; charset=utf-8",
        include_str!("../static/poster.css"),
    ),
    (
        "accounts.css",
        "text/css; charset=utf-8",
        include_str!("../static/accounts.css"),
    ),
    (
        "staff.css",
        "text/css; charset=utf-8",
        include_str!("../static/staff.css"),
    ),
];

/// Parses every template once, at start-up.
pub fn load() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.register_filter("num", num);
    tera.add_raw_templates(TEMPLATES.iter().copied())?;
    tera.autoescape_on(vec![".html"]);
    Ok(tera)
}

/// `{{ x | num(l=l) }}`: a number as the page's language writes it, one decimal (`66,4` in
/// Vietnamese, `66.4` in English); `d=0` for a whole number with thousands separated
/// (`1.234` / `1,234`). A missing value (null) is "–".
fn num(
    value: &tera::Value,
    args: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    use crate::web::Lang;
    use crate::web::results::format::{dec1, int};
    let lang = match args.get("l").and_then(|v| v.as_str()) {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    };
    let Some(v) = value.as_f64() else {
        return if value.is_null() {
            Ok(tera::Value::from("–"))
        } else {
            Err(tera::Error::msg(format!("num: {value} is not a number")))
        };
    };
    let whole = args.get("d").and_then(|d| d.as_u64()) == Some(0);
    Ok(tera::Value::from(if whole {
        int(v.round() as i64, lang)
    } else {
        dec1(v, lang)
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_follow_the_language() {
        let tera = super::load().unwrap();
        let render = |src: &str, ctx: serde_json::Value| {
            let mut t = tera.clone();
            t.add_raw_template("x", src).unwrap();
            t.render("x", &tera::Context::from_value(ctx).unwrap())
                .unwrap()
        };
        let ctx = serde_json::json!({"v": 66.44, "n": 12345, "z": null});
        assert_eq!(render("{{ v | num(l='vi') }}", ctx.clone()), "66,4");
        assert_eq!(render("{{ v | num(l='en') }}", ctx.clone()), "66.4");
        assert_eq!(render("{{ n | num(l='vi', d=0) }}", ctx.clone()), "12.345");
        assert_eq!(render("{{ n | num(l='en', d=0) }}", ctx.clone()), "12,345");
        assert_eq!(render("{{ z | num(l='vi') }}", ctx), "–");
    }
}
