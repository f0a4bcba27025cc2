//! The public results scenario (`--only-results`): results-page requests/s next to the bare
//! axum static page, with rollups of `wards` wards filled by paper ballots in the current
//! quarter (so each ward page is published), requests spread over those wards' pages.

use std::path::Path;

use crate::{Args, Report, load, load_line, server};

/// Paper ballots for the current quarter: `per_ward` respondents per ward.
fn ballots(wards: &[String], per_ward: usize) -> String {
    let today = chrono::Utc::now()
        .with_timezone(&hailong::period::vietnam())
        .format("%Y-%m-%d")
        .to_string();
    let cells = ["m,18-34", "m,35-54", "m,55+", "f,18-34", "f,35-54", "f,55+"];
    let mut out = String::from(
        "ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,used_procedures,p1,p2,overall,trust\n",
    );
    for (w, ward) in wards.iter().enumerate() {
        for i in 0..per_ward {
            let a = |k: usize| 1 + (w + i * 7 + k * 3) % 5;
            out.push_str(&format!(
                "{ward},{today},{},{},{},{},{},{},{},{},{},no,,,{},{}\n",
                cells[i % 6],
                a(1),
                a(2),
                a(3),
                a(4),
                a(5),
                a(6),
                a(7),
                a(8),
                a(9),
                (w + i) % 11
            ));
        }
    }
    out
}

pub fn scenario(
    args: &Args,
    repo: &Path,
    work: &Path,
    hailong_bin: &Path,
    bare_bin: &Path,
    wards: &[String],
) -> Result<Report, String> {
    let mut r = Report::default();
    let bare = server::bare(bare_bin)?;
    let bare_page = load::run(
        &bare.base,
        &load::fixed_get_script("/"),
        work,
        args.seconds,
        args.connections,
        args.threads,
    )?;
    r.line(load_line("bare axum: static 3 KB page", &bare_page));
    bare.stop();

    let url = format!("sqlite://{}?mode=rwc", work.join("results.db").display());
    let file = work.join("results-ballots.csv");
    std::fs::write(&file, ballots(wards, 60)).map_err(|e| e.to_string())?;
    let out = std::process::Command::new(hailong_bin)
        .args(["responses", "import"])
        .arg(&file)
        .current_dir(work)
        .env("HAILONG_DATABASE_URL", &url)
        .env("HAILONG_SURVEYS_DIR", repo.join("surveys"))
        .env_remove("HAILONG_CONFIG")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "cannot import the ballots: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    r.line(format!(
        "results: {} wards × 60 ballots in the current quarter",
        wards.len()
    ));
    let srv = server::hailong(hailong_bin, repo, work, &url)?;
    let ward_pages = load::run(
        &srv.base,
        &load::ward_get_script(wards, "/results/wards/", ""),
        work,
        args.seconds,
        args.connections,
        args.threads,
    )?;
    r.line(load_line("hailong: GET /results/wards/{ward}", &ward_pages));
    let province = load::run(
        &srv.base,
        &load::fixed_get_script("/results/provinces/01"),
        work,
        args.seconds,
        args.connections,
        args.threads,
    )?;
    r.line(load_line("hailong: GET /results/provinces/01", &province));
    let rss = srv.stop();
    r.rss("hailong (results pages)", rss);
    r.line(format!(
        "  ratio ward results page / bare static: {:.3}",
        ward_pages.rps() / bare_page.rps()
    ));
    r.line(format!(
        "  ratio province results page / bare static: {:.3}",
        province.rps() / bare_page.rps()
    ));
    Ok(r)
}
