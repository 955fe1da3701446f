//! Human-readable bodies (plain text and HTML) shared by email and chat payloads, so
//! every channel says the same thing: what fired, where, since when, the values
//! against the normal band, the top metrics and processes, and a dashboard link.

use super::notification::{Notification, NotificationKind};
use crate::model::TimestampMs;
use std::fmt::Write;

/// `2026-11-25 16:38:17 UTC` without a date crate (civil-from-days, Hinnant).
pub fn format_time(ms: TimestampMs) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn num(v: f64) -> String {
    if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 0.01) {
        format!("{v:.3e}")
    } else {
        format!("{:.2}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Lines of "what happened", shared by the text and HTML renderings.
fn lines(n: &Notification) -> Vec<String> {
    let mut out = Vec::new();
    match n.kind {
        NotificationKind::Digest => {
            out.push(format!(
                "{} notifications were held back by the rate limit ({}):",
                n.digest.len(),
                n.condition
            ));
            for d in &n.digest {
                out.push(format!(
                    "- {} {} on {} ({}) since {}",
                    d.kind.as_str(),
                    d.rule,
                    d.host,
                    d.severity,
                    format_time(d.since)
                ));
            }
            return out;
        }
        NotificationKind::Test => {
            out.push("This is a test notification: the channel works.".into());
            return out;
        }
        NotificationKind::Inhibited => out.push(format!(
            "Alert {} on host {} fired at {} but is inhibited while {} fires.",
            n.rule,
            n.host,
            format_time(n.since),
            n.inhibited_by.as_deref().unwrap_or("another alert")
        )),
        NotificationKind::Firing => out.push(format!(
            "Alert {} is FIRING on host {} since {}.",
            n.rule,
            n.host,
            format_time(n.since)
        )),
        NotificationKind::Resolved => out.push(format!(
            "Alert {} on host {} is RESOLVED at {} (fired {}).",
            n.rule,
            n.host,
            format_time(n.at),
            format_time(n.since)
        )),
    }
    out.push(format!("Rule: {} (severity {})", n.condition, n.severity));
    if let Some(f) = &n.forecast {
        out.push(format!("Forecast: {f}"));
    }
    for v in &n.values {
        let mut s = format!("Value: {} = {}", v.metric, num(v.value));
        if let Some(t) = v.threshold {
            let _ = write!(s, " (threshold {})", num(t));
        }
        if let (Some(lo), Some(hi)) = (v.normal_low, v.normal_high) {
            let _ = write!(s, ", normal band {}..{}", num(lo), num(hi));
        }
        out.push(s);
    }
    if let Some(e) = &n.explanation {
        for c in &e.causes {
            out.push(format!("Cause: {c}"));
        }
        if !e.metrics.is_empty() {
            out.push("Top contributing metrics:".into());
            for m in e.metrics.iter().take(5) {
                out.push(format!(
                    "- {} = {} (normal {}..{}, {:.0}% of the anomaly)",
                    m.metric,
                    num(m.value),
                    num(m.normal_low),
                    num(m.normal_high),
                    m.contribution * 100.0
                ));
            }
        }
        if !e.top_cpu.is_empty() {
            out.push("Top processes by CPU:".into());
            for p in e.top_cpu.iter().take(5) {
                out.push(format!(
                    "- {} (pid {}): {}% CPU, {} MiB",
                    p.name,
                    p.pid,
                    num(p.cpu_percent),
                    p.rss_bytes / (1024 * 1024)
                ));
            }
        }
        if !e.top_memory.is_empty() {
            out.push("Top processes by memory:".into());
            for p in e.top_memory.iter().take(5) {
                out.push(format!(
                    "- {} (pid {}): {} MiB, {}% CPU",
                    p.name,
                    p.pid,
                    p.rss_bytes / (1024 * 1024),
                    num(p.cpu_percent)
                ));
            }
        }
    }
    out
}

/// Plain-text body.
pub fn text(n: &Notification) -> String {
    let mut s = lines(n).join("\n");
    let _ = write!(s, "\n\nDashboard: {}\n", n.dashboard_link);
    s
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// HTML body: the same lines, lists as lists, every value escaped (host and process
/// names come from the machine and could contain markup).
pub fn html(n: &Notification) -> String {
    let mut s = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><h2>{}</h2>",
        escape_html(&n.subject())
    );
    let mut in_list = false;
    for line in lines(n) {
        if let Some(item) = line.strip_prefix("- ") {
            if !in_list {
                s.push_str("<ul>");
                in_list = true;
            }
            let _ = write!(s, "<li>{}</li>", escape_html(item));
        } else {
            if in_list {
                s.push_str("</ul>");
                in_list = false;
            }
            let _ = write!(s, "<p>{}</p>", escape_html(&line));
        }
    }
    if in_list {
        s.push_str("</ul>");
    }
    let link = escape_html(&n.dashboard_link);
    let _ = write!(
        s,
        "<p><a href=\"{link}\">Open the dashboard at that moment</a></p></body></html>"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_764_088_697_000), "2025-11-25 16:38:17 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
