//! What a forecast card says, from a `/api/forecast` answer. The verdict is the API's
//! own `message`, shown as it is, so the dashboard and scripts read the same words
//! ("/ full in ~3 d 4 h", "not filling up", "not enough history: 12 of 60 minutes").
//! Pure, so it is unit tested on the host.

use lookout::model::{format_eta, Forecast, ForecastStatus};

use crate::format::by_unit;

/// One card: title, the verdict, a detail line, and whether to flag it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastCard {
    /// `card-forecast-<metric>` without unsafe characters (for tests and links).
    pub id: String,
    pub title: String,
    pub verdict: String,
    pub detail: String,
    pub alert: bool,
}

/// The card of one forecast.
pub fn card(f: &Forecast) -> ForecastCard {
    let id = f
        .metric
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>();
    let title = if f.metric.starts_with("filesystem:") {
        format!("{} forecast", f.label)
    } else {
        format!("{} forecast", capitalise(&f.label))
    };
    let mut detail = match (
        f.status,
        f.time_to_bound_low_secs,
        f.time_to_bound_high_secs,
    ) {
        (ForecastStatus::Reaches, Some(lo), Some(hi)) if f.time_to_bound_secs > Some(0.0) => {
            format!("between ~{} and ~{}", format_eta(lo), format_eta(hi))
        }
        (ForecastStatus::Reaches | ForecastStatus::NotApproaching, _, _) => f
            .slope_per_hour
            .zip(f.unit)
            .map(|(s, u)| {
                format!(
                    "trend {}{} per hour",
                    if s < 0.0 { "-" } else { "+" },
                    by_unit(u, s.abs())
                )
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    let leak = f.leak_suspected == Some(true);
    if leak {
        detail = if detail.is_empty() {
            "leak suspected".into()
        } else {
            format!("leak suspected · {detail}")
        };
    }
    ForecastCard {
        id: format!("forecast-{}", id.trim_matches('-')),
        title,
        verdict: f.message.clone(),
        detail,
        alert: leak || (f.status == ForecastStatus::Reaches && f.within_horizon),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout::model::{ApiBody, ForecastReport, Unit};

    #[test]
    fn cards_show_the_api_s_words() {
        let r = ForecastReport::example();
        let disk = card(&r.forecasts[0]);
        assert_eq!(disk.id, "forecast-filesystem");
        assert_eq!(disk.title, "/ forecast");
        assert_eq!(disk.verdict, "/ full in ~3 d 4 h");
        assert_eq!(disk.detail, "between ~2 d 21 h and ~3 d 11 h");
        assert!(!disk.alert, "outside the horizon");
        let swap = card(&r.forecasts[1]);
        assert_eq!(swap.title, "Swap used forecast");
        assert_eq!(swap.verdict, "not enough history: 12 of 60 minutes");
        assert_eq!(swap.detail, "");
        assert!(!swap.alert);
    }

    #[test]
    fn a_leak_and_a_near_fill_are_flagged() {
        let f = Forecast {
            metric: "memory_used_bytes".into(),
            label: "memory used".into(),
            unit: Some(Unit::Bytes),
            status: ForecastStatus::NotApproaching,
            message: "not filling up".into(),
            slope_per_hour: Some(-1024.0 * 1024.0),
            leak_suspected: Some(true),
            ..Forecast::default()
        };
        let c = card(&f);
        assert_eq!(c.verdict, "not filling up");
        assert!(
            c.alert && c.detail.starts_with("leak suspected · trend -1"),
            "{c:?}"
        );
        let near = Forecast {
            status: ForecastStatus::Reaches,
            within_horizon: true,
            ..Forecast::default()
        };
        assert!(card(&near).alert);
    }
}
