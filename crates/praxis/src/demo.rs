//! The demo clinic behind `praxis demo`: seeded once into an empty database, with a
//! login for every role printed at start.

use crate::config::ServeArgs;
use anyhow::Result;
use praxis_services::users::NewUser;
use praxis_services::{Actor, Services};

/// The demo accounts: (email, name, roles, password).
pub const DEMO_LOGINS: &[(&str, &str, &[&str], &str)] = &[
    ("admin@demo.praxis.test", "Alex Admin", &["admin"], "demo-admin-pass"),
    ("reception@demo.praxis.test", "Rosa Reception", &["staff"], "demo-staff-pass"),
    ("dr.chen@demo.praxis.test", "Dr Mei Chen", &["provider"], "demo-provider-pass"),
    ("patient@demo.praxis.test", "Sam Patient", &["patient"], "demo-patient-pass"),
];

/// Seeds the demo clinic if the database has no users yet. Returns whether it seeded.
pub async fn seed_if_empty(svc: &Services) -> Result<bool> {
    if praxis_store::users::count(svc.db()).await? > 0 {
        return Ok(false);
    }
    let seeder = Actor::system("demo-seed");
    for (email, name, roles, password) in DEMO_LOGINS {
        svc.create_user(
            &seeder,
            NewUser {
                email: email.to_string(),
                full_name: name.to_string(),
                phone: None,
                roles: roles.iter().map(|r| r.to_string()).collect(),
                password: Some(password.to_string()),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("seeding {email}: {e}"))?;
    }
    tracing::info!("demo clinic seeded");
    Ok(true)
}

/// Prints where to go and how to log in.
pub fn print_logins(args: &ServeArgs) {
    println!();
    println!("  Praxis demo clinic → http://{}", args.bind);
    println!();
    println!("  Demo logins (email / password):");
    for (email, _, roles, password) in DEMO_LOGINS {
        println!("    {:<10} {email:<30} {password}", roles.join(","));
    }
    println!();
}
