//! The forecast cards: when each filesystem fills up, and memory and swap trends with
//! "leak suspected" (from `GET /api/forecast`, reloaded every minute while live). The
//! words are the API's own (see `forecast_view`). Server-rendered as a pointer to the
//! API: the forecast reads hours of history, which the page's first render should not
//! wait for.

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use lookout::model::ForecastReport;

use crate::components::dashboard::DashboardState;
use crate::forecast_view::card;

/// What the cards ask for.
pub const FORECAST_URL: &str = "/api/forecast?metric=all&horizon=24h";

/// [`FORECAST_URL`] for the host the page's `?host=` names (None: this one).
pub fn forecast_url(host: Option<&str>) -> String {
    match host.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => format!("{FORECAST_URL}&host={}", crate::format::url_part(h)),
        None => FORECAST_URL.to_string(),
    }
}

#[component]
pub fn ForecastCards(live: DashboardState) -> impl IntoView {
    let forecasts = live.forecasts;
    // The host picker sets `?host=`: the cards follow it.
    let query = leptos_router::hooks::use_query_map();
    let url = Memo::new(move |_| query.with(|q| forecast_url(q.get_str("host"))));
    #[cfg(feature = "hydrate")]
    {
        let load = move || {
            leptos::task::spawn_local(async move {
                let answer = crate::http::get::<ForecastReport>(&url.get_untracked()).await;
                forecasts.set(Some(answer.map(|r| r.forecasts)));
            })
        };
        Effect::new(move |_| {
            url.track();
            load()
        });
        live.poll(std::time::Duration::from_secs(60), load);
    }
    view! {
        <section class="cards forecasts" id="forecasts" aria-label="Forecasts">
            {move || match forecasts.get() {
                // Not `.note`: that is the page's one "needs JavaScript" notice.
                None => {
                    view! {
                        <p class="pending">
                            "Forecasts load in the browser (or from "
                            <a href=move || url.get()>"/api/forecast"</a> ")"
                        </p>
                    }
                        .into_any()
                }
                Some(Err(e)) => {
                    view! { <p class="error">"Forecasts unavailable: " {e}</p> }.into_any()
                }
                Some(Ok(list)) => {
                    list.iter()
                        .map(card)
                        .map(|c| {
                            view! {
                                <div class="card" id=format!("card-{}", c.id) class:alert=c.alert>
                                    <span class="card-title">{c.title}</span>
                                    <span class="card-value forecast-verdict">{c.verdict}</span>
                                    <span class="card-sub">{c.detail}</span>
                                </div>
                            }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cards_ask_for_the_url_s_host() {
        assert_eq!(forecast_url(None), FORECAST_URL);
        assert_eq!(forecast_url(Some(" ")), FORECAST_URL);
        assert_eq!(
            forecast_url(Some("db 1")),
            "/api/forecast?metric=all&horizon=24h&host=db%201"
        );
    }
}
