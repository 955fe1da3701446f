//! Network interface counters from sysinfo.

use super::raw::NetCounters;
use sysinfo::Networks;

/// Loopback traffic never leaves the host, so it is left out of the host totals.
pub fn counts_in_total(name: &str) -> bool {
    name != "lo"
}

/// Owns the sysinfo interface list, refreshed in place each sample.
pub struct NetProbe {
    networks: Networks,
}

impl NetProbe {
    pub fn new() -> Self {
        NetProbe {
            networks: Networks::new_with_refreshed_list(),
        }
    }

    /// Cumulative counters per interface, sorted by name for a stable display order.
    /// Interfaces that went away are dropped (`refresh(true)`), new ones picked up.
    pub fn counters(&mut self) -> Vec<NetCounters> {
        self.networks.refresh(true);
        let mut out: Vec<NetCounters> = self
            .networks
            .list()
            .iter()
            .map(|(name, d)| NetCounters {
                name: name.clone(),
                rx_bytes: d.total_received(),
                tx_bytes: d.total_transmitted(),
                rx_packets: d.total_packets_received(),
                tx_packets: d.total_packets_transmitted(),
                rx_errors: d.total_errors_on_received(),
                tx_errors: d.total_errors_on_transmitted(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}
