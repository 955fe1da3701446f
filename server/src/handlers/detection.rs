//! The detector's endpoints: anomaly events, marking one expected, the model report,
//! training and sensitivity.

use super::{fail, field_error, query_error, unavailable};
use crate::runtime::{now_ms, Services};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout::detect::Sensitivity;
use lookout::model::{AnomalyList, ExpectedRequest, SensitivityRequest, SensitivityResponse};
use lookout::store::parse_range;

fn detector_off() -> Response {
    fail(
        StatusCode::NOT_FOUND,
        "anomaly detection is disabled (detector.enabled = false)",
    )
}

/// `GET /api/anomalies?from=..&to=..&host=..`: events overlapping the range (default:
/// the last 24 h), newest first, with their explanations; of this host or a stored one.
pub async fn anomalies(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (from, to) = match parse_range(&params, now_ms(), 86_400_000) {
        Ok(r) => r,
        Err(e) => return query_error(e),
    };
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    match tokio::task::spawn_blocking(move || store.events(from, to)).await {
        Ok(Ok(events)) => Json(AnomalyList { from, to, events }).into_response(),
        _ => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot read events"),
    }
}

/// `POST /api/anomalies/{id}/expected` (body optional: `{"expected": false}` undoes).
pub async fn mark_expected(
    State(services): State<Services>,
    Path(id): Path<i64>,
    body: Option<Json<ExpectedRequest>>,
) -> Response {
    if services.detection.is_none() {
        return detector_off();
    }
    let expected = body.map(|b| b.expected).unwrap_or(true);
    let s = services.clone();
    let marked = move || -> lookout::store::Result<Option<lookout::model::AnomalyEvent>> {
        // The event's own host's detector learns it: on a hub an agent host's event
        // teaches that host's detector, not the hub's. A host whose detector has not
        // started since the hub did reads the mark from the store when it starts.
        let Some(event) = s.store.event(id)? else {
            return Ok(None);
        };
        match s.detection_of(&event.host) {
            Some(d) => d.mark_expected(id, expected),
            None => {
                s.store.set_event_expected(id, expected)?;
                s.store.event(id)
            }
        }
    };
    match tokio::task::spawn_blocking(marked).await {
        Ok(Ok(Some(event))) => Json(event).into_response(),
        Ok(Ok(None)) => fail(
            StatusCode::NOT_FOUND,
            format!("no anomaly event with id {id}"),
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot mark event");
            fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot update the event")
        }
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot update the event"),
    }
}

/// `GET /api/model?host=..`: detector state, model versions, training status (of an
/// agent host's own detector on a hub; an empty report for a host whose detector has
/// not started since the hub did).
pub async fn model(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let host = store.options().host.clone();
    let report = move || services.detection_of(&host).map(|d| d.report());
    match tokio::task::spawn_blocking(report).await {
        Ok(report) => Json(report.unwrap_or_default()).into_response(),
        Err(_) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read the model state",
        ),
    }
}

/// The detector a model action is for: the server's own, or on a hub an agent host's
/// (`host=`, as `/api/model` reads it), so the model panel's buttons act on the host
/// it shows. Err: the answer (400 unknown host, 404 detection off, 409 no detector
/// for that host yet).
async fn detection_for(
    services: &Services,
    params: &[(String, String)],
) -> Result<crate::detector::Detection, Response> {
    let store = crate::hosts::store_for_params(services, params)
        .await
        .map_err(|r| r.into_response())?;
    let host = store.options().host.clone();
    if let Some(d) = services.detection_of(&host) {
        return Ok(d);
    }
    // The own detector and the hub's per-host ones are both made when detection is
    // on, so only an agent host can lack one with detection on.
    if services.detection.is_none() {
        return Err(detector_off());
    }
    let why = "its detector starts with its first batch since the hub started";
    Err(fail(
        StatusCode::CONFLICT,
        format!("host {host} has no detector yet: {why}"),
    ))
}

/// `POST /api/model/train?host=..`: trains now on the stored window; answers with the
/// new version's metadata once it is installed.
pub async fn train(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let d = match detection_for(&services, &params).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    use crate::detector::TrainingError;
    match d.train_now().await {
        Ok(info) => Json(info.to_version()).into_response(),
        // Too little history: the caller can wait for more.
        Err(e @ TrainingError::Data(_)) => {
            fail(StatusCode::CONFLICT, format!("training failed: {e}"))
        }
        Err(e @ TrainingError::Store(_)) => {
            tracing::warn!(error = %e, "training could not read the store");
            unavailable(format!("training failed: {e}"))
        }
        Err(e) => {
            tracing::error!(error = %e, "training failed");
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("training failed: {e}"),
            )
        }
    }
}

/// `POST /api/model/sensitivity?host=..` with `{"sensitivity": "low"|"medium"|"high"|3.5}`
/// (a surprise threshold; a number below 1 is read in the older "1 - p" form).
pub async fn sensitivity(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
    body: Result<Json<SensitivityRequest>, JsonRejection>,
) -> Response {
    let d = match detection_for(&services, &params).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => {
            return field_error(e.body_text(), "sensitivity");
        }
    };
    match Sensitivity::parse(&body.sensitivity.text()) {
        Ok(s) => {
            d.set_sensitivity(s);
            Json(SensitivityResponse {
                sensitivity: s.name(),
                threshold: s.threshold(),
            })
            .into_response()
        }
        Err(e) => field_error(e, "sensitivity"),
    }
}

#[cfg(test)]
mod tests {
    use lookout::detect::{DetectorState, ModelInfo, Phase};
    use lookout::model::ModelReport;
    use serde_json::json;

    fn info() -> ModelInfo {
        ModelInfo {
            version: 3,
            path: "/data/models/v3.json".into(),
            format_version: 2,
            trained_at: 10,
            window: (1, 9),
            samples: 2048,
            members: vec!["baseline".into(), "forest".into()],
            features: 24,
            rolled_back_from: Some(4),
            eval: Some(json!({"f1": 0.9})),
        }
    }

    /// The report's parts, written as the engine's own types, read back as the API's
    /// [`ModelReport`] unchanged (the report is built from them field by field).
    #[test]
    fn the_model_report_reads_as_the_api_type_unchanged() {
        for phase in [Phase::Warmup, Phase::Learning, Phase::Trained] {
            let state = DetectorState {
                phase,
                baseline_ready: true,
                history_secs: 1,
                required_secs: 2,
                model_version: Some(3),
                trained_at: Some(4),
                trained_samples: Some(5),
                active_members: vec!["forest".into()],
                threshold: 3.5,
                adapt_after_secs: 6,
                adaptations: 7,
                rhythms: vec!["daily".into()],
                daily_pattern: true,
                message: "trained".into(),
            };
            let status = crate::detector::TrainingStatus {
                training: true,
                last_error: Some("e".into()),
                last_trained_at: Some(1),
                next_training_at: None,
            };
            // The shape of `Detection::report`.
            let raw = json!({
                "enabled": true,
                "state": state,
                "sensitivity": "medium",
                "training": status,
                "versions": [info()],
                "warnings": ["w"],
            });
            let typed: ModelReport = serde_json::from_value(raw.clone()).unwrap();
            assert_eq!(serde_json::to_value(&typed).unwrap(), raw);
        }
        let off = serde_json::to_value(ModelReport::default()).unwrap();
        assert_eq!(off, json!({"enabled": false}));
    }

    #[test]
    fn a_model_version_is_the_engine_s_model_info() {
        assert_eq!(
            serde_json::to_value(info().to_version()).unwrap(),
            serde_json::to_value(info()).unwrap()
        );
    }
}
