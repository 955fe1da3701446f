//! A small, non-generic reader for the wire types the dashboard reads (issue 10, the
//! wasm's size): the browser's `JSON.parse` builds a plain tree ([`Json`], one
//! non-generic walk), then each wire type takes its fields off the tree with
//! [`FromJson`]. Unlike serde's derive, no visitor / field-identifier / map-access
//! machinery is instantiated per type: a field is one lookup and one conversion call
//! (docs/wasm-size.md has the figures). Every JSON read of the browser goes through it:
//! `http::get_json` / `post_json` / `put_json` / `delete_json`, `api::browser_get` and
//! `api::PageJson`.
//!
//! It reads what serde_json writes for the same type: a missing `Option` field is
//! `None`, a missing `#[serde(default)]` field its default, any other missing field an
//! error; unit enums are their (renamed) variant's name. Every type given a reader here
//! has its contract example in this module's tests, read by both and compared.

use lookout::model::*;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

pub type Res<T> = Result<T, String>;

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Num(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }

    /// The tree of a `JSON.parse` result. Not generic: held once in the wasm.
    #[cfg(feature = "hydrate")]
    pub fn from_js(v: &wasm_bindgen::JsValue) -> Json {
        use wasm_bindgen::JsCast;
        if v.is_null() || v.is_undefined() {
            Json::Null
        } else if let Some(b) = v.as_bool() {
            Json::Bool(b)
        } else if let Some(n) = v.as_f64() {
            Json::Num(n)
        } else if let Some(s) = v.as_string() {
            Json::Str(s)
        } else if js_sys::Array::is_array(v) {
            let a: &js_sys::Array = v.unchecked_ref();
            Json::Arr(a.iter().map(|x| Json::from_js(&x)).collect())
        } else {
            let entries = js_sys::Object::entries(v.unchecked_ref());
            Json::Obj(
                entries
                    .iter()
                    .map(|e| {
                        let e: js_sys::Array = e.unchecked_into();
                        (
                            e.get(0).as_string().unwrap_or_default(),
                            Json::from_js(&e.get(1)),
                        )
                    })
                    .collect(),
            )
        }
    }

    /// The same tree from serde_json's parse (the server, the native tests).
    #[cfg(any(test, not(feature = "hydrate")))]
    pub fn from_value(v: serde_json::Value) -> Json {
        use serde_json::Value;
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Json::Str(s),
            Value::Array(a) => Json::Arr(a.into_iter().map(Json::from_value).collect()),
            Value::Object(o) => Json::Obj(
                o.into_iter()
                    .map(|(k, v)| (k, Json::from_value(v)))
                    .collect(),
            ),
        }
    }
}

/// The first error of a read. A read does not stop at an error: the value read so far
/// is filled with defaults and thrown away by [`read`]; that keeps each type's code a
/// straight list of calls, without an early-return path per field.
#[derive(Default)]
pub struct Ctx {
    err: Option<String>,
}

impl Ctx {
    #[inline(never)]
    fn fail(&mut self, what: &str, found: &Json) {
        if self.err.is_none() {
            self.err = Some(format!("expected {what}, found {}", found.kind()));
        }
    }

    #[inline(never)]
    fn number(&mut self, j: Json) -> f64 {
        match j {
            Json::Num(n) => n,
            other => {
                self.fail("a number", &other);
                0.0
            }
        }
    }

    /// An integral number within `lo..=hi` (what serde accepts for an integer type).
    #[inline(never)]
    fn integer(&mut self, j: Json, lo: f64, hi: f64) -> f64 {
        let n = self.number(j);
        if n.fract() == 0.0 && n >= lo && n <= hi {
            n
        } else {
            self.fail("an integer in range", &Json::Num(n));
            0.0
        }
    }

    #[inline(never)]
    pub fn string(&mut self, j: Json) -> String {
        match j {
            Json::Str(s) => s,
            other => {
                self.fail("a string", &other);
                String::new()
            }
        }
    }

    #[inline(never)]
    pub fn object(&mut self, j: Json) -> Fields<'_> {
        match j {
            Json::Obj(f) => Fields { f, cx: self },
            other => {
                self.fail("an object", &other);
                Fields {
                    f: Vec::new(),
                    cx: self,
                }
            }
        }
    }

    #[inline(never)]
    fn array(&mut self, j: Json) -> Vec<Json> {
        match j {
            Json::Arr(a) => a,
            other => {
                self.fail("an array", &other);
                Vec::new()
            }
        }
    }

    #[inline(never)]
    pub fn unknown(&mut self, s: &str) {
        if self.err.is_none() {
            self.err = Some(format!("unknown variant `{s}`"));
        }
    }
}

/// Reads a parsed value as `T`.
pub fn read<T: FromJson>(j: Json) -> Res<T> {
    let mut cx = Ctx::default();
    let v = T::read(j, &mut cx);
    match cx.err {
        None => Ok(v),
        Some(e) => Err(e),
    }
}

/// An object's fields, taken one by one by the type being read.
pub struct Fields<'a> {
    f: Vec<(String, Json)>,
    cx: &'a mut Ctx,
}

impl Fields<'_> {
    /// The field `key`; absent is an error unless `absent_ok`.
    #[inline(never)]
    fn take(&mut self, key: &str, absent_ok: bool) -> Option<Json> {
        match self.f.iter().position(|(k, _)| k == key) {
            Some(at) => Some(std::mem::replace(&mut self.f[at].1, Json::Null)),
            None => {
                if !absent_ok && self.cx.err.is_none() {
                    self.cx.err = Some(format!("missing field `{key}`"));
                }
                None
            }
        }
    }

    /// A field without `#[serde(default)]`: absent is an error, except for `Option`.
    /// An absent field is read from `null`: `None` for an `Option`; for anything else
    /// the error is already recorded and `null` gives a stand-in (zero, empty, an
    /// object with every field so, an enum's first variant), so no type needs `Default`.
    pub fn req<T: FromJson>(&mut self, key: &str) -> T {
        let j = self.take(key, T::OPTIONAL).unwrap_or(Json::Null);
        T::read(j, self.cx)
    }

    /// A `#[serde(default)]` field.
    pub fn def<T: FromJson + Default>(&mut self, key: &str) -> T {
        match self.take(key, true) {
            Some(j) => T::read(j, self.cx),
            None => T::default(),
        }
    }
}

pub trait FromJson: Sized {
    fn read(j: Json, cx: &mut Ctx) -> Self;
    /// An absent field without `#[serde(default)]` is `None` for an `Option`, an error
    /// for anything else, as with serde's derive.
    const OPTIONAL: bool = false;
}

impl FromJson for f64 {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        cx.number(j)
    }
}

impl FromJson for bool {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        match j {
            Json::Bool(b) => b,
            other => {
                cx.fail("a boolean", &other);
                false
            }
        }
    }
}

impl FromJson for String {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        cx.string(j)
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn read(j: Json, cx: &mut Ctx) -> Self {
                cx.integer(j, <$t>::MIN as f64, <$t>::MAX as f64) as $t
            }
        }
    )*};
}
integers!(i32, u32, u64, i64, usize);

impl<T: FromJson> FromJson for Option<T> {
    const OPTIONAL: bool = true;
    fn read(j: Json, cx: &mut Ctx) -> Self {
        match j {
            Json::Null => None,
            other => Some(T::read(other, cx)),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        let a = cx.array(j);
        let mut out = Vec::with_capacity(a.len());
        for x in a {
            out.push(T::read(x, cx));
        }
        out
    }
}

/// `FromJson` for a struct from its field list, each `name` (required unless an
/// `Option`) or `name(default)`, with `= "json name"` for a renamed one. The struct
/// literal names every field, so a field added to the type and not here does not
/// compile.
macro_rules! wire_struct {
    ($($ty:ident { $($f:ident $(($how:ident))? $(= $key:literal)?),* $(,)? })*) => {$(
        impl $crate::json::FromJson for $ty {
            fn read(j: $crate::json::Json, cx: &mut $crate::json::Ctx) -> Self {
                let mut o = cx.object(j);
                $ty { $($f: $crate::json::wire_struct!(@get o, $f $(, $how)? $(; $key)?)),* }
            }
        }
    )*};
    (@get $o:ident, $f:ident) => { $o.req(stringify!($f)) };
    (@get $o:ident, $f:ident, default) => { $o.def(stringify!($f)) };
    (@get $o:ident, $f:ident; $key:literal) => { $o.req($key) };
    (@get $o:ident, $f:ident, default; $key:literal) => { $o.def($key) };
}

/// `FromJson` for a unit-only enum: each variant and its JSON name. An unknown name
/// is an error (the first variant stands in).
macro_rules! wire_enum {
    ($($ty:ident { $v0:ident = $name0:literal $(, $v:ident = $name:literal)* $(,)? })*) => {$(
        impl FromJson for $ty {
            fn read(j: Json, cx: &mut Ctx) -> Self {
                let s = cx.string(j);
                match s.as_str() {
                    $name0 => $ty::$v0,
                    $($name => $ty::$v,)*
                    _ => {
                        cx.unknown(&s);
                        $ty::$v0
                    }
                }
            }
        }
    )*};
}

pub(crate) use wire_struct;

wire_enum! {
    RunScope { Host = "host", Container = "container" }
    ForecastStatus {
        Reaches = "reaches", NotApproaching = "not_approaching",
        NotEnoughHistory = "not_enough_history", Gaps = "gaps"
    }
    Severity { Info = "info", Warning = "warning", Critical = "critical" }
    Op { Gt = ">", Ge = ">=", Lt = "<", Le = "<=" }
    NotificationKind {
        Firing = "firing", Resolved = "resolved", Digest = "digest", Test = "test",
        Inhibited = "inhibited"
    }
    RuleKindName {
        Threshold = "threshold", Anomaly = "anomaly", Stale = "stale", Forecast = "forecast"
    }
    HostStatus { Stale = "stale", Anomalous = "anomalous", Ok = "ok" }
    ModelPhase { Warmup = "warmup", Learning = "learning", Trained = "trained" }
    Unit {
        Percent = "percent", Bytes = "bytes", BytesPerSec = "bytes_per_sec",
        PerSec = "per_sec", Count = "count", Load = "load"
    }
    Role { Viewer = "viewer", Developer = "developer", Admin = "admin" }
    Scope { Read = "read", Admin = "admin", Ingest = "ingest" }
}

wire_struct! {
    Snapshot {
        cpu_usage, memory_usage, load_average, host, timestamp, interval_secs, cpu, memory,
        load, disk, network, processes, anomaly_score, anomaly, scope(default),
        container(default), node(default), pressure(default)
    }
    CpuStats { total, per_core }
    MemoryStats {
        total_bytes, used_bytes, available_bytes, free_bytes, cached_bytes, buffers_bytes,
        usage_percent, swap_total_bytes, swap_used_bytes, swap_usage_percent
    }
    LoadAverage { one, five, fifteen }
    DiskStats {
        read_bytes_per_sec, write_bytes_per_sec, read_ops_per_sec, write_ops_per_sec,
        free_percent, devices, filesystems
    }
    DeviceIo {
        name, read_bytes_per_sec, write_bytes_per_sec, read_ops_per_sec, write_ops_per_sec
    }
    FilesystemUsage { mount_point, total_bytes, available_bytes }
    NetworkStats {
        rx_bytes_per_sec, tx_bytes_per_sec, rx_packets_per_sec, tx_packets_per_sec,
        rx_errors_per_sec, tx_errors_per_sec, interfaces
    }
    InterfaceIo {
        name, rx_bytes_per_sec, tx_bytes_per_sec, rx_packets_per_sec, tx_packets_per_sec,
        rx_errors_per_sec, tx_errors_per_sec
    }
    ProcessStats { count, top_cpu, top_memory }
    ProcessInfo { pid, name, cpu_percent, rss_bytes }
    ContainerStats {
        cgroup_version, cgroup_path, cpu_limit_cores, cpu_quota_set, cpuset_cpus(default),
        cpu_usage_percent, cpu_periods, cpu_throttled_periods, cpu_throttled_us,
        throttled_percent, throttled_percent_last_minute, memory_current_bytes,
        memory_working_set_bytes, memory_max_bytes, memory_usage_percent,
        memory_cache_bytes, swap_current_bytes, swap_max_bytes, oom_kills,
        memory_high_events, memory_max_events, oom_kills_in_interval,
        io_read_bytes_per_sec, io_write_bytes_per_sec
    }
    NodeFigures {
        cpu_usage, memory_usage, memory_total_bytes, memory_used_bytes, load_average,
        cores, pressure(default)
    }
    PressureStats { source, cpu, memory, io }
    Pressure {
        some_avg10, some_avg60, some_total_us, full_avg10, full_avg60, full_total_us
    }
    UiSettings { host, sample_interval_secs, default_refresh_secs }
    MetricContribution { metric, value, normal_low, normal_high, contribution }
    Explanation { metrics, top_cpu, top_memory, rhythm(default), causes(default) }
    AnomalyEvent { id, host, start, end, peak_score, peak_at, explanation, expected }
    AnomalyList { from, to, events }
    ForecastPoint { t, v, low, high }
    Forecast {
        metric, label, unit, status, message, bound, rising, current, trend_now,
        slope_per_hour, slope_low_per_hour, slope_high_per_hour, time_to_bound_secs,
        time_to_bound_low_secs, time_to_bound_high_secs, reaches_at, within_horizon,
        history_secs, required_history_secs, leak_suspected(default), line
    }
    ForecastReport { generated_at, horizon_secs, forecasts }
    LogLine { t, level, target, message }
    LogsResponse { capacity, lines }
    RuleConfig {
        name(default), severity(default), enabled(default), kind(default),
        condition(default), resolve(default), and_anomalous(default), min_score(default),
        for_(default) = "for", intervals(default), channels(default), hosts(default)
    }
    MetricValue { metric, value, threshold, normal_low, normal_high }
    DigestEntry { kind, rule, rule_kind(default), host, severity, since }
    Notification {
        id, kind, rule, rule_kind(default), condition, host, severity, since, at, values,
        explanation, dashboard_link, channels, digest, inhibited_by(default),
        forecast(default)
    }
    Silence { id, rule, host, starts_at, ends_at, comment, created_by }
    SilenceList { silences }
    SilenceExpired { id, status }
    ActiveAlert { rule, host, severity, state, since, values, silenced, inhibited_by }
    DeliveryStatus { channel, status, attempts, next_attempt_at, last_error, delivered_at }
    AlertHistoryEntry { id, created_at, notification, deliveries }
    AlertsOverview { active, rules, channels }
    AlertHistory { from, to, entries }
    HostTile {
        host, status, this_host, last_seen, cpu_usage, memory_usage, load_average,
        anomaly_score, open_events, firing_alerts
    }
    FleetOverview { at, filter, total, hosts }
    ModelState {
        phase, baseline_ready, history_secs, required_secs, model_version, trained_at,
        trained_samples, active_members, threshold, adapt_after_secs(default),
        adaptations(default), rhythms(default), daily_pattern(default), message
    }
    TrainingStatus { training, last_error, last_trained_at, next_training_at }
    ModelVersion {
        version, path, format_version, trained_at, window, samples, members, features,
        rolled_back_from, eval
    }
    SensitivityResponse { sensitivity, threshold }
    Point { t, v, min, max }
    Series { metric, unit, resolution_secs, points }
    History { from, to, series }
    Me { username, role, csrf_token, auth_enabled }
    ApiError { error, param(default), message(default) }
    Status { status }
    NameStatus { name, status }
    RuleSaved { name, describe, enabled }
    RuleTestResult { rule, describe, value_now, condition_holds_now }
    CoreHeatmap { from, to, bucket_secs, times, cores }
    RhythmGrid { metric, means, counts }
    Rhythm { from, to, tz_offset_min, metric, score }
    CorrelationCell { r, n }
    Correlation { from, to, resolution_secs, metrics, cells }
    User { id, name, role, created_at }
    UserList { users }
    ApiToken {
        id, name, scope, prefix, created_by, created_at, last_used_at, revoked_at,
        host(default)
    }
    TokenList { tokens }
    AuditEntry { id, at, actor, action, target, detail }
    AuditLog { entries }
}

/// [`ApiToken`]'s fields flattened beside `token`, as serde writes [`CreatedToken`]:
/// the token's own reader takes its fields off the same object (it ignores `token`,
/// as serde's does).
impl FromJson for CreatedToken {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        let meta = ApiToken::read(j.clone(), cx);
        CreatedToken {
            meta,
            token: cx.object(j).req("token"),
        }
    }
}

/// `{"Ok": value}` or `{"Err": error}`, as serde writes a `Result` (a page's resource
/// that can fail).
impl<T: FromJson, E: FromJson> FromJson for Result<T, E> {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        let mut o = cx.object(j);
        match o.take("Ok", true) {
            Some(v) => Ok(T::read(v, o.cx)),
            None => Err(o.req("Err")),
        }
    }
}

/// A pair: a two-element array, as serde writes a tuple.
impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        let mut a = cx.array(j).into_iter();
        if a.len() != 2 {
            cx.fail("an array of 2", &Json::Arr(Vec::new()));
        }
        let first = A::read(a.next().unwrap_or(Json::Null), cx);
        (first, B::read(a.next().unwrap_or(Json::Null), cx))
    }
}

/// Any JSON (a model version's free-form `eval`), as serde_json's own value.
impl FromJson for serde_json::Value {
    fn read(j: Json, _: &mut Ctx) -> Self {
        use serde_json::Value;
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Num(n) => {
                // serde_json reads an integral number as an integer.
                if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
                    Value::from(n as i64)
                } else {
                    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
                }
            }
            Json::Str(s) => Value::String(s),
            Json::Arr(a) => Value::Array(
                a.into_iter()
                    .map(|x| Self::read(x, &mut Ctx::default()))
                    .collect(),
            ),
            Json::Obj(o) => Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, Self::read(v, &mut Ctx::default())))
                    .collect(),
            ),
        }
    }
}

/// The detector's fields flattened beside `enabled`, all or none, as serde writes
/// [`ModelReport`] (into the same [`ModelReportFields`] serde reads it into).
impl FromJson for ModelReport {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        let mut o = cx.object(j);
        ModelReport::from(ModelReportFields {
            enabled: o.req("enabled"),
            state: o.req("state"),
            sensitivity: o.req("sensitivity"),
            training: o.req("training"),
            versions: o.req("versions"),
            warnings: o.req("warnings"),
        })
    }
}

/// An internally tagged enum (`"kind"` beside the variant's fields), as serde writes
/// [`RuleKind`].
impl FromJson for RuleKind {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        let mut o = cx.object(j);
        let tag: String = o.req("kind");
        match tag.as_str() {
            "anomaly" => RuleKind::Anomaly {
                min_score: o.req("min_score"),
                for_ms: o.req("for_ms"),
            },
            "threshold" => RuleKind::Threshold(ThresholdRule {
                metric: o.req("metric"),
                op: o.req("op"),
                value: o.req("value"),
                for_ms: o.req("for_ms"),
                resolve: o.req("resolve"),
                and_anomalous: o.req("and_anomalous"),
            }),
            "forecast" => RuleKind::Forecast(ForecastRule {
                metric: o.req("metric"),
                op: o.req("op"),
                value: o.req("value"),
                within_ms: o.req("within_ms"),
            }),
            "stale" => RuleKind::Stale {
                intervals: o.req("intervals"),
            },
            _ => {
                o.cx.unknown(&tag);
                RuleKind::Stale { intervals: 0 }
            }
        }
    }
}

/// [`Rule`]'s fields flattened beside the view's own, as serde writes [`RuleView`].
impl FromJson for RuleView {
    fn read(j: Json, cx: &mut Ctx) -> Self {
        let mut o = cx.object(j);
        RuleView {
            rule: Rule {
                name: o.req("name"),
                severity: o.req("severity"),
                enabled: o.req("enabled"),
                channels: o.req("channels"),
                hosts: o.def("hosts"),
                kind: o.req("kind"),
            },
            describe: o.req("describe"),
            source: o.req("source"),
            config: o.req("config"),
        }
    }
}

/// Reads JSON text as `T` with `JSON.parse` and [`FromJson`].
#[cfg(feature = "hydrate")]
pub fn decode<T: FromJson>(text: &str) -> Res<T> {
    read(parse(text)?)
}

#[cfg(feature = "hydrate")]
fn parse(text: &str) -> Res<Json> {
    js_sys::JSON::parse(text)
        .map(|v| Json::from_js(&v))
        .map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout::model::ApiBody;

    /// `value` written by serde_json (as the server does), then read by serde_json and
    /// by this reader: both must give the same value.
    fn same<T>(value: &T)
    where
        T: FromJson + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let text = serde_json::to_string(value).unwrap();
        let by_serde: T = serde_json::from_str(&text).unwrap();
        let tree = Json::from_value(serde_json::from_str(&text).unwrap());
        assert_eq!(read::<T>(tree).unwrap(), by_serde, "{text}");
    }

    fn tree(text: &str) -> Json {
        Json::from_value(serde_json::from_str(text).unwrap())
    }

    /// The contract's example of each type this reader covers (the API contract test,
    /// server/tests/api_wire.rs, checks the server answers with these types), and the
    /// defaults, whose absent `skip_serializing_if` fields take the other path.
    #[test]
    fn reads_what_serde_json_writes() {
        same(&Snapshot::example());
        same(&Snapshot::default());
        same(&UiSettings::example());
        same(&Me::example());
        same(&Me::default());
        same(&AnomalyList::example());
        same(&AnomalyEvent::example());
        same(&AnomalyEvent::default());
        same(&ForecastReport::example());
        same(&LogsResponse::example());
        same(&AlertsOverview::example());
        same(&AlertHistory::example());
        same(&Silence::example());
        same(&SilenceList::example());
        same(&SilenceExpired::example());
        same(&FleetOverview::example());
        same(&ModelReport::example());
        same(&ModelReport::default());
        same(&ModelVersion::example());
        same(&SensitivityResponse::example());
        same(&History::example());
        // The /analysis page's reads (its resources hand them over as `Result`s).
        same(&CoreHeatmap::example());
        same(&Rhythm::example());
        same(&Correlation::example());
        same::<Result<CoreHeatmap, String>>(&Ok(CoreHeatmap::example()));
        same::<Result<Rhythm, String>>(&Err("store: closed".into()));
        same::<Result<Option<History>, String>>(&Ok(Some(History::example())));
        same::<Result<Option<History>, String>>(&Ok(None));
        same::<Result<AnomalyList, String>>(&Ok(AnomalyList::example()));
        // /admin's, the actions' answers and the error answer of every request.
        same(&UserList::example());
        same(&User::example());
        same(&TokenList::example());
        same(&ApiToken::example());
        same(&ApiToken {
            host: Some("web-1".into()),
            scope: Scope::Ingest,
            ..ApiToken::example()
        });
        same(&CreatedToken::example());
        same(&AuditLog::example());
        same(&NameStatus::example());
        same(&Status::example());
        same(&RuleSaved::example());
        same(&RuleTestResult::example());
        same(&RuleTestResult::default());
        same(&ApiError::example());
        same(&ApiError::new("HTTP 403"));
        for role in Role::ALL {
            same(&User {
                role,
                ..User::example()
            });
        }
        // The rule kinds the examples above leave out.
        same(&RuleKind::Forecast(ForecastRule {
            metric: "disk_free_percent".into(),
            op: Op::Le,
            value: 10.0,
            within_ms: 3_600_000,
        }));
        same(&RuleKind::Anomaly {
            min_score: Some(0.8),
            for_ms: 0,
        });
    }

    #[test]
    fn absent_and_wrong_fields_are_errors_as_with_serde() {
        let mut v = serde_json::to_value(Snapshot::example()).unwrap();
        v.as_object_mut().unwrap().remove("host");
        let err = read::<Snapshot>(Json::from_value(v)).unwrap_err();
        assert_eq!(err, "missing field `host`");
        // A `#[serde(default)]` field may be absent; an `Option` one too.
        let mut v = serde_json::to_value(Snapshot::example()).unwrap();
        v.as_object_mut().unwrap().remove("scope");
        v.as_object_mut().unwrap().remove("anomaly_score");
        let s = read::<Snapshot>(Json::from_value(v)).unwrap();
        assert_eq!((s.scope, s.anomaly_score), (RunScope::Host, None));
        assert!(read::<Me>(tree(r#"{"role":1,"auth_enabled":true}"#)).is_err());
        assert!(read::<u32>(tree("1.5")).is_err());
        assert!(read::<u32>(tree("-1")).is_err());
        assert!(read::<RunScope>(tree(r#""pod""#)).is_err());
        let partial = tree(r#"{"kind":"threshold","metric":"cpu_usage"}"#);
        assert_eq!(
            read::<RuleKind>(partial),
            Err("missing field `op`".to_string())
        );
        assert!(read::<RuleKind>(tree(r#"{"kind":"sometimes"}"#)).is_err());
        // A flattened token without its secret, a `Result` that is neither.
        let mut v = serde_json::to_value(CreatedToken::example()).unwrap();
        v.as_object_mut().unwrap().remove("token");
        assert_eq!(
            read::<CreatedToken>(Json::from_value(v)).unwrap_err(),
            "missing field `token`"
        );
        assert!(read::<Result<Status, String>>(tree(r#"{"status":"ok"}"#)).is_err());
        assert!(read::<i32>(tree("2147483648")).is_err());
        assert_eq!(
            read::<RunScope>(tree(r#""container""#)),
            Ok(RunScope::Container)
        );
    }
}
