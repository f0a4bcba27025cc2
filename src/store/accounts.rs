//! Managing staff accounts (docs/console.md, "Accounts"): who manages whom, the list within a
//! scope, adding and inviting, changing a role, deactivating (which ends the user's sessions at
//! once) and reactivating. Each change and its audit entry are written in one transaction; the
//! actor is the console user's e-mail or `cli`. The console (`web::staff::users`) and the CLI
//! (`commands::users`) both go through here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::audit;
use super::staff::{AddUserError, add_user, normalise_email};
use super::units::{self, UnitInfo};
use crate::auth::Scope;
use crate::entities::{staff_session, staff_user, unit};
use crate::survey::{Lang, UnitKind};

/// A staff account as the accounts page and `users list` show it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub email: String,
    /// `None` for a stored role this version does not know (shown as it is stored).
    pub scope: Option<Scope>,
    /// The stored role, e.g. `ward:00004`.
    pub role: String,
    pub active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    fn from_model(m: staff_user::Model) -> Account {
        let scope = Scope::from_db(&m.role, m.scope_code.as_deref());
        let role = scope.as_ref().map_or_else(
            || match &m.scope_code {
                Some(c) => format!("{}:{c}", m.role),
                None => m.role.clone(),
            },
            Scope::to_string,
        );
        Account {
            id: m.id,
            email: m.email,
            scope,
            role,
            active: m.active,
            last_login_at: m.last_login_at,
            created_at: m.created_at,
        }
    }
}

/// The level of a role, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ministry,
    Province,
    Ward,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "ministry" => Some(Level::Ministry),
            "province" => Some(Level::Province),
            "ward" => Some(Level::Ward),
            _ => None,
        }
    }

    pub fn as_db(self) -> &'static str {
        match self {
            Level::Ministry => "ministry",
            Level::Province => "province",
            Level::Ward => "ward",
        }
    }
}

/// Whether `viewer` manages accounts at all (the ministry and province users do).
pub fn manages_accounts(viewer: &Scope) -> bool {
    matches!(viewer, Scope::Ministry | Scope::Province(_))
}

/// Whether `viewer` manages an account of role `target` (or may give that role): the ministry
/// every role; a province user its province's own role and the roles of its wards; a ward user
/// none. Unknown wards and provinces are in nobody's scope but the ministry's, and the
/// ministry's own role is only the ministry's to give.
pub async fn manages(
    db: &impl ConnectionTrait,
    viewer: &Scope,
    target: &Scope,
) -> Result<bool, DbErr> {
    Ok(match (viewer, target) {
        (Scope::Ministry, _) => true,
        (Scope::Province(p), Scope::Province(q)) => p == q,
        (Scope::Province(p), Scope::Ward(w) | Scope::Interviewer(w)) => units::find_unit(db, w)
            .await?
            .is_some_and(|u| u.province_code == *p),
        _ => false,
    })
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub level: Option<Level>,
    pub active: Option<bool>,
}

/// The accounts `viewer` manages, by e-mail (none for a ward user).
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Scope,
    filter: &Filter,
) -> Result<Vec<Account>, DbErr> {
    let mut q = staff_user::Entity::find();
    match viewer {
        Scope::Ministry => {}
        Scope::Province(p) => {
            let wards = Query::select()
                .column(unit::Column::Code)
                .from(unit::Entity)
                .and_where(Expr::col(unit::Column::ProvinceCode).eq(p.as_str()))
                .to_owned();
            q = q.filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(staff_user::Column::Role.eq("province"))
                            .add(staff_user::Column::ScopeCode.eq(p.as_str())),
                    )
                    .add(
                        Condition::all()
                            .add(staff_user::Column::Role.is_in(["ward", "interviewer"]))
                            .add(staff_user::Column::ScopeCode.in_subquery(wards)),
                    ),
            );
        }
        Scope::Ward(_) | Scope::Interviewer(_) => return Ok(Vec::new()),
    }
    if let Some(level) = filter.level {
        q = q.filter(staff_user::Column::Role.eq(level.as_db()));
    }
    if let Some(active) = filter.active {
        q = q.filter(staff_user::Column::Active.eq(active));
    }
    Ok(q.order_by_asc(staff_user::Column::Email)
        .all(db)
        .await?
        .into_iter()
        .map(Account::from_model)
        .collect())
}

/// The account `id` when `viewer` manages it; `None` when it does not exist or lies outside
/// the viewer's scope (the same answer).
pub async fn find_managed(
    db: &impl ConnectionTrait,
    viewer: &Scope,
    id: i64,
) -> Result<Option<Account>, DbErr> {
    let Some(m) = staff_user::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let account = Account::from_model(m);
    match &account.scope {
        Some(s) if manages(db, viewer, s).await? => Ok(Some(account)),
        None if viewer.is_ministry() => Ok(Some(account)),
        _ => Ok(None),
    }
}

/// Any account by e-mail (for the CLI).
pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<Account>, DbErr> {
    Ok(staff_user::Entity::find()
        .filter(staff_user::Column::Email.eq(normalise_email(email)))
        .one(db)
        .await?
        .map(Account::from_model))
}

/// Whether a role's province or ward is in the unit list.
pub async fn role_exists(db: &impl ConnectionTrait, scope: &Scope) -> Result<bool, DbErr> {
    Ok(match scope {
        Scope::Ministry => true,
        Scope::Province(c) => units::find_province(db, c).await?.is_some(),
        Scope::Ward(c) | Scope::Interviewer(c) => units::find_unit(db, c).await?.is_some(),
    })
}

/// Adds a user with a password hash, audited as `user_added` by `actor`.
pub async fn add(
    db: &DatabaseConnection,
    email: &str,
    scope: &Scope,
    password_hash: &str,
    actor: &str,
) -> Result<i64, AddUserError> {
    let txn = super::begin_write(db).await?;
    let id = add_user(&txn, email, scope, password_hash).await?;
    let detail = serde_json::json!({"id": id, "role": scope.to_string()});
    audit::record(
        &txn,
        actor,
        "user_added",
        &normalise_email(email),
        Some(detail.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// What an invitation mail needs.
pub struct InviteMail<'a> {
    pub tera: &'a tera::Tera,
    pub base_url: &'a str,
    pub secret: &'a [u8],
    pub valid: chrono::Duration,
}

/// Adds a user with a random password nobody knows and enqueues, in the same transaction, an
/// `invite` message with a signed, expiring link to set one; audited as `user_invited`.
/// `password_hash` is the hash of that random password (hashing is left to the caller, which
/// may run it off the async threads).
pub async fn invite(
    db: &DatabaseConnection,
    mail: &InviteMail<'_>,
    email: &str,
    scope: &Scope,
    password_hash: &str,
    actor: &str,
) -> Result<i64, AddUserError> {
    let txn = super::begin_write(db).await?;
    let id = add_user(&txn, email, scope, password_hash).await?;
    let user = staff_user::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the user just added".into()))?;
    enqueue_invite(&txn, mail, &user).await?;
    let detail = serde_json::json!({"id": id, "role": scope.to_string()});
    audit::record(
        &txn,
        actor,
        "user_invited",
        &user.email,
        Some(detail.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(id)
}

async fn enqueue_invite(
    db: &impl ConnectionTrait,
    mail: &InviteMail<'_>,
    user: &staff_user::Model,
) -> Result<(), DbErr> {
    crate::mail::password::enqueue_link(
        db,
        mail.tera,
        mail.base_url,
        mail.secret,
        user,
        "invite",
        mail.valid,
    )
    .await
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    /// The account was already so: nothing written, nothing audited.
    Unchanged,
    NotFound,
}

/// Deactivates (`active` false) or reactivates an account. Deactivating deletes every session
/// of the user in the same transaction, so that a request with an old session cookie is signed
/// out at once (and `load_session` finds no active user for one in flight). Audited as
/// `user_deactivated` or `user_reactivated`.
pub async fn set_active(
    db: &DatabaseConnection,
    id: i64,
    active: bool,
    actor: &str,
) -> Result<Outcome, DbErr> {
    let txn = super::begin_write(db).await?;
    let Some(user) = staff_user::Entity::find_by_id(id).one(&txn).await? else {
        return Ok(Outcome::NotFound);
    };
    if user.active == active {
        return Ok(Outcome::Unchanged);
    }
    staff_user::Entity::update_many()
        .col_expr(staff_user::Column::Active, Expr::value(active))
        .filter(staff_user::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let mut detail = serde_json::json!({"id": id});
    if !active {
        let ended = staff_session::Entity::delete_many()
            .filter(staff_session::Column::UserId.eq(id))
            .exec(&txn)
            .await?
            .rows_affected;
        detail["sessions_ended"] = ended.into();
    }
    let action = if active {
        "user_reactivated"
    } else {
        "user_deactivated"
    };
    audit::record(&txn, actor, action, &user.email, Some(detail.to_string())).await?;
    txn.commit().await?;
    Ok(Outcome::Changed)
}

/// Gives account `id` the role `scope`; audited as `user_role_changed` with both roles.
pub async fn set_role(
    db: &DatabaseConnection,
    id: i64,
    scope: &Scope,
    actor: &str,
) -> Result<Outcome, DbErr> {
    let txn = super::begin_write(db).await?;
    let Some(user) = staff_user::Entity::find_by_id(id).one(&txn).await? else {
        return Ok(Outcome::NotFound);
    };
    let before = Account::from_model(user.clone());
    if before.scope.as_ref() == Some(scope) {
        return Ok(Outcome::Unchanged);
    }
    let (role, code) = scope.to_db();
    staff_user::Entity::update_many()
        .col_expr(staff_user::Column::Role, Expr::value(role))
        .col_expr(staff_user::Column::ScopeCode, Expr::value(code))
        .filter(staff_user::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let detail = serde_json::json!({"id": id, "from": before.role, "to": scope.to_string()});
    audit::record(
        &txn,
        actor,
        "user_role_changed",
        &user.email,
        Some(detail.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(Outcome::Changed)
}

/// Why an invitation cannot be sent again.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("no such account")]
    NotFound,
    #[error("the account is deactivated")]
    Inactive,
    #[error("the account has signed in already")]
    SignedIn,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Whether the invitation of an account can be sent again: it is active and has never
/// signed in (someone who has can use "Quên mật khẩu").
pub fn can_resend(a: &Account) -> bool {
    a.active && a.last_login_at.is_none()
}

/// Enqueues a fresh invitation for account `id`; audited as `user_invite_resent`.
pub async fn resend_invite(
    db: &DatabaseConnection,
    mail: &InviteMail<'_>,
    id: i64,
    actor: &str,
) -> Result<(), ResendError> {
    let txn = super::begin_write(db).await?;
    let Some(user) = staff_user::Entity::find_by_id(id).one(&txn).await? else {
        return Err(ResendError::NotFound);
    };
    if !user.active {
        return Err(ResendError::Inactive);
    }
    if user.last_login_at.is_some() {
        return Err(ResendError::SignedIn);
    }
    enqueue_invite(&txn, mail, &user).await?;
    let detail = serde_json::json!({"id": id});
    audit::record(
        &txn,
        actor,
        "user_invite_resent",
        &user.email,
        Some(detail.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The names behind roles: provinces and the wards asked for.
#[derive(Debug, Default)]
pub struct RoleNames {
    provinces: HashMap<String, String>,
    wards: HashMap<String, UnitInfo>,
}

impl RoleNames {
    /// Every province, and the wards of these roles.
    pub async fn load<'a>(
        db: &impl ConnectionTrait,
        roles: impl IntoIterator<Item = &'a Scope>,
    ) -> Result<RoleNames, DbErr> {
        let provinces: HashMap<String, String> = units::provinces(db)
            .await?
            .into_iter()
            .map(|p| (p.code, p.name))
            .collect();
        let mut codes: Vec<String> = roles
            .into_iter()
            .filter_map(|s| match s {
                Scope::Ward(w) | Scope::Interviewer(w) => Some(w.clone()),
                _ => None,
            })
            .collect();
        codes.sort();
        codes.dedup();
        let mut wards = HashMap::new();
        for chunk in codes.chunks(500) {
            for u in unit::Entity::find()
                .filter(unit::Column::Code.is_in(chunk.iter().cloned()))
                .all(db)
                .await?
            {
                let info = UnitInfo {
                    province_name: provinces.get(&u.province_code).cloned().unwrap_or_default(),
                    code: u.code,
                    name: u.name,
                    kind: u.kind,
                    province_code: u.province_code,
                };
                wards.insert(info.code.clone(), info);
            }
        }
        Ok(RoleNames { provinces, wards })
    }

    /// Adds wards already looked up (the role picker's).
    pub fn add_wards(&mut self, wards: impl IntoIterator<Item = UnitInfo>) {
        for w in wards {
            self.wards.insert(w.code.clone(), w);
        }
    }

    pub fn province_name(&self, code: &str) -> Option<&str> {
        self.provinces.get(code).map(String::as_str)
    }

    /// The ward of a ward role, when it is in the unit list.
    pub fn ward(&self, code: &str) -> Option<&UnitInfo> {
        self.wards.get(code)
    }

    /// The province a role lies in (`None` for the ministry or an unknown ward).
    pub fn province_of(&self, scope: &Scope) -> Option<String> {
        match scope {
            Scope::Ministry => None,
            Scope::Province(p) => Some(p.clone()),
            Scope::Ward(w) | Scope::Interviewer(w) => {
                self.wards.get(w).map(|u| u.province_code.clone())
            }
        }
    }

    /// The role in words: "Bộ Công an", "Công an thành phố Hà Nội", "Công an phường Ba Đình"
    /// (in English "Ministry of Public Security", "Police of Thành phố Hà Nội", "Ward police of
    /// Phường Ba Đình"). A unit no longer in the list is named by its kind and code.
    pub fn title(&self, scope: &Scope, lang: Lang) -> String {
        match scope {
            Scope::Ministry => match lang {
                Lang::Vi => "Bộ Công an".into(),
                Lang::En => "Ministry of Public Security".into(),
            },
            Scope::Province(p) => match (self.provinces.get(p), lang) {
                (Some(name), Lang::Vi) => province_title(name),
                (Some(name), Lang::En) => format!("Police of {name}"),
                (None, Lang::Vi) => format!("Công an tỉnh, thành phố (mã {p})"),
                (None, Lang::En) => format!("Province police (code {p})"),
            },
            Scope::Ward(w) => match (self.wards.get(w), lang) {
                (Some(u), Lang::Vi) => ward_title(u),
                (Some(u), Lang::En) => {
                    let word = match UnitKind::from_db(&u.kind) {
                        Some(UnitKind::Xa) => "Commune police",
                        Some(UnitKind::DacKhu) => "Special zone police",
                        _ => "Ward police",
                    };
                    format!("{word} of {}", u.name)
                }
                (None, Lang::Vi) => format!("Công an phường, xã (mã {w})"),
                (None, Lang::En) => format!("Ward police (code {w})"),
            },
            Scope::Interviewer(w) => match (self.wards.get(w), lang) {
                (Some(u), Lang::Vi) => format!("Điều tra viên – {}", u.name),
                (Some(u), Lang::En) => format!("Interviewer – {}", u.name),
                (None, Lang::Vi) => format!("Điều tra viên (mã {w})"),
                (None, Lang::En) => format!("Interviewer (code {w})"),
            },
        }
    }
}

/// "Thành phố Hà Nội" → "Công an thành phố Hà Nội"; "Tỉnh Lào Cai" → "Công an tỉnh Lào Cai".
pub fn province_title(name: &str) -> String {
    for (prefix, word) in [("Thành phố ", "thành phố "), ("Tỉnh ", "tỉnh ")] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return format!("Công an {word}{rest}");
        }
    }
    format!("Công an {name}")
}

/// "Phường Ba Đình" (kind phường) → "Công an phường Ba Đình".
pub fn ward_title(u: &UnitInfo) -> String {
    let word = UnitKind::from_db(&u.kind).map_or("Công an", |k| k.unit_word(Lang::Vi));
    let lower = u.name.to_lowercase();
    let short = ["phường ", "xã ", "đặc khu "]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map_or(u.name.as_str(), |p| &u.name[p.len()..]);
    format!("{word} {short}")
}

/// A time as pages and `users list` show it: dd/mm/yyyy HH:mm, Vietnam time.
pub fn vn_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::period::vietnam())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_in_words() {
        assert_eq!(
            province_title("Thành phố Hà Nội"),
            "Công an thành phố Hà Nội"
        );
        assert_eq!(province_title("Tỉnh Lào Cai"), "Công an tỉnh Lào Cai");
        let u = UnitInfo {
            code: "00004".into(),
            name: "Phường Ba Đình".into(),
            kind: "phường".into(),
            province_code: "01".into(),
            province_name: "Thành phố Hà Nội".into(),
        };
        assert_eq!(ward_title(&u), "Công an phường Ba Đình");
        let mut names = RoleNames::default();
        names.add_wards([u]);
        assert_eq!(
            names.title(&Scope::Ward("00004".into()), Lang::Vi),
            "Công an phường Ba Đình"
        );
        assert_eq!(names.title(&Scope::Ministry, Lang::Vi), "Bộ Công an");
        assert_eq!(
            names.province_of(&Scope::Ward("00004".into())).as_deref(),
            Some("01")
        );
        assert_eq!(
            vn_time(
                DateTime::parse_from_rfc3339("2026-12-07T17:05:00Z")
                    .unwrap()
                    .into()
            ),
            "08/12/2026 00:05"
        );
    }
}
