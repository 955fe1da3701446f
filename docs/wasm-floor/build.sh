#!/bin/bash
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none --cfg erase_components"
nice -n 19 cargo build --lib --target wasm32-unknown-unknown --profile wasm-release --config "build.rustc='/usr/bin/rustc'" -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
