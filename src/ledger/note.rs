//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 signatures (RFC 8032).
//!
//! A note is a text ending in a newline, a blank line, then signature lines
//! `— <key name> base64(key id ‖ signature)`. The text is separated from the signatures by the
//! *last* blank line, so the text itself may contain blank lines. Notes are valid UTF-8 with no
//! ASCII control characters other than newline.
//!
//! Key ids follow the spec's recommendation for type `0x01` (Ed25519):
//! `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[..4]`. Verifier keys use the textual form of Go's
//! `golang.org/x/mod/sumdb/note`: `name+hex(key id)+base64(0x01 ‖ public key)`.
//!
//! Pure: no I/O. Signing is deterministic (RFC 8032 §5.1.6), so the same text and key always give
//! the same note.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::error::LedgerError;
use crate::crypto::verify_signature;

/// Signature type identifier byte of Ed25519 signatures (c2sp.org/signed-note).
pub const ED25519_TYPE: u8 = 0x01;
/// Largest note [`open`] accepts, in bytes (the spec asks for a limit; 1 MiB leaves room for far
/// more than the 16 signatures every verifier must accept).
pub const MAX_NOTE_LEN: usize = 1 << 20;
/// Most signature lines [`open`] accepts in one note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// Start of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A trusted Ed25519 note key.
///
/// Invariant when built by [`Verifier::new`] or [`parse_verifier_key`]: `name` is a valid key
/// name, `public` is a valid curve point encoding and `key_id == key_id(name, public)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// Key name (non-empty, no Unicode spaces, no `+`).
    pub name: String,
    /// The 4-byte key id, as it appears at the start of each signature.
    pub key_id: [u8; 4],
    /// The Ed25519 public key (RFC 8032 encoding).
    pub public: [u8; 32],
}

impl Verifier {
    /// Builds a verifier for `name` and an Ed25519 public key, computing its key id.
    pub fn new(name: &str, public: &[u8; 32]) -> Result<Self, LedgerError> {
        check_name(name)?;
        VerifyingKey::from_bytes(public).map_err(|_| bad("public key is not a curve point"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, public),
            public: *public,
        })
    }

    /// The textual verifier key `name+hex(key id)+base64(0x01 ‖ public)`.
    pub fn to_key_string(&self) -> String {
        verifier_key(&self.name, &self.public)
    }
}

fn bad(reason: &str) -> LedgerError {
    LedgerError::BadNote(reason.to_owned())
}

/// Whether `name` is a valid key name: non-empty, no Unicode whitespace, no `+`, no control
/// characters.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

fn check_name(name: &str) -> Result<(), LedgerError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(bad("invalid key name"))
    }
}

/// The key id of an Ed25519 note key: `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public)[..4]`.
pub fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    typed_key_id(name, ED25519_TYPE, public)
}

/// The key id of a note key of signature type `typ` (c2sp.org/signed-note: 0x01 Ed25519,
/// 0x04 `cosignature/v1`): `SHA-256(name ‖ 0x0A ‖ typ ‖ public)[..4]`.
pub fn typed_key_id(name: &str, typ: u8, public: &[u8; 32]) -> [u8; 4] {
    let digest: [u8; 32] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', typ])
        .chain_update(public)
        .finalize()
        .into();
    let [a, b, c, d, ..] = digest;
    [a, b, c, d]
}

/// The textual verifier key: `name + "+" + hex(key id) + "+" + base64std(0x01 ‖ public)`.
pub fn verifier_key(name: &str, public: &[u8; 32]) -> String {
    typed_verifier_key(name, ED25519_TYPE, public)
}

/// The textual verifier key of a key of signature type `typ`.
pub fn typed_verifier_key(name: &str, typ: u8, public: &[u8; 32]) -> String {
    let id: String = typed_key_id(name, typ, public)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut typed = Vec::with_capacity(33);
    typed.push(typ);
    typed.extend_from_slice(public);
    format!("{name}+{id}+{}", STANDARD.encode(typed))
}

/// Parses a textual verifier key of signature type `typ` into its name, key id and Ed25519
/// public key. Refuses an invalid name, a key id that is not 8 lowercase hex digits, another
/// type, a key that is not a curve point, and a key id that does not match the key.
pub fn parse_typed_verifier_key(
    s: &str,
    typ: u8,
) -> Result<(String, [u8; 4], [u8; 32]), LedgerError> {
    // The name holds no '+', the base64 part may: split at the first two '+' only.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("verifier key must be name+keyid+key"));
    };
    check_name(name)?;
    let id = parse_key_id(hex)?;
    let typed = STANDARD
        .decode(b64)
        .map_err(|_| bad("verifier key is not base64"))?;
    let Some((_, key)) = typed.split_first().filter(|(t, _)| **t == typ) else {
        return Err(bad(&format!("verifier key is not of type 0x{typ:02x}")));
    };
    let public = <[u8; 32]>::try_from(key).map_err(|_| bad("Ed25519 key must be 32 bytes"))?;
    VerifyingKey::from_bytes(&public).map_err(|_| bad("public key is not a curve point"))?;
    if typed_key_id(name, typ, &public) != id {
        return Err(bad("key id does not match the key"));
    }
    Ok((name.to_owned(), id, public))
}

/// Parses a verifier key made by [`verifier_key`] (or Go's `note.NewVerifier` format).
///
/// Refuses what [`parse_typed_verifier_key`] refuses, and any type but Ed25519 (0x01).
pub fn parse_verifier_key(s: &str) -> Result<Verifier, LedgerError> {
    let (name, key_id, public) = parse_typed_verifier_key(s, ED25519_TYPE)?;
    Ok(Verifier {
        name,
        key_id,
        public,
    })
}

/// Parses 8 lowercase hex digits into a big-endian key id.
fn parse_key_id(hex: &str) -> Result<[u8; 4], LedgerError> {
    let well_formed = hex.len() == 8
        && hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !well_formed {
        return Err(bad("key id must be 8 lowercase hex digits"));
    }
    u32::from_str_radix(hex, 16)
        .map(u32::to_be_bytes)
        .map_err(|_| bad("key id must be 8 lowercase hex digits"))
}

/// Whether `s` holds an ASCII control character other than newline (forbidden in notes).
fn has_control(s: &str) -> bool {
    s.chars().any(|c| c < ' ' && c != '\n')
}

/// Signs `text` as a one-signature note: `text ‖ "\n" ‖ "— " ‖ name ‖ " " ‖
/// base64std(key id ‖ Ed25519(text)) ‖ "\n"`.
///
/// `text` must be non-empty, end in a newline and hold no control characters but newlines (it
/// may contain blank lines); `name` must be a valid key name; the note must fit
/// [`MAX_NOTE_LEN`].
pub fn sign(text: &str, name: &str, key: &SigningKey) -> Result<String, LedgerError> {
    if !text.ends_with('\n') {
        return Err(bad("note text must end with a newline"));
    }
    if has_control(text) {
        return Err(bad("note text holds a control character"));
    }
    check_name(name)?;
    let public = key.verifying_key().to_bytes();
    let mut blob = Vec::with_capacity(68);
    blob.extend_from_slice(&key_id(name, &public));
    blob.extend_from_slice(&key.sign(text.as_bytes()).to_bytes());
    let note = format!("{text}\n{}\n", signature_line(name, &blob));
    if note.len() > MAX_NOTE_LEN {
        return Err(bad("note is too large"));
    }
    Ok(note)
}

/// One signature line of a note: the key name, the 4-byte key id and the rest of the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    pub name: String,
    pub key_id: [u8; 4],
    /// The bytes after the key id (an Ed25519 signature for type 0x01; timestamp and
    /// signature for `cosignature/v1`).
    pub signature: Vec<u8>,
}

/// Splits a signed note into its text (ending in a newline) and its signature lines, checking
/// its form only (size, control characters, the blank line, each line's shape). No signature
/// is verified.
pub fn split(note: &str) -> Result<(String, Vec<SignatureLine>), LedgerError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(bad("note is too large"));
    }
    if has_control(note) {
        return Err(bad("note holds a control character"));
    }
    let (head, sigs) = note
        .rsplit_once("\n\n")
        .ok_or_else(|| bad("no blank line before the signatures"))?;
    let lines = sigs
        .strip_suffix('\n')
        .ok_or_else(|| bad("signatures must end with a newline"))?;
    let mut out = Vec::new();
    for (count, line) in lines.split('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(bad("too many signatures"));
        }
        let (name, key_id, signature) = parse_signature_line(line)?;
        out.push(SignatureLine {
            name: name.to_owned(),
            key_id,
            signature,
        });
    }
    Ok((format!("{head}\n"), out))
}

/// Opens a signed note: checks its form, verifies every signature whose (name, key id) matches a
/// known verifier, and returns the text and the verifiers that signed it (each once).
///
/// Signatures from unknown keys are ignored (a cosignature line, say, whose key id is of
/// another type). Fails with [`LedgerError::BadNote`] on a malformed note,
/// [`LedgerError::BadSignature`] if any known key's signature fails (the whole note is
/// rejected), and [`LedgerError::UnknownKey`] if no known key signed it.
pub fn open(note: &str, verifiers: &[Verifier]) -> Result<(String, Vec<Verifier>), LedgerError> {
    let (text, lines) = split(note)?;
    let mut signed_by: Vec<Verifier> = Vec::new();
    for line in &lines {
        for verifier in verifiers
            .iter()
            .filter(|v| v.name == line.name && v.key_id == line.key_id)
        {
            verify_signature(&verifier.public, text.as_bytes(), &line.signature)
                .map_err(|_| LedgerError::BadSignature)?;
            if !signed_by.contains(verifier) {
                signed_by.push(verifier.clone());
            }
        }
    }
    if signed_by.is_empty() {
        return Err(LedgerError::UnknownKey);
    }
    Ok((text, signed_by))
}

/// `— <name> base64std(blob)`: one signature line, without its newline.
pub fn signature_line(name: &str, blob: &[u8]) -> String {
    format!("{SIG_PREFIX}{name} {}", STANDARD.encode(blob))
}

/// Splits `— <name> <base64>` into the name, the key id and the signature bytes.
fn parse_signature_line(line: &str) -> Result<(&str, [u8; 4], Vec<u8>), LedgerError> {
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or_else(|| bad("signature line must start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("signature line must be name and signature"))?;
    check_name(name)?;
    let blob = STANDARD
        .decode(b64)
        .map_err(|_| bad("signature is not base64"))?;
    match blob.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok((name, *id, signature.to_vec())),
        _ => Err(bad("signature is too short")),
    }
}
