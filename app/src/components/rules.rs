//! Rule administration inside the alerts panel: the rules in force (from the config
//! file and the API, with their source), a form to add or edit one, enable/disable,
//! delete (API rules; for an overridden file rule "revert" drops the override), and
//! "Test" (does it parse, would it fire on the latest sample). Everything goes through
//! the existing API: `GET /api/alerts` (rules), `PUT`/`DELETE /api/alerts/rules/{name}`,
//! `POST /api/alerts/rules/test`.
//!
//! All of it is one component, [`RuleAdmin`], so a later role check can hide it whole.

use leptos::prelude::*;
use lookout::model::{RuleConfig, RuleTestResult, RuleView};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The form's fields, as typed (strings, so a half-typed number is not lost).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleForm {
    pub name: String,
    /// "threshold", "anomaly" or "stale".
    pub kind: String,
    pub severity: String,
    pub condition: String,
    pub resolve: String,
    pub min_score: String,
    pub for_: String,
    pub intervals: String,
    pub enabled: bool,
}

/// A number as the API wrote it (`80.0` stays "80.0" in the form).
fn number_text(v: Option<f64>) -> String {
    v.and_then(|v| serde_json::to_string(&v).ok())
        .unwrap_or_default()
}

impl RuleForm {
    pub fn empty() -> RuleForm {
        RuleForm {
            kind: "threshold".into(),
            severity: "warning".into(),
            enabled: true,
            ..RuleForm::default()
        }
    }

    /// Fills the form from a listed rule's editable `config` (the TOML keys).
    pub fn from_config(name: &str, c: &RuleConfig) -> RuleForm {
        let kind = c.kind.clone().unwrap_or_else(|| {
            if c.condition.is_some() {
                "threshold".into()
            } else {
                String::new()
            }
        });
        let mut condition = c.condition.clone().unwrap_or_default();
        // A threshold rule's `for` may be its own key; the form keeps it in the condition.
        if let (true, Some(f)) = (kind == "threshold", c.for_.as_deref()) {
            if !condition.split_whitespace().any(|w| w == "for") {
                condition = format!("{} for {f}", condition.trim());
            }
        }
        if c.and_anomalous == Some(true) && !condition.contains("and anomalous") {
            condition.push_str(" and anomalous");
        }
        RuleForm {
            name: name.to_string(),
            kind,
            severity: c.severity.clone().unwrap_or_else(|| "warning".into()),
            condition,
            resolve: number_text(c.resolve),
            min_score: number_text(c.min_score),
            for_: c.for_.clone().unwrap_or_default(),
            intervals: c.intervals.map(|n| n.to_string()).unwrap_or_default(),
            enabled: c.enabled.unwrap_or(true),
        }
    }

    /// The rule for PUT / test. `base` is the rule's current config, so keys the form
    /// does not show (channels) are kept. Numbers that do not parse are reported
    /// naming the field, like the server's own errors.
    pub fn body(&self, base: &RuleConfig) -> Result<RuleConfig, String> {
        let name = self.name.trim();
        let mut rule = RuleConfig {
            name: Some(name.to_string()),
            severity: Some(self.severity.clone()),
            enabled: Some(self.enabled),
            kind: Some(self.kind.clone()),
            channels: base.channels.clone(),
            ..RuleConfig::default()
        };
        let label = if name.is_empty() { "new rule" } else { name };
        let number = |field: &str, s: &str| -> Result<Option<f64>, String> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| {
                    format!("alert rule {label:?}, field `{field}`: {s:?} is not a number")
                })
        };
        match self.kind.as_str() {
            "threshold" => {
                rule.condition = Some(self.condition.trim().into());
                rule.resolve = number("resolve", &self.resolve)?;
            }
            "anomaly" => {
                rule.min_score = number("min_score", &self.min_score)?;
                let f = self.for_.trim();
                rule.for_ = (!f.is_empty()).then(|| f.into());
            }
            "stale" => {
                let n = self.intervals.trim();
                if !n.is_empty() {
                    let v: u32 = n.parse().map_err(|_| {
                        format!(
                            "alert rule {label:?}, field `intervals`: {n:?} is not a whole number"
                        )
                    })?;
                    rule.intervals = Some(v);
                }
            }
            _ => {}
        }
        Ok(rule)
    }
}

/// A rule as the form sends it: only the keys that are set (a key left out and a null
/// mean the same to the server; the form never sent nulls for its own fields).
pub struct SparseRule<'a>(pub &'a RuleConfig);

impl Serialize for SparseRule<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        fn put<M: SerializeMap, T: Serialize>(
            m: &mut M,
            k: &str,
            v: &Option<T>,
        ) -> Result<(), M::Error> {
            match v {
                Some(v) => m.serialize_entry(k, v),
                None => Ok(()),
            }
        }
        put(&mut m, "name", &c.name)?;
        put(&mut m, "severity", &c.severity)?;
        put(&mut m, "enabled", &c.enabled)?;
        put(&mut m, "kind", &c.kind)?;
        put(&mut m, "condition", &c.condition)?;
        put(&mut m, "resolve", &c.resolve)?;
        put(&mut m, "and_anomalous", &c.and_anomalous)?;
        put(&mut m, "min_score", &c.min_score)?;
        put(&mut m, "for", &c.for_)?;
        put(&mut m, "intervals", &c.intervals)?;
        put(&mut m, "channels", &c.channels)?;
        m.end()
    }
}

/// "would fire now" / "would not fire now" / "no value yet", from the test answer.
pub fn verdict_line(t: &RuleTestResult) -> String {
    let now = match t.condition_holds_now {
        Some(true) => format!("would fire now (value {})", value(t.value_now)),
        Some(false) => format!("would not fire now (value {})", value(t.value_now)),
        None => "cannot tell from the latest sample".into(),
    };
    format!("OK: {} — {now}", t.describe)
}

fn value(v: Option<f64>) -> String {
    match v {
        Some(f) => format!("{}", (f * 100.0).round() / 100.0),
        None => "none".into(),
    }
}

#[cfg(feature = "hydrate")]
fn url_part(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

#[component]
pub fn RuleAdmin() -> impl IntoView {
    // Others see the rules read-only: no actions, no form (the server refuses them anyway).
    let is_admin = crate::auth::use_is_admin().get_untracked();
    let rules = RwSignal::new(None::<Vec<RuleView>>);
    let form = RwSignal::new(RuleForm::empty());
    // The name of the rule being edited (None: adding a new one).
    let editing = RwSignal::new(None::<String>);
    let result = RwSignal::new(None::<(bool, String)>);

    #[cfg(feature = "hydrate")]
    let reload = move || {
        leptos::task::spawn_local(async move {
            let answer: Result<lookout::model::AlertsOverview, _> =
                crate::http::get("/api/alerts").await;
            match answer {
                Ok(a) => rules.set(Some(a.rules)),
                Err(e) => result.set(Some((false, format!("cannot list rules: {e}")))),
            }
        });
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| reload());

    let config_of = move |name: &str| -> RuleConfig {
        rules.with_untracked(|rs| {
            rs.iter()
                .flatten()
                .find(|r| r.rule.name == name)
                .map(|r| r.config.clone())
                .unwrap_or_default()
        })
    };

    // `done` names the action in the notice; `from_form` resets the form after it.
    let save = move |f: RuleForm, base: RuleConfig, done: &'static str, from_form: bool| {
        let body = match f.body(&base) {
            Ok(b) => b,
            Err(e) => {
                result.set(Some((false, e)));
                return;
            }
        };
        if f.name.trim().is_empty() {
            result.set(Some((
                false,
                "alert rule \"new rule\", field `name`: every rule needs a non-empty name".into(),
            )));
            return;
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (body, done, from_form);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let name = f.name.trim().to_string();
            let url = format!("/api/alerts/rules/{}", url_part(&name));
            let answer: Result<lookout::model::RuleSaved, _> =
                crate::http::put(&url, &SparseRule(&body)).await;
            match answer {
                Ok(r) => {
                    result.set(Some((true, format!("{done} {name}: {}", r.describe))));
                    if from_form {
                        editing.set(None);
                        form.set(RuleForm::empty());
                    }
                }
                Err(e) => result.set(Some((false, e))),
            }
            reload();
        });
    };

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        let base = editing
            .get_untracked()
            .map(|n| config_of(&n))
            .unwrap_or_default();
        let done = if editing.get_untracked().is_some() {
            "saved"
        } else {
            "added"
        };
        save(f, base, done, true);
    };

    let on_test = move |_| {
        let f = form.get_untracked();
        let base = editing
            .get_untracked()
            .map(|n| config_of(&n))
            .unwrap_or_default();
        let mut body = match f.body(&base) {
            Ok(b) => b,
            Err(e) => {
                result.set(Some((false, e)));
                return;
            }
        };
        if f.name.trim().is_empty() {
            body.name = Some("new rule".into());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer: Result<RuleTestResult, _> =
                crate::http::post("/api/alerts/rules/test", &SparseRule(&body)).await;
            result.set(Some(match answer {
                Ok(t) => (true, verdict_line(&t)),
                Err(e) => (false, e),
            }));
        });
    };

    let edit = move |name: String| {
        form.set(RuleForm::from_config(&name, &config_of(&name)));
        editing.set(Some(name));
        result.set(None);
    };
    let cancel = move |_| {
        editing.set(None);
        form.set(RuleForm::empty());
        result.set(None);
    };
    let toggle = move |name: String, enabled: bool| {
        let base = config_of(&name);
        let mut f = RuleForm::from_config(&name, &base);
        f.enabled = enabled;
        save(f, base, if enabled { "enabled" } else { "disabled" }, false);
    };
    let remove = move |name: String| {
        #[cfg(not(feature = "hydrate"))]
        let _ = name;
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("/api/alerts/rules/{}", url_part(&name));
            let answer: Result<lookout::model::NameStatus, _> = crate::http::delete(&url).await;
            result.set(Some(match answer {
                Ok(_) => (true, format!("deleted {name}")),
                Err(e) => (false, e),
            }));
            if editing.get_untracked().as_deref() == Some(name.as_str()) {
                editing.set(None);
                form.set(RuleForm::empty());
            }
            reload();
        });
    };

    let field = move |f: fn(&mut RuleForm) -> &mut String| {
        (
            move || {
                let mut v = form.get();
                f(&mut v).clone()
            },
            move |ev: leptos::ev::Event| {
                let value = event_target_value(&ev);
                form.update(|v| *f(v) = value);
            },
        )
    };
    let (name_v, name_in) = field(|f| &mut f.name);
    let (kind_v, kind_in) = field(|f| &mut f.kind);
    let (sev_v, sev_in) = field(|f| &mut f.severity);
    let (cond_v, cond_in) = field(|f| &mut f.condition);
    let (res_v, res_in) = field(|f| &mut f.resolve);
    let (min_v, min_in) = field(|f| &mut f.min_score);
    let (for_v, for_in) = field(|f| &mut f.for_);
    let (int_v, int_in) = field(|f| &mut f.intervals);
    let kind_is = move |k: &'static str| move || form.with(|f| f.kind != k);
    let loaded = move || rules.with(Option::is_some);

    view! {
        <div class="rule-admin" id="alert-rules" data-loaded=move || loaded().to_string()>
            <h3>"Rules"</h3>
            <div class="table-wrap">
                <table class="alerts rules" id="rules-table">
                    <thead><tr>
                        <th scope="col">"Rule"</th><th scope="col">"Condition"</th>
                        <th scope="col">"Severity"</th><th scope="col">"Source"</th>
                        <th scope="col">"Enabled"</th><th scope="col"></th>
                    </tr></thead>
                    <tbody>
                        {move || rules.get().unwrap_or_default().into_iter().map(|r| {
                            let name = r.rule.name.clone();
                            let source = r.source.clone();
                            let enabled = r.rule.enabled;
                            let sev = r.rule.severity.as_str();
                            let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
                            let source_label = match source.as_str() {
                                "file+api" => "file, edited".to_string(),
                                s => s.to_string(),
                            };
                            let delete_label = if source == "file+api" { "Revert" } else { "Delete" };
                            let deletable = source != "file";
                            view! {
                                <tr data-rule=name.clone() data-enabled=enabled.to_string()>
                                    <td class="rule-name">{name.clone()}</td>
                                    <td class="rule-describe">{r.describe.clone()}</td>
                                    <td><span class=format!("badge {sev}")>{sev}</span></td>
                                    <td class="rule-source">{source_label}</td>
                                    <td>
                                        <input type="checkbox" class="rule-enabled"
                                            aria-label=format!("{name} enabled")
                                            prop:checked=enabled
                                            disabled=!is_admin
                                            on:change=move |ev| toggle(n1.clone(), event_target_checked(&ev))/>
                                    </td>
                                    <td class="rule-actions">{is_admin.then(|| view! {
                                        <button type="button" class="rule-edit" on:click=move |_| edit(n2.clone())>"Edit"</button>
                                        {deletable.then(|| view! {
                                            <button type="button" class="rule-delete" on:click=move |_| remove(n3.clone())>{delete_label}</button>
                                        })}
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <Show when=move || loaded() && rules.with(|r| r.as_ref().is_some_and(Vec::is_empty))>
                <p class="empty" id="rules-none">"No alert rules."</p>
            </Show>

            {is_admin.then(|| view! {
                <form class="rule-form" id="rule-form" on:submit=on_submit>
                    <fieldset>
                        <legend>{move || match editing.get() {
                            Some(n) => format!("Edit rule {n}"),
                            None => "Add a rule".to_string(),
                        }}</legend>
                        <label>"Name "
                            <input name="name" prop:value=name_v on:input=name_in
                                readonly=move || editing.with(Option::is_some) size="14" autocomplete="off"/>
                        </label>
                        <label>"Kind "
                            <select name="kind" prop:value=kind_v on:change=kind_in>
                                <option value="threshold">"threshold"</option>
                                <option value="anomaly">"anomaly"</option>
                                <option value="stale">"stale"</option>
                            </select>
                        </label>
                        <label>"Severity "
                            <select name="severity" prop:value=sev_v on:change=sev_in>
                                <option value="info">"info"</option>
                                <option value="warning">"warning"</option>
                                <option value="critical">"critical"</option>
                            </select>
                        </label>
                        <label class="wide" hidden=kind_is("threshold")>"Condition "
                            <input name="condition" prop:value=cond_v on:input=cond_in
                                placeholder="cpu_usage > 90 for 5m" autocomplete="off"/>
                        </label>
                        <label hidden=kind_is("threshold")>"Resolve at "
                            <input name="resolve" prop:value=res_v on:input=res_in size="6" placeholder="optional"/>
                        </label>
                        <label hidden=kind_is("anomaly")>"Min score "
                            <input name="min_score" prop:value=min_v on:input=min_in size="6" placeholder="detector's"/>
                        </label>
                        <label hidden=kind_is("anomaly")>"For "
                            <input name="for" prop:value=for_v on:input=for_in size="5" placeholder="1m"/>
                        </label>
                        <label hidden=kind_is("stale")>"Intervals "
                            <input name="intervals" prop:value=int_v on:input=int_in size="4" placeholder="3"/>
                        </label>
                        <label>
                            <input type="checkbox" name="enabled"
                                prop:checked=move || form.with(|f| f.enabled)
                                on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev))/>
                            " enabled"
                        </label>
                        <div class="rule-buttons">
                            <button type="button" id="rule-test" on:click=on_test>"Test"</button>
                            <button type="submit" id="rule-save">{move || if editing.with(Option::is_some) { "Save" } else { "Add rule" }}</button>
                            <Show when=move || editing.with(Option::is_some)>
                                <button type="button" id="rule-cancel" on:click=cancel>"Cancel"</button>
                            </Show>
                        </div>
                    </fieldset>
                </form>
            })}
            {move || result.get().map(|(ok, msg)| view! {
                <p id="rule-result" class=if ok { "notice" } else { "error" } role="status">{msg}</p>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(f: impl FnOnce(&mut RuleConfig)) -> RuleConfig {
        let mut c = RuleConfig::default();
        f(&mut c);
        c
    }

    #[test]
    fn a_form_round_trips_through_the_rule_config() {
        let c = config(|c| {
            c.name = Some("cpu".into());
            c.condition = Some("cpu_usage > 90 for 5m".into());
            c.resolve = Some(80.0);
            c.severity = Some("critical".into());
            c.channels = Some(vec!["mail".into()]);
            c.and_anomalous = Some(true);
        });
        let f = RuleForm::from_config("cpu", &c);
        assert_eq!(f.kind, "threshold");
        assert_eq!(f.condition, "cpu_usage > 90 for 5m and anomalous");
        assert_eq!(f.resolve, "80.0");
        let b = f.body(&c).unwrap();
        assert_eq!(
            b.channels,
            Some(vec!["mail".to_string()]),
            "keys the form does not show are kept"
        );
        assert_eq!(
            b.condition.as_deref(),
            Some("cpu_usage > 90 for 5m and anomalous")
        );
        assert_eq!(b.resolve, Some(80.0));
        assert!(b.and_anomalous.is_none());
        assert_eq!(b.enabled, Some(true));

        let f = RuleForm::from_config(
            "d",
            &config(|c| {
                c.condition = Some("disk_free_percent < 5".into());
                c.for_ = Some("1m".into());
            }),
        );
        assert_eq!(f.condition, "disk_free_percent < 5 for 1m");
        assert!(f.body(&RuleConfig::default()).unwrap().for_.is_none());

        let mut f = RuleForm::from_config(
            "st",
            &config(|c| {
                c.kind = Some("stale".into());
                c.intervals = Some(4);
            }),
        );
        assert_eq!((f.kind.as_str(), f.intervals.as_str()), ("stale", "4"));
        f.enabled = false;
        let b = f.body(&RuleConfig::default()).unwrap();
        // On the wire: only the keys that are set.
        assert_eq!(
            serde_json::to_string(&SparseRule(&b)).unwrap(),
            r#"{"name":"st","severity":"warning","enabled":false,"kind":"stale","intervals":4}"#
        );
    }

    #[test]
    fn bad_numbers_name_the_field() {
        let mut f = RuleForm::empty();
        f.name = "x".into();
        f.condition = "cpu_usage > 1".into();
        f.resolve = "eighty".into();
        let e = f.body(&RuleConfig::default()).unwrap_err();
        assert!(e.contains("\"x\"") && e.contains("`resolve`"), "{e}");
        f.kind = "stale".into();
        f.intervals = "-1".into();
        assert!(f
            .body(&RuleConfig::default())
            .unwrap_err()
            .contains("`intervals`"));
    }

    #[test]
    fn test_answers_read_as_a_verdict() {
        let t = RuleTestResult {
            rule: "t".into(),
            describe: "cpu_usage > 5".into(),
            value_now: Some(12.345),
            condition_holds_now: Some(true),
        };
        assert_eq!(
            verdict_line(&t),
            "OK: cpu_usage > 5 — would fire now (value 12.35)"
        );
        let t = RuleTestResult {
            describe: "no sample for 3 intervals".into(),
            value_now: None,
            condition_holds_now: None,
            ..t
        };
        assert!(verdict_line(&t).ends_with("cannot tell from the latest sample"));
    }
}
