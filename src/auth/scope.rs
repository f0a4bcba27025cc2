//! Role scopes: `ward:CODE`, `province:CODE`, `ministry`. Every staff query takes a [`Scope`];
//! what lies outside it is answered exactly like something that does not exist.

use std::fmt;

use crate::store::units::UnitInfo;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Ministry,
    /// Two-digit province code.
    Province(String),
    /// Five-digit ward code.
    Ward(String),
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl Scope {
    /// Parses `ministry`, `province:01` or `ward:00004`.
    pub fn parse(s: &str) -> Result<Scope, String> {
        let s = s.trim();
        match s.split_once(':') {
            None if s == "ministry" => Ok(Scope::Ministry),
            Some(("province", c)) if digits(c, 2) => Ok(Scope::Province(c.to_string())),
            Some(("ward", c)) if digits(c, 5) => Ok(Scope::Ward(c.to_string())),
            _ => Err(format!(
                "role `{s}` is not `ministry`, `province:CODE` (2 digits) or `ward:CODE` (5 digits)"
            )),
        }
    }

    /// From the stored columns.
    pub fn from_db(role: &str, code: Option<&str>) -> Option<Scope> {
        match (role, code) {
            ("ministry", _) => Some(Scope::Ministry),
            ("province", Some(c)) => Some(Scope::Province(c.to_string())),
            ("ward", Some(c)) => Some(Scope::Ward(c.to_string())),
            _ => None,
        }
    }

    /// The stored columns (role, code).
    pub fn to_db(&self) -> (&'static str, Option<String>) {
        match self {
            Scope::Ministry => ("ministry", None),
            Scope::Province(c) => ("province", Some(c.clone())),
            Scope::Ward(c) => ("ward", Some(c.clone())),
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
        !matches!(self, Scope::Ward(_))
    }

    /// Whether a ward lies in this scope.
    pub fn contains_ward(&self, unit: &UnitInfo) -> bool {
        match self {
            Scope::Ministry => true,
            Scope::Province(p) => unit.province_code == *p,
            Scope::Ward(w) => unit.code == *w,
        }
    }

    /// Whether a whole province lies in this scope (ward users see no province page).
    pub fn contains_province(&self, code: &str) -> bool {
        match self {
            Scope::Ministry => true,
            Scope::Province(p) => p == code,
            Scope::Ward(_) => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Ministry => write!(f, "ministry"),
            Scope::Province(c) => write!(f, "province:{c}"),
            Scope::Ward(c) => write!(f, "ward:{c}"),
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
}
