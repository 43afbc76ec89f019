//! Witness cosignatures (C2SP tlog-cosignature, `cosignature/v1`) and the witness policy a
//! client pins: which witnesses it trusts and how many of them must have cosigned a checkpoint.
//!
//! A cosignature is a signed-note signature line `— <witness name> base64(key id ‖ time ‖
//! signature)`: the 4-byte key id `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public)[..4]`, the cosigning
//! time as 8 bytes big-endian (seconds since the Unix epoch), and an Ed25519 (RFC 8032)
//! signature over `cosignature/v1\ntime <time>\n` ‖ the checkpoint body. A witness cosigns a
//! checkpoint only if it is consistent with every one it cosigned before for that log, so k
//! honest witnesses out of a policy's quorum make a split view impossible to get cosigned.
//!
//! Pure: no I/O; the time is a parameter.

use ed25519_dalek::{Signer as _, SigningKey};

use super::error::LedgerError;
use super::note::{self, SignatureLine};
use crate::crypto::verify_signature;

/// Signature type of `cosignature/v1` in key ids and verifier keys (c2sp.org/signed-note).
pub const COSIGNATURE_TYPE: u8 = 0x04;
/// The first line of the signed message.
const HEADER: &str = "cosignature/v1";
/// Most witnesses a policy may name (a note carries at most `note::MAX_SIGNATURES` lines).
pub const MAX_WITNESSES: usize = 32;

fn bad(reason: &str) -> LedgerError {
    LedgerError::BadNote(reason.to_owned())
}

/// A witness's cosigning key, as a client or a vault trusts it.
///
/// Invariant: `key_id == note::typed_key_id(name, COSIGNATURE_TYPE, public)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessKey {
    pub name: String,
    pub key_id: [u8; 4],
    pub public: [u8; 32],
}

impl WitnessKey {
    pub fn new(name: &str, public: &[u8; 32]) -> Result<Self, LedgerError> {
        let text = note::typed_verifier_key(name, COSIGNATURE_TYPE, public);
        Self::parse(&text)
    }

    /// Parses `name+hex(key id)+base64(0x04 ‖ public)`.
    pub fn parse(s: &str) -> Result<Self, LedgerError> {
        let (name, key_id, public) = note::parse_typed_verifier_key(s.trim(), COSIGNATURE_TYPE)?;
        Ok(Self {
            name,
            key_id,
            public,
        })
    }

    pub fn to_key_string(&self) -> String {
        note::typed_verifier_key(&self.name, COSIGNATURE_TYPE, &self.public)
    }

    /// Checks one signature line of a note against this key and `body` (the checkpoint text);
    /// returns the cosigning time. `Ok(None)` when the line is not this key's.
    pub fn check(&self, body: &str, line: &SignatureLine) -> Result<Option<u64>, LedgerError> {
        if line.name != self.name || line.key_id != self.key_id {
            return Ok(None);
        }
        let Some((time, signature)) = line.signature.split_first_chunk::<8>() else {
            return Err(bad("cosignature is too short"));
        };
        let time = u64::from_be_bytes(*time);
        verify_signature(&self.public, &signed_message(body, time), signature)
            .map_err(|_| LedgerError::BadSignature)?;
        Ok(Some(time))
    }
}

/// The bytes a `cosignature/v1` signature covers: `cosignature/v1\ntime <time>\n` ‖ `body`.
pub fn signed_message(body: &str, time: u64) -> Vec<u8> {
    format!("{HEADER}\ntime {time}\n{body}").into_bytes()
}

/// Cosigns a checkpoint body at `time`: the signature line, without its newline.
pub fn cosign(body: &str, name: &str, key: &SigningKey, time: u64) -> Result<String, LedgerError> {
    let public = key.verifying_key().to_bytes();
    let witness = WitnessKey::new(name, &public)?;
    let mut blob = Vec::with_capacity(76);
    blob.extend_from_slice(&witness.key_id);
    blob.extend_from_slice(&time.to_be_bytes());
    blob.extend_from_slice(&key.sign(&signed_message(body, time)).to_bytes());
    Ok(note::signature_line(name, &blob))
}

/// Adds signature lines to a signed note (they go after its existing ones).
pub fn with_lines(signed_note: &str, lines: &[String]) -> String {
    let mut out = String::with_capacity(signed_note.len() + lines.len() * 120);
    out.push_str(signed_note);
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Which witnesses a client trusts and how many must cosign a checkpoint before the client
/// believes it. Pinned by the client like the vault key; a quorum of 0 with no witnesses is the
/// policy of a vault without witnesses (no cosignature is asked for).
///
/// Text form, one directive per line (`#` starts a comment):
/// ```text
/// witness <name+keyid+base64(0x04 ‖ key)>
/// quorum <k>
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WitnessPolicy {
    pub witnesses: Vec<WitnessKey>,
    pub quorum: usize,
}

/// One witness's valid cosignature on a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub witness: String,
    pub time: u64,
}

impl WitnessPolicy {
    pub fn new(witnesses: Vec<WitnessKey>, quorum: usize) -> Result<Self, LedgerError> {
        if witnesses.len() > MAX_WITNESSES {
            return Err(bad("too many witnesses"));
        }
        if quorum > witnesses.len() {
            return Err(bad("the quorum is larger than the number of witnesses"));
        }
        if !witnesses.is_empty() && quorum == 0 {
            return Err(bad(
                "a policy naming witnesses needs a quorum of at least 1",
            ));
        }
        for (i, w) in witnesses.iter().enumerate() {
            if witnesses[..i].iter().any(|o| o.name == w.name) {
                return Err(bad(&format!("witness {} is named twice", w.name)));
            }
        }
        Ok(Self { witnesses, quorum })
    }

    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let mut witnesses = Vec::new();
        let mut quorum = None;
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once(char::is_whitespace) {
                Some(("witness", key)) => witnesses.push(WitnessKey::parse(key)?),
                Some(("quorum", k)) if quorum.is_none() => {
                    quorum = Some(
                        k.trim()
                            .parse::<usize>()
                            .map_err(|_| bad("quorum must be a number"))?,
                    );
                }
                Some(("quorum", _)) => return Err(bad("the policy has two quorum lines")),
                _ => return Err(bad(&format!("unknown policy line `{line}`"))),
            }
        }
        let quorum = quorum.ok_or_else(|| bad("the policy has no quorum line"))?;
        Self::new(witnesses, quorum)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for w in &self.witnesses {
            out.push_str("witness ");
            out.push_str(&w.to_key_string());
            out.push('\n');
        }
        out.push_str(&format!("quorum {}\n", self.quorum));
        out
    }

    pub fn is_empty(&self) -> bool {
        self.quorum == 0
    }

    /// Checks that at least `quorum` of the policy's witnesses cosigned the checkpoint in
    /// `signed_note` (whose vault signature the caller verifies). A line that claims to be a
    /// trusted witness's and does not verify fails the whole note; lines of other keys are
    /// ignored. Returns the valid cosignatures, one per witness.
    pub fn check(&self, signed_note: &str) -> Result<Vec<Cosigned>, LedgerError> {
        let (body, lines) = note::split(signed_note)?;
        let mut found: Vec<Cosigned> = Vec::new();
        for line in &lines {
            for w in &self.witnesses {
                if let Some(time) = w.check(&body, line)?
                    && !found.iter().any(|c| c.witness == w.name)
                {
                    found.push(Cosigned {
                        witness: w.name.clone(),
                        time,
                    });
                }
            }
        }
        if found.len() < self.quorum {
            return Err(LedgerError::NoQuorum {
                have: found.len(),
                need: self.quorum,
            });
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::Checkpoint;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn vault_note() -> (String, String) {
        let cp = Checkpoint {
            origin: "example.test/log".into(),
            size: 7,
            root: [9; 32],
        };
        (cp.body(), cp.sign("example.test/log", &key(1)).unwrap())
    }

    fn policy(quorum: usize) -> WitnessPolicy {
        let w = |n: &str, s: u8| WitnessKey::new(n, &key(s).verifying_key().to_bytes()).unwrap();
        WitnessPolicy::new(vec![w("w1", 2), w("w2", 3)], quorum).unwrap()
    }

    #[test]
    fn a_quorum_of_cosignatures_is_accepted_and_one_short_is_refused() {
        let (body, signed) = vault_note();
        let one = cosign(&body, "w1", &key(2), 1_700_000_000).unwrap();
        let two = cosign(&body, "w2", &key(3), 1_700_000_001).unwrap();
        let both = with_lines(&signed, &[one.clone(), two]);
        let found = policy(2).check(&both).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].time, 1_700_000_000);
        let just_one = with_lines(&signed, &[one.clone(), one]);
        assert!(matches!(
            policy(2).check(&just_one),
            Err(LedgerError::NoQuorum { have: 1, need: 2 })
        ));
        assert!(policy(1).check(&just_one).is_ok());
        // The vault's own signature is not a cosignature.
        assert!(policy(1).check(&signed).is_err());
    }

    #[test]
    fn a_cosignature_of_another_body_or_time_fails_the_note() {
        let (body, signed) = vault_note();
        let other = body.replace("\n7\n", "\n8\n");
        let wrong = cosign(&other, "w1", &key(2), 5).unwrap();
        assert!(matches!(
            policy(1).check(&with_lines(&signed, &[wrong])),
            Err(LedgerError::BadSignature)
        ));
        // Same key, the time bytes changed after signing.
        let line = cosign(&body, "w1", &key(2), 5).unwrap();
        let (_, lines) = note::split(&with_lines(&signed, &[line])).unwrap();
        let mut blob = lines[1].key_id.to_vec();
        blob.extend_from_slice(&6u64.to_be_bytes());
        blob.extend_from_slice(&lines[1].signature[8..]);
        let moved = note::signature_line("w1", &blob);
        assert!(policy(1).check(&with_lines(&signed, &[moved])).is_err());
    }

    #[test]
    fn a_signature_by_the_right_key_but_the_plain_note_type_is_not_a_cosignature() {
        let (body, signed) = vault_note();
        // A plain Ed25519 note signature by the witness key has another key id: ignored.
        let plain = note::sign(&body, "w1", &key(2)).unwrap();
        let (_, lines) = note::split(&plain).unwrap();
        let mut blob = lines[0].key_id.to_vec();
        blob.extend_from_slice(&lines[0].signature);
        let line = note::signature_line("w1", &blob);
        assert!(matches!(
            policy(1).check(&with_lines(&signed, &[line])),
            Err(LedgerError::NoQuorum { have: 0, need: 1 })
        ));
    }

    #[test]
    fn policies_parse_strictly_and_round_trip() {
        let p = policy(2);
        assert_eq!(WitnessPolicy::parse(&p.to_text()).unwrap(), p);
        let text = format!("# demo\n{}\n", p.to_text());
        assert_eq!(WitnessPolicy::parse(&text).unwrap(), p);
        assert!(WitnessPolicy::parse("quorum 1\n").is_err());
        assert!(WitnessPolicy::parse(&p.to_text().replace("quorum 2", "quorum 3")).is_err());
        assert!(WitnessPolicy::parse(&p.to_text().replace("quorum 2", "quorum 0")).is_err());
        assert!(WitnessPolicy::parse(&format!("{}quorum 1\n", p.to_text())).is_err());
        assert!(WitnessPolicy::parse("witnesses x\nquorum 0\n").is_err());
        assert!(WitnessPolicy::parse("quorum 0\n").unwrap().is_empty());
        // A vault key (type 0x01) is not a witness key.
        let vault = note::verifier_key("v", &key(1).verifying_key().to_bytes());
        assert!(WitnessKey::parse(&vault).is_err());
        let w = p.witnesses[0].to_key_string();
        assert!(WitnessPolicy::parse(&format!("witness {w}\nwitness {w}\nquorum 1\n")).is_err());
    }
}
