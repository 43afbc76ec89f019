//! Collecting witness cosignatures (C2SP tlog-witness, as a client): each new checkpoint is
//! sent to the configured witnesses with a consistency proof from the size each last cosigned;
//! their `cosignature/v1` lines are checked, appended to the note and stored in place of the
//! plain note (same size, same text, more signature lines), so every node serves them.
//!
//! Invariants:
//! - Only a checkpoint carrying the quorum is offered (`witnessed_checkpoint`): the newest
//!   stored one that has it. A witness that is down delays cosigning; acts still commit.
//! - A witness's answer is believed only after its line verifies against its configured key
//!   (a man in the middle cannot add a cosignature; clients check again against their pins).

use std::sync::Mutex;
use std::time::Duration;

use super::{Vault, VaultError};
use crate::ledger::cosignature::{self, WitnessKey, WitnessPolicy};
use crate::ledger::note;
use crate::store::Batch;
use crate::witness::protocol::AddCheckpoint;

/// How many of the newest stored checkpoints are searched for one carrying the quorum.
const RECENT: usize = 64;
/// A witness must answer within this long.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A witness the vault asks: where it is and its cosigning key.
#[derive(Clone, Debug)]
pub struct WitnessEndpoint {
    pub url: String,
    pub key: WitnessKey,
}

pub struct Witnessing {
    endpoints: Vec<WitnessEndpoint>,
    policy: WitnessPolicy,
    http: reqwest::Client,
    /// Per endpoint, the size it last cosigned as far as this node knows (its 409 answers
    /// correct it).
    known: Mutex<Vec<u64>>,
    /// One collection at a time per node; a waiter re-reads what the previous one stored.
    flight: tokio::sync::Mutex<()>,
}

impl Witnessing {
    pub fn new(endpoints: Vec<WitnessEndpoint>, quorum: usize) -> Result<Self, VaultError> {
        let policy = WitnessPolicy::new(endpoints.iter().map(|e| e.key.clone()).collect(), quorum)
            .map_err(|e| VaultError::Internal(format!("witness policy: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        Ok(Self {
            known: Mutex::new(vec![0; endpoints.len()]),
            endpoints,
            policy,
            http,
            flight: tokio::sync::Mutex::new(()),
        })
    }

    pub fn policy(&self) -> &WitnessPolicy {
        &self.policy
    }

    fn known(&self, i: usize) -> u64 {
        self.known
            .lock()
            .map_or(0, |k| k.get(i).copied().unwrap_or(0))
    }

    fn set_known(&self, i: usize, size: u64) {
        if let Ok(mut k) = self.known.lock()
            && let Some(slot) = k.get_mut(i)
        {
            *slot = size;
        }
    }
}

impl Vault {
    /// The witnesses' policy this vault follows (empty without witnesses).
    pub fn witness_policy(&self) -> WitnessPolicy {
        self.witnessing
            .as_ref()
            .map(|w| w.policy().clone())
            .unwrap_or_default()
    }

    /// The checkpoint clients are offered: without witnesses the newest signed one; with
    /// witnesses the newest carrying the quorum, asking the witnesses to cosign the current
    /// tree first. `unavailable` when no stored checkpoint has the quorum yet.
    pub async fn witnessed_checkpoint(&self) -> Result<(u64, String), VaultError> {
        let Some(w) = self.witnessing.clone() else {
            return self.checkpoint_now().await;
        };
        let (size, note) = self.checkpoint_now().await?;
        if w.policy.check(&note).is_ok() {
            return Ok((size, note));
        }
        {
            let _one = w.flight.lock().await;
            // Another request may have cosigned it (or a newer one) while this one waited.
            if let Some(found) = self.newest_witnessed(&w)?
                && found.0 >= size
            {
                return Ok(found);
            }
            if let Err(e) = self.collect(&w, size, &note).await {
                tracing::warn!(error = %e, size, "checkpoint not cosigned by a quorum of witnesses yet");
            }
        }
        self.newest_witnessed(&w)?.ok_or_else(|| {
            VaultError::Unwitnessed(
                "no checkpoint is cosigned by the witnesses' quorum yet; retry when they answer"
                    .into(),
            )
        })
    }

    /// The newest stored checkpoint that carries the quorum and this key's signature.
    fn newest_witnessed(&self, w: &Witnessing) -> Result<Option<(u64, String)>, VaultError> {
        let recent = self.store().read()?.recent_checkpoints(RECENT)?;
        Ok(recent
            .into_iter()
            .find(|(_, n)| self.signer().signed(n) && w.policy.check(n).is_ok()))
    }

    /// Asks every witness to cosign (`size`, `note`); stores the note with the valid lines if
    /// they reach the quorum.
    async fn collect(&self, w: &Witnessing, size: u64, note: &str) -> Result<(), VaultError> {
        let asks = w
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| self.ask(w, i, e, size, note));
        let answers = futures_util::future::join_all(asks).await;
        let (body, _) = note::split(note).map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut lines = Vec::new();
        for (answer, e) in answers.into_iter().zip(&w.endpoints) {
            match answer {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(witness = %e.url, error = %err, "witness did not cosign")
                }
            }
        }
        let cosigned = cosignature::with_lines(note, &lines);
        let have = w.policy.check(&cosigned).map(|c| c.len()).unwrap_or(0);
        if have < w.policy.quorum {
            return Err(VaultError::Unwitnessed(format!(
                "{have} of the {} witnesses needed cosigned size {size}",
                w.policy.quorum
            )));
        }
        let stored = cosigned.clone();
        self.store()
            .writer()
            .act(move |tx: &mut dyn Batch| {
                // Replace the plain note only: same size, same text, not already cosigned.
                let current = tx.recent_checkpoints(RECENT)?;
                let same = current
                    .iter()
                    .find(|(s, _)| *s == size)
                    .is_some_and(|(_, n)| {
                        note::split(n).is_ok_and(|(text, _)| text == body) && n.len() < stored.len()
                    });
                if same {
                    tx.put_checkpoint(size, &stored)?;
                }
                Ok::<_, VaultError>(())
            })
            .await?;
        metrics::counter!("assent_checkpoints_cosigned_total").increment(1);
        Ok(())
    }

    /// One witness, one checkpoint: `Ok(Some(line))` once its cosignature verifies. A 409
    /// (`text/x.tlog.size`) names the size the witness last cosigned: asked again once with a
    /// proof from there.
    async fn ask(
        &self,
        w: &Witnessing,
        i: usize,
        e: &WitnessEndpoint,
        size: u64,
        note_text: &str,
    ) -> Result<Option<String>, String> {
        let (body, _) = note::split(note_text).map_err(|x| x.to_string())?;
        for _ in 0..2 {
            let old = w.known(i);
            if old > size {
                // The witness has cosigned a newer checkpoint (another node's): this one is
                // behind and the next collection will be for a newer tree.
                return Ok(None);
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                self.consistency_proof(old, size)
                    .map_err(|x| x.to_string())?
            };
            let req = AddCheckpoint {
                old,
                proof,
                note: note_text.to_owned(),
            };
            let url = format!("{}/add-checkpoint", e.url.trim_end_matches('/'));
            let resp = w
                .http
                .post(&url)
                .body(req.to_body())
                .send()
                .await
                .map_err(|x| x.to_string())?;
            let status = resp.status().as_u16();
            let is_size = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/x.tlog.size"));
            let text = resp.text().await.map_err(|x| x.to_string())?;
            match status {
                200 => {
                    // The answer is one or more signature lines; keep the one of this
                    // witness's key that verifies.
                    for line in text.lines().filter(|l| !l.is_empty()) {
                        let parsed = note::split(&format!("{body}\n{line}\n"))
                            .map_err(|x| format!("malformed cosignature: {x}"))?;
                        if let Some(l) = parsed.1.first()
                            && e.key.check(&body, l).map_err(|x| x.to_string())?.is_some()
                        {
                            w.set_known(i, size);
                            return Ok(Some(line.to_owned()));
                        }
                    }
                    return Err("the answer holds no cosignature by the configured key".into());
                }
                409 if is_size => {
                    let theirs = text
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("bad size answer `{}`", text.trim()))?;
                    w.set_known(i, theirs);
                }
                _ => return Err(format!("{status}: {}", text.trim())),
            }
        }
        Err("the witness's size kept changing".into())
    }
}
