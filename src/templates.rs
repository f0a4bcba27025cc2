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
];

/// Parses every template once, at start-up.
pub fn load() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())?;
    tera.autoescape_on(vec![".html"]);
    Ok(tera)
}
