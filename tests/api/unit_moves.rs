//! `units import` refuses to move a unit that has responses, staff or posters to another
//! province unless `--allow-move` is given; nothing of a refused file is written, and every
//! move made is audited (actor `cli`).

use crate::both;
use crate::helpers::{stderr, stdout};
use crate::staff::add_user;

const HEADER: &str = "province_code,province_name,province_type,ward_code,ward_name,ward_type\n";
const HCM: &str = "79,Thành phố Hồ Chí Minh,thành phố trung ương";

async fn province_of(app: &crate::helpers::TestApp, ward: &str) -> String {
    hailong::store::units::find_unit(&app.state.db, ward)
        .await
        .unwrap()
        .expect("the unit")
        .province_code
}

both!(units_with_data_move_province_only_when_allowed, |app| {
    // 00004 has an officer, 00008 a response, 00025 a poster; 00070 holds nothing.
    add_user(app, "canbo@cand.vn", "ward:00004").await;
    crate::staff::submit(app, "00008", "Tốt", 4).await;
    assert_eq!(app.get("/poster/00025").await.status(), 200);
    let moving = app.write_file(
        "moving.csv",
        &format!(
            "{HEADER}{HCM},00004,Phường Ba Đình,phường\n\
             {HCM},00008,Phường Ngọc Hà,phường\n\
             {HCM},00025,Phường Giảng Võ,phường\n\
             {HCM},00070,Phường Hoàn Kiếm mới,phường\n"
        ),
    );
    let out = app.cli(&["units", "import", &moving]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("--allow-move"), "{err}");
    for (ward, what) in [
        ("00004", "1 staff accounts"),
        ("00008", "1 responses"),
        ("00025", "1 posters"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(ward))
            .unwrap_or_else(|| panic!("{ward} is named: {err}"));
        assert!(line.contains("01 → 79") && line.contains(what), "{line}");
    }
    assert!(
        !err.contains("00070"),
        "a unit without data is not in the way: {err}"
    );
    // Nothing of the file was written: not even the unit without data, nor its new name.
    for ward in ["00004", "00008", "00025", "00070"] {
        assert_eq!(province_of(app, ward).await, "01", "{ward}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM units WHERE name = 'Phường Hoàn Kiếm mới'")
            .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await, 0);

    // A unit without data moves without the flag, audited.
    let empty = app.write_file(
        "empty.csv",
        &format!("{HEADER}{HCM},00070,Phường Hoàn Kiếm,phường\n"),
    );
    let out = app.cli(&["units", "import", &empty]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(province_of(app, "00070").await, "79");

    // With --allow-move the units move, each move audited by the CLI.
    let out = app.cli(&["units", "import", &moving, "--allow-move"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for ward in ["00004", "00008", "00025"] {
        assert_eq!(province_of(app, ward).await, "79", "{ward}");
        assert!(
            stdout(&out).contains(&format!("moved {ward}")),
            "{}",
            stdout(&out)
        );
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'unit.move' AND actor = 'cli' \
             AND target IN ('unit:00004', 'unit:00008', 'unit:00025', 'unit:00070')"
        )
        .await,
        4
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE target = 'unit:00008' \
             AND detail LIKE '%\"from_province\":\"01\"%' AND detail LIKE '%\"responses\":1%'"
        )
        .await,
        1
    );
    // Importing the same list again moves nothing.
    let out = app.cli(&["units", "import", &moving]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await, 4);
});
