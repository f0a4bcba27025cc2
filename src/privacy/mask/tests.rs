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

/// Comments and exactly what staff see: `{P}` phone, `{C}` citizen ID, `{E}` e-mail, `{B}`
/// licence plate.
const MASKED: &[(&str, &str)] = &[
    // Separators: spaced dashes, slashes, underscores, dots with spaces, any dash.
    ("gọi 0912 - 345 - 678 nhé", "gọi {P} nhé"),
    ("sđt 0912/345/678", "sđt {P}"),
    ("zalo 0912_345_678.", "zalo {P}."),
    ("số 0912 . 345 . 678 nha", "số {P} nha"),
    ("0912–345–678 (chị Mai)", "{P} (chị Mai)"),
    ("0912—345—678", "{P}"),
    ("gọi 0912\u{2011}345\u{2011}678", "gọi {P}"),
    ("ĐT 0912 / 345 / 678", "ĐT {P}"),
    ("0912 345 678 – anh Nam", "{P} – anh Nam"),
    (
        "SĐT của tôi là 0 9 1 2 3 4 5 6 7 8 ạ",
        "SĐT của tôi là {P} ạ",
    ),
    // Full-width digits and Unicode spaces.
    ("０９１２３４５６７８ là số tôi", "{P} là số tôi"),
    ("số ０９１２ ３４５ ６７８", "số {P}"),
    ("０９１２－３４５－６７８", "{P}"),
    ("SĐT: ０９８７\u{3000}６５４\u{3000}３２１", "SĐT: {P}"),
    ("gọi 0912\u{2009}345\u{2009}678", "gọi {P}"),
    ("0912\u{a0}345\u{a0}678 anh Tuấn", "{P} anh Tuấn"),
    ("SĐT:0912\u{202f}345\u{202f}678", "SĐT:{P}"),
    ("số\u{a0}0912\u{2007}345\u{2007}678", "số\u{a0}{P}"),
    ("+84\u{a0}912\u{a0}345\u{a0}678", "{P}"),
    // Country codes.
    ("(+84) 912-345-678", "{P}"),
    ("+84 (0) 912 345 678 nhé", "{P} nhé"),
    ("0084 912 345 678", "{P}"),
    ("84 912 345 678", "{P}"),
    ("gọi 84-912-345-678", "gọi {P}"),
    ("+84.912.345.678", "{P}"),
    // Current mobiles.
    ("số điện thoại:0987654321;", "số điện thoại:{P};"),
    ("đt 0703 123 456", "đt {P}"),
    ("số 0583 123 456 (Vietnamobile)", "số {P} (Vietnamobile)"),
    ("0339.123.456", "{P}"),
    ("Zalo 0912 345 678 / 0987 654 321", "Zalo {P} / {P}"),
    ("0912345678/0987654321", "{P}/{P}"),
    (
        "SĐT: 0912 345 678 (anh Nam), 0913 456 789 (chị Hà)",
        "SĐT: {P} (anh Nam), {P} (chị Hà)",
    ),
    // Old 11-digit mobiles.
    ("số cũ 0168 123 4567", "số cũ {P}"),
    ("01234567890 (Vina cũ)", "{P} (Vina cũ)"),
    ("0199.123.4567", "{P}"),
    ("0186-123-4567 gọi tối", "{P} gọi tối"),
    ("+84 168 123 4567", "{P}"),
    // Landlines with their area codes.
    ("trực ban 024 3825 1234", "trực ban {P}"),
    ("gọi (028) 3829 5678 gặp chị Lan", "gọi {P} gặp chị Lan"),
    ("+84 24 3825 1234 (trụ sở)", "{P} (trụ sở)"),
    ("ĐT 0243.825.1234", "ĐT {P}"),
    ("ĐT 0236 3822 123 (Đà Nẵng)", "ĐT {P} (Đà Nẵng)"),
    ("số nhà riêng 0225 3822 123", "số nhà riêng {P}"),
    ("số 0296-3852-123", "số {P}"),
    ("máy bàn cũ (04) 3825 1234", "máy bàn cũ {P}"),
    ("máy bàn 08 3829 5678", "máy bàn {P}"),
    ("(0236) 3822-123", "{P}"),
    // Citizen IDs.
    ("CCCD 001 088 012 345", "CCCD {C}"),
    ("căn cước: 079-203-004-567", "căn cước: {C}"),
    ("số định danh ０７９２０３００４５６７", "số định danh {C}"),
    ("CCCD 036095001234, sđt 0912345678", "CCCD {C}, sđt {P}"),
    ("CCCD: 0０1088012345", "CCCD: {C}"),
    // E-mail addresses, taken whole: Unicode local parts, IDN domains.
    ("an@bücher.vn", "{E}"),
    ("liên hệ nguyễn.văn@gmail.com nhé", "liên hệ {E} nhé"),
    ("email: trần_thị.bích@yahoo.com.vn.", "email: {E}."),
    ("thư gửi hùng@côngan.vn", "thư gửi {E}"),
    (
        "tôi là Hoa (nguyễn.thị.hoa@outlook.com)",
        "tôi là Hoa ({E})",
    ),
    ("e-mail: LE.VAN.C@GMAIL.COM", "e-mail: {E}"),
    (
        "mail cho tôi: trang+hoidap@cand.gov.vn, cảm ơn",
        "mail cho tôi: {E}, cảm ơn",
    ),
    ("hòm thư tuấn-anh@mail.ru!", "hòm thư {E}!"),
    ("an@xn--bcher-kva.xn--vn-ab", "{E}"),
    ("gửi ＡＮ＠ＧＭＡＩＬ．ＣＯＭ", "gửi {E}"),
    // Text in decomposed form (NFD) keeps its form around the masks.
    (
        "lie\u{302}n he\u{323}\u{302} nguye\u{302}\u{303}n.va\u{306}n@gmail.com",
        "lie\u{302}n he\u{323}\u{302} {E}",
    ),
    (
        "Lie\u{302}n he\u{323}\u{302} 0912345678",
        "Lie\u{302}n he\u{323}\u{302} {P}",
    ),
    // Licence plates.
    ("xe 29A-123.45 đỗ cả đêm", "xe {B} đỗ cả đêm"),
    ("biển 30E1 234.56", "biển {B}"),
    ("xe máy 59X2-123.45 nẹt pô", "xe máy {B} nẹt pô"),
    ("ô tô ５１Ｆ １２３４５ vượt đèn đỏ", "ô tô {B} vượt đèn đỏ"),
    ("xe 51G–123.45", "xe {B}"),
    // Several kinds together.
    ("xe 29-B1 123.45 và sđt 0912345678", "xe {B} và sđt {P}"),
    (
        "gọi 0912.345.678 hoặc email an.nguyen@bộcôngan.vn",
        "gọi {P} hoặc email {E}",
    ),
    (
        "Liên lạc 0912345678 hoặc 0243 825 1234 hoặc tuan@vnn.vn",
        "Liên lạc {P} hoặc {P} hoặc {E}",
    ),
    ("ngày 03/12/2026 gọi 0912345678", "ngày 03/12/2026 gọi {P}"),
    ("12/3 0912 345 678", "12/3 {P}"),
];

/// Comments that must reach staff exactly as written.
const KEPT: &[&str] = &[
    // Dates and times.
    "Ngày 03/12/2026 tôi đến phường",
    "hẹn 2026-12-03 lúc 14:05",
    "từ 01/02/2026 - 03/04/2026 không ai giải quyết",
    "01/02/2026 03/04/2026",
    "ngày 5-4-2026 và 12.03.2026",
    "vào lúc 14:05:30 ngày 03/12/2026",
    "2026-12-03T14:05:00+07:00",
    "ca trực 22:00–06:00",
    "lúc 7h30 đến 11h",
    "ngày 3 tháng 12 năm 2026",
    "thẻ BHYT hết hạn 31/12/2026",
    "xếp hàng 2 tiếng (từ 7:00 đến 9:00)",
    // Amounts.
    "nộp 500.000 đồng tiền phạt",
    "mất 1,5 triệu",
    "1.500.000.000 đồng",
    "84.900.000.000 đồng tiền dự án",
    "số tiền 84 000 000 đồng",
    "giá 2.500.000đ/tháng",
    "tăng từ 1.234 lên 5.678 lượt",
    "hơn 1.000 hộ dân, 25.000 người",
    // House and alley numbers, addresses, legal references.
    "nhà 123/45 Lê Lợi",
    "ngõ 12/3 phố Huế",
    "số 45/67/89 đường Láng",
    "số 12 ngõ 34/5 ngách 6/7",
    "đường 3/2, quận 10",
    "số nhà 45A đường 30/4",
    "phòng 302, tầng 3, căn hộ 12A05 tòa S2",
    "khu phố 3, tổ 15, phường 12",
    "Quận 10, TP.HCM",
    "Điều 5, Nghị định 100/2019/NĐ-CP",
    "Luật số 59/2020/QH14",
    // Years, percentages, short and public numbers, codes.
    "năm 2025 và 2026",
    "tăng 15% so với 2024",
    "tỷ lệ 66,4% hài lòng",
    "chờ 45 phút, 3 lần",
    "vi phạm 3 lần trong 12 tháng",
    "gọi 113 hoặc 114",
    "tổng đài 1900 1234, hotline 1800 1091",
    "mã hồ sơ 12345678901",
    "mã số thuế 0101234567",
    "mã biên nhận 7KQ3-M9XP-2B",
    "0,5 km",
    "CMND cấp năm 2015 tại Hà Nội",
    // No personal data at all.
    "Cán bộ Nguyễn Văn A rất nhiệt tình.",
    "gửi thư @ phường, a @ b",
    "Phu\u{31b}o\u{31b}\u{300}ng tốt",
    "giá ５００．０００ đồng",
    "điểm 9/10",
];

fn expand(template: &str) -> String {
    template
        .replace("{P}", PHONE)
        .replace("{C}", CITIZEN_ID)
        .replace("{E}", EMAIL)
        .replace("{B}", PLATE)
}

#[test]
fn masked_table_is_exact() {
    assert!(MASKED.len() >= 60, "{} masked comments", MASKED.len());
    let failures: Vec<String> = MASKED
        .iter()
        .filter_map(|(text, want)| {
            let (got, want) = (mask_text(text), expand(want));
            (got != want).then(|| format!("{text:?}\n   → {got:?}\n want {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn kept_table_is_unchanged() {
    assert!(KEPT.len() >= 40, "{} kept comments", KEPT.len());
    let failures: Vec<String> = KEPT
        .iter()
        .filter_map(|text| {
            let got = mask_text(text);
            (got != *text).then(|| format!("{text:?} → {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

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
    let masked = MASKED.iter().map(|(t, _)| *t);
    for text in CASES
        .iter()
        .map(|c| c.0)
        .chain(masked)
        .chain(KEPT.iter().copied())
    {
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
    fn text_without_digits_or_at_signs_is_kept(s in "[^0-9０-９@＠]{0,200}") {
        proptest::prop_assert_eq!(mask_text(&s), s);
    }

    #[test]
    fn masking_never_panics_on_number_soup(s in "[0-9 .()+\\-/a-zA-Z@đ]{0,80}") {
        let _ = mask_text(&s);
    }
}
