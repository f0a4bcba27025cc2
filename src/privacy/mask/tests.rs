//! The masking table: Vietnamese comments, what must be masked and what must stay.

use super::*;

/// (comment, pieces that must disappear, pieces that must stay, masks expected)
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const CASES: &[Case] = &[
    // Mobile numbers in every format.
    (
        "Gọi cho tôi số 0912345678 nhé",
        &["0912345678"],
        &["Gọi cho tôi số", "nhé"],
        &[PHONE],
    ),
    (
        "SĐT: 0912 345 678",
        &["0912 345 678", "345"],
        &["SĐT:"],
        &[PHONE],
    ),
    (
        "liên hệ 0912.345.678 buổi tối",
        &["0912.345.678"],
        &["liên hệ", "buổi tối"],
        &[PHONE],
    ),
    (
        "đt 0912-345-678.",
        &["0912-345-678"],
        &["đt", "."],
        &[PHONE],
    ),
    (
        "số của tôi +84912345678",
        &["+84912345678", "912345678"],
        &["số của tôi"],
        &[PHONE],
    ),
    (
        "+84 912 345 678 là số nhà tôi",
        &["912 345 678"],
        &["là số nhà tôi"],
        &[PHONE],
    ),
    (
        "gọi 84912345678 giúp",
        &["84912345678"],
        &["gọi", "giúp"],
        &[PHONE],
    ),
    (
        "(+84) 91 234 5678 – anh Nam",
        &["234 5678", "+84"],
        &["anh Nam"],
        &[PHONE],
    ),
    (
        "Zalo 0387 654 321 hoặc 0987654321",
        &["0387 654 321", "0987654321"],
        &["Zalo", "hoặc"],
        &[PHONE, PHONE],
    ),
    (
        "số mới 0703.123.456 (Mobi)",
        &["0703.123.456"],
        &["số mới", "(Mobi)"],
        &[PHONE],
    ),
    ("098 765 4321", &["765 4321"], &[], &[PHONE]),
    ("+84-98-765-4321 nhé", &["765-4321"], &["nhé"], &[PHONE]),
    (
        "0583123456 là số Vietnamobile",
        &["0583123456"],
        &["là số Vietnamobile"],
        &[PHONE],
    ),
    (
        "sđt0912345678 nhé",
        &["0912345678"],
        &["sđt", "nhé"],
        &[PHONE],
    ),
    (
        "ĐT:0912345678, Zalo:+84987654321",
        &["0912345678", "987654321"],
        &["ĐT:", "Zalo:"],
        &[PHONE, PHONE],
    ),
    // Landlines (02x).
    (
        "Trực ban: 024 3826 1234",
        &["3826 1234", "024"],
        &["Trực ban:"],
        &[PHONE],
    ),
    (
        "gọi (028) 3823 4567 không ai nghe",
        &["3823 4567", "(028)"],
        &["gọi", "không ai nghe"],
        &[PHONE],
    ),
    (
        "ĐT phường 0243.826.1234",
        &["0243.826.1234"],
        &["ĐT phường"],
        &[PHONE],
    ),
    ("+84 24 3826 1234", &["3826 1234"], &[], &[PHONE]),
    (
        "02363 822 123 là số trực",
        &["822 123"],
        &["là số trực"],
        &[PHONE],
    ),
    // Citizen ID numbers.
    (
        "CCCD của tôi là 001088012345",
        &["001088012345"],
        &["CCCD của tôi là"],
        &[CITIZEN_ID],
    ),
    (
        "căn cước 079 203 004 567 bị giữ",
        &["079 203 004 567", "004 567"],
        &["căn cước", "bị giữ"],
        &[CITIZEN_ID],
    ),
    (
        "số định danh:036095001234.",
        &["036095001234"],
        &["số định danh:"],
        &[CITIZEN_ID],
    ),
    // E-mail addresses.
    (
        "email nguyenvana@gmail.com",
        &["nguyenvana@gmail.com", "gmail"],
        &["email"],
        &[EMAIL],
    ),
    (
        "Gửi về tran.thi.b+cand@cand.com.vn giúp tôi",
        &["tran.thi.b", "cand.com.vn"],
        &["Gửi về", "giúp tôi"],
        &[EMAIL],
    ),
    (
        "hộp thư: le_van_c2024@yahoo.com.vn.",
        &["le_van_c2024", "yahoo"],
        &["hộp thư:"],
        &[EMAIL],
    ),
    // Licence plates.
    (
        "xe biển 29A-123.45 đỗ trên vỉa hè",
        &["29A-123.45"],
        &["xe biển", "đỗ trên vỉa hè"],
        &[PLATE],
    ),
    (
        "ô tô 51F 12345 chạy quá tốc độ",
        &["51F 12345"],
        &["ô tô", "chạy quá tốc độ"],
        &[PLATE],
    ),
    (
        "xe máy 30E1-234.56 nẹt pô",
        &["30E1-234.56"],
        &["xe máy", "nẹt pô"],
        &[PLATE],
    ),
    (
        "biển số 29-B1 123.45 hay đua xe",
        &["29-B1 123.45"],
        &["biển số", "hay đua xe"],
        &[PLATE],
    ),
    (
        "xe 51G-12345 và xe 43A 567.89",
        &["51G-12345", "43A 567.89"],
        &["xe", "và xe"],
        &[PLATE, PLATE],
    ),
    (
        "xe tải 29LD-123.45 chở vật liệu",
        &["29LD-123.45"],
        &["xe tải", "chở vật liệu"],
        &[PLATE],
    ),
    (
        "xe 29a12345 đỗ cả đêm",
        &["29a12345"],
        &["đỗ cả đêm"],
        &[PLATE],
    ),
    // Several kinds in one comment.
    (
        "Anh Hùng (0912345678, hung@vnn.vn) báo xe 30A-999.99 vi phạm",
        &["0912345678", "hung@vnn.vn", "30A-999.99"],
        &["Anh Hùng", "báo xe", "vi phạm"],
        &[PHONE, EMAIL, PLATE],
    ),
    // What must stay: dates, amounts, house and alley numbers, times, counts.
    ("Ngày 12/03/2026 tôi làm thủ tục", &[], &["12/03/2026"], &[]),
    ("phí 500.000đ mà không có biên lai", &[], &["500.000đ"], &[]),
    ("bị đòi 2 triệu để làm nhanh", &[], &["2 triệu"], &[]),
    (
        "nhà tôi ở số 12 ngõ 34/5 phố Huế",
        &[],
        &["số 12 ngõ 34/5"],
        &[],
    ),
    ("hẻm 123/4 Lê Văn Sỹ mất trật tự", &[], &["hẻm 123/4"], &[]),
    (
        "mất 1.500.000 đồng ngày 05-04-2026",
        &[],
        &["1.500.000 đồng", "05-04-2026"],
        &[],
    ),
    (
        "số nhà 45A đường 30/4 ồn lúc 23h30",
        &[],
        &["45A", "30/4", "23h30"],
        &[],
    ),
    (
        "chờ 3 tiếng, 15 người xếp hàng từ 7:30",
        &[],
        &["3 tiếng", "15 người", "7:30"],
        &[],
    ),
    (
        "ngày 2026-03-12 có 120 hộ mất điện",
        &[],
        &["2026-03-12", "120 hộ"],
        &[],
    ),
    (
        "tổ 15, khu phố 3, phường 12 quận 10",
        &[],
        &["tổ 15", "khu phố 3", "phường 12 quận 10"],
        &[],
    ),
    (
        "năm 2025 tiền phạt 3.500.000 VNĐ",
        &[],
        &["năm 2025", "3.500.000 VNĐ"],
        &[],
    ),
    (
        "Cán bộ rất tận tình, cảm ơn!",
        &[],
        &["Cán bộ rất tận tình, cảm ơn!"],
        &[],
    ),
    ("số 12 0912 345 678", &["345 678"], &["số 12"], &[PHONE]),
    (
        "từ 18/11 đến 25/11 có 10.000 lượt",
        &[],
        &["18/11", "25/11", "10.000 lượt"],
        &[],
    ),
    ("điểm 9/10, 100%", &[], &["9/10", "100%"], &[]),
    (
        "tiền phạt 1.000.000.000đ, mã hồ sơ 12345678901",
        &[],
        &["1.000.000.000đ", "12345678901"],
        &[],
    ),
];

#[test]
fn masking_table() {
    assert!(CASES.len() >= 40, "the table has {} comments", CASES.len());
    let mut failures = Vec::new();
    for (text, gone, kept, masks) in CASES {
        let out = mask_text(text);
        for g in *gone {
            if out.contains(g) {
                failures.push(format!("{text:?} → {out:?}: `{g}` is still there"));
            }
        }
        for k in *kept {
            if !out.contains(k) {
                failures.push(format!("{text:?} → {out:?}: `{k}` was lost"));
            }
        }
        let mut found = Vec::new();
        let mut rest = out.as_str();
        while let Some(pos) = [PHONE, CITIZEN_ID, EMAIL, PLATE]
            .iter()
            .filter_map(|m| rest.find(m).map(|p| (p, *m)))
            .min()
        {
            found.push(pos.1);
            rest = &rest[pos.0 + pos.1.len()..];
        }
        if found != *masks {
            failures.push(format!(
                "{text:?} → {out:?}: masks {found:?}, expected {masks:?}"
            ));
        }
        if masks.is_empty() && out != *text {
            failures.push(format!("{text:?} → {out:?}: changed"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn masking_is_idempotent_and_total() {
    for (text, ..) in CASES {
        let once = mask_text(text);
        assert_eq!(mask_text(&once), once, "{text}");
    }
    for s in [
        "",
        "(",
        "+",
        "+84",
        "0",
        "((((",
        "9".repeat(500).as_str(),
        "a@b",
        "đ.đ-đ",
    ] {
        let _ = mask_text(s);
    }
}

proptest::proptest! {
    #[test]
    fn masking_never_panics(s in "\\PC{0,200}") {
        let _ = mask_text(&s);
    }

    #[test]
    fn masking_never_panics_on_number_soup(s in "[0-9 .()+\\-/a-zA-Z@đ]{0,80}") {
        let _ = mask_text(&s);
    }
}
