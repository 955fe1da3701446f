#!/bin/bash
# Leptos 0.8's own floor, with the flags of Lookout's wasm (docs/wasm-size.md):
#   bash docs/wasm-floor/build.sh   (then wasm-bindgen, wasm-opt -Oz, gzip -9: below)
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
export RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none --cfg erase_components"
nice -n 19 cargo build --lib --target wasm32-unknown-unknown --profile wasm-release --config "build.rustc='/usr/bin/rustc'" -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
wasm-bindgen --target web --out-dir out target/wasm32-unknown-unknown/wasm-release/floor.wasm
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  out/floor_bg.wasm -o out/floor.opt.wasm
echo "floor: $(stat -c %s out/floor.opt.wasm) B raw, $(gzip -9c out/floor.opt.wasm | wc -c) B gzip -9"
