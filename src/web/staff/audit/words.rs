//! The audit log in words: every action code the product writes, its actors, targets and
//! details, in Vietnamese and English. The one place that knows what an audit entry means;
//! the page and the CSV file both read it. A test below reads `src/` and fails when an
//! action is written that this file does not name.

use std::collections::HashMap;

use crate::store::units::UnitCache;
use crate::web::Lang;
use crate::web::results::format;

/// The groups of the action list, in the order the filter shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Access,
    Accounts,
    Feedback,
    Review,
    Figures,
    Data,
    Privacy,
    Units,
}

impl Group {
    pub const ALL: [Group; 8] = [
        Group::Access,
        Group::Accounts,
        Group::Feedback,
        Group::Review,
        Group::Figures,
        Group::Data,
        Group::Privacy,
        Group::Units,
    ];

    pub fn words(self, lang: Lang) -> &'static str {
        pick(
            lang,
            match self {
                Group::Access => ("Đăng nhập và mật khẩu", "Sign-in and passwords"),
                Group::Accounts => ("Tài khoản cán bộ", "Staff accounts"),
                Group::Feedback => ("Xử lý ý kiến người dân", "Residents' feedback"),
                Group::Review => ("Xem xét, kiểm duyệt", "Review"),
                Group::Figures => ("Số liệu và nhóm thí điểm", "Figures and the pilot group"),
                Group::Data => ("Xuất dữ liệu, khóa API, thư", "Exports, API tokens, mail"),
                Group::Privacy => ("Dữ liệu cá nhân", "Personal data"),
                Group::Units => ("Đơn vị hành chính, áp phích", "Units and posters"),
            },
        )
    }
}

/// One action code and its words.
#[derive(Debug, Clone, Copy)]
pub struct Action {
    pub code: &'static str,
    pub group: Group,
    pub vi: &'static str,
    pub en: &'static str,
}

const fn a(code: &'static str, group: Group, vi: &'static str, en: &'static str) -> Action {
    Action {
        code,
        group,
        vi,
        en,
    }
}

/// Every action code the product writes to the audit log.
pub const ACTIONS: &[Action] = &[
    a("login", Group::Access, "Đăng nhập", "Signed in"),
    a(
        "login_failed",
        Group::Access,
        "Đăng nhập không thành công",
        "Failed sign-in",
    ),
    a("logout", Group::Access, "Đăng xuất", "Signed out"),
    a(
        "password_changed",
        Group::Access,
        "Đổi mật khẩu",
        "Changed the password",
    ),
    a(
        "password_reset_requested",
        Group::Access,
        "Yêu cầu đặt lại mật khẩu",
        "Asked for a password reset",
    ),
    a(
        "password_reset",
        Group::Access,
        "Đặt lại mật khẩu qua đường dẫn",
        "Set a new password from a reset link",
    ),
    a(
        "user_added",
        Group::Accounts,
        "Thêm tài khoản cán bộ",
        "Added a staff account",
    ),
    a(
        "user_invited",
        Group::Accounts,
        "Mời cán bộ tạo tài khoản",
        "Invited a staff member",
    ),
    a(
        "user_invite_resent",
        Group::Accounts,
        "Gửi lại thư mời",
        "Resent an invitation",
    ),
    a(
        "user_role_changed",
        Group::Accounts,
        "Đổi vai trò tài khoản",
        "Changed an account's role",
    ),
    a(
        "user_deactivated",
        Group::Accounts,
        "Khóa tài khoản",
        "Deactivated an account",
    ),
    a(
        "user_reactivated",
        Group::Accounts,
        "Mở lại tài khoản",
        "Reactivated an account",
    ),
    a(
        "feedback_status",
        Group::Feedback,
        "Đổi trạng thái xử lý ý kiến",
        "Changed the status of a feedback item",
    ),
    a(
        "feedback_assign",
        Group::Feedback,
        "Giao ý kiến cho cán bộ xử lý",
        "Assigned a feedback item",
    ),
    a(
        "feedback_note",
        Group::Feedback,
        "Ghi chú nội bộ về ý kiến",
        "Added an internal note to a feedback item",
    ),
    a(
        "feedback_reply",
        Group::Feedback,
        "Trả lời người dân qua thư điện tử",
        "Replied to the resident by e-mail",
    ),
    a(
        "interview.enter",
        Group::Feedback,
        "Nhập phiếu phỏng vấn trực tiếp",
        "Entered an assisted interview",
    ),
    a(
        "action_note_add",
        Group::Feedback,
        "Gửi ghi chú “Anh/chị nói, chúng tôi làm”",
        "Sent a “You said, we did” note",
    ),
    a(
        "action_note_approve",
        Group::Review,
        "Duyệt ghi chú “Anh/chị nói, chúng tôi làm”",
        "Approved a “You said, we did” note",
    ),
    a(
        "action_note_reject",
        Group::Review,
        "Không duyệt ghi chú “Anh/chị nói, chúng tôi làm”",
        "Rejected a “You said, we did” note",
    ),
    a(
        "response.include",
        Group::Review,
        "Tính phiếu vào chỉ số",
        "Counted a response in the index",
    ),
    a(
        "response.exclude",
        Group::Review,
        "Loại phiếu khỏi chỉ số",
        "Took a response out of the index",
    ),
    a(
        "response.include_group",
        Group::Review,
        "Tính một nhóm phiếu cùng địa chỉ mạng vào chỉ số",
        "Counted a group of responses from one network address",
    ),
    a(
        "response.withhold",
        Group::Review,
        "Giữ lại ý kiến phản ánh sai phạm, không chuyển cho đơn vị",
        "Withheld a misconduct complaint from its unit",
    ),
    a(
        "response.release",
        Group::Review,
        "Chuyển ý kiến đã giữ lại cho đơn vị",
        "Released a withheld item to its unit",
    ),
    a(
        "criteria_edit",
        Group::Figures,
        "Nhập điểm các tiêu chí khác của đơn vị",
        "Entered a unit's other criteria",
    ),
    a(
        "pilot.seed",
        Group::Figures,
        "Lập nhóm thí điểm từ tệp cấu hình",
        "Set up the pilot group from the configuration file",
    ),
    a(
        "pilot.add",
        Group::Figures,
        "Thêm phường, xã vào nhóm thí điểm",
        "Added a unit to the pilot group",
    ),
    a(
        "pilot.remove",
        Group::Figures,
        "Bỏ phường, xã khỏi nhóm thí điểm",
        "Removed a unit from the pilot group",
    ),
    a("export", Group::Data, "Xuất dữ liệu", "Exported data"),
    a(
        "api_token_created",
        Group::Data,
        "Tạo khóa API",
        "Created an API token",
    ),
    a(
        "api_token_revoked",
        Group::Data,
        "Thu hồi khóa API",
        "Revoked an API token",
    ),
    a(
        "mail_retry",
        Group::Data,
        "Gửi lại thư điện tử bị lỗi",
        "Retried a failed e-mail",
    ),
    a(
        "privacy.withdraw_consent",
        Group::Privacy,
        "Người dân rút lại đồng ý nhận trả lời",
        "A resident withdrew consent to a reply",
    ),
    a(
        "privacy.erase_contact",
        Group::Privacy,
        "Người dân xoá địa chỉ liên hệ",
        "A resident erased their contact address",
    ),
    a(
        "privacy.erase_text",
        Group::Privacy,
        "Người dân xoá nội dung ý kiến đã viết",
        "A resident erased their free text",
    ),
    a(
        "privacy.purge_text",
        Group::Privacy,
        "Xoá nội dung ý kiến quá thời hạn lưu",
        "Erased free text past its retention",
    ),
    a(
        "privacy.purge_mail",
        Group::Privacy,
        "Xoá nội dung thư đã gửi quá thời hạn lưu",
        "Emptied sent mail past its retention",
    ),
    a(
        "unit.move",
        Group::Units,
        "Chuyển đơn vị sang tỉnh, thành phố khác",
        "Moved a unit to another province",
    ),
    a(
        "poster.revoke",
        Group::Units,
        "Thu hồi áp phích",
        "Revoked a poster",
    ),
];

fn pick(lang: Lang, (vi, en): (&'static str, &'static str)) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// The action of `code`, if the product writes it.
pub fn find(code: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.code == code)
}

/// An action in words. A code this version does not know (written by a newer one) is named
/// as such rather than shown bare.
pub fn action(code: &str, lang: Lang) -> String {
    match find(code) {
        Some(a) => pick(lang, (a.vi, a.en)).to_string(),
        None => match lang {
            Lang::Vi => format!("Thao tác khác (mã “{code}”)"),
            Lang::En => format!("Other action (code “{code}”)"),
        },
    }
}

/// The actors that are not staff e-mails, with their words.
const ACTORS: [(&str, &str, &str); 6] = [
    ("-", "Chưa đăng nhập", "Not signed in"),
    ("config", "Tệp cấu hình", "The configuration file"),
    (
        "resident",
        "Người dân (qua đường dẫn riêng)",
        "A resident (private link)",
    ),
    ("system", "Hệ thống (tự động)", "The system (automatic)"),
    (
        "cli",
        "Quản trị viên (dòng lệnh)",
        "An administrator (command line)",
    ),
    ("test", "Kiểm thử", "Test"),
];

/// Who did it: a staff e-mail as it is, the other actors in words.
pub fn actor(actor: &str, lang: Lang) -> String {
    ACTORS
        .iter()
        .find(|(code, _, _)| *code == actor)
        .map_or_else(
            || actor.to_string(),
            |(_, vi, en)| pick(lang, (vi, en)).to_string(),
        )
}

/// The stored names of the non-e-mail actors whose words (in either language, accents
/// optional) contain `needle` (already folded): "người dân" finds `resident`.
pub fn actors_named(folded_needle: &str) -> Vec<String> {
    if folded_needle.is_empty() {
        return Vec::new();
    }
    ACTORS
        .iter()
        .filter(|(code, vi, en)| {
            *code != "-"
                && (crate::web::public::fold(vi).contains(folded_needle)
                    || crate::web::public::fold(en).contains(folded_needle))
        })
        .map(|(code, _, _)| code.to_string())
        .collect()
}

/// What the page needs to name units and provinces: the unit list in memory and the
/// province names.
pub struct Names<'a> {
    pub units: &'a UnitCache,
    pub provinces: HashMap<String, String>,
}

impl Names<'_> {
    /// "Phường Ba Đình (00004)", or the code alone for a unit no longer listed.
    pub fn unit(&self, code: &str) -> String {
        match self.units.cached(code) {
            Some(u) => format!("{} ({code})", u.name),
            None => code.to_string(),
        }
    }

    /// "Thành phố Hà Nội (01)".
    pub fn province(&self, code: &str) -> String {
        match self.provinces.get(code) {
            Some(n) => format!("{n} ({code})"),
            None => code.to_string(),
        }
    }

    /// A role (`ministry`, `province:01`, `ward:00004`, `interviewer:00004`) in words.
    pub fn role(&self, role: &str, lang: Lang) -> String {
        match role.split_once(':') {
            None if role == "ministry" => pick(lang, ("Bộ Công an", "Ministry")).to_string(),
            Some(("province", c)) => format!(
                "{} {}",
                pick(lang, ("Công an tỉnh, thành phố:", "Province police:")),
                self.province(c)
            ),
            Some(("ward", c)) => format!(
                "{} {}",
                pick(lang, ("Công an phường, xã:", "Ward police:")),
                self.unit(c)
            ),
            Some(("interviewer", c)) => format!(
                "{} {}",
                pick(lang, ("Phỏng vấn viên tại", "Interviewer at")),
                self.unit(c)
            ),
            _ => role.to_string(),
        }
    }
}

/// What the action was done to, in words: `response:12` → "Phiếu số 12".
pub fn target(target: &str, lang: Lang, names: &Names<'_>) -> String {
    let numbered = |vi: &str, en: &str, n: &str| match lang {
        Lang::Vi => format!("{vi} {n}"),
        Lang::En => format!("{en} {n}"),
    };
    if let Some((kind, rest)) = target.split_once(':') {
        match kind {
            "response" => return numbered("Phiếu số", "Response", rest),
            "ward" | "unit" => return names.unit(rest),
            "user" => return numbered("Tài khoản số", "Account", rest),
            "api_token" => return numbered("Khóa API số", "API token", rest),
            "outbox" => return numbered("Thư số", "Message", rest),
            "poster" => return numbered("Áp phích", "Poster", rest),
            _ => {}
        }
    }
    let fixed = match target {
        "responses.csv" => ("Tệp phiếu trả lời (CSV)", "Responses file (CSV)"),
        "responses.xlsx" => ("Tệp phiếu trả lời (Excel)", "Responses file (Excel)"),
        "aggregates.csv" => ("Tệp số liệu tổng hợp (CSV)", "Aggregates file (CSV)"),
        "aggregates.xlsx" => ("Tệp số liệu tổng hợp (Excel)", "Aggregates file (Excel)"),
        "audit.csv" => ("Tệp nhật ký thao tác (CSV)", "Audit log file (CSV)"),
        "responses" => ("Các phiếu trả lời", "The responses"),
        "outbox" => ("Hộp thư đi", "The outbox"),
        "pilot" => ("Nhóm thí điểm", "The pilot group"),
        _ => return target.to_string(),
    };
    pick(lang, fixed).to_string()
}

/// The words of a detail key, which may depend on the action (`from` is a status for
/// `feedback_status`, a role for `user_role_changed`).
fn key_words(action: &str, key: &str) -> Option<(&'static str, &'static str)> {
    Some(match (action, key) {
        ("export", "from") => ("Từ ngày", "From"),
        ("export", "to") => ("Đến ngày", "To"),
        ("export", "action") => ("Thao tác", "Action"),
        ("export", "actor") => ("Người thực hiện", "Who"),
        ("user_role_changed", "from") => ("Vai trò cũ", "Previous role"),
        ("user_role_changed", "to") => ("Vai trò mới", "New role"),
        (_, "from") => ("Trước", "Before"),
        (_, "to") => ("Sau", "After"),
        ("unit.move", "responses") => ("Số phiếu của đơn vị", "Responses of the unit"),
        ("unit.move", "staff") => ("Số tài khoản cán bộ", "Staff accounts"),
        ("unit.move", "posters") => ("Số áp phích", "Posters"),
        ("response.include_group", "count") => ("Số phiếu được tính", "Responses counted"),
        ("privacy.purge_text", "erased") => ("Số phiếu đã xoá nội dung", "Responses erased"),
        ("privacy.purge_text", "emptied") | ("privacy.purge_mail", "emptied") => {
            ("Số thư đã xoá nội dung", "Messages emptied")
        }
        (_, "ward" | "ward_code") => ("Đơn vị", "Unit"),
        (_, "wards") => ("Các phường, xã", "Units"),
        (_, "size") => (
            "Số đơn vị trong nhóm sau thay đổi",
            "Units in the group after it",
        ),
        (_, "province") => ("Tỉnh, thành phố", "Province"),
        (_, "from_province") => ("Từ tỉnh, thành phố", "From province"),
        (_, "to_province") => ("Sang tỉnh, thành phố", "To province"),
        (_, "period") => ("Kỳ", "Period"),
        (_, "assignee") => ("Giao cho", "Assigned to"),
        (_, "reply") => ("Thư trả lời số", "Reply no."),
        (_, "name") => ("Tên", "Name"),
        (_, "note") => ("Ghi chú số", "Note no."),
        (_, "receipt") => ("Mã biên nhận", "Receipt"),
        (_, "previous_flag") => ("Lý do gắn cờ trước đó", "Earlier flag"),
        (_, "day") => ("Ngày", "Day"),
        (_, "count") => ("Số lượng", "Count"),
        (_, "values") => ("Điểm đã nhập", "Values entered"),
        (_, "email") => ("Thư điện tử", "E-mail"),
        (_, "id") => ("Tài khoản số", "Account no."),
        (_, "role") => ("Vai trò", "Role"),
        (_, "sessions_ended") => ("Số phiên đăng nhập đã kết thúc", "Sessions ended"),
        (_, "cancelled") => ("Số thư chờ gửi đã huỷ", "Pending messages cancelled"),
        (_, "cleaned") => (
            "Số thư đã lưu được xoá thông tin",
            "Stored messages cleaned",
        ),
        (_, "fields") => ("Nội dung đã xoá", "Erased"),
        (_, "days") => ("Thời hạn lưu (ngày)", "Retention (days)"),
        (_, "source") => ("Nguồn", "Source"),
        _ => return None,
    })
}

/// A stored code value in words, for the keys whose values are codes.
fn code_words(action: &str, key: &str, v: &str) -> Option<(&'static str, &'static str)> {
    let status = |v: &str| {
        Some(match v {
            "new" => ("Mới", "New"),
            "in_progress" => ("Đang xử lý", "In progress"),
            "resolved" => ("Đã giải quyết", "Resolved"),
            "not_actionable" => ("Không thể xử lý", "Not actionable"),
            _ => return None,
        })
    };
    let counting = |v: &str| {
        Some(match v {
            "counted" => ("Được tính vào chỉ số", "Counted"),
            "flagged" => ("Không tính (gắn cờ)", "Not counted (flagged)"),
            _ => return None,
        })
    };
    match (action, key) {
        ("feedback_status", "from" | "to") => status(v),
        ("response.include" | "response.exclude" | "response.include_group", "from" | "to") => {
            counting(v)
        }
        (_, "previous_flag") => Some(match v {
            "duplicate_device" => (
                "Cùng thiết bị đã trả lời trong quý",
                "Same device already answered this quarter",
            ),
            "burst" => ("Tăng đột biến bất thường", "Unusual burst"),
            "token_invalid" => (
                "Mã mời không hợp lệ hoặc đã dùng",
                "Invalid or used invitation",
            ),
            "excluded" => ("Người xem xét đã loại", "Excluded by a reviewer"),
            "same_address" => (
                "Nhiều ý kiến từ cùng một địa chỉ mạng trong ngày",
                "Many answers from one network address in a day",
            ),
            _ => return None,
        }),
        (_, "fields") => Some(match v {
            "comment" => ("Ý kiến, kiến nghị", "Comment"),
            "issue" => ("Vấn đề quan tâm", "Issue"),
            _ => return None,
        }),
        (_, "values") => Some(match v {
            "security_order" => ("An ninh, trật tự", "Security and order"),
            "force_building" => ("Xây dựng lực lượng", "Force building"),
            "urban_civility" => ("Văn minh đô thị", "Urban civility"),
            "satisfaction" => ("Sự hài lòng", "Satisfaction"),
            _ => return None,
        }),
        _ => None,
    }
}

/// One detail value in words.
fn value(action: &str, key: &str, v: &serde_json::Value, lang: Lang, names: &Names<'_>) -> String {
    use serde_json::Value;
    match v {
        Value::Null => match key {
            "assignee" => pick(lang, ("không ai (bỏ giao)", "nobody (unassigned)")).to_string(),
            _ => "–".to_string(),
        },
        Value::Bool(b) => pick(lang, if *b { ("có", "yes") } else { ("không", "no") }).to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(x)) => number(x, lang),
            _ => n.to_string(),
        },
        Value::String(s) => {
            if let Some(w) = code_words(action, key, s) {
                return pick(lang, w).to_string();
            }
            match key {
                "ward" | "ward_code" | "wards" => names.unit(s),
                "province" | "from_province" | "to_province" => names.province(s),
                "role" => names.role(s, lang),
                "from" | "to" if action == "user_role_changed" => names.role(s, lang),
                "action" if action == "export" => self::action(s, lang),
                "day" | "from" | "to" if action == "export" || key == "day" => {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map_or_else(|_| s.clone(), |d| d.format("%d/%m/%Y").to_string())
                }
                "period" => crate::period::Period::parse(s)
                    .map_or_else(|_| s.clone(), |p| format::period(p, lang)),
                _ => s.clone(),
            }
        }
        Value::Array(items) => {
            // `values` of `criteria_edit`: [[criterion, value], …].
            let parts: Vec<String> = items
                .iter()
                .map(|item| match item.as_array().map(Vec::as_slice) {
                    Some([Value::String(id), v]) => {
                        let name = code_words(action, key, id)
                            .map_or_else(|| id.clone(), |w| pick(lang, w).to_string());
                        format!("{name} {}", value(action, "", v, lang, names))
                    }
                    _ => value(action, key, item, lang, names),
                })
                .collect();
            parts.join(", ")
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let name = code_words(action, key, k)
                    .or_else(|| key_words(action, k))
                    .map_or_else(|| k.clone(), |w| pick(lang, w).to_string());
                format!("{name} {}", value(action, k, v, lang, names))
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A number with a decimal comma in Vietnamese, at most two decimals.
fn number(x: f64, lang: Lang) -> String {
    let s = format!("{:.2}", (x * 100.0).round() / 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    match lang {
        Lang::Vi => s.replace('.', ","),
        Lang::En => s,
    }
}

/// The order of detail keys on the page; keys not listed follow, by name.
const KEY_ORDER: [&str; 36] = [
    "ward",
    "ward_code",
    "wards",
    "province",
    "from_province",
    "to_province",
    "id",
    "email",
    "role",
    "name",
    "period",
    "day",
    "from",
    "to",
    "actor",
    "action",
    "previous_flag",
    "receipt",
    "count",
    "assignee",
    "reply",
    "note",
    "values",
    "fields",
    "cancelled",
    "cleaned",
    "erased",
    "emptied",
    "days",
    "responses",
    "staff",
    "posters",
    "sessions_ended",
    "size",
    "source",
    "keywords",
];

/// The details of an entry as readable text: a JSON object becomes "key: value" pairs in
/// words (empty values left out), anything else is shown as it was written.
pub fn detail(
    action: &str,
    target: &str,
    detail: Option<&str>,
    lang: Lang,
    names: &Names<'_>,
) -> String {
    let target_unit = target
        .strip_prefix("ward:")
        .or_else(|| target.strip_prefix("unit:"));
    let Some(text) = detail.map(str::trim).filter(|t| !t.is_empty()) else {
        return String::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_string();
    };
    let mut pairs: Vec<_> = map
        .iter()
        .filter(|(k, v)| !v.is_null() || k.as_str() == "assignee")
        // The unit the target names already is not named again.
        .filter(|(k, v)| {
            !(matches!(k.as_str(), "ward" | "ward_code")
                && v.as_str().is_some_and(|c| target_unit == Some(c)))
        })
        .collect();
    // In the order a reader expects (where, when, what changed, how many), others last.
    pairs.sort_by_key(|(k, _)| {
        KEY_ORDER
            .iter()
            .position(|o| o == k)
            .unwrap_or(KEY_ORDER.len())
    });
    pairs
        .into_iter()
        .map(|(k, v)| {
            let name =
                key_words(action, k).map_or_else(|| k.clone(), |w| pick(lang, w).to_string());
            format!("{name}: {}", value(action, k, v, lang, names))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(units: &UnitCache) -> Names<'_> {
        Names {
            units,
            provinces: [("01".to_string(), "Thành phố Hà Nội".to_string())].into(),
        }
    }

    /// The third argument of every `audit::record(` call in `text` that holds string
    /// literals (the action; a variable is skipped), and every `Value::from("a.b")` of a file
    /// that inserts into `audit_log` directly.
    fn written_actions(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("audit::record(") {
            rest = &rest[at + "audit::record(".len()..];
            // Split the call's arguments at top-level commas.
            let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
            let mut args = vec![String::new()];
            for c in rest.chars() {
                if in_str {
                    args.last_mut().unwrap().push(c);
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_str = false;
                    }
                    continue;
                }
                match c {
                    '"' => in_str = true,
                    '(' | '{' | '[' => depth += 1,
                    ')' | '}' | ']' if depth == 0 => break,
                    ')' | '}' | ']' => depth -= 1,
                    ',' if depth == 0 => {
                        args.push(String::new());
                        continue;
                    }
                    _ => {}
                }
                args.last_mut().unwrap().push(c);
            }
            if let Some(arg) = args.get(2) {
                found.extend(literals(arg));
            }
        }
        if text.contains("INSERT INTO audit_log") {
            let mut rest = text;
            while let Some(at) = rest.find("Value::from(\"") {
                rest = &rest[at + "Value::from(".len()..];
                if let Some(lit) = literals(rest).into_iter().next()
                    && lit.contains('.')
                    && lit
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                {
                    found.push(lit);
                }
            }
        }
        found
    }

    fn literals(s: &str) -> Vec<String> {
        s.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_action_the_code_writes_has_words() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut written = Vec::new();
        for f in files.iter().filter(|f| !f.ends_with("audit/words.rs")) {
            let text = std::fs::read_to_string(f).unwrap();
            for code in written_actions(&text) {
                written.push((code, f.display().to_string()));
            }
        }
        // The scan finds the actions it should: it cannot pass by finding nothing.
        for known in [
            "login",
            "response.withhold",
            "action_note_reject",
            "privacy.erase_text",
        ] {
            assert!(
                written.iter().any(|(c, _)| c == known),
                "{known} not found by the scan"
            );
        }
        for (code, file) in &written {
            assert!(
                find(code).is_some(),
                "{file} writes `{code}`, which has no words here"
            );
        }
    }

    #[test]
    fn codes_are_unique_and_every_group_is_used() {
        for (i, x) in ACTIONS.iter().enumerate() {
            assert!(
                ACTIONS[i + 1..].iter().all(|y| y.code != x.code),
                "{}",
                x.code
            );
            assert!(!x.vi.is_empty() && !x.en.is_empty());
        }
        for g in Group::ALL {
            assert!(ACTIONS.iter().any(|a| a.group == g), "{g:?}");
        }
    }

    #[test]
    fn entries_read_as_words() {
        let units = UnitCache::default();
        let n = names(&units);
        assert_eq!(
            action("response.exclude", Lang::Vi),
            "Loại phiếu khỏi chỉ số"
        );
        assert_eq!(
            action("response.exclude", Lang::En),
            "Took a response out of the index"
        );
        assert!(action("brand.new", Lang::Vi).starts_with("Thao tác khác"));
        assert_eq!(
            actor("resident", Lang::Vi),
            "Người dân (qua đường dẫn riêng)"
        );
        assert_eq!(actor("w@example.vn", Lang::Vi), "w@example.vn");
        assert_eq!(actors_named("nguoi dan"), vec!["resident".to_string()]);
        assert_eq!(target("response:12", Lang::Vi, &n), "Phiếu số 12");
        assert_eq!(
            target("responses.csv", Lang::En, &n),
            "Responses file (CSV)"
        );
        let d = detail(
            "feedback_status",
            "response:12",
            Some(r#"{"ward":"00004","from":"new","to":"resolved"}"#),
            Lang::Vi,
            &n,
        );
        assert_eq!(d, "Đơn vị: 00004; Trước: Mới; Sau: Đã giải quyết");
        let d = detail(
            "user_role_changed",
            "w2@example.vn",
            Some(r#"{"id":3,"from":"ward:00004","to":"province:01"}"#),
            Lang::Vi,
            &n,
        );
        assert!(
            d.contains("Vai trò mới: Công an tỉnh, thành phố: Thành phố Hà Nội (01)"),
            "{d}"
        );
        let d = detail(
            "criteria_edit",
            "ward:00004",
            Some(r#"{"period":"2026-Q3","values":[["security_order",70.5]]}"#),
            Lang::Vi,
            &n,
        );
        assert_eq!(d, "Kỳ: Quý 3/2026; Điểm đã nhập: An ninh, trật tự 70,5");
        let d = detail(
            "response.include_group",
            "ward:00004",
            Some(
                r#"{"ward_code":"00004","day":"2026-12-03","count":4,"previous_flag":"same_address"}"#,
            ),
            Lang::En,
            &n,
        );
        assert_eq!(
            d,
            "Day: 03/12/2026; Earlier flag: Many answers from one network address in a day; \
             Responses counted: 4"
        );
        assert_eq!(
            detail(
                "feedback_assign",
                "response:1",
                Some(r#"{"assignee":null}"#),
                Lang::Vi,
                &n
            ),
            "Giao cho: không ai (bỏ giao)"
        );
        assert_eq!(
            detail(
                "privacy.erase_text",
                "response:1",
                Some(r#"{"fields":["comment","issue"],"cleaned":1}"#),
                Lang::Vi,
                &n
            ),
            "Nội dung đã xoá: Ý kiến, kiến nghị, Vấn đề quan tâm; Số thư đã lưu được xoá thông tin: 1"
        );
        // Text is kept as written; nothing is nothing.
        assert_eq!(
            detail(
                "response.release",
                "response:9",
                Some("chuyển cho đơn vị 00004"),
                Lang::Vi,
                &n
            ),
            "chuyển cho đơn vị 00004"
        );
        assert_eq!(detail("login", "a@b.vn", None, Lang::Vi, &n), "");
    }
}
