//! Exports under every `Accept-Encoding`, and CSV cells that never start a formula (see
//! `docs/hardening.md`, "Exports and CSV"): each of the four exports is downloaded plainly and
//! gzipped, the gzip body decoded and checked complete (row count, a valid XLSX zip); comments
//! holding the payloads of a formula-injection audit come out with a leading `'` in CSV and as
//! string cells in XLSX; one download goes through headless Chromium.

use std::io::Read;

use crate::both;
use crate::helpers::{TestApp, stderr, stdout};
use crate::staff::{Browser, exec, signed_in};

/// `n` paper ballots, alternating between wards 00004 and 00008 of province 01, in 2026-Q1.
pub fn ballots(n: usize, overall: u8) -> String {
    let mut csv =
        String::from("ward_code,submitted_at,sex,age,a1,a2,r1,r2,s1,s2,c1,c2,overall,trust\n");
    for i in 0..n {
        let ward = if i % 2 == 0 { "00004" } else { "00008" };
        let v = 1 + i % 5;
        csv.push_str(&format!(
            "{ward},2026-02-01,{},35-54,{v},{v},{v},{v},{v},{v},{v},{v},{overall},7\n",
            if i % 3 == 0 { "f" } else { "m" }
        ));
    }
    csv
}

/// GETs `path`, asking for gzip when `gzip`; the whole body, decoded, or a panic naming why the
/// download did not finish.
async fn download(b: &Browser, path: &str, gzip: bool) -> Vec<u8> {
    let mut req = b.client.get(format!("{}{path}", b.base));
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let encoding = r
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    let body = r
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{path} (gzip: {gzip}) did not finish: {e:?}"));
    if !gzip {
        assert_eq!(encoding, None, "{path}");
        return body.to_vec();
    }
    assert_eq!(encoding.as_deref(), Some("gzip"), "{path}");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{path}: the gzip stream is incomplete: {e}"));
    out
}

/// The header and rows of a CSV file, which must start with the UTF-8 byte-order mark.
pub fn csv_table(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let body = text
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("no byte-order mark: {:?}", &text[..text.len().min(40)]));
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let header = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The XML parts of an XLSX file's sheets and shared strings (the zip must be complete and
/// valid), and how many rows the sheets hold together.
fn xlsx_parts(bytes: &[u8]) -> (String, usize) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    let mut xml = String::new();
    let mut rows = 0;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().expect("an entry name").to_string();
        let sheet = name.starts_with("xl/worksheets/sheet");
        if !sheet && name != "xl/sharedStrings.xml" {
            continue;
        }
        let mut part = String::new();
        f.read_to_string(&mut part)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if sheet {
            rows += part.matches("<row ").count();
        }
        xml.push_str(&part);
    }
    assert!(rows > 0, "no sheet in the workbook");
    // Strings or numbers only: no cell is a formula.
    assert!(
        !xml.contains("<f>") && !xml.contains("<f "),
        "a formula cell"
    );
    (xml, rows)
}

/// The text of XML character data as rust_xlsxwriter escapes it (a CR is Excel's `_x000D_`).
fn unescape_xml(s: &str) -> String {
    s.replace("_x000D_", "\r")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

both!(every_export_completes_with_and_without_gzip, |app| {
    const N: usize = 2_500;
    let f = app.write_file("ballots.csv", &ballots(N, 4));
    let out = app.cli(&["responses", "import", &f]);
    assert!(out.status.success(), "{}", stderr(&out));
    let units_01 = app
        .count("SELECT COUNT(*) FROM units WHERE province_code = '01'")
        .await as usize;
    let bo = signed_in(app, "bo@bocongan.gov.vn", "ministry").await;
    let q = "?period=2026-Q1&province=01";
    let mut plain = None;
    for gzip in [false, true] {
        // Responses: every ballot, over several database pages.
        let csv = download(&bo, "/staff/exports/responses.csv", gzip).await;
        assert!(csv.starts_with("\u{feff}".as_bytes()), "a BOM for Excel");
        let (header, rows) = csv_table(&csv);
        assert_eq!(rows.len(), N, "gzip: {gzip}");
        assert!(rows.iter().all(|r| r.len() == header.len()));
        // Submission times in Vietnam time, whole seconds, no offset or nanoseconds.
        let at = header.iter().position(|h| h == "submitted_at").unwrap();
        assert!(
            rows.iter().all(|r| {
                let t = &r[at];
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_ok()
            }),
            "{:?}",
            rows[0]
        );
        match &plain {
            None => plain = Some(csv),
            Some(plain) => assert!(*plain == csv, "the gzip body decodes to the plain one"),
        }
    }
    for gzip in [false, true] {
        let xlsx = download(&bo, "/staff/exports/responses.xlsx", gzip).await;
        assert_eq!(xlsx_parts(&xlsx).1, N + 1, "a header and every ballot");
        // Submission times are date-time cells with a Vietnamese date format, not text.
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&xlsx)).unwrap();
        let mut styles = String::new();
        zip.by_name("xl/styles.xml")
            .unwrap()
            .read_to_string(&mut styles)
            .unwrap();
        assert!(
            styles.contains(r#"formatCode="dd/mm/yyyy hh:mm:ss""#),
            "{styles}"
        );
    }
    for gzip in [false, true] {
        let xlsx = download(&bo, &format!("/staff/exports/aggregates.xlsx{q}"), gzip).await;
        assert_eq!(xlsx_parts(&xlsx).1, units_01 + 1);
    }
    for gzip in [false, true] {
        // Aggregates: one row per unit of the province.
        let csv = download(&bo, &format!("/staff/exports/aggregates.csv{q}"), gzip).await;
        let (header, rows) = csv_table(&csv);
        assert_eq!(rows.len(), units_01, "gzip: {gzip}");
        let n = header.iter().position(|h| h == "n").unwrap();
        let ward = header.iter().position(|h| h == "ward_code").unwrap();
        let counted: usize = rows
            .iter()
            .filter(|r| r[ward] == "00004" || r[ward] == "00008")
            .map(|r| r[n].parse::<usize>().unwrap())
            .sum();
        assert_eq!(counted, N);
    }
});

/// The payloads of the audit, and the two that only another path than the form can store
/// (the form trims leading white space), written here with markers.
const PAYLOADS: [&str; 4] = [
    "=HYPERLINK(\"http://evil.example/x\",\"bấm\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
];

both!(csv_cells_never_start_a_formula, |app| {
    for p in PAYLOADS
        .iter()
        .copied()
        .chain(["TABMARK=1+1", "CRMARK=1+1"])
    {
        crate::staff::submit(app, "00004", p, 4).await;
    }
    // A leading TAB or CR, as an import or an older version could have stored it: the JSON
    // escapes `\t` and `\r` replace the markers in the stored answers.
    let sql = match app.state.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "UPDATE responses SET answers = REPLACE(REPLACE(answers::text, 'TABMARK', '\\t'), \
             'CRMARK', '\\r')::jsonb"
        }
        _ => {
            "UPDATE responses SET answers = REPLACE(REPLACE(answers, 'TABMARK', '\\t'), \
             'CRMARK', '\\r')"
        }
    };
    exec(app, sql).await;
    let stored: Vec<String> = PAYLOADS
        .iter()
        .map(|p| p.to_string())
        .chain(["\t=1+1".to_string(), "\r=1+1".to_string()])
        .collect();

    let bo = signed_in(app, "bo@bocongan.gov.vn", "ministry").await;
    let csv = download(&bo, "/staff/exports/responses.csv?ward=00004", false).await;
    let (header, rows) = csv_table(&csv);
    let comment = header.iter().position(|h| h == "comment").unwrap();
    let mut got: Vec<String> = rows.iter().map(|r| r[comment].clone()).collect();
    let mut want: Vec<String> = stored
        .iter()
        .map(|s| format!("'{}", hailong::privacy::mask_text(s)))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // Numbers stay numbers.
    for col in ["response_id", "a1", "overall", "survey_version"] {
        let c = header.iter().position(|h| h == col).unwrap();
        assert!(
            rows.iter().all(|r| r[c].parse::<i64>().is_ok()),
            "{col}: {rows:?}"
        );
    }

    // In XLSX the text is kept as it is, in string cells.
    let xlsx = download(&bo, "/staff/exports/responses.xlsx?ward=00004", false).await;
    let (xml, _) = xlsx_parts(&xlsx);
    let text = unescape_xml(&xml);
    for s in &stored {
        let masked = hailong::privacy::mask_text(s);
        assert!(
            text.contains(&format!(">{masked}<")),
            "{masked:?} in the workbook"
        );
    }

    // Aggregates: a unit named like a formula.
    let units = app.write_file(
        "units.csv",
        "province_code,province_name,province_type,ward_code,ward_name,ward_type\n\
         99,=Tỉnh thử,tỉnh,99001,-Phường thử,phường\n",
    );
    let out = app.cli(&["units", "import", &units]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = download(
        &bo,
        "/staff/exports/aggregates.csv?period=2026-Q1&province=99",
        false,
    )
    .await;
    let (header, rows) = csv_table(&csv);
    let name = header.iter().position(|h| h == "ward_name").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][name], "'-Phường thử");
    let xlsx = download(
        &bo,
        "/staff/exports/aggregates.xlsx?period=2026-Q1&province=99",
        false,
    )
    .await;
    assert!(unescape_xml(&xlsx_parts(&xlsx).0).contains(">-Phường thử<"));

    // The CLI's CSV of invitation links: a byte-order mark too.
    let out = app.cli(&["tokens", "issue", "--ward", "00004", "--count", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (header, rows) = csv_table(stdout(&out).as_bytes());
    assert_eq!(header, ["ward_code", "url", "expires_at"]);
    assert_eq!(rows.len(), 2);
});

/// A ward officer downloads the responses CSV in headless Chromium, which asks for gzip as
/// every browser does; the saved file holds every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    hailong_webdriver_missing = "chromium",
    ignore = "needs chromium: apt-get install chromium"
)]
#[cfg_attr(
    hailong_webdriver_missing = "chromedriver",
    ignore = "needs chromedriver: apt-get install chromium-driver"
)]
async fn chromium_downloads_the_whole_csv() {
    use crate::staff_browser::Driver;
    use serde_json::json;
    const N: usize = 3_000;
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let args = [
        "--disable-background-networking".to_string(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let prefs = json!({
        "download.default_directory": downloads.path(),
        "download.prompt_for_download": false,
    });
    let d = Driver::start_with(&args, prefs)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let f = app.write_file("ballots.csv", &ballots(N, 4));
    assert!(app.cli(&["responses", "import", &f]).status.success());
    crate::staff::add_user(&app, "bo@bocongan.gov.vn", "ministry").await;
    d.cmd(
        "POST",
        "/chromium/send_command",
        json!({"cmd": "Page.setDownloadBehavior",
               "params": {"behavior": "allow", "downloadPath": downloads.path()}}),
    )
    .await;
    d.goto(&app.url("/staff/login")).await;
    d.type_into("#email", "bo@bocongan.gov.vn").await;
    d.type_into("#password", crate::staff::PW).await;
    d.click("button[type=submit]").await;
    d.find("nav.staffnav").await;
    d.goto(&app.url("/staff/exports")).await;
    d.click("form[action='/staff/exports/responses.csv'] button[type=submit]")
        .await;
    let path = downloads.path().join("hailong-responses.csv");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no complete download; the folder holds {:?}",
            std::fs::read_dir(downloads.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, rows) = csv_table(&std::fs::read(&path).unwrap());
    assert_eq!(rows.len(), N);
    // The download above went gzipped: the browser's own request headers get a gzip body.
    let seen = d
        .cmd(
            "POST",
            "/execute/async",
            json!({"script": "const done = arguments[arguments.length - 1]; \
                fetch('/staff/exports/responses.csv').then(r => r.text().then(t => \
                done([r.headers.get('content-encoding'), t.split('\\n').length]))) \
                .catch(e => done(['error', String(e)]));", "args": []}),
        )
        .await;
    assert_eq!(seen[0], "gzip", "{seen}");
    assert_eq!(seen[1], N + 2, "header, rows and the final newline: {seen}");
    d.quit().await;
    app.finish().await;
}
