//! Sampler: reads the host and turns raw counters into snapshots.
