//! `lookout detect`'s CSV reader: any bytes give a table or a CsvError, never a
//! panic, and every row of a table has one value per column.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((columns, _timestamps, rows)) = lookout::detect::csv::read_table(data, "fuzz") {
        assert!(rows.iter().all(|r| r.len() == columns.len()));
    }
});
