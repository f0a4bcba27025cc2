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
