//! Access control tables: users (Argon2id password hashes), sessions and API tokens
//! (both stored only as SHA-256 hashes of the secret the client holds), and the audit
//! log of admin actions: the SQL only. Hashing and the naming rules are
//! `crate::access`; the server decides who may do what.
//!
//! Every method takes `now` (ms since the epoch) instead of reading the clock, so
//! expiry is testable with any clock.

use super::error::Result;
use super::Store;
pub use crate::access::{
    check_password, check_token_name, check_user_name, csrf_token_for, hash_password, secret_hash,
    verify_password, TOKEN_PREFIX,
};
use crate::access::{dummy_hash, invalid, random_hex};
pub use crate::model::access::{ApiToken, AuditEntry, Role, Scope, User};
use crate::model::TimestampMs;
use rusqlite::{params, OptionalExtension};
use std::time::Duration;

/// A live session, found by the secret in the client's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    /// The token state-changing requests of this session must carry.
    pub csrf_token: String,
    pub expires_at: TimestampMs,
}

/// A session just created: `secret` goes into the cookie and is never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub csrf_token: String,
    pub expires_at: TimestampMs,
}

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<(User, String)> {
    let role: String = r.get(2)?;
    Ok((
        User {
            id: r.get(0)?,
            name: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            created_at: r.get(3)?,
        },
        r.get(4)?,
    ))
}

fn token_row(r: &rusqlite::Row) -> rusqlite::Result<ApiToken> {
    let scope: String = r.get(2)?;
    Ok(ApiToken {
        id: r.get(0)?,
        name: r.get(1)?,
        // An unknown scope reads as the weaker one.
        scope: Scope::parse(&scope).unwrap_or(Scope::Read),
        prefix: r.get(3)?,
        created_by: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
        revoked_at: r.get(7)?,
        host: r.get(8)?,
    })
}

const USER_COLS: &str = "id, name, role, created_at, password_hash";
const TOKEN_COLS: &str =
    "id, name, scope, prefix, created_by, created_at, last_used_at, revoked_at, host";

impl Store {
    // ------------------------------------------------------------ users

    /// Adds a user; the password is stored only as an Argon2id hash.
    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
        now: TimestampMs,
    ) -> Result<User> {
        check_user_name(name)?;
        check_password(password)?;
        let hash = hash_password(password)?;
        let conn = self.writer();
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if exists {
            return invalid(format!("user {name:?} already exists"));
        }
        conn.execute(
            "INSERT INTO users (name, role, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![name, role.as_str(), hash, now],
        )?;
        Ok(User {
            id: conn.last_insert_rowid(),
            name: name.to_string(),
            role,
            created_at: now,
        })
    }

    /// Changes a user's password and ends their sessions. False if no such user.
    pub fn set_password(&self, name: &str, password: &str, now: TimestampMs) -> Result<bool> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE name = ?1",
            params![name, hash, now],
        )?;
        tx.execute(
            "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?1)",
            [name],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Removes a user and their sessions. Refuses to remove the last admin (nobody
    /// could manage users any more). False if no such user.
    /// Revokes every live token `user:NAME` created: a removed user's tokens must not
    /// outlive them (an admin token would keep administering). Returns how many.
    pub fn revoke_tokens_of_user(&self, name: &str, now: TimestampMs) -> Result<usize> {
        Ok(self.writer().execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE created_by = ?1 AND revoked_at IS NULL",
            params![format!("user:{name}"), now],
        )?)
    }

    pub fn remove_user(&self, name: &str) -> Result<bool> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let role: Option<String> = tx
            .query_row("SELECT role FROM users WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(role) = role else {
            return Ok(false);
        };
        if role == Role::Admin.as_str() {
            let admins: i64 =
                tx.query_row("SELECT COUNT(*) FROM users WHERE role = 'admin'", [], |r| {
                    r.get(0)
                })?;
            if admins <= 1 {
                return invalid(format!(
                    "{name:?} is the last admin: add another admin before removing it"
                ));
            }
        }
        tx.execute(
            "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?1)",
            [name],
        )?;
        tx.execute("DELETE FROM users WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(true)
    }

    /// All users, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let conn = self.reader();
        let mut st = conn.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))?;
        let rows = st.query_map([], user_row)?;
        Ok(rows
            .map(|r| r.map(|(u, _)| u))
            .collect::<rusqlite::Result<_>>()?)
    }

    pub fn user_count(&self) -> Result<i64> {
        Ok(self
            .reader()
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    }

    /// The user if `password` is theirs. Takes as long for an unknown name.
    pub fn check_login(&self, name: &str, password: &str) -> Result<Option<User>> {
        let found = self
            .reader()
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE name = ?1"),
                [name],
                user_row,
            )
            .optional()?;
        Ok(match found {
            Some((user, hash)) => verify_password(password, &hash).then_some(user),
            None => {
                let _ = verify_password(password, dummy_hash());
                None
            }
        })
    }

    // ------------------------------------------------------------ sessions

    /// Starts a session for `user_id` lasting `ttl_ms`.
    pub fn create_session(
        &self,
        user_id: i64,
        ttl_ms: i64,
        now: TimestampMs,
    ) -> Result<NewSession> {
        let secret = random_hex(32);
        let expires_at = now.saturating_add(ttl_ms);
        let conn = self.writer();
        // Expired sessions are dropped as new ones are made.
        conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
        conn.execute(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![secret_hash(&secret), user_id, now, expires_at],
        )?;
        Ok(NewSession {
            csrf_token: csrf_token_for(&secret),
            secret,
            expires_at,
        })
    }

    /// The session whose cookie holds `secret`, unless it has expired (or its user
    /// was removed).
    pub fn session(&self, secret: &str, now: TimestampMs) -> Result<Option<Session>> {
        let found = self
            .reader()
            .query_row(
                "SELECT u.id, u.name, u.role, u.created_at, u.password_hash, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = ?1 AND s.expires_at > ?2",
                params![secret_hash(secret), now],
                |r| Ok((user_row(r)?.0, r.get::<_, i64>(5)?)),
            )
            .optional()?;
        Ok(found.map(|(user, expires_at)| Session {
            user,
            csrf_token: csrf_token_for(secret),
            expires_at,
        }))
    }

    /// Ends the session (logout). False if there was none.
    pub fn delete_session(&self, secret: &str) -> Result<bool> {
        Ok(self.writer().execute(
            "DELETE FROM sessions WHERE id_hash = ?1",
            [secret_hash(secret)],
        )? > 0)
    }

    // ------------------------------------------------------------ tokens

    /// Creates an API token. Returns its metadata and the token itself, which is
    /// shown this once: only its hash is stored.
    pub fn create_token(
        &self,
        name: &str,
        scope: Scope,
        created_by: &str,
        now: TimestampMs,
    ) -> Result<(ApiToken, String)> {
        check_token_name(name)?;
        let token = format!("{TOKEN_PREFIX}{}", random_hex(32));
        let prefix = token[..TOKEN_PREFIX.len() + 8].to_string();
        let conn = self.writer();
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE name = ?1 AND revoked_at IS NULL)",
            [name],
            |r| r.get(0),
        )?;
        if exists {
            return invalid(format!("a token named {name:?} already exists"));
        }
        conn.execute(
            "INSERT INTO api_tokens (name, token_hash, prefix, scope, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                name,
                secret_hash(&token),
                prefix,
                scope.as_str(),
                created_by,
                now
            ],
        )?;
        let meta = ApiToken {
            id: conn.last_insert_rowid(),
            name: name.to_string(),
            scope,
            prefix,
            created_by: created_by.to_string(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
            host: None,
        };
        Ok((meta, token))
    }

    /// Every token, revoked ones too, newest first.
    pub fn tokens(&self) -> Result<Vec<ApiToken>> {
        let conn = self.reader();
        let mut st = conn.prepare(&format!(
            "SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id DESC"
        ))?;
        let rows = st.query_map([], token_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The live (not revoked) token matching `token`. Notes its use at most once a
    /// minute, so a busy scraper does not write on every request.
    pub fn find_token(&self, token: &str, now: TimestampMs) -> Result<Option<ApiToken>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let found = self
            .reader()
            .query_row(
                &format!(
                    "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"
                ),
                [secret_hash(token)],
                token_row,
            )
            .optional()?;
        if let Some(t) = &found {
            if t.last_used_at.is_none_or(|at| now - at > 60_000) {
                self.note_token_use(t.id, now);
            }
        }
        Ok(found)
    }

    /// Records a token's last use, if that can be done at once. The note is a
    /// convenience for `token list`; a request must not wait for it, nor fail with
    /// it, when the store is busy, locked by another process or on a full disk
    /// (it is tried again on the token's next use).
    fn note_token_use(&self, id: i64, now: TimestampMs) {
        let Ok(conn) = self.pool.writer.try_lock() else {
            return;
        };
        let _ = conn.busy_timeout(Duration::ZERO);
        let _ = conn.execute(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
            params![id, now],
        );
        let _ = conn.busy_timeout(super::BUSY_TIMEOUT);
    }

    /// Revokes a token by id or by name (a live one). Returns it, or None if there
    /// is no such live token. Takes effect on the next request.
    /// Revokes a live token by id or by name. `id:N` and `name:X` say which; a bare
    /// number that is both a live token's id and another live token's name is refused
    /// as ambiguous rather than guessed.
    pub fn revoke_token(&self, id_or_name: &str, now: TimestampMs) -> Result<Option<ApiToken>> {
        let conn = self.writer();
        let (by_id, by_name) = match id_or_name.split_once(':') {
            Some(("id", n)) => (n.parse::<i64>().ok(), None),
            Some(("name", n)) => (None, Some(n)),
            _ => (id_or_name.parse::<i64>().ok(), Some(id_or_name)),
        };
        let id_match: Option<i64> = match by_id {
            Some(id) => conn
                .query_row(
                    "SELECT id FROM api_tokens WHERE id = ?1 AND revoked_at IS NULL",
                    [id],
                    |r| r.get(0),
                )
                .optional()?,
            None => None,
        };
        let name_match: Option<i64> = match by_name {
            Some(name) => conn
                .query_row(
                    "SELECT id FROM api_tokens WHERE name = ?1 AND revoked_at IS NULL",
                    [name],
                    |r| r.get(0),
                )
                .optional()?,
            None => None,
        };
        let id = match (id_match, name_match) {
            (Some(a), Some(b)) if a != b => {
                return invalid(format!(
                    "{id_or_name:?} is both token id {a} and the name of token {b}: \
                     write id:{a} or name:{id_or_name}"
                ))
            }
            (Some(a), _) | (None, Some(a)) => Some(a),
            (None, None) => None,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        conn.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        Ok(conn
            .query_row(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = ?1"),
                [id],
                token_row,
            )
            .optional()?)
    }

    // ------------------------------------------------------------ audit

    /// Records an admin action.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
        now: TimestampMs,
    ) -> Result<()> {
        self.writer().execute(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now, actor, action, target, detail],
        )?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let conn = self.reader();
        let mut st = conn.prepare(
            "SELECT id, at, actor, action, target, detail FROM audit_log
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        crate::store::tests::temp_store("h")
    }

    /// Every byte of the database file and its WAL, as text, to look for secrets.
    fn file_bytes(dir: &tempfile::TempDir) -> Vec<u8> {
        let mut all = Vec::new();
        for e in std::fs::read_dir(dir.path()).unwrap() {
            all.extend(std::fs::read(e.unwrap().path()).unwrap());
        }
        all
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn argon2id_round_trip_and_the_store_never_holds_the_password() {
        let (dir, s) = store();
        let pw = "correct horse battery staple";
        let u = s.add_user("alice", Role::Admin, pw, 1_000).unwrap();
        assert_eq!(u.role, Role::Admin);
        let hash: String = s
            .reader()
            .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains(pw));
        assert!(s.check_login("alice", pw).unwrap().is_some());
        assert!(s.check_login("alice", "wrong password").unwrap().is_none());
        assert!(s.check_login("bob", pw).unwrap().is_none());
        // Same password, new salt: a different hash.
        assert_ne!(hash_password(pw).unwrap(), hash);
        s.check_writable().unwrap();
        assert!(
            !contains(&file_bytes(&dir), pw),
            "plain password in the file"
        );

        assert!(s.set_password("alice", "another password", 2_000).unwrap());
        assert!(s.check_login("alice", pw).unwrap().is_none());
        assert!(s
            .check_login("alice", "another password")
            .unwrap()
            .is_some());
    }

    #[test]
    fn names_passwords_and_duplicates_are_checked() {
        let (_dir, s) = store();
        assert!(s.add_user("", Role::Viewer, "long enough", 0).is_err());
        assert!(s.add_user("a b", Role::Viewer, "long enough", 0).is_err());
        assert!(s.add_user("a", Role::Viewer, "short", 0).is_err());
        s.add_user("a", Role::Viewer, "long enough", 0).unwrap();
        let e = s.add_user("a", Role::Admin, "long enough", 0).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(s.user_count().unwrap(), 1);
        assert_eq!(Role::parse("Developer").unwrap(), Role::Developer);
        assert!(Role::parse("root").is_err());
        assert!(Role::Viewer < Role::Developer && Role::Developer < Role::Admin);
    }

    #[test]
    fn sessions_expire_by_the_given_clock_and_end_on_logout() {
        let (dir, s) = store();
        let u = s.add_user("v", Role::Viewer, "password1", 0).unwrap();
        let t0 = 1_700_000_000_000;
        let ttl = 12 * 3_600_000;
        let new = s.create_session(u.id, ttl, t0).unwrap();
        assert_eq!(new.expires_at, t0 + ttl);
        let live = s.session(&new.secret, t0 + ttl - 1).unwrap().unwrap();
        assert_eq!(live.user.name, "v");
        assert_eq!(live.csrf_token, new.csrf_token);
        assert_ne!(new.csrf_token, new.secret);
        assert!(
            s.session(&new.secret, t0 + ttl).unwrap().is_none(),
            "expired"
        );
        assert!(s.session("not-a-session", t0).unwrap().is_none());
        s.check_writable().unwrap();
        assert!(
            !contains(&file_bytes(&dir), &new.secret),
            "raw session id stored"
        );

        let other = s.create_session(u.id, ttl, t0).unwrap();
        assert!(s.delete_session(&other.secret).unwrap());
        assert!(s.session(&other.secret, t0 + 1).unwrap().is_none());

        // A removed user's sessions end with them.
        let again = s.create_session(u.id, ttl, t0).unwrap();
        assert!(s.remove_user("v").unwrap());
        assert!(s.session(&again.secret, t0 + 1).unwrap().is_none());
    }

    #[test]
    fn tokens_are_shown_once_stored_hashed_and_revoked_at_once() {
        let (dir, s) = store();
        let (meta, token) = s.create_token("ci", Scope::Read, "user:a", 10).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == 3 + 64);
        assert!(token.starts_with(&meta.prefix));
        s.check_writable().unwrap();
        assert!(!contains(&file_bytes(&dir), &token), "plain token stored");
        let listed = s.tokens().unwrap();
        assert_eq!(listed.len(), 1);
        assert!(!serde_json::to_string(&listed).unwrap().contains(&token));

        let found = s.find_token(&token, 100_000).unwrap().unwrap();
        assert_eq!((found.name.as_str(), found.scope), ("ci", Scope::Read));
        assert_eq!(s.tokens().unwrap()[0].last_used_at, Some(100_000));
        assert!(s.find_token("lk_0000", 0).unwrap().is_none());
        assert!(s.find_token("garbage", 0).unwrap().is_none());
        assert!(
            s.create_token("ci", Scope::Admin, "x", 0).is_err(),
            "dup name"
        );

        let revoked = s.revoke_token("ci", 200).unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(200));
        assert!(s.find_token(&token, 201).unwrap().is_none());
        assert!(s.revoke_token("ci", 300).unwrap().is_none());
        // The name is free again; revoking by id works too.
        let (m2, t2) = s.create_token("ci", Scope::Admin, "cli", 400).unwrap();
        assert!(s.find_token(&t2, 401).unwrap().is_some());
        s.revoke_token(&m2.id.to_string(), 402).unwrap().unwrap();
        assert!(s.find_token(&t2, 403).unwrap().is_none());
    }

    #[test]
    fn the_last_admin_stays_and_audit_is_newest_first() {
        let (_dir, s) = store();
        s.add_user("root", Role::Admin, "password1", 0).unwrap();
        assert!(s.remove_user("root").is_err());
        s.add_user("second", Role::Admin, "password2", 0).unwrap();
        assert!(s.remove_user("root").unwrap());
        assert!(!s.remove_user("root").unwrap());

        s.audit("user:a", "rule.put", "cpu", "{}", 1).unwrap();
        s.audit("cli", "user.add", "b", "role=viewer", 2).unwrap();
        let log = s.audit_log(10).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[0].actor.as_str(), log[0].action.as_str()),
            ("cli", "user.add")
        );
        assert_eq!(s.audit_log(1).unwrap().len(), 1);
    }

    #[test]
    fn a_token_named_like_an_id_is_not_guessed() {
        let (_dir, store) = store();
        let (first, _) = store.create_token("alpha", Scope::Read, "cli", 1).unwrap();
        let (named_one, _) = store
            .create_token(&first.id.to_string(), Scope::Read, "cli", 2)
            .unwrap();
        assert_ne!(first.id, named_one.id);
        // "1" is token 1's id and the other token's name: refused, nothing revoked.
        let e = store.revoke_token(&first.id.to_string(), 3).unwrap_err();
        assert!(e.to_string().contains("write id:"), "{e}");
        assert!(store
            .tokens()
            .unwrap()
            .iter()
            .all(|t| t.revoked_at.is_none()));
        // Saying which works.
        let by_name = store
            .revoke_token(&format!("name:{}", first.id), 4)
            .unwrap()
            .unwrap();
        assert_eq!(by_name.id, named_one.id);
        // Now the bare number is only an id again.
        let by_id = store
            .revoke_token(&first.id.to_string(), 5)
            .unwrap()
            .unwrap();
        assert_eq!(by_id.id, first.id);
    }

    /// Finding 6 of issue 11: with the database locked by another process, a token
    /// whose last use is due to be noted still authenticates, at once.
    #[test]
    fn a_locked_store_does_not_refuse_a_token() {
        let (dir, s) = store();
        let (_, secret) = s
            .create_token("scraper", Scope::Read, "cli", 1_000)
            .unwrap();
        let other = rusqlite::Connection::open(dir.path().join("l.db")).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let t0 = std::time::Instant::now();
        let found = s.find_token(&secret, 1_000_000).unwrap();
        assert_eq!(found.map(|t| t.name), Some("scraper".to_string()));
        assert!(
            t0.elapsed() < super::super::BUSY_TIMEOUT,
            "{:?}",
            t0.elapsed()
        );
        other.execute_batch("ROLLBACK").unwrap();
        // Noted on the next use once the lock is gone.
        s.find_token(&secret, 2_000_000).unwrap();
        assert_eq!(s.tokens().unwrap()[0].last_used_at, Some(2_000_000));
    }
}
