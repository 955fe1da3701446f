//! `lookout user ...` and `lookout token ...`: manage access on the store file. They
//! work while the server runs (SQLite WAL); a running server sees a new user within a
//! second and a revoked token on its next request. Each returns the exit code.

use crate::commands::utc;
use crate::config::Settings;
use crate::runtime::now_ms;
use lookout::store::auth::{Role, Scope};
use lookout::store::Store;
use std::io::{BufRead, IsTerminal, Write};

use crate::error::exit_with as fail;

/// Runs a command's body: `Ok(code)` or `Err(code)` whose message is already printed.
fn exit_code(body: impl FnOnce() -> Result<u8, u8>) -> u8 {
    body().unwrap_or_else(|code| code)
}

fn open(settings: &Settings) -> Result<Store, u8> {
    crate::open_store(settings).map_err(|e| fail(1, e))
}

fn audit(store: &Store, action: &str, target: &str, detail: &str) {
    if let Err(e) = store.audit("cli", action, target, detail, now_ms()) {
        eprintln!("warning: cannot write the audit log: {e}");
    }
}

/// The password: one line of stdin with `--password-stdin`, else `LOOKOUT_PASSWORD`,
/// else asked for twice on the terminal (not echoed).
fn read_password(from_stdin: bool) -> Result<String, u8> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| fail(2, format!("cannot read the password from stdin: {e}")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if let Ok(p) = std::env::var("LOOKOUT_PASSWORD") {
        if !p.is_empty() {
            return Ok(p);
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(fail(
            2,
            "no password: pass --password-stdin, set LOOKOUT_PASSWORD, or run on a terminal",
        ));
    }
    let first = prompt("Password: ")?;
    let second = prompt("Repeat password: ")?;
    if first != second {
        return Err(fail(2, "the passwords differ"));
    }
    Ok(first)
}

fn prompt(label: &str) -> Result<String, u8> {
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    stty("echo");
    eprintln!();
    read.map_err(|e| fail(2, format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `lookout user add NAME --role ROLE [--password-stdin]`
pub fn user_add(settings: &Settings, name: &str, role: &str, password_stdin: bool) -> u8 {
    exit_code(|| {
        let role = Role::parse(role).map_err(|e| fail(2, e))?;
        let password = read_password(password_stdin)?;
        let store = open(settings)?;
        let u = store
            .add_user(name, role, &password, now_ms())
            .map_err(|e| fail(2, e))?;
        audit(&store, "user.add", &u.name, &format!("role={role}"));
        println!("added user {} ({role})", u.name);
        Ok(0)
    })
}

/// `lookout user list`
pub fn user_list(settings: &Settings) -> u8 {
    exit_code(|| {
        let users = open(settings)?.users().map_err(|e| fail(1, e))?;
        if users.is_empty() {
            println!("no users (auth is off on a loopback address until one is added)");
            return Ok(0);
        }
        println!("{:<24}  {:<10}  created (UTC)", "name", "role");
        for u in users {
            println!("{:<24}  {:<10}  {}", u.name, u.role, utc(u.created_at));
        }
        Ok(0)
    })
}

/// `lookout user remove NAME`
pub fn user_remove(settings: &Settings, name: &str) -> u8 {
    exit_code(|| {
        let store = open(settings)?;
        if !store.remove_user(name).map_err(|e| fail(2, e))? {
            return Err(fail(1, format!("no user named {name:?}")));
        }
        // The user's tokens go with them (an admin token would keep administering).
        let revoked = store
            .revoke_tokens_of_user(name, crate::runtime::now_ms())
            .map_err(|e| fail(1, e))?;
        audit(
            &store,
            "user.remove",
            name,
            &format!("{revoked} token(s) revoked"),
        );
        println!("removed user {name} ({revoked} token(s) revoked)");
        Ok(0)
    })
}

/// `lookout user passwd NAME [--password-stdin]`
pub fn user_passwd(settings: &Settings, name: &str, password_stdin: bool) -> u8 {
    exit_code(|| {
        let password = read_password(password_stdin)?;
        let store = open(settings)?;
        if !store
            .set_password(name, &password, now_ms())
            .map_err(|e| fail(2, e))?
        {
            return Err(fail(1, format!("no user named {name:?}")));
        }
        audit(&store, "user.passwd", name, "");
        println!("password changed for {name}; their sessions have ended");
        Ok(0)
    })
}

/// `lookout token create --name NAME --scope read|admin|ingest`: prints only the token, on
/// its own line, so scripts can capture it. It is never shown again.
pub fn token_create(settings: &Settings, name: &str, scope: &str) -> u8 {
    exit_code(|| {
        let scope = Scope::parse(scope).map_err(|e| fail(2, e))?;
        let store = open(settings)?;
        let (meta, token) = store
            .create_token(name, scope, "cli", now_ms())
            .map_err(|e| fail(2, e))?;
        let detail = format!("scope={}", scope.as_str());
        audit(&store, "token.create", &meta.name, &detail);
        println!("{token}");
        eprintln!(
            "token {:?} (id {}, scope {}): store it now, it is not shown again",
            meta.name,
            meta.id,
            scope.as_str()
        );
        Ok(0)
    })
}

/// `lookout token list`
pub fn token_list(settings: &Settings) -> u8 {
    exit_code(|| {
        let tokens = open(settings)?.tokens().map_err(|e| fail(1, e))?;
        if tokens.is_empty() {
            println!("no tokens");
            return Ok(0);
        }
        println!(
            "{:>4}  {:<20}  {:<6}  {:<12}  {:<19}  {:<19}  status",
            "id", "name", "scope", "prefix", "created (UTC)", "last used (UTC)"
        );
        for t in tokens {
            // An ingest token's host, once its first batch has bound it.
            let host = t
                .host
                .as_deref()
                .map(|h| format!(" (host {h})"))
                .unwrap_or_default();
            println!(
                "{:>4}  {:<20}  {:<6}  {:<12}  {:<19}  {:<19}  {}{host}",
                t.id,
                t.name,
                t.scope.as_str(),
                format!("{}…", t.prefix),
                utc(t.created_at),
                t.last_used_at.map(utc).unwrap_or_else(|| "never".into()),
                t.revoked_at
                    .map(|at| format!("revoked {}", utc(at)))
                    .unwrap_or_else(|| "live".into())
            );
        }
        Ok(0)
    })
}

/// `lookout token revoke ID|NAME`
pub fn token_revoke(settings: &Settings, id_or_name: &str) -> u8 {
    exit_code(|| {
        let store = open(settings)?;
        let Some(t) = store
            .revoke_token(id_or_name, now_ms())
            .map_err(|e| fail(1, e))?
        else {
            return Err(fail(1, format!("no live token {id_or_name:?}")));
        };
        audit(&store, "token.revoke", &t.name, &format!("id={}", t.id));
        println!("revoked token {} (id {})", t.name, t.id);
        Ok(0)
    })
}
