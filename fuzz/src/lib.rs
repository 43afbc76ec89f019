//! Shared fixtures and input formats of Assent's fuzz targets (see `fuzz/README.md`).
//!
//! Every target reads its input with [`Input`], a cursor that never fails: a field asked for past
//! the end of the input comes back short (bytes) or zero-padded (integers, hashes). The same
//! layouts are written by `examples/gen_seeds.rs`, which makes the seed corpus.
//!
//! The fixed keys and known answers come from `/work/shared/vectors/assent-wire-v2.json` (an
//! independent implementation of wire v2: envelope AAD with the content type, grants naming the
//! organization's keys and signed over `assent/v2/grant\n` ‖ JCS), so the seeds built from that
//! file open and verify: the fuzzer starts from inputs that reach the success paths, not only the
//! early refusals. `examples/gen_seeds.rs` asserts that every constant here matches the file.

use std::sync::LazyLock;

use assent::crypto::SigningKey;
use assent::crypto::X25519Secret;
use assent::crypto::b64;
use assent::ledger::note::Verifier;

/// The organization's X25519 private key of the wire vector (`org.x25519_private`).
pub const ORG_X25519_PRIVATE: &str = "ys0tSZ5ZGwM76PdRtLa754_uMeKeuUzYDBQ7YsOw_v8";
/// The organization's X25519 public key (`org.x25519_public`, the grant's `org_encryption_key`).
pub const ORG_X25519_PUBLIC: &str = "xeQIfQYkMjlM-pdoy0bfpH4mp3UIC0t0pg6-ivZN0Fc";
/// The organization's Ed25519 identity key (`org.ed25519_public`, the grant's
/// `org_identity_key`).
pub const ORG_ED25519_PUBLIC: &str = "CSDb0pAs1TdYk4zCQ-ZK8jAW5DQFKyVTXeUuNrOYSLM";
/// HPKE `info` of the wire vector's wrap (`expect.wrap_info_utf8`; unchanged since v1).
pub const WRAP_INFO: &[u8] = b"assent/v1/wrap\nenv_51b2d0\n3\norg_acme_bank\ngrt_0c44e1";

/// The content type of the wire vector's envelope (`read_response.content_type`), the sixth line
/// of its AAD.
pub const ENVELOPE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";
/// The v2 envelope AAD of the wire vector (`expect.envelope_aad_utf8`): the only AAD its payload
/// opens under.
pub const ENVELOPE_AAD: &[u8] =
    b"assent/v2/envelope\ncus_7f3a9c\nenv_51b2d0\n3\nemail\ntext/plain; charset=utf-8";
/// The wire vector's data key (`expect.data_key`).
pub const ENVELOPE_DATA_KEY: &str = "xpCEBmlh_8Pk81GwDqlBXytW1fqnjR-xzGJFFCNVWsY";
/// The wire vector's payload nonce and ciphertext (`read_response.nonce`, `.ciphertext`).
pub const ENVELOPE_NONCE: &str = "ajHnS7HrR8VxKI8rm5AoxGS1NNbK6S7P";
pub const ENVELOPE_CIPHERTEXT: &str = "eVH6b7Zp3-ysAf0al-_JM1OoG2522KRWAATkBYcgifai";
/// The wire vector's plaintext (`expect.plaintext_utf8`).
pub const ENVELOPE_PLAINTEXT: &str = "alice@example.com";

/// The customer's Ed25519 public key of the wire vector (`grant.customer_ed25519_public`).
pub const CUSTOMER_ED25519_PUBLIC: &str = "pDycotDpiwELFYRTffceTZ0Q_iunQAQBy_xLS_zixHU";
/// JCS of the wire vector's grant (`grant.signed_message_utf8` after its `assent/v2/grant\n`
/// prefix): the only terms its signature covers.
pub const GRANT_JCS: &str = r#"{"customer_id":"cus_7f3a9c","grant_id":"grt_0c44e1","labels":["email","postal_address"],"max_reads":10,"not_after":"2027-11-24T00:00:00Z","org_encryption_key":"xeQIfQYkMjlM-pdoy0bfpH4mp3UIC0t0pg6-ivZN0Fc","org_id":"org_acme_bank","org_identity_key":"CSDb0pAs1TdYk4zCQ-ZK8jAW5DQFKyVTXeUuNrOYSLM","purposes":["dpv:IdentityVerification"]}"#;
/// The wire vector's grant signature (`grant.signature`).
pub const GRANT_SIGNATURE: &str =
    "g6KWUoVnJ89xRTG6ouJl7mFpQK3O0ieBRwTbn3NG1dSxKIprgjLWWW2tYlVyK9xwLNvBXP8lCsnGvWJiHVriDw";

/// The key-encryption key every fuzzed bundle is opened with (the seed bundle is sealed under it).
pub const BUNDLE_KEK: [u8; 32] = [0x4b; 32];

/// Go's verifier key from `signed-note-go.json` (golang.org/x/mod/sumdb/note).
pub const GO_VERIFIER_KEY: &str =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// Origin (and key name) of the fuzz targets' own checkpoint key.
pub const CHECKPOINT_ORIGIN: &str = "fuzz.assent.example/ledger";
/// Seed of the fuzz targets' checkpoint signing key (fixed, public, test only).
pub const CHECKPOINT_SEED: [u8; 32] = [0xc7; 32];

pub static ORG_SECRET: LazyLock<X25519Secret> = LazyLock::new(|| {
    X25519Secret::from_bytes(
        b64::decode_array::<32>(ORG_X25519_PRIVATE, "org key").expect("fixture"),
    )
});

pub static CUSTOMER_PUBLIC: LazyLock<[u8; 32]> = LazyLock::new(|| {
    b64::decode_array::<32>(CUSTOMER_ED25519_PUBLIC, "customer key").expect("fixture")
});

/// The bytes of [`GRANT_SIGNATURE`].
pub static GRANT_SIGNATURE_BYTES: LazyLock<Vec<u8>> =
    LazyLock::new(|| b64::decode(GRANT_SIGNATURE).expect("fixture"));

/// The decoded envelope fixtures: `(data key, nonce, ciphertext)`.
pub static ENVELOPE: LazyLock<([u8; 32], Vec<u8>, Vec<u8>)> = LazyLock::new(|| {
    (
        b64::decode_array::<32>(ENVELOPE_DATA_KEY, "data key").expect("fixture"),
        b64::decode(ENVELOPE_NONCE).expect("fixture"),
        b64::decode(ENVELOPE_CIPHERTEXT).expect("fixture"),
    )
});

pub static CHECKPOINT_KEY: LazyLock<SigningKey> =
    LazyLock::new(|| SigningKey::from_bytes(&CHECKPOINT_SEED));

pub static CHECKPOINT_VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::new(
        CHECKPOINT_ORIGIN,
        &CHECKPOINT_KEY.verifying_key().to_bytes(),
    )
    .expect("fixture")
});

pub static GO_VERIFIER: LazyLock<Verifier> =
    LazyLock::new(|| assent::ledger::note::parse_verifier_key(GO_VERIFIER_KEY).expect("fixture"));

/// A cursor over the fuzz input that never fails.
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        head
    }

    /// One byte, 0 at the end of the input.
    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    /// A little-endian `u64`, zero-padded at the end of the input.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    /// `N` bytes, zero-padded at the end of the input.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let got = self.bytes(N);
        out[..got.len()].copy_from_slice(got);
        out
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }
}

/// Layout of `envelope_open` inputs.
pub mod envelope_input {
    /// Mode byte: even = open an envelope payload, odd = parse and unwrap a JSON `Wrap`.
    pub const MODE_PAYLOAD: u8 = 0;
    pub const MODE_WRAP: u8 = 1;

    /// `MODE_PAYLOAD | key[32] | aad_len u8 | nonce_len u8 | aad | nonce | ciphertext…`.
    pub fn payload(key: &[u8; 32], aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        let mut out = vec![MODE_PAYLOAD];
        out.extend_from_slice(key);
        out.push(u8::try_from(aad.len()).expect("aad fits a length byte"));
        out.push(u8::try_from(nonce.len()).expect("nonce fits a length byte"));
        out.extend_from_slice(aad);
        out.extend_from_slice(nonce);
        out.extend_from_slice(ciphertext);
        out
    }

    /// `MODE_WRAP | JSON…`.
    pub fn wrap(json: &[u8]) -> Vec<u8> {
        [&[MODE_WRAP], json].concat()
    }
}

/// Layout of `grant_verify` inputs: `sig_len u8 | signature | UTF-8 text…` (the text is parsed as
/// `GrantTerms` JSON and each of its lines by the string parsers).
pub fn grant_input(signature: &[u8], text: &str) -> Vec<u8> {
    let mut out = vec![u8::try_from(signature.len()).expect("signature fits a length byte")];
    out.extend_from_slice(signature);
    out.extend_from_slice(text.as_bytes());
    out
}

/// Layout of `proof_verify` inputs: `index | size | from | to` (u64 LE each), `leaf | root1 |
/// root2` (32 bytes each), then the proof as 32-byte hashes (a short last one is dropped).
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per field of the layout"
)]
pub fn proof_input(
    index: u64,
    size: u64,
    from: u64,
    to: u64,
    leaf: &[u8; 32],
    root1: &[u8; 32],
    root2: &[u8; 32],
    proof: &[[u8; 32]],
) -> Vec<u8> {
    let mut out = Vec::new();
    for n in [index, size, from, to] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    for h in [leaf, root1, root2] {
        out.extend_from_slice(h);
    }
    for h in proof {
        out.extend_from_slice(h);
    }
    out
}
