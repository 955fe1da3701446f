//! Load average (1, 5, 15 minutes). Always 0 on Windows, which has none.

use crate::model::LoadAverage;
use sysinfo::System;

pub fn read() -> LoadAverage {
    let l = System::load_average();
    let clean = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    LoadAverage {
        one: clean(l.one),
        five: clean(l.five),
        fifteen: clean(l.fifteen),
    }
}
