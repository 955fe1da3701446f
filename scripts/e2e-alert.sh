#!/usr/bin/env bash
# End-to-end alert check on this machine (several minutes, outside the default test
# command): Lookout at 1 s sampling trains on idle history, then stress-ng loads CPU
# and memory; an email naming the metric and the process must arrive within 60 s via
# a real SMTP server on 127.0.0.1, and a resolve email after the load stops.
# Usage: scripts/e2e-alert.sh [RUNS]   (prints the median time from load to email)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v stress-ng >/dev/null || { apt-get update -qq && apt-get install -y -qq stress-ng; }
export RUSTC_BOOTSTRAP=1
E2E_RUNS="${1:-1}" cargo test --release -p lookout-server --test alert_e2e -- --ignored --nocapture
