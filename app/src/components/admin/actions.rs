//! What the admin page does: load the users, tokens and audit log, and add or remove
//! users and create or revoke tokens through the admin API. [`AdminState`] is `Copy`
//! (signals only), so each panel's callback is one method call, as in
//! `rules::actions`.

use leptos::prelude::*;
use lookout::model::{ApiToken, AuditEntry, User};

/// The lists, the forms' fields and the last error.
#[derive(Clone, Copy)]
pub struct AdminState {
    pub users: RwSignal<Vec<User>>,
    pub tokens: RwSignal<Vec<ApiToken>>,
    pub audit: RwSignal<Vec<AuditEntry>>,
    pub error: RwSignal<Option<String>>,
    /// The token just created, shown until the page is left.
    pub new_token: RwSignal<Option<String>>,
    pub user_name: RwSignal<String>,
    pub user_role: RwSignal<String>,
    pub user_password: RwSignal<String>,
    pub token_name: RwSignal<String>,
    pub token_scope: RwSignal<String>,
}

impl AdminState {
    pub fn new() -> Self {
        Self {
            users: RwSignal::new(Vec::new()),
            tokens: RwSignal::new(Vec::new()),
            audit: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
            new_token: RwSignal::new(None),
            user_name: RwSignal::new(String::new()),
            user_role: RwSignal::new("viewer".to_string()),
            user_password: RwSignal::new(String::new()),
            token_name: RwSignal::new(String::new()),
            token_scope: RwSignal::new("read".to_string()),
        }
    }

    /// Loads the three lists again (`/api/users`, `/api/tokens`, `/api/audit`).
    pub fn reload(self) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            use lookout::model::{AuditLog, TokenList, UserList};
            let result = async {
                let u: UserList = crate::http::get_json("/api/users").await?;
                let t: TokenList = crate::http::get_json("/api/tokens").await?;
                let a: AuditLog = crate::http::get_json("/api/audit?limit=100").await?;
                Ok::<_, String>((u, t, a))
            }
            .await;
            match result {
                Ok((u, t, a)) => {
                    self.users.set(u.users);
                    self.tokens.set(t.tokens);
                    self.audit.set(a.entries);
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// Runs one admin call; on success clears the error and reloads the lists.
    #[cfg(feature = "hydrate")]
    fn act(self, job: impl std::future::Future<Output = Result<(), String>> + 'static) {
        leptos::task::spawn_local(async move {
            match job.await {
                Ok(()) => {
                    self.error.set(None);
                    self.reload();
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// `POST /api/users` with the form's fields; clears name and password when done.
    pub fn add_user(self) {
        #[cfg(feature = "hydrate")]
        {
            let body = lookout::model::NewUser {
                name: self.user_name.get_untracked(),
                role: self.user_role.get_untracked(),
                password: self.user_password.get_untracked(),
            };
            self.act(async move {
                let _: User = crate::http::post_json("/api/users", &body).await?;
                self.user_name.set(String::new());
                self.user_password.set(String::new());
                Ok(())
            });
        }
    }

    /// `POST /api/tokens`; the new token is shown once.
    pub fn create_token(self) {
        #[cfg(feature = "hydrate")]
        {
            let body = lookout::model::NewToken {
                name: self.token_name.get_untracked(),
                scope: self.token_scope.get_untracked(),
            };
            self.act(async move {
                let created: lookout::model::CreatedToken =
                    crate::http::post_json("/api/tokens", &body).await?;
                self.token_name.set(String::new());
                self.new_token.set(Some(created.token));
                Ok(())
            });
        }
    }

    /// `DELETE /api/users/{name}`.
    pub fn remove_user(self, name: String) {
        #[cfg(feature = "hydrate")]
        self.act(async move {
            let url = format!("/api/users/{}", crate::format::url_part(&name));
            let _: lookout::model::NameStatus = crate::http::delete_json(&url).await?;
            Ok(())
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = name;
    }

    /// `DELETE /api/tokens/id:{id}`: `id:` so a token named like a number is never the
    /// one revoked by mistake.
    pub fn revoke_token(self, id: String) {
        #[cfg(feature = "hydrate")]
        self.act(async move {
            let url = format!("/api/tokens/id:{id}");
            let _: ApiToken = crate::http::delete_json(&url).await?;
            Ok(())
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }
}
