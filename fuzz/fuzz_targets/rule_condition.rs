//! The alert rule grammar (`cpu_usage > 90 for 5m and anomalous`) and the duration
//! grammar every setting uses: any text parses or is refused with a message.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = lookout::alert::rules::parse_condition(text);
    let _ = lookout::alert::rules::parse_duration(text);
    let _ = lookout::time::parse_duration(text);
});
