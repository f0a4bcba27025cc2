//! Role scopes: `ward:CODE`, `province:CODE`, `ministry`, and `interviewer:CODE`. Every staff
//! query takes a [`Scope`]; what lies outside it is answered exactly like something that does
//! not exist.
//!
//! An interviewer (someone outside the police, for example from the Fatherland Front) enters
//! assisted interviews for one ward and reads nothing: every reading method below answers
//! `false` for that scope, and the console lets such a session reach only its interview page
//! (`web::staff::interview`).

use std::fmt;

use crate::store::units::UnitInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Ministry,
    /// Two-digit province code.
    Province(String),
    /// Five-digit ward code.
    Ward(String),
    /// Enters assisted interviews for this five-digit ward code, and sees nothing else.
    Interviewer(String),
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl Scope {
    /// Parses `ministry`, `province:01`, `ward:00004` or `interviewer:00004`.
    pub fn parse(s: &str) -> Result<Scope, String> {
        let s = s.trim();
        match s.split_once(':') {
            None if s == "ministry" => Ok(Scope::Ministry),
            Some(("province", c)) if digits(c, 2) => Ok(Scope::Province(c.to_string())),
            Some(("ward", c)) if digits(c, 5) => Ok(Scope::Ward(c.to_string())),
            Some(("interviewer", c)) if digits(c, 5) => Ok(Scope::Interviewer(c.to_string())),
            _ => Err(format!(
                "role `{s}` is not `ministry`, `province:CODE` (2 digits), `ward:CODE` or \
                 `interviewer:CODE` (5 digits)"
            )),
        }
    }

    /// From the stored columns.
    pub fn from_db(role: &str, code: Option<&str>) -> Option<Scope> {
        match (role, code) {
            ("ministry", _) => Some(Scope::Ministry),
            ("province", Some(c)) => Some(Scope::Province(c.to_string())),
            ("ward", Some(c)) => Some(Scope::Ward(c.to_string())),
            ("interviewer", Some(c)) => Some(Scope::Interviewer(c.to_string())),
            _ => None,
        }
    }

    /// The stored columns (role, code).
    pub fn to_db(&self) -> (&'static str, Option<String>) {
        match self {
            Scope::Ministry => ("ministry", None),
            Scope::Province(c) => ("province", Some(c.clone())),
            Scope::Ward(c) => ("ward", Some(c.clone())),
            Scope::Interviewer(c) => ("interviewer", Some(c.clone())),
        }
    }

    /// The ward an interviewer enters interviews for (`None` for every other role).
    pub fn interviewer_ward(&self) -> Option<&str> {
        match self {
            Scope::Interviewer(w) => Some(w),
            _ => None,
        }
    }

    /// The ward or province code the role is scoped to (`None` for the ministry).
    pub fn code(&self) -> Option<&str> {
        match self {
            Scope::Ministry => None,
            Scope::Province(c) | Scope::Ward(c) | Scope::Interviewer(c) => Some(c),
        }
    }

    /// The role in words, for people: `unit_name` is the name of the ward or province of the
    /// role (its code when unknown), e.g. "Điều tra viên – Phường Ba Đình".
    pub fn in_words(&self, unit_name: Option<&str>, en: bool) -> String {
        let name = unit_name.or(self.code()).unwrap_or_default();
        match (self, en) {
            (Scope::Ministry, false) => "Bộ Công an".to_string(),
            (Scope::Ministry, true) => "Ministry of Public Security".to_string(),
            (Scope::Province(_), false) => format!("Cán bộ Công an tỉnh, thành phố – {name}"),
            (Scope::Province(_), true) => format!("Province police staff – {name}"),
            (Scope::Ward(_), false) => format!("Cán bộ Công an – {name}"),
            (Scope::Ward(_), true) => format!("Ward police staff – {name}"),
            (Scope::Interviewer(_), false) => format!("Điều tra viên – {name}"),
            (Scope::Interviewer(_), true) => format!("Interviewer – {name}"),
        }
    }

    pub fn is_ministry(&self) -> bool {
        matches!(self, Scope::Ministry)
    }

    /// Whether the role may enter ward-score criteria (province and ministry staff).
    pub fn can_enter_criteria(&self) -> bool {
        self.reviews_wards()
    }

    /// Whether this scope reviews wards (province and ministry): it reads withheld complaints
    /// and flagged responses, and includes, excludes and releases them.
    pub fn reviews_wards(&self) -> bool {
        matches!(self, Scope::Ministry | Scope::Province(_))
    }

    /// Whether a ward lies in this scope.
    pub fn contains_ward(&self, unit: &UnitInfo) -> bool {
        match self {
            Scope::Ministry => true,
            Scope::Province(p) => unit.province_code == *p,
            Scope::Ward(w) => unit.code == *w,
            // An interviewer reads no ward's data, not even its own.
            Scope::Interviewer(_) => false,
        }
    }

    /// Whether a whole province lies in this scope (ward users see no province page).
    pub fn contains_province(&self, code: &str) -> bool {
        match self {
            Scope::Ministry => true,
            Scope::Province(p) => p == code,
            Scope::Ward(_) | Scope::Interviewer(_) => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Ministry => write!(f, "ministry"),
            Scope::Province(c) => write!(f, "province:{c}"),
            Scope::Ward(c) => write!(f, "ward:{c}"),
            Scope::Interviewer(c) => write!(f, "interviewer:{c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, province: &str) -> UnitInfo {
        UnitInfo {
            code: code.into(),
            name: String::new(),
            kind: "phường".into(),
            province_code: province.into(),
            province_name: String::new(),
        }
    }

    #[test]
    fn roles_parse_and_contain() {
        assert_eq!(Scope::parse("ministry").unwrap(), Scope::Ministry);
        let p = Scope::parse("province:01").unwrap();
        let w = Scope::parse("ward:00004").unwrap();
        for bad in [
            "province:1",
            "ward:4",
            "admin",
            "ward:0000a",
            "province:",
            "",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        assert!(p.contains_ward(&unit("00004", "01")));
        assert!(!p.contains_ward(&unit("26734", "79")));
        assert!(w.contains_ward(&unit("00004", "01")));
        assert!(!w.contains_ward(&unit("00008", "01")));
        assert!(!w.contains_province("01"));
        assert!(p.contains_province("01") && !p.contains_province("79"));
        assert_eq!(w.to_string(), "ward:00004");
        let (r, c) = p.to_db();
        assert_eq!(Scope::from_db(r, c.as_deref()), Some(p));
    }

    #[test]
    fn an_interviewer_role_parses_round_trips_and_reads_nothing() {
        let i = Scope::parse("interviewer:00004").unwrap();
        assert_eq!(i, Scope::Interviewer("00004".into()));
        assert_eq!(i.to_string(), "interviewer:00004");
        assert_eq!(i.interviewer_ward(), Some("00004"));
        let (r, c) = i.to_db();
        assert_eq!((r, c.as_deref()), ("interviewer", Some("00004")));
        assert_eq!(Scope::from_db(r, c.as_deref()), Some(i.clone()));
        for bad in [
            "interviewer:4",
            "interviewer:",
            "interviewer",
            "interviewer:0000x",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        assert!(!i.contains_ward(&unit("00004", "01")));
        assert!(!i.contains_province("01"));
        assert!(!i.reviews_wards() && !i.can_enter_criteria() && !i.is_ministry());
        assert_eq!(
            i.in_words(Some("Phường Ba Đình"), false),
            "Điều tra viên – Phường Ba Đình"
        );
        assert_eq!(i.in_words(None, true), "Interviewer – 00004");
        assert_eq!(Scope::Ward("00004".into()).interviewer_ward(), None);
    }
}
