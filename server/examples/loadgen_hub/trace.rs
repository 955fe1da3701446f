//! The recorded trace the simulated hosts replay, rendered to sample JSON once.

use crate::host::root;
use std::collections::BTreeMap;
use std::io::Read;

/// The trace's rows as column name -> value (empty cells are 0).
pub fn trace_rows() -> Vec<BTreeMap<String, f64>> {
    let path = root().join("tests/data/trace-idle.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("the trace"))
        .read_to_string(&mut text)
        .expect("a gzip CSV");
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(|v| v.parse::<f64>().unwrap_or(0.0)))
                .collect()
        })
        .collect()
}

/// A placeholder timestamp, replaced per sample: no real sample has it.
pub const TS_MARK: i64 = 9_123_456_789_012_345;

/// One trace row as a sample's JSON, split around the timestamp: (before, after).
pub fn render(
    template: &serde_json::Value,
    row: &BTreeMap<String, f64>,
    interval: f64,
) -> (String, String) {
    use serde_json::json;
    let r = |k: &str| row.get(k).copied().unwrap_or(0.0);
    let int = |k: &str| r(k) as i64;
    let mut s = template.clone();
    s["host"] = json!("");
    s["timestamp"] = json!(TS_MARK);
    s["interval_secs"] = json!(interval);
    s["anomaly_score"] = serde_json::Value::Null;
    s["anomaly"] = json!(false);
    s["cpu_usage"] = json!(r("cpu_usage"));
    s["cpu"]["total"] = json!(r("cpu_usage"));
    s["memory_usage"] = json!(r("memory_usage"));
    let m = &mut s["memory"];
    m["usage_percent"] = json!(r("memory_usage"));
    for k in ["used", "available", "free", "cached", "buffers"] {
        m[format!("{k}_bytes")] = json!(int(&format!("memory_{k}_bytes")));
    }
    m["swap_used_bytes"] = json!(int("swap_used_bytes"));
    m["swap_usage_percent"] = json!(r("swap_usage"));
    s["load"] = json!({"one": r("load_1"), "five": r("load_5"), "fifteen": r("load_15")});
    s["load_average"] = json!(r("load_1"));
    let d = &mut s["disk"];
    for k in ["read_bytes", "write_bytes", "read_ops", "write_ops"] {
        d[format!("{k}_per_sec")] = json!(r(&format!("disk_{k}_per_sec")));
    }
    d["free_percent"] = json!(r("disk_free_percent"));
    let n = &mut s["network"];
    for k in [
        "rx_bytes",
        "tx_bytes",
        "rx_packets",
        "tx_packets",
        "rx_errors",
        "tx_errors",
    ] {
        n[format!("{k}_per_sec")] = json!(r(&format!("net_{k}_per_sec")));
    }
    s["processes"]["count"] = json!(int("process_count"));
    let text = s.to_string();
    let mark = TS_MARK.to_string();
    let at = text.find(&mark).expect("the timestamp placeholder");
    (text[..at].to_string(), text[at + mark.len()..].to_string())
}
