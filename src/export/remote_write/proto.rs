//! The Prometheus remote-write 1.0 wire format: `prometheus.WriteRequest` as protobuf,
//! compressed with snappy's block format. The messages are written by hand with
//! `prost`'s derive (field numbers from Prometheus' `prompb/types.proto` and
//! `remote.proto`), so no `protoc` is needed to build.

use prost::Message;

#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Sorted by name, `__name__` included (the receivers require the order).
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The request body: protobuf, then snappy (block format, as the spec says).
pub fn encode(req: &WriteRequest) -> Vec<u8> {
    let raw = req.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .expect("snappy compresses any input below 4 GiB")
}

/// The inverse of [`encode`] (for tests and the bench).
pub fn decode(body: &[u8]) -> Result<WriteRequest, String> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))?;
    WriteRequest::decode(&raw[..]).map_err(|e| format!("protobuf: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_the_round_trip_and_matches_the_known_bytes() {
        let req = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: "up".into(),
                }],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: 1000,
                }],
            }],
        };
        // Hand-encoded: ts{ labels{ "__name__", "up" }, samples{ 1.0, 1000 } }.
        let expected: Vec<u8> = [
            &[0x0a, 0x1e, 0x0a, 0x0e, 0x0a, 0x08][..],
            b"__name__",
            &[0x12, 0x02],
            b"up",
            &[
                0x12, 0x0c, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0xe8, 0x07,
            ],
        ]
        .concat();
        assert_eq!(req.encode_to_vec(), expected);
        assert_eq!(decode(&encode(&req)).unwrap(), req);
    }
}
