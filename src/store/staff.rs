//! Staff accounts and their server-side sessions.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};

use crate::auth::{Scope, random_token, sha256_hex};
use crate::entities::{staff_session, staff_user};

/// A signed-in staff member as handlers see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    #[serde(skip)]
    pub scope: Scope,
    pub role: String,
}

impl StaffUser {
    fn from_model(m: staff_user::Model) -> Option<StaffUser> {
        let scope = Scope::from_db(&m.role, m.scope_code.as_deref())?;
        Some(StaffUser {
            id: m.id,
            email: m.email,
            role: scope.to_string(),
            scope,
        })
    }
}

/// Normalised e-mail: trimmed, lower case.
pub fn normalise_email(e: &str) -> String {
    e.trim().to_lowercase()
}

/// A plausible e-mail address (one `@`, a dot in the domain, no spaces).
pub fn plausible_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !e.chars().any(char::is_whitespace)
                && e.len() <= 254
        }
        None => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("a staff user with the e-mail {0} already exists")]
    Exists(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

pub async fn add_user(
    db: &impl ConnectionTrait,
    email: &str,
    scope: &Scope,
    password_hash: &str,
) -> Result<i64, AddUserError> {
    let email = normalise_email(email);
    if staff_user::Entity::find()
        .filter(staff_user::Column::Email.eq(&email))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AddUserError::Exists(email));
    }
    let (role, code) = scope.to_db();
    let m = staff_user::ActiveModel {
        id: NotSet,
        email: Set(email),
        password_hash: Set(password_hash.to_string()),
        role: Set(role.to_string()),
        scope_code: Set(code),
        active: Set(true),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
    };
    Ok(staff_user::Entity::insert(m).exec(db).await?.last_insert_id)
}

/// An active user by e-mail, with its password hash.
pub async fn find_for_login(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<(StaffUser, String)>, DbErr> {
    let m = staff_user::Entity::find()
        .filter(staff_user::Column::Email.eq(normalise_email(email)))
        .filter(staff_user::Column::Active.eq(true))
        .one(db)
        .await?;
    Ok(m.and_then(|m| {
        let hash = m.password_hash.clone();
        StaffUser::from_model(m).map(|u| (u, hash))
    }))
}

pub async fn password_hash_of(db: &impl ConnectionTrait, id: i64) -> Result<Option<String>, DbErr> {
    Ok(staff_user::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|m| m.password_hash))
}

pub async fn set_password(db: &impl ConnectionTrait, id: i64, hash: &str) -> Result<(), DbErr> {
    staff_user::Entity::update_many()
        .col_expr(staff_user::Column::PasswordHash, Expr::value(hash))
        .filter(staff_user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find_user(db: &impl ConnectionTrait, id: i64) -> Result<Option<StaffUser>, DbErr> {
    Ok(staff_user::Entity::find_by_id(id)
        .filter(staff_user::Column::Active.eq(true))
        .one(db)
        .await?
        .and_then(StaffUser::from_model))
}

/// Active users whose role is exactly `ward:CODE` (the colleagues one may assign feedback to).
pub async fn ward_staff(
    db: &impl ConnectionTrait,
    ward_code: &str,
) -> Result<Vec<StaffUser>, DbErr> {
    active_with_role(db, "ward", ward_code).await
}

/// Active users whose role is exactly `province:CODE` (who review the province's wards).
pub async fn province_staff(
    db: &impl ConnectionTrait,
    province_code: &str,
) -> Result<Vec<StaffUser>, DbErr> {
    active_with_role(db, "province", province_code).await
}

/// Active users of role `role` scoped to exactly `code`, by e-mail.
async fn active_with_role(
    db: &impl ConnectionTrait,
    role: &str,
    code: &str,
) -> Result<Vec<StaffUser>, DbErr> {
    Ok(staff_user::Entity::find()
        .filter(staff_user::Column::Role.eq(role))
        .filter(staff_user::Column::ScopeCode.eq(code))
        .filter(staff_user::Column::Active.eq(true))
        .order_by_asc(staff_user::Column::Email)
        .all(db)
        .await?
        .into_iter()
        .filter_map(StaffUser::from_model)
        .collect())
}

/// Which of `wards` have at least one active ward officer.
///
/// The writer asks this for nearly every batch; the statement is written out here (the ward
/// list is one JSON parameter, see `store::json_list`) rather than built by the query builder.
pub async fn wards_with_staff<'a>(
    db: &impl ConnectionTrait,
    wards: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashSet<String>, DbErr> {
    let backend = db.get_database_backend();
    let active = match backend {
        sea_orm::DbBackend::Postgres => "$2",
        _ => "?",
    };
    let sql = format!(
        "SELECT DISTINCT scope_code FROM staff_users WHERE role = 'ward' AND {} AND active = {active}",
        crate::store::in_json_list_sql(backend, "scope_code"),
    );
    let wards: Vec<String> = wards.into_iter().map(str::to_string).collect();
    let mut out = std::collections::HashSet::new();
    for chunk in wards.chunks(500) {
        let list = crate::store::json_list(chunk);
        let rows = db
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                sql.as_str(),
                [list, sea_orm::Value::from(true)],
            ))
            .await?;
        for row in rows {
            // By column name, as every read on the writer's connection is.
            if let Some(ward) = row.try_get::<Option<String>>("", "scope_code")? {
                out.insert(ward);
            }
        }
    }
    Ok(out)
}

/// When sessions end.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// A live session: its user, its CSRF token and the hash that identifies it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub user: StaffUser,
    pub csrf: String,
    /// The primary's WAL position just after the session's last change (with a standby).
    pub last_write_lsn: Option<i64>,
}

/// Creates a session (a sign-in, noted as the user's last); returns the cookie value (only its
/// hash is stored).
pub async fn create_session(db: &impl ConnectionTrait, user_id: i64) -> Result<String, DbErr> {
    let token = random_token();
    let now = Utc::now();
    staff_user::Entity::update_many()
        .col_expr(staff_user::Column::LastLoginAt, Expr::value(now))
        .filter(staff_user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    staff_session::ActiveModel {
        id: Set(sha256_hex(&token)),
        user_id: Set(user_id),
        csrf: Set(random_token()),
        created_at: Set(now),
        last_seen_at: Set(now),
        last_write_lsn: Set(None),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The live session of a cookie value; an expired one is deleted. Refreshes `last_seen_at`
/// (at most once a minute, to spare the database).
pub async fn load_session(
    db: &impl ConnectionTrait,
    token: &str,
    policy: SessionPolicy,
    now: DateTime<Utc>,
) -> Result<Option<Session>, DbErr> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let id = sha256_hex(token);
    let Some(s) = staff_session::Entity::find_by_id(id.clone())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if now - s.created_at > policy.absolute || now - s.last_seen_at > policy.idle {
        staff_session::Entity::delete_by_id(id).exec(db).await?;
        return Ok(None);
    }
    let Some(user) = find_user(db, s.user_id).await? else {
        return Ok(None);
    };
    if now - s.last_seen_at > Duration::seconds(60) {
        staff_session::Entity::update_many()
            .col_expr(staff_session::Column::LastSeenAt, Expr::value(now))
            .filter(staff_session::Column::Id.eq(&id))
            .exec(db)
            .await?;
    }
    Ok(Some(Session {
        id_hash: id,
        user,
        csrf: s.csrf,
        last_write_lsn: s.last_write_lsn,
    }))
}

/// Notes in the session `id_hash` the primary's current WAL position, just after the session
/// changed something (PostgreSQL only: called only with a standby configured).
pub async fn note_write(db: &impl ConnectionTrait, id_hash: &str) -> Result<(), DbErr> {
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        "UPDATE staff_sessions SET last_write_lsn = (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint \
         WHERE id = $1",
        [id_hash.into()],
    ))
    .await?;
    Ok(())
}

pub async fn delete_session(db: &impl ConnectionTrait, id_hash: &str) -> Result<(), DbErr> {
    staff_session::Entity::delete_by_id(id_hash.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a user except `keep` (after a password change).
pub async fn delete_other_sessions(
    db: &impl ConnectionTrait,
    user_id: i64,
    keep: &str,
) -> Result<(), DbErr> {
    staff_session::Entity::delete_many()
        .filter(staff_session::Column::UserId.eq(user_id))
        .filter(staff_session::Column::Id.ne(keep))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes sessions past either limit (called now and then).
pub async fn purge_expired(
    db: &impl ConnectionTrait,
    policy: SessionPolicy,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let r = staff_session::Entity::delete_many()
        .filter(
            Expr::col(staff_session::Column::CreatedAt)
                .lt(now - policy.absolute)
                .or(Expr::col(staff_session::Column::LastSeenAt).lt(now - policy.idle)),
        )
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}
