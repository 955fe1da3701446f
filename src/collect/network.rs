//! Network interface counters, from `/proc/net/dev` (sysinfo where it is missing).

use super::raw::NetCounters;
use sysinfo::Networks;

/// Loopback traffic never leaves the host, so it is left out of the host totals.
pub fn counts_in_total(name: &str) -> bool {
    name != "lo"
}

/// Reads the counters once a sample. `/proc/net/dev` holds every interface of this
/// process's network namespace in one file: one open and one read. sysinfo's refresh
/// opens six `/sys/class/net/IF/statistics/*` files per interface and lists the
/// addresses over a netlink socket each time, which was about half of what an agent
/// at 1 s sampling spent (scripts/bench-agent.sh). sysinfo remains the fallback where
/// the file cannot be read.
pub struct NetProbe {
    networks: Option<Networks>,
}

const NET_DEV: &str = "/proc/net/dev";

impl NetProbe {
    pub fn new() -> Self {
        NetProbe { networks: None }
    }

    /// Cumulative counters per interface, sorted by name for a stable display order.
    /// Interfaces that went away are dropped, new ones picked up.
    pub fn counters(&mut self) -> Vec<NetCounters> {
        // Once the file could not be read (not Linux, a sandbox), sysinfo from then on.
        let text = match self.networks {
            None => std::fs::read_to_string(NET_DEV).ok(),
            Some(_) => None,
        };
        let mut out = match text {
            Some(text) => parse_net_dev(&text),
            None => {
                let networks = self
                    .networks
                    .get_or_insert_with(Networks::new_with_refreshed_list);
                networks.refresh(true);
                networks
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
                    .collect()
            }
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// Parses `/proc/net/dev`: after two header lines, `NAME: ` then eight receive
/// columns (bytes packets errs drop fifo frame compressed multicast) and eight
/// transmit columns (bytes packets errs drop fifo colls carrier compressed). The errs
/// columns are the kernel's rx_errors / tx_errors, as sysfs' statistics give them.
/// Malformed lines are skipped.
pub fn parse_net_dev(text: &str) -> Vec<NetCounters> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let v: Vec<u64> = rest
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            (v.len() >= 16).then(|| NetCounters {
                name: name.trim().to_string(),
                rx_bytes: v[0],
                rx_packets: v[1],
                rx_errors: v[2],
                tx_bytes: v[8],
                tx_packets: v[9],
                tx_errors: v[10],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on this machine (Debian 12, kernel 6.x), plus a malformed line.
    const NET_DEV_TEXT: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1091544455 1111654    0    0    0     0          0         0 1091544455 1111654    0    0    0     0       0          0
  eth0: 1268986713   48641    3    0    0     0          0         0  2777710   30936    7    0    0     0       0          0
docker0:  163410     417    0    0    0     0          0         0 19477225     717    0    2    0     0       0          0
 bad0: 12 oops
";

    #[test]
    fn net_dev_columns_are_read_by_position() {
        let c = parse_net_dev(NET_DEV_TEXT);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth0", "docker0"]);
        let eth0 = &c[1];
        assert_eq!(
            (eth0.rx_bytes, eth0.rx_packets, eth0.rx_errors),
            (1_268_986_713, 48_641, 3)
        );
        assert_eq!(
            (eth0.tx_bytes, eth0.tx_packets, eth0.tx_errors),
            (2_777_710, 30_936, 7)
        );
        // docker0's "drop" column (2) is not its errors.
        assert_eq!(c[2].tx_errors, 0);
    }

    #[test]
    fn this_hosts_interfaces_match_sysinfo() {
        let Ok(text) = std::fs::read_to_string(NET_DEV) else {
            eprintln!("skipped: {NET_DEV} cannot be read here");
            return;
        };
        let ours = parse_net_dev(&text);
        let networks = Networks::new_with_refreshed_list();
        let mut theirs: Vec<&String> = networks.list().keys().collect();
        theirs.sort();
        let mut names: Vec<&String> = ours.iter().map(|c| &c.name).collect();
        names.sort();
        assert_eq!(names, theirs, "the same interfaces as sysinfo lists");
    }
}
