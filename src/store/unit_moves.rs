//! `units import` and units that change province. A unit with responses, staff accounts or
//! posters keeps them when its row names another province, so the province's figures, scopes
//! and posters would change under their users: such a move is refused unless the operator
//! allows it (`--allow-move`), and every move is audited. See `docs/hardening.md`.

use std::collections::HashMap;
use std::fmt;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter,
};

use super::units::{UnitRow, write_units};
use crate::entities::{poster, response, staff_user, unit};

/// A unit whose row names another province than the stored one, with what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub ward_code: String,
    pub ward_name: String,
    pub from_province: String,
    pub to_province: String,
    pub responses: u64,
    pub staff: u64,
    pub posters: u64,
}

impl Move {
    /// Whether the unit holds anything that moves with it.
    pub fn holds_data(&self) -> bool {
        self.responses + self.staff + self.posters > 0
    }
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Move {
            ward_code,
            ward_name,
            from_province: from,
            to_province: to,
            responses,
            staff,
            posters,
        } = self;
        write!(
            f,
            "{ward_code} {ward_name}: tỉnh/thành {from} → {to} ({responses} phiếu, {staff} tài \
             khoản cán bộ, {posters} áp phích / province {from} → {to}: {responses} responses, \
             {staff} staff accounts, {posters} posters)"
        )
    }
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    /// Units with data would move to another province and `--allow-move` was not given.
    Refused(Vec<Move>),
    Db(DbErr),
}

impl From<DbErr> for ImportError {
    fn from(e: DbErr) -> Self {
        ImportError::Db(e)
    }
}

/// Imports `rows` (insert or update by code) in one transaction. A unit that would move to
/// another province while it has responses, staff or posters refuses the whole file unless
/// `allow_move`; every move that is made is audited as `unit.move` by `actor`. Returns the
/// moves made.
pub async fn import_units(
    db: &DatabaseConnection,
    rows: &[UnitRow],
    allow_move: bool,
    actor: &str,
) -> Result<Vec<Move>, ImportError> {
    let txn = super::begin_write(db).await?;
    let moves = moves(&txn, rows).await?;
    let held: Vec<Move> = moves.iter().filter(|m| m.holds_data()).cloned().collect();
    if !held.is_empty() && !allow_move {
        txn.rollback().await?;
        return Err(ImportError::Refused(held));
    }
    write_units(&txn, rows).await?;
    for m in &moves {
        super::audit::record(
            &txn,
            actor,
            "unit.move",
            &format!("unit:{}", m.ward_code),
            Some(
                serde_json::json!({
                    "from_province": m.from_province,
                    "to_province": m.to_province,
                    "responses": m.responses,
                    "staff": m.staff,
                    "posters": m.posters,
                })
                .to_string(),
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(moves)
}

/// The units of `rows` that are stored under another province, with what each holds.
async fn moves(db: &impl ConnectionTrait, rows: &[UnitRow]) -> Result<Vec<Move>, DbErr> {
    let stored: HashMap<String, String> = unit::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.code, u.province_code))
        .collect();
    let mut out = Vec::new();
    for r in rows {
        let Some(from) = stored.get(&r.ward_code) else {
            continue;
        };
        if *from == r.province_code {
            continue;
        }
        let code = r.ward_code.clone();
        out.push(Move {
            responses: response::Entity::find()
                .filter(response::Column::WardCode.eq(code.as_str()))
                .count(db)
                .await?,
            staff: staff_user::Entity::find()
                .filter(staff_user::Column::ScopeCode.eq(code.as_str()))
                .count(db)
                .await?,
            posters: poster::Entity::find()
                .filter(poster::Column::WardCode.eq(code.as_str()))
                .count(db)
                .await?,
            ward_code: code,
            ward_name: r.ward_name.clone(),
            from_province: from.clone(),
            to_province: r.province_code.clone(),
        });
    }
    Ok(out)
}
