//! The dashboard's files: an allow-list of built files, never the `web/` tree.
//!
//! At start-up the server reads `index.html`, `app.css`, `favicon.svg` and the esbuild bundle
//! (`dist/app.js` and its `dist/app.js.LEGAL.txt`) into memory. Each is also served under a
//! content-hashed name (`/dist/app.<16 hex of SHA-256>.js`, `/app.<hash>.css`, …) with
//! `Cache-Control: public, max-age=31536000, immutable`, and `index.html` is served with its
//! references rewritten to the hashed names and `Cache-Control: no-cache`. The plain names stay
//! available with `no-cache` (and an `ETag`, so revalidation is a `304`). Anything else — sources,
//! `node_modules/`, `package.json`, source maps, `//dist` — is a JSON 404. Text answers are
//! compressed (gzip or Brotli) when the client asks.

use super::error::ApiError;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Hashed names never change content: cache them for a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else is revalidated on each use.
pub const REVALIDATE: &str = "no-cache";

/// (path under the web directory, URL path, content type)
const ALLOWED: &[(&str, &str, &str)] = &[
    ("app.css", "/app.css", "text/css; charset=utf-8"),
    ("favicon.svg", "/favicon.svg", "image/svg+xml"),
    (
        "dist/app.js",
        "/dist/app.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "dist/app.js.LEGAL.txt",
        "/dist/app.js.LEGAL.txt",
        "text/plain; charset=utf-8",
    ),
];

struct Asset {
    body: axum::body::Bytes,
    content_type: &'static str,
    etag: HeaderValue,
    cache: &'static str,
}

/// The files the dashboard is made of, by URL path.
#[derive(Clone, Default)]
pub struct Assets {
    by_path: Arc<HashMap<String, Arc<Asset>>>,
}

/// `dist/app.js` → `dist/app.<hash>.js`; a name without an extension gets `.<hash>` appended.
fn hashed_name(path: &str, hash: &str) -> String {
    let (dir, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file),
        None => (String::new(), path),
    };
    match file.split_once('.') {
        Some((stem, ext)) => format!("{dir}{stem}.{hash}.{ext}"),
        None => format!("{dir}{file}.{hash}"),
    }
}

fn asset(body: Vec<u8>, content_type: &'static str, cache: &'static str) -> (Arc<Asset>, String) {
    let digest = Sha256::digest(&body);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let etag =
        HeaderValue::from_str(&format!("W/\"{hash}\"")).unwrap_or(HeaderValue::from_static("\"\""));
    (
        Arc::new(Asset {
            body: body.into(),
            content_type,
            etag,
            cache,
        }),
        hash,
    )
}

impl Assets {
    /// Reads the allow-listed files under `web_dir`. A missing file is left out (with a
    /// warning); the API works without a dashboard.
    pub fn load(web_dir: &Path) -> Self {
        let mut by_path = HashMap::new();
        let mut renames: Vec<(String, String)> = Vec::new();
        for (file, url, content_type) in ALLOWED {
            let Ok(body) = std::fs::read(web_dir.join(file)) else {
                tracing::warn!(file = %web_dir.join(file).display(), "dashboard file missing; not served");
                continue;
            };
            let (plain, hash) = asset(body.clone(), content_type, REVALIDATE);
            let (immutable, _) = asset(body, content_type, IMMUTABLE);
            let hashed = hashed_name(url, &hash);
            by_path.insert((*url).to_owned(), plain);
            by_path.insert(hashed.clone(), immutable);
            renames.push(((*url).to_owned(), hashed));
        }
        match std::fs::read_to_string(web_dir.join("index.html")) {
            Ok(mut html) => {
                for (plain, hashed) in &renames {
                    html = html.replace(&format!("\"{plain}\""), &format!("\"{hashed}\""));
                }
                let (index, _) = asset(html.into_bytes(), "text/html; charset=utf-8", REVALIDATE);
                by_path.insert("/".to_owned(), index.clone());
                by_path.insert("/index.html".to_owned(), index);
            }
            Err(_) => {
                tracing::warn!(dir = %web_dir.display(), "no index.html; the dashboard is not served")
            }
        }
        Self {
            by_path: Arc::new(by_path),
        }
    }

    /// The URL paths served (for tests and logs).
    pub fn paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_path.keys().cloned().collect();
        v.sort();
        v
    }
}

/// The quoted part of an entity tag (weak: the same tag covers the compressed forms).
fn opaque_tag(etag: &HeaderValue) -> &[u8] {
    let b = etag.as_bytes();
    b.strip_prefix(b"W/").unwrap_or(b)
}

async fn serve(State(assets): State<Assets>, req: Request) -> Response {
    let readable = req.method() == Method::GET || req.method() == Method::HEAD;
    let Some(a) = assets.by_path.get(req.uri().path()).filter(|_| readable) else {
        return ApiError::NotFound("not_found", "no such endpoint".into()).into_response();
    };
    let matches = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/").as_bytes() == opaque_tag(&a.etag)
        });
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(a.body.clone()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(a.content_type),
        );
        r
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, a.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(a.cache));
    res
}

/// The static fallback: the allow-list, compressed when the client accepts gzip or Brotli.
pub fn service(assets: Assets) -> Router {
    Router::new()
        .fallback(serve)
        .with_state(assets)
        // Brotli's own default (quality 11) costs far too much CPU per request; 5 compresses
        // the bundle better than gzip -9 in a few milliseconds.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(CompressionLevel::Precise(5)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_the_extension() {
        assert_eq!(hashed_name("/dist/app.js", "ab12"), "/dist/app.ab12.js");
        assert_eq!(
            hashed_name("/dist/app.js.LEGAL.txt", "ab12"),
            "/dist/app.ab12.js.LEGAL.txt"
        );
        assert_eq!(hashed_name("/app.css", "ab12"), "/app.ab12.css");
        assert_eq!(hashed_name("favicon.svg", "ab12"), "favicon.ab12.svg");
    }
}
