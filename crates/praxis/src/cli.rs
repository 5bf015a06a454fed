//! The command line.

use crate::config::{Global, ServeArgs, WorkerArgs};
use crate::{demo, server};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use praxis_services::users::{NewUser, PageRequest, UserFilter};
use praxis_services::{Actor, ServiceError};
use std::io::BufRead;
use std::process::ExitCode;

/// Praxis — practice management for outpatient clinics.
///
/// One binary on an embedded SQLite database (default) or PostgreSQL
/// (PRAXIS_DATABASE_URL=postgres://…). Every setting is a flag or a PRAXIS_* variable.
#[derive(Parser, Debug)]
#[command(name = "praxis", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (applies migrations first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Run a background job worker (messages) until SIGINT/SIGTERM. Any number may run,
    /// on several machines, against one PostgreSQL database.
    Worker(WorkerArgs),
    /// Migrate, seed a demo clinic if the database is empty, print demo logins and serve.
    Demo(ServeArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the keys that seal clinical content.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write, verify and list backups (the same as Administration → Backups).
    #[command(subcommand)]
    Backup(crate::backup::BackupCommand),
    /// Restore a backup into a new folder, or onto an empty PostgreSQL database.
    Restore(crate::backup::RestoreArgs),
    /// Export every table as JSON Lines, with the documents and a manifest (open formats).
    Export {
        /// A new or empty folder.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Load an export into this installation's database, which must be new and empty —
    /// the way to move from SQLite to PostgreSQL (set PRAXIS_DATABASE_URL first).
    Import {
        /// The export folder.
        dir: std::path::PathBuf,
    },
}

/// Key commands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a new key current (key file; with PRAXIS_ENCRYPTION_KEYS, set the new key
    /// and PRAXIS_ENCRYPTION_KEY_CURRENT first) and re-seal every value under it, in small
    /// batches while Praxis keeps running. Old keys stay so nothing becomes unreadable.
    Rotate {
        /// Only re-seal values not yet under the current key (no new key).
        #[arg(long)]
        reseal_only: bool,
    },
}

/// Account commands.
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a temporary password is printed once.
    Create {
        /// Email address (the login).
        #[arg(long)]
        email: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Role; repeat for several (admin, staff, provider, patient).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Phone number.
        #[arg(long)]
        phone: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
        /// Include deactivated accounts.
        #[arg(long)]
        all: bool,
    },
    /// Deactivate an account and end its sessions.
    Deactivate {
        /// Email of the account.
        email: String,
    },
    /// Set a new password (printed once unless read with --password-stdin); ends sessions.
    ResetPassword {
        /// Email of the account.
        email: String,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Audit log commands.
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the hash chain; report the first tampered or missing row (exit 1).
    Verify,
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Explains a service error on the command line.
fn explain(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Validation(errors) => {
            let lines: Vec<String> = errors.iter().map(|f| format!("  {}: {}", f.field, f.message)).collect();
            anyhow::anyhow!("some values need attention:\n{}", lines.join("\n"))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs a command.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let g = cli.global;
    match cli.command {
        Command::Serve(args) => {
            let svc = server::open(&g, server::public_url(&args)).await?;
            let worker = if args.no_worker { None } else { Some(crate::notify::worker(&g, &svc)?) };
            server::serve(svc, &args, worker).await?;
        }
        Command::Worker(args) => {
            let svc = server::open(&g, args.public_url.clone()).await?;
            crate::notify::run_worker(&g, svc).await?;
        }
        Command::Backup(cmd) => return crate::backup::run(&g, cmd).await,
        Command::Restore(args) => return crate::backup::restore(&g, args).await,
        Command::Export { out } => return crate::backup::export(&g, &out).await,
        Command::Import { dir } => return crate::backup::import(&g, &dir).await,
        Command::Migrate => {
            server::open(&g, None).await?;
            println!("Migrations applied to {}.", g.database_label());
        }
        Command::Demo(args) => {
            let svc = server::open(&g, server::public_url(&args)).await?;
            if demo::seed_if_empty(&svc).await? {
                // The seeded history must not mail or text its made-up patients.
                svc.discard_waiting_messages(&Actor::system("demo"), "demo data: not sent").await.map_err(explain)?;
            }
            demo::print_logins(&args);
            let worker = if args.no_worker { None } else { Some(crate::notify::worker(&g, &svc)?) };
            server::serve(svc, &args, worker).await?;
        }
        Command::User(cmd) => {
            let svc = server::open(&g, None).await?;
            let cli = Actor::system("cli");
            match cmd {
                UserCommand::Create { email, name, roles, phone, password_stdin } => {
                    let password = if password_stdin { Some(read_password()?) } else { None };
                    let created = svc
                        .create_user(&cli, NewUser { email, full_name: name, phone, roles, password })
                        .await
                        .map_err(explain)?;
                    println!("Created {} ({}) with roles {}.", created.user.email, created.user.id, created.user.roles);
                    if let Some(p) = created.temporary_password {
                        println!("Temporary password (shown once): {p}");
                    }
                }
                UserCommand::List { role, all } => {
                    let filter = UserFilter { text: None, role, active: if all { None } else { Some(true) } };
                    let mut page_no = 1;
                    loop {
                        let page = svc
                            .list_users(&cli, &filter, PageRequest::new(Some(page_no), Some(200)))
                            .await
                            .map_err(explain)?;
                        for u in &page.items {
                            println!(
                                "{}\t{}\t{}\t{}\t{}",
                                u.id,
                                u.email,
                                u.full_name,
                                u.roles,
                                if u.active { "active" } else { "deactivated" }
                            );
                        }
                        if page_no * page.per_page >= page.total {
                            break;
                        }
                        page_no += 1;
                    }
                }
                UserCommand::Deactivate { email } => {
                    let user = svc.find_user_by_email(&cli, &email).await.map_err(explain)?;
                    svc.set_user_active(&cli, user.id, false).await.map_err(explain)?;
                    println!("Deactivated {}; their sessions have ended.", user.email);
                }
                UserCommand::ResetPassword { email, password_stdin } => {
                    let user = svc.find_user_by_email(&cli, &email).await.map_err(explain)?;
                    let given = if password_stdin { Some(read_password()?) } else { None };
                    let temp = svc.reset_password(&cli, user.id, given.as_deref()).await.map_err(explain)?;
                    println!("Password reset for {}; their sessions have ended.", user.email);
                    if let Some(p) = temp {
                        println!("Temporary password (shown once): {p}");
                    }
                }
            }
        }
        Command::Keys(KeysCommand::Rotate { reseal_only }) => {
            let svc = server::open(&g, None).await?;
            if !reseal_only {
                if g.encryption_keys.is_some() {
                    println!(
                        "Keys come from PRAXIS_ENCRYPTION_KEYS; re-sealing under the current key {}.",
                        svc.keys().current_id()
                    );
                } else {
                    let id = svc.keys().add_current_key().map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!("New key {id} is current; waiting for running servers to pick it up…");
                    tokio::time::sleep(praxis_services::crypto::KEY_FILE_CHECK + std::time::Duration::from_secs(1))
                        .await;
                }
            }
            let report = svc.reseal_all(&Actor::system("cli")).await.map_err(explain)?;
            for (table, n) in &report.resealed {
                println!("  {table}: {n} re-sealed");
            }
            for (table, n) in &report.already_current {
                println!("  {table}: {n} already under {}", report.current_key);
            }
            println!("Everything is sealed under key {}.", report.current_key);
        }
        Command::Audit(AuditCommand::Verify) => {
            let svc = server::open(&g, None).await?;
            match svc.verify_audit(&Actor::system("cli")).await.map_err(explain)? {
                praxis_services::audit::VerifyOutcome::Intact { rows } => {
                    println!("Audit log intact: {rows} rows, hash chain verified.");
                }
                praxis_services::audit::VerifyOutcome::Broken { seq, reason } => {
                    println!("Audit log TAMPERED at row {seq}: {reason}.");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
