//! Signed checkpoints (C2SP tlog-checkpoint), proofs (RFC 9162 §2.1.3–2.1.4) and receipts.

use super::{Vault, VaultError};
use crate::crypto::keys::SigningKey;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::merkle::{self, Hash};
use crate::ledger::note;
use crate::ledger::receipt::SealedBatch;
use crate::store::Batch;

/// The vault's ledger identity: the checkpoint origin, the key name in signed notes, and the key.
pub struct LedgerSigner {
    pub origin: String,
    pub name: String,
    pub key: SigningKey,
    /// Rotation statements leading to `key`, oldest first (served to clients, which verify
    /// each with the key they pinned).
    pub rotations: Vec<String>,
    /// `verifier_key()`, made once (every read's receipt names it).
    pub verifier: std::sync::OnceLock<String>,
}

impl LedgerSigner {
    /// `name+hexkeyid+base64(0x01‖pub)`, the C2SP signed-note verifier key.
    pub fn verifier_key(&self) -> String {
        self.verifier
            .get_or_init(|| note::verifier_key(&self.name, &self.key.verifying_key().to_bytes()))
            .clone()
    }

    pub fn public(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Whether `note` is a checkpoint this key signed (after `keygen --rotate`, the newest
    /// stored checkpoint may be the retired key's).
    pub fn signed(&self, note: &str) -> bool {
        note::Verifier::new(&self.name, &self.public())
            .is_ok_and(|v| Checkpoint::verify(note, &self.origin, &v).is_ok())
    }
}

fn ledger_err(e: crate::ledger::LedgerError) -> VaultError {
    VaultError::Store(e.into())
}

impl Vault {
    pub fn signer(&self) -> &LedgerSigner {
        &self.signer
    }

    /// The newest stored checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, VaultError> {
        Ok(self.store().read()?.latest_checkpoint()?)
    }

    /// Signs and stores a checkpoint of the current tree unless the newest one already covers
    /// it; returns the newest (size, note). Safe to call concurrently: a checkpoint for a size is
    /// the same statement whoever signs it, and only a newer size is ever stored.
    pub async fn checkpoint_now(&self) -> Result<(u64, String), VaultError> {
        let (size, root, latest) = {
            let view = self.store().read()?;
            let size = view.ledger_size()?;
            let root = merkle::root(&self.store().proof_nodes(&view)?, size).map_err(ledger_err)?;
            (size, root, view.latest_checkpoint()?)
        };
        // Reused only if the current key signed it: after a key rotation the first call signs
        // the same tree again with the new key, so clients are offered the rotation at once.
        if let Some((s, note)) = latest.filter(|(s, n)| *s >= size && self.signer.signed(n)) {
            return Ok((s, note));
        }
        let signed = Checkpoint {
            origin: self.signer.origin.clone(),
            size,
            root,
        }
        .sign(&self.signer.name, &self.signer.key)
        .map_err(ledger_err)?;
        let signer = self.signer.clone();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| match tx.latest_checkpoint()? {
                Some((s, n)) if s >= size && signer.signed(&n) => Ok((s, n)),
                _ => {
                    tx.put_checkpoint(size, &signed)?;
                    Ok((size, signed))
                }
            })
            .await
    }

    /// RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, VaultError> {
        let view = self.store().read()?;
        check_size(size, view.ledger_size()?)?;
        if index >= size {
            return Err(VaultError::bad(
                "bad_index",
                format!("index must be below size {size}"),
            ));
        }
        merkle::inclusion_proof(&self.store().proof_nodes(&view)?, index, size).map_err(ledger_err)
    }

    /// RFC 9162 §2.1.4.1 consistency proof between tree sizes `from` and `to`.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, VaultError> {
        let view = self.store().read()?;
        check_size(to, view.ledger_size()?)?;
        if from == 0 || from > to {
            return Err(VaultError::bad("bad_sizes", "need 0 < from ≤ to"));
        }
        merkle::consistency_proof(&self.store().proof_nodes(&view)?, from, to).map_err(ledger_err)
    }

    /// The receipt of ledger entry `index`, appended by the batch `committed`: that batch
    /// sealed (signed once, by whichever of its reads asks first) and the entry's path in it.
    pub fn access_receipt<'c>(
        &self,
        committed: &'c crate::store::writer::Committed,
        index: u64,
    ) -> Result<(&'c SealedBatch, Vec<Hash>), VaultError> {
        let sealed = committed
            .sealed(|c| {
                SealedBatch::seal(
                    &self.signer.key,
                    c.first,
                    &c.leaves,
                    self.now().to_rfc3339(),
                )
            })
            .map_err(ledger_err)?;
        let path = sealed.path_of(index).map_err(ledger_err)?;
        Ok((sealed, path))
    }
}

impl Vault {
    /// The leaf commitment stored at `index`.
    pub fn leaf_at(&self, index: u64) -> Result<[u8; 32], VaultError> {
        let stored =
            self.store().read()?.event(index)?.ok_or_else(|| {
                VaultError::not_found("no_entry", format!("no ledger entry {index}"))
            })?;
        let (nonce, canonical) = crate::ledger::event::split_stored(&stored)
            .ok_or_else(|| VaultError::Internal(format!("ledger event {index} truncated")))?;
        Ok(crate::ledger::leaf_commitment(nonce, canonical))
    }

    /// Signs a document (a consent receipt): Ed25519 over `assent/v1/consent-receipt\n` ‖ JCS.
    pub fn sign_document(&self, doc: &serde_json::Value) -> Result<[u8; 64], VaultError> {
        use ed25519_dalek::Signer;
        Ok(self.signer.key.sign(&document_message(doc)?).to_bytes())
    }
}

/// The bytes a consent-receipt signature covers: `DOCUMENT_PREFIX` ‖ JCS(doc).
pub fn document_message(doc: &serde_json::Value) -> Result<Vec<u8>, crate::crypto::CryptoError> {
    let mut msg = DOCUMENT_PREFIX.as_bytes().to_vec();
    msg.extend_from_slice(&crate::crypto::sign::jcs(doc)?);
    Ok(msg)
}

/// Domain separation for signed consent receipts.
pub const DOCUMENT_PREFIX: &str = "assent/v1/consent-receipt\n";

fn check_size(size: u64, current: u64) -> Result<(), VaultError> {
    if size == 0 || size > current {
        return Err(VaultError::bad(
            "bad_size",
            format!("size must be between 1 and the tree size {current}"),
        ));
    }
    Ok(())
}
