//! Access control's rules, no storage and no web code: how passwords are hashed
//! (Argon2id, with a dummy hash so a wrong name costs as much as a wrong password), how
//! session and token secrets are kept (SHA-256, only the hash is stored), the CSRF token
//! derived from a session's secret, and which user names, passwords and token names are
//! allowed. The store (`store::auth`) keeps the tables; the server decides who may do
//! what.

use crate::store::{Result, StoreError};
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Token strings start with this, so they are recognisable in configs and logs.
pub const TOKEN_PREFIX: &str = "lk_";

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(StoreError::Invalid(msg.into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// SHA-256 of a secret, hex: what the store keeps of session ids and tokens.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of the session whose cookie holds `secret`: derived, so it cannot be
/// computed from what the store holds (the secret's hash).
pub fn csrf_token_for(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"lookout-csrf\0");
    h.update(secret.as_bytes());
    hex(&h.finalize())[..32].to_string()
}

/// Argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1) in PHC string form.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash the password: {e}")))
}

/// Checks `password` against a PHC string; false for a malformed hash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so a wrong name takes as
/// long as a wrong password.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// User names: 1 to 64 of letters, digits, `.`, `_`, `-`, `@`.
pub fn check_user_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        invalid(format!(
            "user name {name:?} is not allowed: use 1 to 64 letters, digits, '.', '_', '-', '@'"
        ))
    }
}

/// Passwords: 8 to 1024 characters.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < 8 {
        return invalid("the password is too short: use at least 8 characters");
    }
    if password.len() > 1024 {
        return invalid("the password is too long: at most 1024 bytes");
    }
    Ok(())
}

pub fn check_token_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | ':'));
    if ok {
        Ok(())
    } else {
        invalid(format!(
            "token name {name:?} is not allowed: use 1 to 64 letters, digits, '.', '_', '-', '@', ':'"
        ))
    }
}
