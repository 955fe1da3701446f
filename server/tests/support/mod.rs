//! Helpers shared by the server's integration tests (each test file is its own crate,
//! so not every file uses every helper).
#![allow(dead_code)]

use std::net::TcpListener;

/// A port that was free a moment ago on 127.0.0.1 (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
