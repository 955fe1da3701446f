//! Anomaly detection: features, Isolation Forest ensemble, scoring.
