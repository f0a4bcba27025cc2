//! `hailong users add | invite | list | deactivate | reactivate`. Every change is audited with
//! the actor `cli` (see `store::accounts`). Exit codes: 0 done (or nothing to do), 1 the
//! database, an unknown e-mail or unit, or an existing account; 2 a malformed argument.

use std::process::ExitCode;

use crate::auth::{Scope, password};
use crate::config::Config;
use crate::store::accounts::{self, Outcome, RoleNames};
use crate::store::staff::{AddUserError, normalise_email, plausible_email};
use crate::survey::Lang;

/// The audit log's actor of every CLI change.
pub const ACTOR: &str = "cli";

fn fail_db(e: sea_orm::DbErr) -> ExitCode {
    eprintln!("error: database: {e}");
    ExitCode::from(1)
}

/// A normalised, plausible e-mail address, or exit code 2 with the reason.
fn email_arg(email: &str) -> Result<String, ExitCode> {
    let email = normalise_email(email);
    if plausible_email(&email) {
        Ok(email)
    } else {
        eprintln!("error: `{email}` is not an e-mail address");
        Err(ExitCode::from(2))
    }
}

/// The e-mail (normalised) and role of a `users` command, or exit code 2 with the reason.
fn user_args(email: &str, role: &str) -> Result<(String, Scope), ExitCode> {
    let email = email_arg(email)?;
    match Scope::parse(role) {
        Ok(s) => Ok((email, s)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Opens the database and checks that the role's province or ward exists (exit code 1 if not).
async fn open_for_scope(
    config: &Config,
    scope: &Scope,
) -> Result<sea_orm::DatabaseConnection, ExitCode> {
    let db = super::open(config).await?;
    match accounts::role_exists(&db, scope).await {
        Ok(true) => Ok(db),
        Ok(false) => {
            eprintln!("error: role `{scope}`: no such province or ward in the unit list");
            Err(ExitCode::from(1))
        }
        Err(e) => Err(fail_db(e)),
    }
}

fn exists(e: &str) -> ExitCode {
    eprintln!("error: a staff user with the e-mail {e} already exists");
    ExitCode::from(1)
}

/// `hailong users add --email E --role R [--password-stdin]`.
pub async fn add(config: Config, email: &str, role: &str, password_stdin: bool) -> ExitCode {
    let (email, scope) = match user_args(email, role) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let (pw, generated) = if password_stdin {
        let mut line = String::new();
        if let Err(e) = std::io::stdin().read_line(&mut line) {
            eprintln!("error: cannot read the password from standard input: {e}");
            return ExitCode::from(1);
        }
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if let Err(m) = password::check_new(&pw) {
            eprintln!("error: {m}");
            return ExitCode::from(2);
        }
        (pw, false)
    } else {
        (password::generate(), true)
    };
    let db = match open_for_scope(&config, &scope).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let hashed = tokio::task::spawn_blocking(move || password::hash(&pw).map(|h| (h, pw))).await;
    let (hash, pw) = match hashed {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    match accounts::add(&db, &email, &scope, &hash, ACTOR).await {
        Ok(_) => {
            println!("added staff user {email} with role {scope}");
            if generated {
                println!("password (shown only this once): {pw}");
            }
            ExitCode::SUCCESS
        }
        Err(AddUserError::Exists(e)) => exists(&e),
        Err(AddUserError::Db(e)) => fail_db(e),
    }
}

/// `hailong users invite --email E --role R`: adds the user with a random password nobody knows
/// and enqueues, in the same transaction, an invitation with a signed, expiring link to set one.
pub async fn invite(config: Config, email: &str, role: &str) -> ExitCode {
    let (email, scope) = match user_args(email, role) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let tera = match crate::templates::load() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: the templates are not valid: {e}");
            return ExitCode::from(1);
        }
    };
    let db = match open_for_scope(&config, &scope).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let hash = match password::hash(&password::generate()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let secret = match crate::privacy::keys::server_secret(&db).await {
        Ok(s) => s,
        Err(e) => return fail_db(e),
    };
    let mail = accounts::InviteMail {
        tera: &tera,
        base_url: &config.base_url,
        secret: &secret,
        valid: chrono::Duration::hours(i64::from(config.mail.invite_valid_hours)),
    };
    match accounts::invite(&db, &mail, &email, &scope, &hash, ACTOR).await {
        Ok(_) => {
            println!(
                "invited {email} as {scope}; the invitation is in the outbox (valid {} hours)",
                config.mail.invite_valid_hours
            );
            ExitCode::SUCCESS
        }
        Err(AddUserError::Exists(e)) => exists(&e),
        Err(AddUserError::Db(e)) => fail_db(e),
    }
}

/// `hailong users list`: every account, by e-mail, as an aligned table.
pub async fn list(config: Config) -> ExitCode {
    let db = match super::open(&config).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let all = match accounts::list(&db, &Scope::Ministry, &accounts::Filter::default()).await {
        Ok(a) => a,
        Err(e) => return fail_db(e),
    };
    let names = match RoleNames::load(&db, all.iter().filter_map(|a| a.scope.as_ref())).await {
        Ok(n) => n,
        Err(e) => return fail_db(e),
    };
    print!("{}", table(&all, &names));
    ExitCode::SUCCESS
}

/// The `users list` table: e-mail, role (as `--role` takes it), unit in words, active, last
/// sign-in (dd/mm/yyyy HH:mm, Vietnam time).
pub fn table(all: &[accounts::Account], names: &RoleNames) -> String {
    let header = [
        "EMAIL",
        "ROLE",
        "UNIT",
        "ACTIVE",
        "LAST SIGN-IN (VIETNAM TIME)",
    ]
    .map(String::from);
    let rows: Vec<[String; 5]> = all
        .iter()
        .map(|a| {
            [
                a.email.clone(),
                a.role.clone(),
                a.scope
                    .as_ref()
                    .map_or_else(|| "-".into(), |s| names.title(s, Lang::Vi)),
                if a.active { "yes" } else { "no" }.into(),
                a.last_login_at
                    .map_or_else(|| "never".into(), accounts::vn_time),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} account(s)\n", rows.len()));
    out
}

/// `hailong users deactivate --email E` (`active` false; ends the user's sessions at once) and
/// `hailong users reactivate --email E`.
pub async fn set_active(config: Config, email: &str, active: bool) -> ExitCode {
    let email = match email_arg(email) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let db = match super::open(&config).await {
        Ok(db) => db,
        Err(code) => return code,
    };
    let account = match accounts::find_by_email(&db, &email).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            eprintln!("error: no staff user has the e-mail {email} (see `hailong users list`)");
            return ExitCode::from(1);
        }
        Err(e) => return fail_db(e),
    };
    match accounts::set_active(&db, account.id, active, ACTOR).await {
        Ok(Outcome::Changed) if active => {
            println!("reactivated {email}; they can sign in again");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Changed) => {
            println!("deactivated {email}; their sessions have ended");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Unchanged) => {
            let state = if active { "active" } else { "deactivated" };
            println!("{email} is already {state}; nothing changed");
            ExitCode::SUCCESS
        }
        Ok(Outcome::NotFound) => {
            eprintln!("error: no staff user has the e-mail {email}");
            ExitCode::from(1)
        }
        Err(e) => fail_db(e),
    }
}
