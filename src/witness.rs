//! `assent witness`: an independent witness of Assent ledgers (C2SP tlog-witness). It cosigns a
//! vault's checkpoint (C2SP tlog-cosignature, `cosignature/v1`) only if the checkpoint is
//! signed by the log's key and is consistent with every checkpoint it cosigned before for that
//! log, so a vault cannot get two different histories cosigned by it.
//!
//! One endpoint: `POST /add-checkpoint` (body in `protocol.rs`). Answers:
//! - 200 `text/plain`: the cosignature line, ending in a newline;
//! - 409 `text/x.tlog.size`: the size the witness last cosigned, when the request's `old`
//!   differs (the vault retries with a proof from that size);
//! - 400, 403, 404, 409 (another root for the same size), 422 (bad proof): a JSON error
//!   `{"error", "message"}`, and nothing stored.

pub mod protocol;
pub mod state;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ed25519_dalek::SigningKey;

use crate::ledger::cosignature;
use protocol::{AddCheckpoint, Latest, Log, Refusal};
use state::WitnessState;

/// A running witness: its key, the logs it witnesses and its durable state.
pub struct Witness {
    pub name: String,
    key: SigningKey,
    logs: Vec<Log>,
    state: Mutex<WitnessState>,
    clock: crate::clock::Clock,
}

/// What the witness answers one request.
#[derive(Debug)]
pub enum Answer {
    Cosigned(String),
    Refused(Refusal),
    /// The state could not be read or written: nothing was cosigned.
    Failed(String),
}

impl Witness {
    pub fn new(
        name: String,
        key: SigningKey,
        logs: Vec<Log>,
        state: WitnessState,
        clock: crate::clock::Clock,
    ) -> Self {
        Self {
            name,
            key,
            logs,
            state: Mutex::new(state),
            clock,
        }
    }

    /// The witness's verifier key (`name+keyid+base64(0x04 ‖ key)`).
    pub fn verifier_key(&self) -> String {
        crate::ledger::note::typed_verifier_key(
            &self.name,
            cosignature::COSIGNATURE_TYPE,
            &self.key.verifying_key().to_bytes(),
        )
    }

    /// Handles one `add-checkpoint` body. Blocking (the state commit fsyncs).
    pub fn add_checkpoint(&self, body: &str) -> Answer {
        let req = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(r) => return Answer::Refused(r),
        };
        let origin = match protocol::origin_of(&req.note) {
            Ok(o) => o,
            Err(r) => return Answer::Refused(r),
        };
        let Some(log) = self.logs.iter().find(|l| l.origin == origin) else {
            return Answer::Refused(Refusal::UnknownLog(origin));
        };
        // One request at a time: the decision and the update see the same latest head.
        let Ok(mut state) = self.state.lock() else {
            return Answer::Failed("the witness state lock is poisoned".into());
        };
        let latest = match state.latest(&origin) {
            Ok(l) => l,
            Err(e) => return Answer::Failed(e.to_string()),
        };
        let checkpoint = match protocol::decide(log, latest, &req) {
            Ok(c) => c,
            Err(r) => return Answer::Refused(r),
        };
        let head = Latest {
            size: checkpoint.size,
            root: checkpoint.root,
        };
        if latest != Some(head)
            && let Err(e) = state.advance(&origin, head)
        {
            return Answer::Failed(e.to_string());
        }
        drop(state);
        let time = u64::try_from(self.clock.now().unix()).unwrap_or(0);
        match cosignature::cosign(&checkpoint.body(), &self.name, &self.key, time) {
            Ok(line) => Answer::Cosigned(line),
            Err(e) => Answer::Failed(e.to_string()),
        }
    }
}

/// The witness's HTTP routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(axum::extract::DefaultBodyLimit::max(protocol::MAX_BODY))
        .with_state(witness)
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the body is not UTF-8",
        );
    };
    let answer = match tokio::task::spawn_blocking(move || w.add_checkpoint(&text)).await {
        Ok(a) => a,
        Err(e) => Answer::Failed(e.to_string()),
    };
    match answer {
        Answer::Cosigned(line) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{line}\n"),
        )
            .into_response(),
        Answer::Refused(Refusal::OldSize(size)) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        Answer::Refused(r) => {
            let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
            json_error(status, r.code(), &r.to_string())
        }
        Answer::Failed(e) => {
            tracing::error!(error = %e, "witness state");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the witness could not record the checkpoint; nothing was cosigned",
            )
        }
    }
}

/// Binds `listen` and serves `witness` there; returns its URL and the serving task.
pub async fn serve(
    witness: Arc<Witness>,
    listen: &str,
    addr_file: Option<&std::path::Path>,
) -> Result<(String, tokio::task::JoinHandle<std::io::Result<()>>), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let url = format!("http://{addr}");
    tracing::info!(witness = %witness.verifier_key(), %url, "witness listening");
    if let Some(f) = addr_file {
        std::fs::write(f, &url).map_err(|e| e.to_string())?;
    }
    let app = router(witness);
    Ok((
        url,
        tokio::spawn(async move { axum::serve(listener, app).await }),
    ))
}
