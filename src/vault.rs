//! Use cases. Each act is one group-commit transaction that checks everything first, then
//! writes the change together with its ledger event — so an act and its record are durable
//! together or not at all, and an organization gets data only after the read is on the ledger.

pub mod account;
pub mod consent;
pub mod customers;
pub mod envelopes;
pub mod erasure;
pub mod error;
pub mod history;
pub mod orgs;
pub mod reads;
pub mod transparency;
pub mod webhook_sender;
pub mod webhooks;
pub mod witnessing;

pub use error::VaultError;

use crate::domain::time::Timestamp;
use crate::store::Store;
use rand::Rng;
use zeroize::Zeroizing;

/// Limits a deployment can tune.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest envelope ciphertext accepted, checked before decoding.
    pub max_envelope_bytes: usize,
    /// Days an organization has to answer an erasure request.
    pub erasure_deadline_days: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: 1 << 20,
            erasure_deadline_days: crate::domain::erasure::DEFAULT_DEADLINE_DAYS,
        }
    }
}

/// The vault: storage plus the secrets and settings use cases need.
#[derive(Clone)]
pub struct Vault {
    store: Store,
    limits: Limits,
    /// Keys the fake KDF salt of unknown handles, so a probe cannot tell them from real ones.
    decoy_key: std::sync::Arc<Zeroizing<[u8; 32]>>,
    /// Signs checkpoints and receipts.
    signer: std::sync::Arc<transparency::LedgerSigner>,
    /// Bounds concurrent Argon2id computations (sign-up, login) to the cores available, so a
    /// burst of logins queues instead of exhausting memory and CPU.
    argon2: std::sync::Arc<tokio::sync::Semaphore>,
    clock: crate::clock::Clock,
    /// The witnesses asked to cosign checkpoints (`None`: a vault without witnesses).
    witnessing: Option<std::sync::Arc<witnessing::Witnessing>>,
    /// How webhook deliveries behave.
    webhooks: std::sync::Arc<webhooks::WebhookSettings>,
}

impl Vault {
    pub fn new(
        store: Store,
        limits: Limits,
        decoy_key: Zeroizing<[u8; 32]>,
        signer: transparency::LedgerSigner,
    ) -> Self {
        Self {
            store,
            limits,
            decoy_key: std::sync::Arc::new(decoy_key),
            signer: std::sync::Arc::new(signer),
            argon2: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            clock: crate::clock::Clock::system(),
            witnessing: None,
            webhooks: std::sync::Arc::default(),
        }
    }

    /// The same vault, delivering webhooks as `settings` say.
    pub fn with_webhook_settings(mut self, settings: webhooks::WebhookSettings) -> Self {
        self.webhooks = std::sync::Arc::new(settings);
        self
    }

    /// The same vault, asking `w`'s witnesses to cosign its checkpoints.
    pub fn with_witnessing(mut self, w: witnessing::Witnessing) -> Self {
        self.witnessing = Some(std::sync::Arc::new(w));
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The time consent is decided by (grant expiry, event times), whole seconds (the wire
    /// format's precision). Tokens live in system time instead (`clock::now`): their checks
    /// use the system clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The same vault reading time from `clock` (tests move it instead of sleeping).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }
}

impl Vault {
    /// Runs an Argon2id computation on the blocking pool once a slot is free; answers "busy"
    /// (503) after waiting `ARGON2_WAIT` rather than queueing without bound.
    pub(crate) async fn argon2<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, VaultError> {
        let permit = tokio::time::timeout(ARGON2_WAIT, self.argon2.clone().acquire_owned())
            .await
            .map_err(|_| VaultError::Busy)?
            .map_err(|_| VaultError::Busy)?;
        let out = tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| VaultError::Internal(e.to_string()));
        drop(permit);
        out
    }
}

const ARGON2_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// 16 random bytes for a fresh id.
pub fn random_id_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b
}

/// A fresh 32-byte ledger nonce.
pub fn random_nonce() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b
}
