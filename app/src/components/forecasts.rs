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

#[component]
pub fn ForecastCards(live: DashboardState) -> impl IntoView {
    let forecasts = live.forecasts;
    #[cfg(feature = "hydrate")]
    {
        let load = move || {
            leptos::task::spawn_local(async move {
                let answer = crate::http::get_json::<ForecastReport>(&live.url(FORECAST_URL)).await;
                forecasts.set(Some(answer.map(|r| r.forecasts)));
            })
        };
        Effect::new(move |_| load());
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
                            <a href=live.url(FORECAST_URL)>"/api/forecast"</a> ")"
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
