//! Tells the integration tests what this machine can run, so that a test that cannot run here
//! is reported by `cargo test` as ignored, with the reason, instead of passing without doing
//! anything (see CONTRIBUTING.md, "Tests that cannot run here").
//!
//! It sets, for every target of the package (nothing outside `tests/` reads them):
//! - `hailong_postgres` when `HAILONG_TEST_POSTGRES_URL` is set and not empty;
//! - `hailong_standby` when `HAILONG_TEST_POSTGRES_READ_URL` (a streaming standby of that
//!   server, as `.ci/standby.sh` makes) is set and not empty;
//! - `hailong_webdriver_missing = "chromium" | "chromedriver"`: the first program the WebDriver
//!   browser tests need that is not installed;
//! - `hailong_axe_missing = "chromium" | "chromedriver" | "node" | "axe-core"`: the same for the
//!   accessibility test of the public pages, which also needs node and axe-core;
//! - `hailong_tool_missing = "nginx"` (and so on, once per program): each program that the
//!   deployment and backup tests run (`systemd-analyze`, `nginx`, `openssl`, `pg_dump`,
//!   `pg_restore`) and that is not on `PATH`.
//!
//! With `HAILONG_TEST_REQUIRE_ALL=1` anything missing fails the build, naming it.
//!
//! Cargo runs this again only when one of those variables or one of the watched paths changes;
//! a watched path that does not exist would make it run on every build, so a missing program
//! is watched through the nearest folder that exists.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in [
        "HAILONG_TEST_POSTGRES_URL",
        "HAILONG_TEST_POSTGRES_READ_URL",
        "HAILONG_TEST_REQUIRE_ALL",
        "AXE_JS",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rustc-check-cfg=cfg(hailong_postgres)");
    println!("cargo::rustc-check-cfg=cfg(hailong_standby)");
    println!(
        "cargo::rustc-check-cfg=cfg(hailong_webdriver_missing, values(\"chromium\", \"chromedriver\"))"
    );
    println!(
        "cargo::rustc-check-cfg=cfg(hailong_axe_missing, values(\"chromium\", \"chromedriver\", \"node\", \"axe-core\"))"
    );
    let tools = [
        "systemd-analyze",
        "nginx",
        "openssl",
        "pg_dump",
        "pg_restore",
    ];
    println!(
        "cargo::rustc-check-cfg=cfg(hailong_tool_missing, values({}))",
        tools
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut missing = Vec::new();

    let postgres = std::env::var("HAILONG_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty());
    if postgres {
        println!("cargo::rustc-cfg=hailong_postgres");
    } else {
        missing.push("PostgreSQL (set HAILONG_TEST_POSTGRES_URL)".to_string());
    }
    let standby = std::env::var("HAILONG_TEST_POSTGRES_READ_URL").is_ok_and(|u| !u.is_empty());
    if standby {
        println!("cargo::rustc-cfg=hailong_standby");
    } else {
        missing.push(
            "a PostgreSQL standby (run .ci/standby.sh, set HAILONG_TEST_POSTGRES_READ_URL)"
                .to_string(),
        );
    }

    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let axe = std::env::var_os("AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tests/browser/node_modules/axe-core/axe.min.js"));
    let programs: [(&str, Option<PathBuf>, PathBuf); 4] = [
        (
            "chromium",
            present(Path::new("/usr/bin/chromium")),
            "/usr/bin/chromium".into(),
        ),
        (
            "chromedriver",
            present(Path::new("/usr/bin/chromedriver")),
            "/usr/bin/chromedriver".into(),
        ),
        ("node", on_path("node"), "node".into()),
        ("axe-core", present(&axe), axe.clone()),
    ];
    for (name, found, wanted) in &programs {
        match found {
            Some(path) => watch(path),
            None => {
                if *name == "node" {
                    for dir in path_dirs() {
                        watch(&dir);
                    }
                } else if let Some(dir) = nearest_existing(wanted) {
                    watch(&dir);
                }
            }
        }
    }
    let first_missing = |names: &[&str]| {
        programs
            .iter()
            .filter(|(name, _, _)| names.contains(name))
            .find(|(_, found, _)| found.is_none())
            .map(|(name, _, _)| *name)
    };
    if let Some(name) = first_missing(&["chromium", "chromedriver"]) {
        println!("cargo::rustc-cfg=hailong_webdriver_missing=\"{name}\"");
    }
    if let Some(name) = first_missing(&["chromium", "chromedriver", "node", "axe-core"]) {
        println!("cargo::rustc-cfg=hailong_axe_missing=\"{name}\"");
    }
    for (name, found, wanted) in &programs {
        if found.is_none() {
            missing.push(format!("{name} ({})", wanted.display()));
        }
    }
    // Programs the deployment and backup tests run, found on PATH.
    let mut watched_path = false;
    for tool in tools {
        match on_path(tool) {
            Some(path) => watch(&path),
            None => {
                println!("cargo::rustc-cfg=hailong_tool_missing=\"{tool}\"");
                missing.push(format!("{tool} (on PATH)"));
                if !watched_path {
                    for dir in path_dirs() {
                        watch(&dir);
                    }
                    watched_path = true;
                }
            }
        }
    }

    if std::env::var("HAILONG_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1") && !missing.is_empty() {
        eprintln!(
            "HAILONG_TEST_REQUIRE_ALL=1, but these are missing: {}",
            missing.join(", ")
        );
        std::process::exit(1);
    }
}

fn present(path: &Path) -> Option<PathBuf> {
    path.exists().then(|| path.to_path_buf())
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .filter(|d| d.is_absolute() && d.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

fn on_path(program: &str) -> Option<PathBuf> {
    path_dirs()
        .into_iter()
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The nearest ancestor of `path` that exists (whose change shows the path appearing); never
/// the root folder, which cargo would scan whole.
fn nearest_existing(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|p| !p.as_os_str().is_empty() && p.exists())
        .filter(|p| p.parent().is_some())
        .map(Path::to_path_buf)
}

fn watch(path: &Path) {
    println!("cargo::rerun-if-changed={}", path.display());
}
