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
        "public/thanks.html",
        include_str!("../templates/public/thanks.html"),
    ),
    (
        "public/poster.html",
        include_str!("../templates/public/poster.html"),
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
    ("staff/mail.html", include_str!("../templates/staff/mail.html")),
    (
        "public/followup.html",
        include_str!("../templates/public/followup.html"),
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
        "poster.css",
        "text/css; charset=utf-8",
        include_str!("../static/poster.css"),
    ),
    (
        "index.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/index.js"),
    ),
];

/// Parses every template once, at start-up.
pub fn load() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())?;
    tera.autoescape_on(vec![".html"]);
    Ok(tera)
}
