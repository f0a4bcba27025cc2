//! Staff accounts (docs/console.md, "Accounts"), for the ministry (every account) and province
//! users (their province's own accounts and those of its wards); ward users get 403.
//! `GET /staff/users` lists them (filter by text, level, state); `GET /staff/users/new` and
//! `POST /staff/users` invite; `GET /staff/users/{id}` is an account's page; `POST
//! /staff/users/{id}/role`, `…/deactivate`, `…/reactivate`, `…/resend` change it. An account
//! outside the scope is 404, like one that does not exist. Each change is audited in its
//! transaction (`store::accounts`) and redirects to the list with a confirmation.
//!
//! The role picker is one `<select>`: the ministry's role (for the ministry), the province
//! roles, and the wards of one province — the user's own, or for the ministry the one chosen
//! first in a small GET form above (`?province=01`), so that no page lists 3,321 wards and
//! everything works without JavaScript.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{Staff, render, see_other};
use crate::app::AppState;
use crate::auth::{Scope, password};
use crate::error::{AppError, AppResult};
use crate::store::accounts::{self, Account, Level, Outcome, ResendError, RoleNames};
use crate::store::staff::{AddUserError, normalise_email, plausible_email};
use crate::store::units::{self, UnitInfo};
use crate::web::{FinalPage, Lang, public::fold, render_error_page};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/users", get(list).post(invite))
        .route("/staff/users/new", get(new_page))
        .route("/staff/users/{id}", get(account_page))
        .route("/staff/users/{id}/role", post(change_role))
        .route("/staff/users/{id}/deactivate", post(deactivate))
        .route("/staff/users/{id}/reactivate", post(reactivate))
        .route("/staff/users/{id}/resend", post(resend))
}

/// `Some(403 page)` for a user who manages no accounts (a ward user).
fn not_manager(state: &AppState, staff: &Staff) -> Option<Response> {
    if accounts::manages_accounts(staff.scope()) {
        return None;
    }
    Some(render_error_page(
        state,
        StatusCode::FORBIDDEN,
        staff.lang,
        Some(
            "Chỉ cán bộ Công an tỉnh, thành phố và Bộ Công an quản lý tài khoản. / Only province \
             and ministry staff manage accounts.",
        ),
    ))
}

fn lang_q(staff: &Staff, first: bool) -> &'static str {
    match (staff.lang, first) {
        (Lang::En, true) => "?lang=en",
        (Lang::En, false) => "&lang=en",
        _ => "",
    }
}

fn words(lang: Lang, vi: &str, en: &str) -> String {
    match lang {
        Lang::Vi => vi.to_string(),
        Lang::En => en.to_string(),
    }
}

/// The account `id` (a path segment) when the user manages it, else 404.
async fn managed(state: &AppState, staff: &Staff, id: &str) -> AppResult<Account> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    accounts::find_managed(&state.db, staff.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

// ---------- the list ----------

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    level: Option<String>,
    active: Option<String>,
    page: Option<usize>,
    done: Option<String>,
    id: Option<String>,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    email: String,
    role: String,
    last_login: Option<String>,
    active: bool,
    me: bool,
}

const PAGE: usize = 100;

async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    let level = q.level.as_deref().and_then(Level::parse);
    let active = match q.active.as_deref() {
        Some("1") => Some(true),
        Some("0") => Some(false),
        _ => None,
    };
    let filter = accounts::Filter { level, active };
    let all = accounts::list(&state.db, staff.scope(), &filter).await?;
    let names = RoleNames::load(&state.db, all.iter().filter_map(|a| a.scope.as_ref())).await?;
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let needle = text.map(fold);
    let rows: Vec<Row> = all
        .iter()
        .map(|a| Row {
            id: a.id,
            email: a.email.clone(),
            role: role_words(&names, a, staff.lang),
            last_login: a.last_login_at.map(accounts::vn_time),
            active: a.active,
            me: a.id == staff.user.id,
        })
        .filter(|r| {
            needle
                .as_ref()
                .is_none_or(|n| fold(&r.email).contains(n) || fold(&r.role).contains(n))
        })
        .collect();
    let total = rows.len();
    let page = q.page.unwrap_or(0).min(total.saturating_sub(1) / PAGE);
    let shown: Vec<&Row> = rows.iter().skip(page * PAGE).take(PAGE).collect();
    let notice = match (q.done.as_deref(), q.id.as_deref()) {
        (Some(done), Some(id)) => match id.parse::<i64>() {
            Ok(id) => match accounts::find_managed(&state.db, staff.scope(), id).await? {
                Some(a) => {
                    let names = RoleNames::load(&state.db, a.scope.as_ref()).await?;
                    notice(done, &a, &role_words(&names, &a, staff.lang), staff.lang)
                }
                None => None,
            },
            Err(_) => None,
        },
        _ => None,
    };
    // The filter's own query string, for the page links.
    let mut keep: Vec<(&str, String)> = Vec::new();
    if let Some(t) = text {
        keep.push(("q", t.to_string()));
    }
    if let Some(l) = q.level.as_deref().filter(|l| Level::parse(l).is_some()) {
        keep.push(("level", l.to_string()));
    }
    if let Some(a) = q.active.as_deref().filter(|a| *a == "1" || *a == "0") {
        keep.push(("active", a.to_string()));
    }
    if staff.lang == Lang::En {
        keep.push(("lang", "en".into()));
    }
    let filter_qs: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(keep)
        .finish();
    let mut ctx = staff.context();
    ctx.insert("rows", &shown);
    ctx.insert("total", &total);
    ctx.insert("page", &page);
    ctx.insert("has_next", &((page + 1) * PAGE < total));
    ctx.insert("filter_qs", &filter_qs);
    ctx.insert("q", &text.unwrap_or_default());
    ctx.insert("level", &level.map(Level::as_db));
    ctx.insert(
        "active",
        &q.active.as_deref().filter(|a| *a == "1" || *a == "0"),
    );
    ctx.insert("notice", &notice);
    render(&state, "staff/users.html", &ctx)
}

fn role_words(names: &RoleNames, a: &Account, lang: Lang) -> String {
    match &a.scope {
        Some(s) => names.title(s, lang),
        None => a.role.clone(),
    }
}

/// The confirmation shown after an action redirected to the list.
fn notice(done: &str, a: &Account, role: &str, lang: Lang) -> Option<String> {
    let e = &a.email;
    Some(match done {
        "invited" => words(
            lang,
            &format!("Đã tạo tài khoản {e} ({role}) và gửi thư mời đặt mật khẩu."),
            &format!(
                "The account {e} ({role}) was created and an invitation to set a password was sent."
            ),
        ),
        "resent" => words(
            lang,
            &format!("Đã gửi lại thư mời tới {e}."),
            &format!("The invitation was sent again to {e}."),
        ),
        "deactivated" => words(
            lang,
            &format!("Đã khoá tài khoản {e}; các phiên đăng nhập của tài khoản này đã kết thúc."),
            &format!("The account {e} was deactivated; its sessions have ended."),
        ),
        "reactivated" => words(
            lang,
            &format!("Đã mở khoá tài khoản {e}; tài khoản đăng nhập lại được."),
            &format!("The account {e} was reactivated; it can sign in again."),
        ),
        "role" => words(
            lang,
            &format!("Đã đổi vai trò của {e} thành {role}."),
            &format!("The role of {e} is now {role}."),
        ),
        "unchanged" => words(
            lang,
            &format!("Không có gì thay đổi: tài khoản {e} đã ở trạng thái đó."),
            &format!("Nothing changed: the account {e} was already so."),
        ),
        _ => return None,
    })
}

fn back_to_list(staff: &Staff, done: &str, id: i64) -> Response {
    see_other(&format!(
        "/staff/users?done={done}&id={id}{}",
        lang_q(staff, false)
    ))
}

// ---------- the role picker ----------

#[derive(Serialize)]
struct Opt {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct Group {
    label: String,
    options: Vec<Opt>,
}

#[derive(Serialize, Default)]
struct Picker {
    groups: Vec<Group>,
    /// The ministry's province list (which province's wards the picker shows).
    provinces: Option<Vec<Opt>>,
    /// The province whose wards are listed.
    province_name: Option<String>,
}

/// The roles `staff` may give, with `selected` (a role as typed) selected. `province`: for the
/// ministry, whose wards to list (else the selected role's province).
async fn picker(
    state: &AppState,
    staff: &Staff,
    selected: &str,
    province: Option<&str>,
) -> AppResult<Picker> {
    let lang = staff.lang;
    let opt = |value: String, label: String| Opt {
        selected: value == selected,
        value,
        label,
    };
    let all_provinces = units::provinces(&state.db).await?;
    let mut groups = Vec::new();
    let (province, chooser) = match staff.scope() {
        Scope::Ministry => {
            groups.push(Group {
                label: words(lang, "Bộ Công an", "Ministry"),
                options: vec![opt(
                    "ministry".into(),
                    words(lang, "Bộ Công an", "Ministry of Public Security"),
                )],
            });
            groups.push(Group {
                label: words(lang, "Công an tỉnh, thành phố", "Province police"),
                options: all_provinces
                    .iter()
                    .map(|p| {
                        opt(
                            format!("province:{}", p.code),
                            match lang {
                                Lang::Vi => accounts::province_title(&p.name),
                                Lang::En => format!("Police of {}", p.name),
                            },
                        )
                    })
                    .collect(),
            });
            // The province asked for, else that of the selected role.
            let from_role = match Scope::parse(selected) {
                Ok(Scope::Province(p)) => Some(p),
                Ok(Scope::Ward(w) | Scope::Interviewer(w)) => units::find_unit(&state.db, &w)
                    .await?
                    .map(|u| u.province_code),
                _ => None,
            };
            let chosen = province
                .filter(|p| all_provinces.iter().any(|x| x.code == *p))
                .map(str::to_string)
                .or(from_role);
            let chooser = all_provinces
                .iter()
                .map(|p| Opt {
                    value: p.code.clone(),
                    label: p.name.clone(),
                    selected: chosen.as_deref() == Some(p.code.as_str()),
                })
                .collect();
            (chosen, Some(chooser))
        }
        Scope::Province(p) => {
            if let Some(prov) = all_provinces.iter().find(|x| x.code == *p) {
                groups.push(Group {
                    label: words(lang, "Công an tỉnh, thành phố", "Province police"),
                    options: vec![opt(
                        format!("province:{}", prov.code),
                        match lang {
                            Lang::Vi => accounts::province_title(&prov.name),
                            Lang::En => format!("Police of {}", prov.name),
                        },
                    )],
                });
            }
            (Some(p.clone()), None)
        }
        Scope::Ward(_) | Scope::Interviewer(_) => (None, None),
    };
    let mut province_name = None;
    if let Some(p) = province
        && let Some(prov) = all_provinces.iter().find(|x| x.code == p)
    {
        let mut wards: Vec<UnitInfo> = units::units_of_province(&state.db, &p)
            .await?
            .into_iter()
            .map(|u| UnitInfo {
                code: u.code,
                name: u.name,
                kind: u.kind,
                province_code: u.province_code,
                province_name: prov.name.clone(),
            })
            .collect();
        wards.sort_by_cached_key(|u| (fold(&u.name), u.code.clone()));
        let mut names = RoleNames::default();
        names.add_wards(wards.iter().cloned());
        groups.push(Group {
            label: words(
                lang,
                &format!("Công an phường, xã của {}", prov.name),
                &format!("Ward and commune police of {}", prov.name),
            ),
            options: wards
                .iter()
                .map(|u| {
                    let s = Scope::Ward(u.code.clone());
                    opt(s.to_string(), names.title(&s, lang))
                })
                .collect(),
        });
        // Interviewers from outside the police (docs/integrity.md, "Assisted interviews").
        groups.push(Group {
            label: words(
                lang,
                &format!("Điều tra viên phỏng vấn trực tiếp tại {}", prov.name),
                &format!("Interviewers in {}", prov.name),
            ),
            options: wards
                .iter()
                .map(|u| {
                    let s = Scope::Interviewer(u.code.clone());
                    opt(s.to_string(), names.title(&s, lang))
                })
                .collect(),
        });
        province_name = Some(prov.name.clone());
    }
    Ok(Picker {
        groups,
        provinces: chooser,
        province_name,
    })
}

/// Checks a role sent by a form: a known role within the user's scope. `Err` is the message
/// shown beside the role field.
async fn checked_role(
    state: &AppState,
    staff: &Staff,
    role: &str,
) -> AppResult<Result<Scope, String>> {
    let lang = staff.lang;
    let Ok(scope) = Scope::parse(role) else {
        return Ok(Err(words(
            lang,
            "Hãy chọn vai trò trong danh sách.",
            "Choose a role from the list.",
        )));
    };
    if !accounts::role_exists(&state.db, &scope).await? {
        return Ok(Err(words(
            lang,
            "Vai trò này không có trong danh sách đơn vị; hãy chọn vai trò trong danh sách.",
            "This role is not in the unit list; choose a role from the list.",
        )));
    }
    if !accounts::manages(&state.db, staff.scope(), &scope).await? {
        return Ok(Err(words(
            lang,
            "Anh/chị chỉ giao được vai trò trong phạm vi tỉnh, thành phố của mình (không giao được vai trò của Bộ Công an hay của tỉnh, thành phố khác).",
            "You can only give roles within your own province (not the ministry's, nor another province's).",
        )));
    }
    Ok(Ok(scope))
}

// ---------- inviting ----------

#[derive(Deserialize, Default)]
pub struct NewQuery {
    province: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    csrf: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    /// The province whose wards the picker listed (kept for a 422).
    province: Option<String>,
}

#[derive(Serialize, Default)]
struct FieldErrors {
    email: Option<String>,
    role: Option<String>,
}

async fn invite_form(
    state: &AppState,
    staff: &Staff,
    f: &InviteForm,
    errors: FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut ctx = staff.context();
    ctx.insert("email", f.email.trim());
    ctx.insert(
        "picker",
        &picker(state, staff, f.role.trim(), f.province.as_deref()).await?,
    );
    ctx.insert(
        "has_errors",
        &(errors.email.is_some() || errors.role.is_some()),
    );
    ctx.insert("errors", &errors);
    ctx.insert("valid_hours", &state.config.mail.invite_valid_hours);
    let mut resp = render(state, "staff/user_new.html", &ctx)?;
    *resp.status_mut() = status;
    resp.extensions_mut().insert(FinalPage);
    Ok(resp)
}

async fn new_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    let f = InviteForm {
        province: q.province,
        ..Default::default()
    };
    invite_form(&state, &staff, &f, FieldErrors::default(), StatusCode::OK).await
}

fn invite_mail<'a>(state: &'a AppState, tera: &'a tera::Tera) -> accounts::InviteMail<'a> {
    accounts::InviteMail {
        tera,
        base_url: &state.config.base_url,
        secret: state.secrets.server(),
        valid: chrono::Duration::hours(i64::from(state.config.mail.invite_valid_hours)),
    }
}

async fn invite(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<InviteForm>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let lang = staff.lang;
    let email = normalise_email(&f.email);
    let mut errors = FieldErrors::default();
    if email.is_empty() {
        errors.email = Some(words(
            lang,
            "Hãy nhập địa chỉ e-mail của cán bộ.",
            "Enter the officer's e-mail address.",
        ));
    } else if !plausible_email(&email) {
        errors.email = Some(words(
            lang,
            "Địa chỉ e-mail không hợp lệ (ví dụ: canbo@congan.gov.vn).",
            "This is not a valid e-mail address (e.g. officer@congan.gov.vn).",
        ));
    }
    let scope = match checked_role(&state, &staff, f.role.trim()).await? {
        Ok(s) => Some(s),
        Err(m) => {
            errors.role = Some(m);
            None
        }
    };
    let (Some(scope), None) = (scope, &errors.email) else {
        return invite_form(&state, &staff, &f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let hash = tokio::task::spawn_blocking(|| password::hash(&password::generate()))
        .await
        .map_err(|e| AppError::Internal(format!("password hash: {e}")))?
        .map_err(AppError::Internal)?;
    let mail = invite_mail(&state, &state.tera);
    match accounts::invite(&state.db, &mail, &email, &scope, &hash, &staff.user.email).await {
        Ok(id) => Ok(back_to_list(&staff, "invited", id)),
        Err(AddUserError::Exists(_)) => {
            let errors = FieldErrors {
                email: Some(words(
                    lang,
                    "Đã có tài khoản với địa chỉ e-mail này.",
                    "An account with this e-mail address exists already.",
                )),
                role: None,
            };
            invite_form(&state, &staff, &f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AddUserError::Db(e)) => Err(e.into()),
    }
}

// ---------- one account ----------

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    province: Option<String>,
}

/// The account page: its facts, the role form and the state buttons. `error`: the message of a
/// refused action (beside the role field when `role_error`), shown with `status`.
struct AccountView<'a> {
    role: &'a str,
    province: Option<&'a str>,
    role_error: Option<String>,
    action_error: Option<String>,
    status: StatusCode,
}

async fn account_view(
    state: &AppState,
    staff: &Staff,
    a: &Account,
    v: AccountView<'_>,
) -> AppResult<Response> {
    let names = RoleNames::load(&state.db, a.scope.as_ref()).await?;
    let mut ctx = staff.context();
    ctx.insert(
        "account",
        &serde_json::json!({
            "id": a.id,
            "email": a.email,
            "role": role_words(&names, a, staff.lang),
            "active": a.active,
            "last_login": a.last_login_at.map(accounts::vn_time),
            "created": accounts::vn_time(a.created_at),
            "me": a.id == staff.user.id,
            "can_resend": accounts::can_resend(a),
        }),
    );
    ctx.insert("picker", &picker(state, staff, v.role, v.province).await?);
    ctx.insert("role_error", &v.role_error);
    ctx.insert("action_error", &v.action_error);
    let mut resp = render(state, "staff/user.html", &ctx)?;
    *resp.status_mut() = v.status;
    resp.extensions_mut().insert(FinalPage);
    Ok(resp)
}

async fn account_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<AccountQuery>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    let a = managed(&state, &staff, &id).await?;
    let view = AccountView {
        role: &a.role,
        province: q.province.as_deref(),
        role_error: None,
        action_error: None,
        status: StatusCode::OK,
    };
    account_view(&state, &staff, &a, view).await
}

#[derive(Deserialize, Default)]
pub struct RoleForm {
    csrf: Option<String>,
    #[serde(default)]
    role: String,
    province: Option<String>,
}

async fn change_role(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let a = managed(&state, &staff, &id).await?;
    let view = |role_error: Option<String>, status| AccountView {
        role: f.role.trim(),
        province: f.province.as_deref(),
        role_error,
        action_error: None,
        status,
    };
    if a.id == staff.user.id {
        let m = words(
            staff.lang,
            "Anh/chị không thể tự đổi vai trò của mình; hãy nhờ cấp trên.",
            "You cannot change your own role; ask someone above you.",
        );
        return account_view(
            &state,
            &staff,
            &a,
            view(Some(m), StatusCode::UNPROCESSABLE_ENTITY),
        )
        .await;
    }
    let scope = match checked_role(&state, &staff, f.role.trim()).await? {
        Ok(s) => s,
        Err(m) => {
            return account_view(
                &state,
                &staff,
                &a,
                view(Some(m), StatusCode::UNPROCESSABLE_ENTITY),
            )
            .await;
        }
    };
    match accounts::set_role(&state.db, a.id, &scope, &staff.user.email).await? {
        Outcome::Changed => Ok(back_to_list(&staff, "role", a.id)),
        Outcome::Unchanged => Ok(back_to_list(&staff, "unchanged", a.id)),
        Outcome::NotFound => Err(AppError::NotFound),
    }
}

async fn set_active(
    state: &AppState,
    staff: &Staff,
    id: &str,
    active: bool,
) -> AppResult<Response> {
    let a = managed(state, staff, id).await?;
    if !active && a.id == staff.user.id {
        let m = words(
            staff.lang,
            "Anh/chị không thể tự khoá tài khoản của mình.",
            "You cannot deactivate your own account.",
        );
        let view = AccountView {
            role: &a.role,
            province: None,
            role_error: None,
            action_error: Some(m),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        };
        return account_view(state, staff, &a, view).await;
    }
    match accounts::set_active(&state.db, a.id, active, &staff.user.email).await? {
        Outcome::Changed if active => Ok(back_to_list(staff, "reactivated", a.id)),
        Outcome::Changed => Ok(back_to_list(staff, "deactivated", a.id)),
        Outcome::Unchanged => Ok(back_to_list(staff, "unchanged", a.id)),
        Outcome::NotFound => Err(AppError::NotFound),
    }
}

async fn deactivate(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    set_active(&state, &staff, &id, false).await
}

async fn reactivate(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    set_active(&state, &staff, &id, true).await
}

async fn resend(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> AppResult<Response> {
    if let Some(r) = not_manager(&state, &staff) {
        return Ok(r);
    }
    if let Some(r) = staff.check_csrf(&state, f.csrf.as_deref()) {
        return Ok(r);
    }
    let a = managed(&state, &staff, &id).await?;
    let mail = invite_mail(&state, &state.tera);
    let refused = match accounts::resend_invite(&state.db, &mail, a.id, &staff.user.email).await {
        Ok(()) => return Ok(back_to_list(&staff, "resent", a.id)),
        Err(ResendError::NotFound) => return Err(AppError::NotFound),
        Err(ResendError::Db(e)) => return Err(e.into()),
        Err(ResendError::Inactive) => words(
            staff.lang,
            "Tài khoản đang bị khoá: hãy mở khoá trước khi gửi lại thư mời.",
            "The account is deactivated: reactivate it before sending the invitation again.",
        ),
        Err(ResendError::SignedIn) => words(
            staff.lang,
            "Tài khoản này đã đăng nhập nên không cần thư mời; nếu quên mật khẩu, cán bộ dùng \"Quên mật khẩu\" ở trang đăng nhập.",
            "This account has signed in already and needs no invitation; a forgotten password is reset with \"Forgot password\" on the sign-in page.",
        ),
    };
    let view = AccountView {
        role: &a.role,
        province: None,
        role_error: None,
        action_error: Some(refused),
        status: StatusCode::CONFLICT,
    };
    account_view(&state, &staff, &a, view).await
}
