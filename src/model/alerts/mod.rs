//! Alerting: rules, active alerts, notifications and their delivery, silences
//! (`/api/alerts*`, `/api/silences*`). The engine's own types: `lookout::alert`
//! re-exports them and adds the behaviour (parsing, evaluation, rendering).
//!
//! Files: `rules`, `notifications`, `bodies` (the endpoints' bodies), `examples`
//! (their contract examples).

mod bodies;
mod examples;
mod notifications;
mod rules;
#[cfg(test)]
mod tests;

pub use bodies::*;
pub use notifications::*;
pub use rules::*;
