//! The configuration loader: any file is settings or a ConfigError naming the key,
//! never a panic. Inputs with a '/' are skipped so that no setting can name a path
//! outside the temporary folder the target runs in (the loader creates data folders).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lookout-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::env::set_current_dir(&dir).unwrap();
        dir
    })
}

fuzz_target!(|text: &str| {
    if text.contains('/') || text.contains('\\') {
        return;
    }
    let file = scratch().join("lookout.toml");
    std::fs::write(&file, text).unwrap();
    let _ = lookout_server::config::load(Some(&file), &[], &[]);
});
