//! Vault key rotation statements: the retiring key vouches for its successor.
//!
//! A statement is a signed note (C2SP signed-note form, like checkpoints) signed by the
//! PREVIOUS key, whose text is exactly:
//!
//! ```text
//! assent/v2/vault-key-rotation
//! <previous verifier key>
//! <next verifier key>
//! <RFC 3339 time, UTC, whole seconds>
//! ```
//!
//! A client that pinned the previous key verifies the statement with it and learns the next
//! key; a chain of statements leads from any pinned key to the current one. Invariant: a client
//! moves its pin only along statements it verified with the key it already pinned, and only
//! after its user accepted the change (the statement proves the old key's holder made the
//! change, not that the customer agrees to it).

use super::LedgerError;
use super::note::{Verifier, open, parse_verifier_key, sign};
use crate::crypto::keys::SigningKey;
use crate::domain::time::Timestamp;

/// First line of a rotation statement.
pub const ROTATION_HEADER: &str = "assent/v2/vault-key-rotation";

/// A verified rotation: the key retired and its successor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub previous: Verifier,
    pub next: Verifier,
    pub at: Timestamp,
}

fn bad(why: &str) -> LedgerError {
    LedgerError::BadNote(format!("rotation statement: {why}"))
}

/// Signs the statement that `previous` (the retiring key) hands over to `next_verifier_key`.
pub fn sign_rotation(
    name: &str,
    previous: &SigningKey,
    next_verifier_key: &str,
    at: Timestamp,
) -> Result<String, LedgerError> {
    let prev = super::note::verifier_key(name, &previous.verifying_key().to_bytes());
    parse_verifier_key(next_verifier_key)?;
    let text = format!("{ROTATION_HEADER}\n{prev}\n{next_verifier_key}\n{at}\n");
    sign(&text, name, previous)
}

/// Verifies one statement with the key it must come from (`previous`).
pub fn verify_rotation(statement: &str, previous: &Verifier) -> Result<Rotation, LedgerError> {
    let (text, _) = open(statement, std::slice::from_ref(previous))?;
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .collect();
    let [header, prev, next, at] = lines.as_slice() else {
        return Err(bad("must have four lines"));
    };
    if *header != ROTATION_HEADER {
        return Err(bad("wrong first line"));
    }
    if parse_verifier_key(prev)? != *previous {
        return Err(bad(
            "names another previous key than the one that signed it",
        ));
    }
    let next = parse_verifier_key(next)?;
    if next == *previous || next.name != previous.name {
        return Err(bad("the next key must be a new key of the same vault"));
    }
    let at = Timestamp::parse(at).map_err(|_| bad("bad time"))?;
    Ok(Rotation {
        previous: previous.clone(),
        next,
        at,
    })
}

/// Follows `statements` (in any order) from `pinned` as far as they lead: the verified chain,
/// oldest first. An empty chain means none starts at `pinned`.
pub fn follow(statements: &[String], pinned: &Verifier) -> Vec<Rotation> {
    let mut chain: Vec<Rotation> = Vec::new();
    let mut at = pinned.clone();
    // Each step must move to a key not seen before (no loops), so this ends.
    while chain.len() < statements.len() {
        let step = statements
            .iter()
            .find_map(|s| verify_rotation(s, &at).ok())
            .filter(|r| r.next != *pinned && chain.iter().all(|c| c.next != r.next));
        match step {
            Some(r) => {
                at = r.next.clone();
                chain.push(r);
            }
            None => break,
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::generate_signing_key;
    use crate::ledger::note::verifier_key;

    fn verifier(k: &SigningKey) -> Verifier {
        parse_verifier_key(&verifier_key("v.example", &k.verifying_key().to_bytes())).unwrap()
    }

    #[test]
    fn a_chain_leads_from_the_pinned_key_to_the_current_one_and_nothing_else_verifies() {
        let (a, b, c) = (
            generate_signing_key(),
            generate_signing_key(),
            generate_signing_key(),
        );
        let at = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
        let ab = sign_rotation("v.example", &a, &verifier(&b).to_key_string(), at).unwrap();
        let bc = sign_rotation("v.example", &b, &verifier(&c).to_key_string(), at).unwrap();
        let chain = follow(&[bc.clone(), ab.clone()], &verifier(&a));
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1].next, verifier(&c));
        // From b only the second step; from c nothing.
        assert_eq!(follow(&[ab.clone(), bc.clone()], &verifier(&b)).len(), 1);
        assert!(follow(&[ab.clone(), bc.clone()], &verifier(&c)).is_empty());
        // A statement signed by another key than the one it names as previous fails.
        let forged = sign_rotation("v.example", &c, &verifier(&b).to_key_string(), at).unwrap();
        assert!(verify_rotation(&forged, &verifier(&a)).is_err());
        // A changed next key breaks the signature.
        let tampered = ab.replace(&verifier(&b).to_key_string(), &verifier(&c).to_key_string());
        assert!(verify_rotation(&tampered, &verifier(&a)).is_err());
    }
}
