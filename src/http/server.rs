//! Starting the server: keys, store, middleware, static dashboard, demo organization.

use super::conn::ConnLimits;
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
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use hkdf::Hkdf;
use serde_json::json;
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
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

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = crate::wire::ops::Health)),
)]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// Ready to serve: the store takes a durable write and the keys are loaded (they are, or the
/// server would not have started).
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The store commits a durable write", body = crate::wire::ops::Ready),
        (status = 503, description = "`not_ready`: the store is not accepting writes", body = crate::wire::schema::ErrorBody),
    ),
)]
pub async fn readyz(axum::extract::State(s): axum::extract::State<AppState>) -> impl IntoResponse {
    let probe = tokio::time::timeout(Duration::from_secs(2), s.vault.probe_write()).await;
    match probe {
        Ok(Ok(())) => (StatusCode::OK, axum::Json(json!({ "status": "ready" }))),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                json!({ "error": "not_ready", "message": "the store is not accepting writes" }),
            ),
        ),
    }
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
    /// Where `/metrics` is served, if enabled.
    pub metrics_addr: Option<SocketAddr>,
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
pub fn app(state: AppState, web_dir: &std::path::Path, timeout: Duration) -> Router {
    let api = router(state)
        .method_not_allowed_fallback(method_not_allowed)
        .route("/v1", axum::routing::any(not_found))
        .route("/v1/", axum::routing::any(not_found))
        .route("/v1/{*rest}", axum::routing::any(not_found));
    api.fallback_service(super::static_files::service(
        super::static_files::Assets::load(web_dir),
    ))
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(header("content-security-policy", CSP))
    .layer(header("x-content-type-options", "nosniff"))
    .layer(header("referrer-policy", "no-referrer"))
    .layer(header("x-frame-options", "DENY"))
    // The static files set their own (immutable for hashed names, no-cache otherwise).
    .layer(SetResponseHeaderLayer::if_not_present(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
    .layer(TraceLayer::new_for_http().make_span_with(super::observe::request_span))
    .layer(PropagateRequestIdLayer::x_request_id())
    .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// How to start, beyond [`ServeConfig`].
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Connection limits of the API listener.
    pub conn: ConnLimits,
    /// Access requests per organization per minute, and pending per (organization, customer).
    pub requests: (u32, u32),
    /// `config.metrics_listen` was asked for (flag, environment or file): failing to bind it
    /// stops the start. When it is only the default, a taken address is a warning and the vault
    /// serves without metrics (so a second vault on one machine starts).
    pub metrics_explicit: bool,
    /// The vault's clock (the system clock; tests move an adjustable one).
    pub clock: crate::clock::Clock,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            conn: ConnLimits::default(),
            requests: (
                super::limits::DEFAULT_REQUESTS_PER_ORG_PER_MINUTE,
                super::limits::DEFAULT_PENDING_REQUESTS_PER_CUSTOMER,
            ),
            metrics_explicit: true,
            clock: crate::clock::Clock::system(),
        }
    }
}

/// Loads keys, opens the store, binds `config.listen` and serves until `shutdown` resolves.
pub async fn start(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Running, ServeError> {
    start_with(config, ServeOptions::default(), shutdown).await
}

/// [`start`] with connection limits and the metrics address's provenance.
pub async fn start_with(
    config: ServeConfig,
    options: ServeOptions,
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
    let store = Store::open_configured(&config.data_dir, config.store_url.as_deref()).await?;
    let decoy = derive_decoy_key(&keys)?;
    let signer = LedgerSigner {
        origin: keys.name.clone(),
        name: keys.name.clone(),
        key: keys.signing.clone(),
        rotations: keys.rotations.clone(),
        verifier: Default::default(),
    };
    let vault = Vault::new(
        store,
        Limits {
            max_envelope_bytes: config.max_envelope_bytes,
            erasure_deadline_days: config.erasure_deadline_days,
        },
        decoy,
        signer,
    )
    .with_clock(options.clock.clone())
    .with_webhook_settings(config.webhooks.clone());
    let vault = with_witnesses(vault, &config, &keys).await?;
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
    let state = AppState::new(super::Shared {
        vault: vault.clone(),
        tokens: Arc::new(tokens),
        admin_public: keys.admin_public,
        token_endpoint: format!("{public_url}/v1/oauth/token").into(),
        public_url: public_url.clone().into(),
        jurisdiction: config.jurisdiction.clone().into(),
        limits: Arc::new(
            super::limits::AuthLimits::new(
                config.auth_per_ip_per_minute,
                config.auth_per_account_per_minute,
            )
            .with_requests(options.requests.0, options.requests.1),
        ),
        streams: Arc::default(),
    });
    let limits = state.limits.clone();
    let streams = state.streams.clone();
    let app = app(
        state,
        &config.web_dir,
        Duration::from_secs(config.request_timeout_secs),
    );
    let metrics_addr = match config.metrics_listen {
        Some(m) => match serve_metrics(m).await {
            Ok(bound) => Some(bound),
            Err(MetricsError::Bind(e)) if !options.metrics_explicit => {
                tracing::warn!(
                    "serving without metrics: the default metrics address {m} is not available ({e}); set server.metrics_listen (--metrics-listen, ASSENT_SERVER_METRICS_LISTEN) to another address, or \"\" to turn metrics off"
                );
                None
            }
            Err(MetricsError::Bind(e)) => {
                return Err(ServeError::Start(format!(
                    "cannot listen on {m} for metrics (server.metrics_listen): {e}; choose another address or \"\" to turn metrics off"
                )));
            }
            Err(MetricsError::Other(e)) => return Err(ServeError::Start(e)),
        },
        None => None,
    };
    tracing::info!(%addr, %public_url, metrics = ?metrics_addr, data = %config.data_dir.display(), "assent listening");
    let background = vec![
        tokio::spawn(checkpoint_every_second(vault.clone())),
        tokio::spawn(gauges_every_ten_seconds(vault.clone(), limits)),
        tokio::spawn(crate::vault::webhook_sender::run(vault.clone())),
    ];
    let last = vault.clone();
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let serve = tokio::spawn(async move {
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let signalled = async move {
            shutdown.await;
            // Live streams never finish by themselves: end them, so they do not hold the
            // graceful shutdown for its whole grace period.
            streams.close_all();
            let _ = stop_tx.send(true);
        };
        let served = super::conn::serve(listener, app, options.conn, signalled);
        // In-flight requests get `grace` to finish once shutdown starts; then we close anyway.
        let deadline = async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        };
        let served = tokio::select! {
            r = served => r,
            () = deadline => {
                tracing::warn!("shutdown grace period over; closing with requests in flight");
                Ok(())
            }
        };
        // Sign a last checkpoint, commit what the writer has queued, release the database.
        for task in background {
            task.abort();
        }
        if let Err(e) = last.checkpoint_now().await {
            tracing::warn!(error = %e, "no final checkpoint");
        }
        last.store().writer().shutdown().await;
        tracing::info!("stopped");
        served
    });
    Ok(Running {
        addr,
        metrics_addr,
        vault,
        public_url,
        serve,
    })
}

enum MetricsError {
    Bind(std::io::Error),
    Other(String),
}

/// Binds the metrics listener and serves `GET /metrics` there.
async fn serve_metrics(addr: SocketAddr) -> Result<SocketAddr, MetricsError> {
    let handle = super::observe::recorder()
        .ok_or_else(|| MetricsError::Other("cannot install the metrics recorder".into()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(MetricsError::Bind)?;
    let bound = listener
        .local_addr()
        .map_err(|e| MetricsError::Other(e.to_string()))?;
    tokio::spawn(async move {
        // The same header timeout and connection caps as the API listener.
        let router = super::observe::metrics_router(handle);
        let never = std::future::pending::<()>();
        let _ = super::conn::serve(listener, router, ConnLimits::default(), never).await;
    });
    Ok(bound)
}

/// Gauges that need a scan: ledger size and active grants.
async fn gauges_every_ten_seconds(vault: Vault, limits: Arc<super::limits::AuthLimits>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        limits.forget_idle();
        let v = vault.clone();
        let counted =
            tokio::task::spawn_blocking(move || (v.ledger_size(), v.count_active_grants())).await;
        if let Ok((Ok(size), Ok(active))) = counted {
            metrics::gauge!("assent_ledger_size").set(size as f64);
            metrics::gauge!("assent_active_grants").set(active as f64);
        }
    }
}

/// The vault asking its configured witnesses (and the demo witness, started here on a free
/// loopback port, when asked for) to cosign its checkpoints.
async fn with_witnesses(
    vault: Vault,
    config: &ServeConfig,
    keys: &VaultKeys,
) -> Result<Vault, ServeError> {
    let setup = &config.witnesses;
    let mut endpoints = setup.endpoints.clone();
    if setup.demo {
        let key = config.keys_dir.join("witness.key");
        let (file, signing) = crate::config::WitnessKeyFile::load(&key)?;
        if file.demo && !config.demo {
            return Err(ServeError::Start(format!(
                "{} is a DEMO witness key; pass --demo to use it",
                key.display()
            )));
        }
        let log = crate::witness::protocol::Log {
            origin: keys.name.clone(),
            keys: keys.verifiers()?,
        };
        std::fs::create_dir_all(&config.data_dir).map_err(|e| ServeError::Start(e.to_string()))?;
        let state =
            crate::witness::state::WitnessState::open(&config.data_dir.join("witness.redb"), None)
                .map_err(|e| ServeError::Start(e.to_string()))?;
        let witness = crate::witness::Witness::new(
            file.name.clone(),
            signing,
            vec![log],
            state,
            crate::clock::Clock::system(),
        );
        let public = crate::ledger::cosignature::WitnessKey::parse(&witness.verifier_key())
            .map_err(|e| ServeError::Start(e.to_string()))?;
        let (url, _task) = crate::witness::serve(Arc::new(witness), "127.0.0.1:0", None)
            .await
            .map_err(ServeError::Start)?;
        tracing::info!(%url, witness = %public.to_key_string(), "demo witness started in this process");
        endpoints.push(crate::vault::witnessing::WitnessEndpoint { url, key: public });
    }
    if endpoints.is_empty() {
        return Ok(vault);
    }
    let w = crate::vault::witnessing::Witnessing::new(endpoints, setup.quorum)
        .map_err(|e| ServeError::Start(e.to_string()))?;
    Ok(vault.with_witnessing(w))
}

/// Signs a checkpoint at least once a second while the tree grows (C2SP tlog-checkpoint), and
/// has it cosigned by the witnesses, if any.
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
        if vault.witness_policy().quorum > 0 {
            // Failures are logged inside; the next tick (or a reader) asks again.
            let _ = vault.witnessed_checkpoint().await;
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
    if let Some(existing) = vault
        .find_org(&org_id)
        .map_err(|e| ServeError::Start(e.to_string()))?
    {
        // Registered by an older version, without controller details: add them.
        if existing.controller.is_none() {
            vault
                .set_org_controller(org_id, crate::config::demo_controller(), true)
                .await
                .map_err(|e| ServeError::Start(format!("updating the demo organization: {e}")))?;
        }
        return Ok(());
    }
    let x = org.encryption.public();
    let registered = vault
        .register_org_with(
            NewOrg {
                org_id: org_id.clone(),
                name: org.name.clone(),
                ed25519_public: org.identity.verifying_key().to_bytes(),
                x25519_public: x,
                key_signature: sign_org_key(&org.identity, &x).to_vec(),
            },
            Some(crate::config::demo_controller()),
        )
        .await;
    if let Err(e) = registered {
        // Nodes started together on one database: another node registered it first.
        if vault.find_org(&org_id).ok().flatten().is_some() {
            return Ok(());
        }
        return Err(ServeError::Start(format!(
            "registering the demo organization: {e}"
        )));
    }
    tracing::info!(org = %org.org_id, "registered the demo organization");
    Ok(())
}
