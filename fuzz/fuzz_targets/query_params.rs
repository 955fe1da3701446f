//! The history and series query string (`metric=..&from=-15m&to=..&points=..`),
//! decoded as the server decodes it: a query is valid or a 400 naming the parameter;
//! a valid one never has from >= to, a span past 400 days or zero points.
#![no_main]
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000_000;

fuzz_target!(|query: &str| {
    let pairs = lookout_server::edge::form::pairs(query);
    if let Ok(q) = lookout::store::HistoryQuery::parse(&pairs, NOW) {
        assert!(
            q.from < q.to,
            "{query:?} gave from {} >= to {}",
            q.from,
            q.to
        );
        assert!(q.points > 0);
    }
    if let Ok((from, to)) = lookout::store::parse_range(&pairs, NOW, 3_600_000) {
        assert!(from < to && to - from <= 400 * 86_400_000, "{query:?}");
    }
});
