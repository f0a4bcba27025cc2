//! The commands of docs/api.md. Each prints clear errors and exits non-zero on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Parser, Debug)]
#[command(
    name = "hailong",
    version,
    about = "Hài Lòng — citizen-feedback surveys and the satisfaction measure for ward police"
)]
pub struct Cli {
    /// Configuration file (TOML); the environment overrides it. Also `HAILONG_CONFIG`.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply migrations, load the unit list on an empty database, validate surveys/, serve HTTP.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Survey definitions.
    Surveys {
        #[command(subcommand)]
        command: SurveysCommand,
    },
    /// Administrative units and their population margins.
    Units {
        #[command(subcommand)]
        command: UnitsCommand,
    },
    /// Responses.
    Responses {
        #[command(subcommand)]
        command: ResponsesCommand,
    },
    /// Staff accounts of the console.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Values of the other ward-score criteria.
    Scores {
        #[command(subcommand)]
        command: ScoresCommand,
    },
    /// The stored aggregates of the satisfaction measure.
    Index {
        #[command(subcommand)]
        command: IndexCommand,
    },
    /// Single-use invitation links.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// E-mail: `mail digest` enqueues the weekly digest now (the server's worker sends it).
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Residents' personal data: `privacy purge` applies the retention periods now (the server
    /// also does it every hour).
    Privacy {
        #[command(subcommand)]
        command: PrivacyCommand,
    },
    /// Printable A4 posters with QR codes: `posters --province 01 --out DIR`, `posters revoke ID`.
    Posters(PostersArgs),
    /// Backups: `backup --out FILE` takes one while the server runs; `backup verify FILE` checks one.
    Backup(BackupArgs),
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// The file to write: a SQLite database, or a `pg_dump -Fc` archive on PostgreSQL.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Check a backup: SQLite's integrity check and the `index verify` comparison on it.
    Verify { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Print a CSV of single-use survey links for a ward (tokens are stored hashed).
    Issue {
        #[arg(long)]
        ward: String,
        #[arg(long)]
        count: usize,
        /// Last day (YYYY-MM-DD, Vietnam time) or an ISO 8601 date-time.
        #[arg(long)]
        expires: Option<String>,
        /// Also write one QR code PNG per link into this folder.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PostersArgs {
    #[command(subcommand)]
    pub command: Option<PostersCommand>,
    /// The province whose units get a poster.
    #[arg(long)]
    pub province: Option<String>,
    /// The folder to write `{ward}.html`, `{ward}.png` and `poster.css` into.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum PostersCommand {
    /// Revoke a poster id: responses carrying it count as channel `web` from now on.
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum SurveysCommand {
    /// Validate every survey file in DIR (default: the configured surveys folder).
    Check { dir: Option<PathBuf> },
}

#[derive(Subcommand, Debug)]
pub enum UnitsCommand {
    /// Import (insert or update) units from a CSV with columns
    /// province_code,province_name,province_type,ward_code,ward_name,ward_type.
    Import {
        file: PathBuf,
        /// Allow a unit that has responses, staff or posters to move to another province
        /// (each move is audited); without it such a file is refused.
        #[arg(long)]
        allow_move: bool,
    },
    /// Population margins.
    Margins {
        #[command(subcommand)]
        command: MarginsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum MarginsCommand {
    /// Import margins from a CSV with columns ward_code,sex,age,share.
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum ResponsesCommand {
    /// Import paper ballots: ward_code,submitted_at,sex,age, then question ids.
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a staff user. Without --password-stdin a strong password is generated and printed once.
    Add {
        /// The user's e-mail address (the sign-in name).
        #[arg(long)]
        email: String,
        /// `ministry`, `province:CODE` (e.g. province:01), `ward:CODE` (e.g. ward:00004) or
        /// `interviewer:CODE` (enters assisted interviews for that ward and sees nothing else).
        #[arg(long)]
        role: String,
        /// Read the password from standard input (first line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Add a staff user without a password and e-mail them a signed, expiring link to set one.
    Invite {
        /// The user's e-mail address (the sign-in name and where the invitation goes).
        #[arg(long)]
        email: String,
        /// `ministry`, `province:CODE`, `ward:CODE` or `interviewer:CODE`.
        #[arg(long)]
        role: String,
    },
    /// List every staff account: e-mail, role, unit, active, last sign-in (Vietnam time).
    List,
    /// Deactivate an account: it can no longer sign in, and its sessions end at once.
    Deactivate {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Reactivate a deactivated account (it signs in with its old password again).
    Reactivate {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PrivacyCommand {
    /// Delete contact e-mails, erase free text and empty sent mail past their retention.
    Purge,
}

#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// Enqueue the digest for every province and ministry user now.
    Digest,
}

#[derive(Subcommand, Debug)]
pub enum ScoresCommand {
    /// Import criterion values: ward_code,period,criterion,value (0–100; period YYYY-Qn or YYYY-MM).
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum IndexCommand {
    /// Recompute every stored aggregate from the raw responses; non-zero exit on any difference.
    Verify,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

pub async fn run(cli: Cli) -> ExitCode {
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => match crate::db::open(&config.database_url).await {
            Ok(_) => {
                println!("migrations applied");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Surveys {
            command: SurveysCommand::Check { dir },
        } => {
            let dir = dir.unwrap_or_else(|| config.surveys_dir.clone());
            match crate::survey::catalog::Catalog::load(&dir) {
                Ok(c) => {
                    for s in c.iter() {
                        println!(
                            "ok: {} version {} ({} questions)",
                            s.id,
                            s.version,
                            s.questions.len()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                    eprintln!("error: {} problem(s) in {}", problems.len(), dir.display());
                    ExitCode::from(1)
                }
            }
        }
        Command::Units { command } => crate::commands::units(config, command).await,
        Command::Responses {
            command: ResponsesCommand::Import { file },
        } => crate::commands::import_responses(config, &file).await,
        Command::Users { command } => users(config, command).await,
        Command::Scores {
            command: ScoresCommand::Import { file },
        } => crate::commands::import_scores(config, &file).await,
        Command::Index {
            command: IndexCommand::Verify,
        } => crate::commands::verify(config).await,
        Command::Mail {
            command: MailCommand::Digest,
        } => crate::commands::mail_digest(config).await,
        Command::Privacy {
            command: PrivacyCommand::Purge,
        } => crate::commands::privacy_purge(config).await,
        Command::Tokens {
            command:
                TokensCommand::Issue {
                    ward,
                    count,
                    expires,
                    qr,
                },
        } => {
            crate::reach::issue_tokens(config, &ward, count, expires.as_deref(), qr.as_deref())
                .await
        }
        Command::Posters(PostersArgs {
            command: Some(PostersCommand::Revoke { id }),
            ..
        }) => crate::reach::revoke_poster(config, &id).await,
        Command::Posters(PostersArgs {
            command: None,
            province: Some(province),
            out: Some(out),
        }) => crate::reach::write_posters(config, &province, &out).await,
        Command::Posters(_) => {
            fail("use `hailong posters --province CODE --out DIR` or `hailong posters revoke ID`")
        }
        Command::Backup(BackupArgs {
            command: Some(BackupCommand::Verify { file }),
            ..
        }) => crate::backup::verify_command(&config, &file).await,
        Command::Backup(BackupArgs {
            command: None,
            out: Some(out),
        }) => crate::backup::backup_command(&config, &out).await,
        Command::Backup(_) => {
            eprintln!("error: use `hailong backup --out FILE` or `hailong backup verify FILE`");
            ExitCode::from(2)
        }
    }
}

async fn users(config: Config, command: UsersCommand) -> ExitCode {
    use crate::commands::users;
    match command {
        UsersCommand::Add {
            email,
            role,
            password_stdin,
        } => users::add(config, &email, &role, password_stdin).await,
        UsersCommand::Invite { email, role } => users::invite(config, &email, &role).await,
        UsersCommand::List => users::list(config).await,
        UsersCommand::Deactivate { email } => users::set_active(config, &email, false).await,
        UsersCommand::Reactivate { email } => users::set_active(config, &email, true).await,
    }
}

async fn serve(config: Config) -> ExitCode {
    // Caught before the server listens (see `shutdown_signal`).
    let shutdown = crate::app::shutdown_signal();
    crate::server::raise_open_file_limit(config.server.max_connections);
    let app = match crate::app::App::build(config).await {
        Ok(app) => app,
        Err(e) => return fail(format!("{e:#}")),
    };
    println!("Hài Lòng is serving on http://{}", app.local_addr());
    match app.run_until(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
