//! The built site's static files (`/pkg`, `/vendor`): served under content-hashed names
//! with a year-long `immutable` lifetime, so a repeat visit asks for nothing; from the
//! `.br` / `.gz` copies the release build writes next to each file (`cargo leptos build
//! --release --precompress`) when the browser accepts them; and under their plain names
//! too (revalidated on every use), for old pages and for tools that know only those.
//!
//! The wasm, its JavaScript glue and the stylesheet are renamed by cargo-leptos
//! (`hash-files`; the hashes are in `hash.txt` next to the binary, where Leptos' own
//! `HydrationScripts` reads them). Every other file (Chart.js) gets its hashed name here,
//! from its contents, when the server starts.
//!
//! Only files found by the scan at start are served from the table; anything else under
//! these folders goes through `ServeDir` (which refuses `..` and friends), so a front end
//! rebuilt while the server runs (`cargo leptos watch`) is still served.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::Digest as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

/// The folders under the site root that hold static files (public without a session:
/// `auth::policy::PUBLIC_PREFIXES`).
pub const FOLDERS: &[&str] = &["pkg", "vendor"];

/// Whether `path` is under one of the [`FOLDERS`].
pub fn is_static(path: &str) -> bool {
    FOLDERS.iter().any(|f| {
        path.strip_prefix('/')
            .and_then(|p| p.strip_prefix(f))
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// `Cache-Control` of a file whose name carries its content hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a file under its plain name: use it, but ask first (a 304 when
/// it has not changed).
pub const REVALIDATE: &str = "no-cache";

/// One servable URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The file, relative to the site root.
    file: PathBuf,
    immutable: bool,
}

/// The table of static files, built once at start.
#[derive(Debug, Clone, Default)]
pub struct Assets {
    root: PathBuf,
    /// URL path (`/pkg/lookout.3f2a….css`) -> file.
    urls: HashMap<String, Entry>,
    /// Plain URL -> hashed URL (what pages should link to).
    hashed: HashMap<String, String>,
}

impl Assets {
    /// Scans `root/pkg` and `root/vendor`. `leptos_hashes` is the content of cargo-leptos'
    /// `hash.txt` (`js: …`, `wasm: …`, `css: …`), when the build hashed its files.
    pub fn scan(root: &Path, leptos_hashes: Option<&str>) -> Assets {
        let leptos: Vec<String> = leptos_hashes
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(_, h)| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect();
        let mut assets = Assets {
            root: root.to_path_buf(),
            ..Assets::default()
        };
        for folder in FOLDERS {
            let Ok(dir) = std::fs::read_dir(root.join(folder)) else {
                continue;
            };
            let mut names: Vec<String> = dir
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.ends_with(".br") && !n.ends_with(".gz"))
                .collect();
            names.sort();
            for name in names {
                let file = Path::new(folder).join(&name);
                let url = format!("/{folder}/{name}");
                // The wasm chunks of lazy pages and functions (`--split`) are renamed by cargo-leptos
                // too, with no line of their own in hash.txt: its 22-character hash is
                // in their name (the split loader asks for that name).
                let hash = leptos
                    .iter()
                    .find(|h| name.contains(&format!(".{h}")))
                    .map(String::as_str)
                    .or_else(|| {
                        if leptos.is_empty() {
                            None
                        } else {
                            leptos_hash_in(&name)
                        }
                    });
                if let Some(h) = hash {
                    // Renamed by cargo-leptos: also answer to the plain name.
                    let plain = format!("/{folder}/{}", name.replacen(&format!(".{h}"), "", 1));
                    assets.add(&plain, &file, false);
                    assets.hashed.insert(plain, url.clone());
                    assets.add(&url, &file, true);
                } else {
                    let Ok(bytes) = std::fs::read(root.join(&file)) else {
                        continue;
                    };
                    let digest = sha2::Sha256::digest(&bytes);
                    let h: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                    let hashed = format!("/{folder}/{}", with_hash(&name, &h));
                    assets.add(&url, &file, false);
                    assets.add(&hashed, &file, true);
                    assets.hashed.insert(url, hashed);
                }
            }
        }
        assets
    }

    fn add(&mut self, url: &str, file: &Path, immutable: bool) {
        self.urls.insert(
            url.to_string(),
            Entry {
                file: file.to_path_buf(),
                immutable,
            },
        );
    }

    /// The URL a page should use for `plain` (`/vendor/chart.umd.js`): its hashed name
    /// when there is one, else `plain` itself.
    pub fn url(&self, plain: &str) -> String {
        self.hashed
            .get(plain)
            .cloned()
            .unwrap_or_else(|| plain.to_string())
    }

    /// How many URLs the table answers (for the start-up log line).
    pub fn len(&self) -> usize {
        self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }
}

/// The content hash cargo-leptos puts in a file's name (`split_x.<22 base64url>.wasm`,
/// from an MD5), if the name has one.
fn leptos_hash_in(name: &str) -> Option<&str> {
    let (stem, _ext) = name.rsplit_once('.')?;
    let (_, hash) = stem.rsplit_once('.')?;
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    (hash.len() == 22 && hash.chars().all(base64url)).then_some(hash)
}

/// `chart.umd.js` + `ab12` -> `chart.umd.ab12.js` (before the last extension).
fn with_hash(name: &str, hash: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{hash}.{ext}"),
        _ => format!("{name}.{hash}"),
    }
}

/// Handler for `GET`/`HEAD /pkg/*` and `/vendor/*`.
pub async fn serve(State(assets): State<Arc<Assets>>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let entry = assets.urls.get(req.uri().path()).cloned();
    let (res, cache) = match entry {
        Some(e) => {
            let svc = ServeFile::new(assets.root.join(&e.file))
                .precompressed_br()
                .precompressed_gzip();
            let cache = if e.immutable { IMMUTABLE } else { REVALIDATE };
            (svc.oneshot(req).await, cache)
        }
        None => {
            let svc = ServeDir::new(&assets.root)
                .precompressed_br()
                .precompressed_gzip();
            (svc.oneshot(req).await, REVALIDATE)
        }
    };
    let mut res = match res {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    };
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        let vendor = dir.path().join("vendor");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::create_dir_all(&vendor).unwrap();
        std::fs::write(pkg.join("lookout.0a1b2c.js"), "js").unwrap();
        std::fs::write(pkg.join("lookout.0a1b2c.js.br"), "br").unwrap();
        std::fs::write(pkg.join("lookout.9f8e7d.css"), "css").unwrap();
        std::fs::write(vendor.join("chart.umd.js"), "chart").unwrap();
        (dir, "js: 0a1b2c\ncss: 9f8e7d\n".to_string())
    }

    #[test]
    fn leptos_hashed_files_answer_to_both_names() {
        let (dir, hashes) = site();
        let a = Assets::scan(dir.path(), Some(&hashes));
        assert_eq!(a.url("/pkg/lookout.js"), "/pkg/lookout.0a1b2c.js");
        assert_eq!(a.url("/pkg/lookout.css"), "/pkg/lookout.9f8e7d.css");
        assert!(a.urls["/pkg/lookout.0a1b2c.js"].immutable);
        assert!(!a.urls["/pkg/lookout.js"].immutable);
        // The precompressed copy is not a URL of its own.
        assert!(!a.urls.contains_key("/pkg/lookout.0a1b2c.js.br"));
    }

    #[test]
    fn lazy_route_chunks_keep_their_leptos_hash() {
        let (dir, hashes) = site();
        let chunk = "split_analysis_route.AbCdEfGhIjKlMnOpQr-_12.wasm";
        std::fs::write(dir.path().join("pkg").join(chunk), "wasm").unwrap();
        std::fs::write(
            dir.path()
                .join("pkg/__wasm_split.Zz9yXw8vUt7sRq6pOn5m_-.js"),
            "js",
        )
        .unwrap();
        let a = Assets::scan(dir.path(), Some(&hashes));
        assert!(a.urls[&format!("/pkg/{chunk}")].immutable);
        assert!(a.urls["/pkg/__wasm_split.Zz9yXw8vUt7sRq6pOn5m_-.js"].immutable);
        assert_eq!(
            a.url("/pkg/split_analysis_route.wasm"),
            format!("/pkg/{chunk}")
        );
        assert_eq!(leptos_hash_in("chart.umd.js"), None);
        assert_eq!(leptos_hash_in("lookout.short.wasm"), None);
    }

    #[test]
    fn other_files_get_a_content_hash() {
        let (dir, hashes) = site();
        let a = Assets::scan(dir.path(), Some(&hashes));
        let url = a.url("/vendor/chart.umd.js");
        assert!(
            url.starts_with("/vendor/chart.umd.") && url.ends_with(".js"),
            "{url}"
        );
        assert_eq!(url.len(), "/vendor/chart.umd..js".len() + 16);
        // A different content gives a different name.
        std::fs::write(dir.path().join("vendor/chart.umd.js"), "chart 2").unwrap();
        let b = Assets::scan(dir.path(), Some(&hashes));
        assert_ne!(b.url("/vendor/chart.umd.js"), url);
    }

    #[test]
    fn without_a_hash_file_the_plain_names_stay() {
        let (dir, _) = site();
        let a = Assets::scan(dir.path(), None);
        // Nothing says 0a1b2c is a hash, so the file gets a hash of its own.
        assert_ne!(a.url("/pkg/lookout.0a1b2c.js"), "/pkg/lookout.0a1b2c.js");
        assert_eq!(a.url("/pkg/lookout.js"), "/pkg/lookout.js");
        assert_eq!(with_hash("x", "h"), "x.h");
        assert_eq!(with_hash(".env", "h"), ".env.h");
    }
}
