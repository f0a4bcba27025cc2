//! Provinces and units: the shipped 2025 list, `units import`, `units margins import`, lookups.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use super::csvio::{LineErrors, read_csv};
use crate::entities::{margin, province, unit};

/// The official 2025 list, embedded in the binary.
pub const SHIPPED_UNITS_CSV: &str = include_str!("../../data/vn-admin-units-2025.csv");

pub const UNIT_KINDS: [&str; 3] = ["phường", "xã", "đặc khu"];

#[derive(Debug, Clone, PartialEq)]
pub struct UnitRow {
    pub province_code: String,
    pub province_name: String,
    pub province_kind: String,
    pub ward_code: String,
    pub ward_name: String,
    pub ward_kind: String,
}

fn is_code(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses and checks a unit list (the columns of data/vn-admin-units-2025.csv); every bad line is named.
pub fn parse_units(text: &str) -> Result<Vec<UnitRow>, LineErrors> {
    const COLS: [&str; 6] = [
        "province_code",
        "province_name",
        "province_type",
        "ward_code",
        "ward_name",
        "ward_type",
    ];
    let table = read_csv(text, &COLS)?;
    let mut errors = LineErrors::default();
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut province_names: HashMap<String, (String, usize)> = HashMap::new();
    for rec in table.records {
        let get = |c: &str| rec.get(c).trim().to_string();
        let row = UnitRow {
            province_code: get("province_code"),
            province_name: get("province_name"),
            province_kind: get("province_type"),
            ward_code: get("ward_code"),
            ward_name: get("ward_name"),
            ward_kind: get("ward_type"),
        };
        let line = rec.line;
        if !is_code(&row.province_code, 2) {
            errors.push(
                line,
                format!("province_code `{}` is not two digits", row.province_code),
            );
        }
        if !is_code(&row.ward_code, 5) {
            errors.push(
                line,
                format!("ward_code `{}` is not five digits", row.ward_code),
            );
        }
        if row.province_name.is_empty() || row.ward_name.is_empty() {
            errors.push(line, "province_name and ward_name must not be empty".into());
        }
        if !UNIT_KINDS.contains(&row.ward_kind.as_str()) {
            errors.push(
                line,
                format!(
                    "ward_type `{}` is not one of phường, xã, đặc khu",
                    row.ward_kind
                ),
            );
        }
        if let Some(first) = seen.insert(row.ward_code.clone(), line) {
            errors.push(
                line,
                format!("ward_code {} repeats line {first}", row.ward_code),
            );
        }
        match province_names.get(&row.province_code) {
            Some((name, first)) if *name != row.province_name => errors.push(
                line,
                format!(
                    "province {} is named `{}` here but `{name}` on line {first}",
                    row.province_code, row.province_name
                ),
            ),
            Some(_) => {}
            None => {
                province_names.insert(row.province_code.clone(), (row.province_name.clone(), line));
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        errors.push(1, "the file has no units".into());
    }
    errors.into_result(rows)
}

/// Writes the units (insert or update by code) in one transaction.
pub async fn upsert_units(
    db: &DatabaseConnection,
    rows: &[UnitRow],
) -> Result<usize, sea_orm::DbErr> {
    let txn = db.begin().await?;
    write_units(&txn, rows).await?;
    txn.commit().await?;
    Ok(rows.len())
}

/// Inserts or updates the units and their provinces by code, in the caller's transaction.
pub(crate) async fn write_units(
    txn: &impl ConnectionTrait,
    rows: &[UnitRow],
) -> Result<(), sea_orm::DbErr> {
    let mut provinces: BTreeMap<&str, &UnitRow> = BTreeMap::new();
    for r in rows {
        provinces.entry(&r.province_code).or_insert(r);
    }
    let models: Vec<province::ActiveModel> = provinces
        .values()
        .map(|r| province::ActiveModel {
            code: Set(r.province_code.clone()),
            name: Set(r.province_name.clone()),
            kind: Set(r.province_kind.clone()),
        })
        .collect();
    for chunk in models.chunks(200) {
        province::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(province::Column::Code)
                    .update_columns([province::Column::Name, province::Column::Kind])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
    }
    let units: Vec<unit::ActiveModel> = rows
        .iter()
        .map(|r| unit::ActiveModel {
            code: Set(r.ward_code.clone()),
            province_code: Set(r.province_code.clone()),
            name: Set(r.ward_name.clone()),
            kind: Set(r.ward_kind.clone()),
        })
        .collect();
    for chunk in units.chunks(200) {
        unit::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(unit::Column::Code)
                    .update_columns([
                        unit::Column::ProvinceCode,
                        unit::Column::Name,
                        unit::Column::Kind,
                    ])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Loads the shipped list when the database has no units yet. Returns how many were loaded.
pub async fn load_shipped_if_empty(db: &DatabaseConnection) -> anyhow::Result<usize> {
    if unit::Entity::find().count(db).await? > 0 {
        return Ok(0);
    }
    let rows = parse_units(SHIPPED_UNITS_CSV)
        .map_err(|e| anyhow::anyhow!("the shipped unit list is invalid:\n{e}"))?;
    Ok(upsert_units(db, &rows).await?)
}

pub const SEXES: [&str; 2] = ["m", "f"];
pub const AGES: [&str; 3] = ["18-34", "35-54", "55+"];

/// Parses a margins file (`ward_code,sex,age,share`) against the known units; each ward lists
/// all six sex × age cells, each with a share > 0, and its shares sum to 1 within 1e-6.
pub async fn parse_margins(
    db: &impl ConnectionTrait,
    text: &str,
) -> Result<Vec<margin::Model>, LineErrors> {
    let table = read_csv(text, &["ward_code", "sex", "age", "share"])?;
    let known: HashSet<String> = unit::Entity::find()
        .all(db)
        .await
        .map_err(|e| LineErrors::single(0, format!("cannot read the units: {e}")))?
        .into_iter()
        .map(|u| u.code)
        .collect();
    let mut errors = LineErrors::default();
    let mut out = Vec::new();
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for rec in table.records {
        let line = rec.line;
        let ward = rec.get("ward_code").trim().to_string();
        let sex = rec.get("sex").trim().to_ascii_lowercase();
        let age = rec.get("age").trim().to_string();
        let share_text = rec.get("share").trim();
        if !known.contains(&ward) {
            errors.push(line, format!("unknown ward_code `{ward}`"));
        }
        if !SEXES.contains(&sex.as_str()) {
            errors.push(line, format!("sex `{sex}` is not m or f"));
        }
        if !AGES.contains(&age.as_str()) {
            errors.push(line, format!("age `{age}` is not 18-34, 35-54 or 55+"));
        }
        let share = match share_text.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s <= 1.0 => s,
            _ => {
                errors.push(
                    line,
                    format!(
                        "tỷ lệ `{share_text}` phải là số lớn hơn 0 và không quá 1 / \
                         share `{share_text}` must be a number above 0 and at most 1"
                    ),
                );
                continue;
            }
        };
        if let Some(first) = seen.insert((ward.clone(), sex.clone(), age.clone()), line) {
            errors.push(
                line,
                format!("cell {ward} {sex} {age} repeats line {first}"),
            );
        }
        let e = sums.entry(ward.clone()).or_insert((0.0, line));
        e.0 += share;
        e.1 = line;
        out.push(margin::Model {
            ward_code: ward,
            sex,
            age,
            share,
        });
    }
    for (ward, (sum, last_line)) in &sums {
        let missing: Vec<String> = SEXES
            .iter()
            .flat_map(|sx| AGES.iter().map(move |a| (*sx, *a)))
            .filter(|(sx, a)| !seen.contains_key(&(ward.clone(), sx.to_string(), a.to_string())))
            .map(|(sx, a)| format!("{sx} {a}"))
            .collect();
        if !missing.is_empty() {
            errors.push(
                *last_line,
                format!(
                    "phường, xã {ward} thiếu ô {} (cần đủ 6 ô giới tính × độ tuổi) / \
                     ward {ward} lacks the cells {} (all six sex × age cells are needed)",
                    missing.join(", "),
                    missing.join(", ")
                ),
            );
        }
        if (sum - 1.0).abs() > 1e-6 {
            errors.push(
                *last_line,
                format!("the shares of ward {ward} sum to {sum}, not 1"),
            );
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(1, "the file has no margins".into());
    }
    errors.into_result(out)
}

/// Replaces the margins of every ward named in `rows`, atomically.
pub async fn replace_margins(
    db: &DatabaseConnection,
    rows: Vec<margin::Model>,
) -> Result<usize, sea_orm::DbErr> {
    let wards: Vec<String> = rows
        .iter()
        .map(|m| m.ward_code.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let n = rows.len();
    let txn = db.begin().await?;
    for chunk in wards.chunks(500) {
        margin::Entity::delete_many()
            .filter(margin::Column::WardCode.is_in(chunk.to_vec()))
            .exec(&txn)
            .await?;
    }
    let models: Vec<margin::ActiveModel> = rows
        .into_iter()
        .map(|m| margin::ActiveModel {
            ward_code: Set(m.ward_code),
            sex: Set(m.sex),
            age: Set(m.age),
            share: Set(m.share),
        })
        .collect();
    for chunk in models.chunks(300) {
        margin::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(n)
}

/// A unit with its province, as pages and the API show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnitInfo {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub province_code: String,
    pub province_name: String,
}

pub async fn find_unit(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<UnitInfo>, sea_orm::DbErr> {
    if !is_code(code, 5) {
        return Ok(None);
    }
    let Some(u) = unit::Entity::find_by_id(code.to_string()).one(db).await? else {
        return Ok(None);
    };
    let p = province::Entity::find_by_id(u.province_code.clone())
        .one(db)
        .await?;
    Ok(Some(UnitInfo {
        code: u.code,
        name: u.name,
        kind: u.kind,
        province_name: p.map(|p| p.name).unwrap_or_default(),
        province_code: u.province_code,
    }))
}

/// Every unit in memory, because the public pages look one up on every request. A unit not
/// found is looked up in the database (an import made while the server runs is seen at once);
/// [`UnitCache::refresh`] reloads the whole list (the server does so every minute, so a
/// renamed or removed unit is seen within a minute).
#[derive(Default)]
pub struct UnitCache {
    map: std::sync::RwLock<std::sync::Arc<HashMap<String, UnitInfo>>>,
}

impl UnitCache {
    pub async fn load(db: &impl ConnectionTrait) -> Result<UnitCache, sea_orm::DbErr> {
        let cache = UnitCache::default();
        cache.refresh(db).await?;
        Ok(cache)
    }

    /// Reloads every unit (two queries).
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> Result<(), sea_orm::DbErr> {
        let names: HashMap<String, String> = province::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.code, p.name))
            .collect();
        let map: HashMap<String, UnitInfo> = unit::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|u| {
                (
                    u.code.clone(),
                    UnitInfo {
                        province_name: names.get(&u.province_code).cloned().unwrap_or_default(),
                        code: u.code,
                        name: u.name,
                        kind: u.kind,
                        province_code: u.province_code,
                    },
                )
            })
            .collect();
        if let Ok(mut g) = self.map.write() {
            *g = std::sync::Arc::new(map);
        }
        Ok(())
    }

    /// Every unit in memory (the whole list once loaded), by code.
    pub fn snapshot(&self) -> std::sync::Arc<HashMap<String, UnitInfo>> {
        self.map.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// The unit `code` if it is in memory (every unit is, once loaded), without a query.
    pub fn cached(&self, code: &str) -> Option<UnitInfo> {
        self.map.read().ok().and_then(|m| m.get(code).cloned())
    }

    /// The unit `code`, from memory or else from the database.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        code: &str,
    ) -> Result<Option<UnitInfo>, sea_orm::DbErr> {
        let map = self.map.read().map(|g| g.clone()).ok();
        if let Some(u) = map.as_ref().and_then(|m| m.get(code)) {
            return Ok(Some(u.clone()));
        }
        let found = find_unit(db, code).await?;
        if let (Some(u), Ok(mut g)) = (&found, self.map.write()) {
            std::sync::Arc::make_mut(&mut g).insert(u.code.clone(), u.clone());
        }
        Ok(found)
    }
}

pub async fn provinces(db: &impl ConnectionTrait) -> Result<Vec<province::Model>, sea_orm::DbErr> {
    province::Entity::find()
        .order_by_asc(province::Column::Code)
        .all(db)
        .await
}

pub async fn find_province(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<province::Model>, sea_orm::DbErr> {
    if !is_code(code, 2) {
        return Ok(None);
    }
    province::Entity::find_by_id(code.to_string()).one(db).await
}

pub async fn units_of_province(
    db: &impl ConnectionTrait,
    province_code: &str,
) -> Result<Vec<unit::Model>, sea_orm::DbErr> {
    unit::Entity::find()
        .filter(unit::Column::ProvinceCode.eq(province_code))
        .order_by_asc(unit::Column::Code)
        .all(db)
        .await
}

pub async fn all_units(db: &impl ConnectionTrait) -> Result<Vec<unit::Model>, sea_orm::DbErr> {
    unit::Entity::find()
        .order_by_asc(unit::Column::Code)
        .all(db)
        .await
}

/// The population margins of a ward, if any were imported.
pub async fn margins_of(
    db: &impl ConnectionTrait,
    ward_code: &str,
) -> Result<Vec<margin::Model>, sea_orm::DbErr> {
    margin::Entity::find()
        .filter(margin::Column::WardCode.eq(ward_code))
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_is_complete() {
        let rows = parse_units(SHIPPED_UNITS_CSV).unwrap();
        assert_eq!(rows.len(), 3321);
        let provinces: HashSet<_> = rows.iter().map(|r| &r.province_code).collect();
        assert_eq!(provinces.len(), 34);
        let count = |k: &str| rows.iter().filter(|r| r.ward_kind == k).count();
        assert_eq!(
            (count("phường"), count("xã"), count("đặc khu")),
            (687, 2621, 13)
        );
    }

    #[test]
    fn bad_unit_lines_are_named() {
        let text = "province_code,province_name,province_type,ward_code,ward_name,ward_type\n\
                    01,Hà Nội,thành phố,00004,Phường Ba Đình,phường\n\
                    1,Hà Nội,thành phố,00008,Phường Ngọc Hà,quận\n\
                    01,Hà Nội,thành phố,00004,Phường X,phường\n";
        let e = parse_units(text).unwrap_err().to_string();
        assert!(e.contains("line 3: province_code `1`"), "{e}");
        assert!(e.contains("line 3: ward_type `quận`"), "{e}");
        assert!(e.contains("line 4: ward_code 00004 repeats line 2"), "{e}");
    }
}
