//! The dashboard's pieces. `dashboard` loads the data and wires live updates; the others
//! only render from the shared `DashboardState` signals.

pub mod admin;
pub mod alerts;
pub mod analysis;
pub mod anomalies;
pub mod cards;
pub mod charts;
pub mod controls;
pub mod cores;
pub mod dashboard;
pub mod fleet;
pub mod forecasts;
pub mod login;
pub mod logs;
pub mod processes;
pub mod rules;
pub mod scope;
