//! `attendance users`: the users file of `attendance serve` (see [`crate::server::auth`]).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::server::auth::Users;

/// The options of `attendance users`.
#[derive(Debug, Args, Clone)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub action: UsersAction,
}

#[derive(Debug, Subcommand, Clone)]
pub enum UsersAction {
    /// Add a user (or change their password): the password is read from standard input, without
    /// echo on a terminal, and only a salted SCRAM-SHA-256 verifier is stored
    Add {
        /// The users file (created with mode 0600)
        #[arg(long)]
        users: PathBuf,
        /// The user name
        name: String,
    },
    /// Remove a user
    Remove {
        /// The users file
        #[arg(long)]
        users: PathBuf,
        /// The user name
        name: String,
    },
    /// List the users
    List {
        /// The users file
        #[arg(long)]
        users: PathBuf,
    },
}

/// The password: prompted for without echo on a terminal, else the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        rpassword::prompt_password("password: ").context("reading the password")?
    } else {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdin.lock(), &mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    Ok(password)
}

pub fn run(args: UsersArgs) -> anyhow::Result<()> {
    match args.action {
        UsersAction::Add { users, name } => {
            let password = read_password()?;
            let replaced = Users::add(&users, &name, &password)?;
            let verb = if replaced {
                "password changed for"
            } else {
                "added"
            };
            eprintln!("{verb} `{name}` in {}", users.display());
        }
        UsersAction::Remove { users, name } => {
            Users::remove(&users, &name)?;
            eprintln!("removed `{name}` from {}", users.display());
        }
        UsersAction::List { users } => {
            for name in Users::read(&users)?.users.keys() {
                println!("{name}");
            }
        }
    }
    Ok(())
}
