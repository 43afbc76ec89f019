//! Starting the server: keys, store, middleware, static dashboard, demo organization.

use super::error::ApiError;
use super::{AppState, router};
use crate::config::{ConfigError, DEMO_ORG_FILE, OrgKeys, ServeConfig, VaultKeys};
use crate::crypto::sign::sign_org_key;
use crate::domain::ids::OrgId;
use crate::store::Store;
use crate::tokens::TokenIssuer;
use crate::vault::orgs::NewOrg;
use crate::vault::transparency::LedgerSigner;
use crate::vault::{Limits, Vault};
use axum::Router;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use hkdf::Hkdf;
use serde_json::json;
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use zeroize::Zeroizing;

pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("storage: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Start(String),
}

pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("not_found", "no such endpoint".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The vault behind the server (for in-process callers such as tests).
    pub vault: Vault,
    pub public_url: String,
    pub serve: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

fn header(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// The full application: API routes, JSON fallbacks, static dashboard, middleware.
pub fn app(state: AppState, web_dir: &std::path::Path) -> Router {
    let api = router(state)
        .method_not_allowed_fallback(method_not_allowed)
        .route("/v1", axum::routing::any(not_found))
        .route("/v1/", axum::routing::any(not_found))
        .route("/v1/{*rest}", axum::routing::any(not_found));
    let files = ServeDir::new(web_dir)
        .call_fallback_on_method_not_allowed(true)
        .not_found_service(not_found.into_service());
    api.fallback_service(files)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(header("content-security-policy", CSP))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("referrer-policy", "no-referrer"))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("cache-control", "no-store"))
        .layer(TraceLayer::new_for_http())
}

/// Loads keys, opens the store, binds `config.listen` and serves until `shutdown` resolves.
pub async fn start(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, ServeError> {
    let keys = VaultKeys::load(&config.keys_dir)?;
    if keys.demo && !config.demo {
        return Err(ServeError::Start(format!(
            "{} holds DEMO keys (published in the repository); pass --demo to use them, or generate real keys with `assent keygen vault`",
            config.keys_dir.display()
        )));
    }
    if keys.demo {
        tracing::warn!(
            "!!! DEMO MODE: the vault keys in {} are public throw-away keys. Never use them for real data. !!!",
            config.keys_dir.display()
        );
    }
    let store = Store::open(&config.data_dir)?;
    let decoy = derive_decoy_key(&keys)?;
    let signer = LedgerSigner {
        origin: keys.name.clone(),
        name: keys.name.clone(),
        key: keys.signing.clone(),
    };
    let vault = Vault::new(
        store,
        Limits {
            max_envelope_bytes: config.max_envelope_bytes,
        },
        decoy,
        signer,
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServeError::Start(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Start(e.to_string()))?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let tokens = TokenIssuer::new(public_url.clone(), &keys.signing)
        .map_err(|e| ServeError::Start(e.to_string()))?;
    if config.demo {
        register_demo_org(&vault, &config).await?;
    }
    let state = AppState {
        vault: vault.clone(),
        tokens: Arc::new(tokens),
        admin_public: keys.admin_public,
        token_endpoint: format!("{public_url}/v1/oauth/token").into(),
        public_url: public_url.clone().into(),
        jurisdiction: config.jurisdiction.clone().into(),
    };
    let app = app(state, &config.web_dir);
    tracing::info!(%addr, %public_url, data = %config.data_dir.display(), "assent listening");
    let checkpointer = tokio::spawn(checkpoint_every_second(vault.clone()));
    let last = vault.clone();
    let serve = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        // In-flight requests are done; sign a last checkpoint, commit what is queued, release
        // the database.
        checkpointer.abort();
        if let Err(e) = last.checkpoint_now().await {
            tracing::warn!(error = %e, "no final checkpoint");
        }
        last.store().writer().shutdown().await;
        served
    });
    Ok(Running {
        addr,
        vault,
        public_url,
        serve,
    })
}

/// Signs a checkpoint at least once a second while the tree grows (C2SP tlog-checkpoint).
async fn checkpoint_every_second(vault: Vault) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let behind = match (vault.ledger_size(), vault.latest_checkpoint()) {
            (Ok(size), Ok(latest)) => latest.is_none_or(|(s, _)| s < size),
            _ => false,
        };
        if behind && let Err(e) = vault.checkpoint_now().await {
            tracing::warn!(error = %e, "could not sign a checkpoint");
        }
    }
}

/// HKDF-SHA256(vault key seed, "assent/v1/decoy") → the key of decoy KDF salts (RFC 5869).
fn derive_decoy_key(keys: &VaultKeys) -> Result<Zeroizing<[u8; 32]>, ServeError> {
    let seed = Zeroizing::new(keys.signing.to_bytes());
    let hk = Hkdf::<Sha256>::new(None, &seed[..]);
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(b"assent/v1/decoy", &mut out[..])
        .map_err(|e| ServeError::Start(e.to_string()))?;
    Ok(out)
}

/// In demo mode the demo organization from `keys-example/` is registered, so the README's
/// walk-through works on a fresh clone.
async fn register_demo_org(vault: &Vault, config: &ServeConfig) -> Result<(), ServeError> {
    let path = config.keys_dir.join(DEMO_ORG_FILE);
    if !path.exists() {
        return Ok(());
    }
    let org = OrgKeys::load(&path)?;
    let org_id = OrgId::parse(&org.org_id).map_err(|e| ServeError::Start(e.to_string()))?;
    if vault
        .find_org(&org_id)
        .map_err(|e| ServeError::Start(e.to_string()))?
        .is_some()
    {
        return Ok(());
    }
    let x = org.encryption.public();
    vault
        .register_org(NewOrg {
            org_id,
            name: org.name.clone(),
            ed25519_public: org.identity.verifying_key().to_bytes(),
            x25519_public: x,
            key_signature: sign_org_key(&org.identity, &x).to_vec(),
        })
        .await
        .map_err(|e| ServeError::Start(format!("registering the demo organization: {e}")))?;
    tracing::info!(org = %org.org_id, "registered the demo organization");
    Ok(())
}
