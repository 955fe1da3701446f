#!/usr/bin/env bash
# End-to-end alert check on this machine (several minutes, outside the default test
# command): Lookout at 1 s sampling trains on this host's history (E2E_MIN_HISTORY,
# default 5m), optionally watches IDLE_SECS with no load and counts the alert emails
# (false alerts), then RUNS times starts stress-ng for 45 s (2 CPU workers and
# E2E_VM_BYTES of memory, default a quarter of RAM, populated at once): an email
# naming the metric and the stress process must arrive within 60 s via a real SMTP
# server on 127.0.0.1, and a resolve email after the load stops.
# Usage: scripts/e2e-alert.sh [RUNS] [IDLE_SECS]
#   e.g. scripts/e2e-alert.sh 5 1800   (prints the median time from load to email)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v stress-ng >/dev/null || { apt-get update -qq && apt-get install -y -qq stress-ng; }
export RUSTC_BOOTSTRAP=1
E2E_RUNS="${1:-1}" E2E_IDLE_SECS="${2:-0}" \
  cargo test --release -p lookout-server --test alert_e2e -- --ignored --nocapture
