//! What the rule administration does: list, save (add, edit, enable/disable), test and
//! delete rules through the API. [`RuleState`] is `Copy` (signals only), so each
//! button's handler is one method call.

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use lookout::model::RuleTestResult;
use lookout::model::{RuleConfig, RuleView};

use super::form::RuleForm;
#[cfg(feature = "hydrate")]
use super::form::{verdict_line, SparseRule};
use crate::components::dashboard::DashboardState;

#[cfg(feature = "hydrate")]
use crate::format::url_part;

/// The rules, the form and the last action's outcome.
#[derive(Clone, Copy)]
pub struct RuleState {
    /// The dashboard's state: which host the page shows (a hub's agent host), whose
    /// newest sample the tester judges.
    pub live: DashboardState,
    pub rules: RwSignal<Option<Vec<RuleView>>>,
    pub form: RwSignal<RuleForm>,
    /// The name of the rule being edited (None: adding a new one).
    pub editing: RwSignal<Option<String>>,
    /// (ok, message) of the last action.
    pub result: RwSignal<Option<(bool, String)>>,
}

impl RuleState {
    pub fn new(live: DashboardState) -> Self {
        Self {
            live,
            rules: RwSignal::new(None),
            form: RwSignal::new(RuleForm::empty()),
            editing: RwSignal::new(None),
            result: RwSignal::new(None),
        }
    }

    /// Lists the rules again (`GET /api/alerts`).
    pub fn reload(self) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer: Result<lookout::model::AlertsOverview, _> =
                crate::http::get_json("/api/alerts").await;
            match answer {
                Ok(a) => self.rules.set(Some(a.rules)),
                Err(e) => self
                    .result
                    .set(Some((false, format!("cannot list rules: {e}")))),
            }
        });
    }

    /// The stored form of `name` (what an edit starts from and sends back changed).
    fn config_of(self, name: &str) -> RuleConfig {
        self.rules.with_untracked(|rs| {
            rs.iter()
                .flatten()
                .find(|r| r.rule.name == name)
                .map(|r| r.config.clone())
                .unwrap_or_default()
        })
    }

    /// The rule being edited's stored form, or an empty one.
    fn base(self) -> RuleConfig {
        self.editing
            .get_untracked()
            .map(|n| self.config_of(&n))
            .unwrap_or_default()
    }

    /// `PUT /api/alerts/rules/{name}`; `done` names the action in the notice and
    /// `from_form` resets the form after it. The checks and the request run from the
    /// actions chunk ([`crate::actions`]), fetched on the first action.
    fn save(self, f: RuleForm, base: RuleConfig, done: &'static str, from_form: bool) {
        #[cfg(not(feature = "hydrate"))]
        let _ = (f, base, done, from_form);
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::RuleSave {
            state: self,
            form: f,
            base,
            done,
            from_form,
        });
    }

    /// [`Self::save`]'s work, in the actions chunk.
    #[cfg(feature = "hydrate")]
    pub(crate) async fn save_now(
        self,
        f: RuleForm,
        base: RuleConfig,
        done: &'static str,
        from_form: bool,
    ) {
        let body = match f.body(&base) {
            Ok(b) => b,
            Err(e) => {
                self.result.set(Some((false, e)));
                return;
            }
        };
        if f.name.trim().is_empty() {
            self.result.set(Some((
                false,
                "alert rule \"new rule\", field `name`: every rule needs a non-empty name".into(),
            )));
            return;
        }
        let name = f.name.trim().to_string();
        let url = format!("/api/alerts/rules/{}", url_part(&name));
        let answer: Result<lookout::model::RuleSaved, _> =
            crate::http::put_json(&url, &SparseRule(&body)).await;
        match answer {
            Ok(r) => {
                self.result
                    .set(Some((true, format!("{done} {name}: {}", r.describe))));
                if from_form {
                    self.editing.set(None);
                    self.form.set(RuleForm::empty());
                }
            }
            Err(e) => self.result.set(Some((false, e))),
        }
        self.reload();
    }

    /// The form's Save / Add rule.
    pub fn submit(self) {
        let done = if self.editing.get_untracked().is_some() {
            "saved"
        } else {
            "added"
        };
        self.save(self.form.get_untracked(), self.base(), done, true);
    }

    /// The form's Test: `POST /api/alerts/rules/test` (does it parse, would it fire now),
    /// from the actions chunk.
    pub fn test(self) {
        // The form as it is at the click, whenever the chunk arrives.
        let (form, base) = (self.form.get_untracked(), self.base());
        #[cfg(not(feature = "hydrate"))]
        let _ = (form, base, self.live);
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::RuleTest {
            state: self,
            form,
            base,
        });
    }

    /// [`Self::test`]'s work, in the actions chunk.
    #[cfg(feature = "hydrate")]
    pub(crate) async fn test_now(self, f: RuleForm, base: RuleConfig) {
        let mut body = match f.body(&base) {
            Ok(b) => b,
            Err(e) => {
                self.result.set(Some((false, e)));
                return;
            }
        };
        if f.name.trim().is_empty() {
            body.name = Some("new rule".into());
        }
        let url = self.live.url("/api/alerts/rules/test");
        let answer: Result<RuleTestResult, _> =
            crate::http::post_json(&url, &SparseRule(&body)).await;
        self.result.set(Some(match answer {
            Ok(t) => (true, verdict_line(&t)),
            Err(e) => (false, e),
        }));
    }

    /// A row's Edit: the rule into the form.
    pub fn edit(self, name: String) {
        self.form
            .set(RuleForm::from_config(&name, &self.config_of(&name)));
        self.editing.set(Some(name));
        self.result.set(None);
    }

    /// The form's Cancel.
    pub fn cancel(self) {
        self.editing.set(None);
        self.form.set(RuleForm::empty());
        self.result.set(None);
    }

    /// A row's enabled switch.
    pub fn toggle(self, name: String, enabled: bool) {
        let base = self.config_of(&name);
        let mut f = RuleForm::from_config(&name, &base);
        f.enabled = enabled;
        self.save(f, base, if enabled { "enabled" } else { "disabled" }, false);
    }

    /// A row's Delete (or Revert, for an edited file rule), from the actions chunk.
    pub fn remove(self, name: String) {
        #[cfg(not(feature = "hydrate"))]
        let _ = name;
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::RuleRemove { state: self, name });
    }

    /// [`Self::remove`]'s work, in the actions chunk.
    #[cfg(feature = "hydrate")]
    pub(crate) async fn remove_now(self, name: String) {
        let url = format!("/api/alerts/rules/{}", url_part(&name));
        let answer: Result<lookout::model::NameStatus, _> = crate::http::delete_json(&url).await;
        self.result.set(Some(match answer {
            Ok(_) => (true, format!("deleted {name}")),
            Err(e) => (false, e),
        }));
        if self.editing.get_untracked().as_deref() == Some(name.as_str()) {
            self.editing.set(None);
            self.form.set(RuleForm::empty());
        }
        self.reload();
    }
}
