//! The developer logs view: the server's most recent log lines (`GET /api/logs`, an
//! in-memory ring of the last 1000), newest first, filtered by level. Filled in the
//! browser; the server renders the frame.

use leptos::prelude::*;
use lookout::model::LogsResponse;

use crate::components::dashboard::DashboardState;
use crate::format::TimeStyle;

/// One line as the API sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub t: i64,
    pub level: String,
    pub target: String,
    pub message: String,
}

/// The API's `lines` (oldest first) as rows, newest first.
pub fn rows(v: &LogsResponse) -> Vec<LogRow> {
    let mut rows: Vec<LogRow> = v
        .lines
        .iter()
        .map(|l| LogRow {
            t: l.t,
            level: l.level.clone(),
            target: l.target.clone(),
            message: l.message.clone(),
        })
        .collect();
    rows.reverse();
    rows
}

/// The query for a level choice ("" = every level the server records).
pub fn url(level: &str, limit: usize) -> String {
    if level.is_empty() {
        format!("/api/logs?limit={limit}")
    } else {
        format!("/api/logs?level={level}&limit={limit}")
    }
}

const LEVELS: &[(&str, &str)] = &[
    ("", "all"),
    ("error", "error"),
    ("warn", "warn and worse"),
    ("info", "info and worse"),
    ("debug", "debug and worse"),
];

#[component]
pub fn LogsPanel(live: DashboardState) -> impl IntoView {
    let level = RwSignal::new(String::from("info"));
    let lines = RwSignal::new(None::<Vec<LogRow>>);
    let error = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    let reload = move || {
        let u = url(&level.get_untracked(), 200);
        leptos::task::spawn_local(async move {
            match crate::http::get_json::<LogsResponse>(&u).await {
                Ok(v) => {
                    error.set(None);
                    let new = rows(&v);
                    if lines.with_untracked(|old| old.as_ref() != Some(&new)) {
                        lines.set(Some(new));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    #[cfg(not(feature = "hydrate"))]
    let reload = move || {};
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            level.track();
            reload();
        });
        live.poll(std::time::Duration::from_secs(10), reload);
    }
    let loaded = move || lines.with(|l| l.is_some());
    view! {
        <section
            class="panel logs"
            id="logs"
            aria-label="Server logs"
            data-loaded=move || loaded().to_string()
        >
            <h2>"Server logs"</h2>
            <p class="log-controls">
                <label>
                    "Level "
                    <select
                        id="logs-level"
                        on:change=move |ev| level.set(event_target_value(&ev))
                        prop:value=move || level.get()
                    >
                        {LEVELS
                            .iter()
                            .map(|(v, label)| view! { <option value=*v>{*label}</option> })
                            .collect_view()}
                    </select>
                </label>
                " "
                <button type="button" id="logs-refresh" on:click=move |_| reload()>
                    "Refresh"
                </button>
            </p>
            {move || error.get().map(|e| view! { <p class="error">"Logs unavailable: " {e}</p> })}
            {move || match lines.get() {
                None => view! { <p class="muted">"Loading… (needs JavaScript)"</p> }.into_any(),
                Some(rows) if rows.is_empty() => {
                    view! { <p class="muted">"No log lines at this level yet."</p> }.into_any()
                }
                Some(rows) => view! {
                    <div class="table-wrap">
                    <table class="alerts log-lines" id="logs-lines">
                        <thead>
                            <tr><th scope="col">"Time"</th><th scope="col">"Level"</th><th scope="col">"Source"</th><th scope="col">"Message"</th></tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|r| {
                                    let cls = format!("level-{}", r.level.to_ascii_lowercase());
                                    view! {
                                        <tr class=cls>
                                            <td>{live.clock(r.t, TimeStyle::Seconds)}</td>
                                            <td>{r.level}</td>
                                            <td>{r.target}</td>
                                            <td class="msg">{r.message}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                    </div>
                }
                .into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_newest_first_and_urls_carry_the_level() {
        let v: LogsResponse = serde_json::from_str(
            r#"{"capacity": 1000, "lines": [
            {"t": 1, "level": "INFO", "target": "lookout", "message": "first"},
            {"t": 2, "level": "WARN", "target": "lookout::x", "message": "second"}]}"#,
        )
        .unwrap();
        let r = rows(&v);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].t, r[0].message.as_str()), (2, "second"));
        assert_eq!(r[1].level, "INFO");
        assert!(rows(&LogsResponse::default()).is_empty());
        assert_eq!(url("", 200), "/api/logs?limit=200");
        assert_eq!(url("warn", 50), "/api/logs?level=warn&limit=50");
    }
}
