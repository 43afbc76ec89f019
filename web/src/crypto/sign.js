// Signed messages (src/crypto/sign.rs, wire v2):
//   grant          "assent/v2/grant\n" ‖ JCS(grant)   (RFC 8785, from the `canonicalize` package)
//   org key        "assent/v1/org-key\n" ‖ raw X25519 key, by the identity key
//   org key change "assent/v2/org-key-change\n" ‖ JCS({org_id, key_seq, identity_key, encryption_key}),
//                  by the PREVIOUS identity key
//   erasure answer "assent/v2/erasure-answer\n" ‖ JCS({customer_id, org_id, grant_id, request_index,
//                  outcome, reason?}), by the organization's identity key when it answered
// and the human fingerprint of an identity key, always computed here from the key.
import canonicalize from 'canonicalize';
import { b64url, concat, hex, sha256, utf8 } from './bytes.js';
import { ed25519Sign, ed25519Verify } from './keys.js';

export const jcs = (value) => utf8(canonicalize(value));

export const grantMessage = (grant) => concat(utf8('assent/v2/grant\n'), jcs(grantTerms(grant)));
export const orgKeyMessage = (x25519Public) => concat(utf8('assent/v1/org-key\n'), x25519Public);
export const orgKeyChangeMessage = ({ org_id, key_seq, identity_key, encryption_key }) =>
  concat(utf8('assent/v2/org-key-change\n'), jcs({ org_id, key_seq, identity_key, encryption_key }));

/**
 * The grant object exactly as signed: only these fields (a server-sent grant carries more, which
 * the signature does not cover), `max_reads` left out when there is no quota. Keys are base64url
 * strings of the raw Ed25519 / X25519 public keys.
 */
export function grantTerms({ grant_id, customer_id, org_id, org_identity_key, org_encryption_key, labels, purposes, not_after, max_reads }) {
  const g = { grant_id, customer_id, org_id, org_identity_key, org_encryption_key, labels, purposes, not_after };
  if (max_reads !== undefined && max_reads !== null) g.max_reads = max_reads;
  return g;
}

export const signGrant = (signingKey, grant) => ed25519Sign(signingKey, grantMessage(grant));
export const verifyGrant = (publicKey, grant, sig) => ed25519Verify(publicKey, grantMessage(grant), sig);
export const signOrgKey = (signingKey, x25519Public) => ed25519Sign(signingKey, orgKeyMessage(x25519Public));
export const verifyOrgKey = (identityPublic, x25519Public, sig) =>
  ed25519Verify(identityPublic, orgKeyMessage(x25519Public), sig);

/** `change` = {org_id, key_seq, identity_key, encryption_key} with keys as raw bytes. */
const changeFields = (c) => ({ org_id: c.org_id, key_seq: c.key_seq, identity_key: b64url(c.identity_key), encryption_key: b64url(c.encryption_key) });
export const signOrgKeyChange = (previousSigningKey, change) => ed25519Sign(previousSigningKey, orgKeyChangeMessage(changeFields(change)));
export const verifyOrgKeyChange = (previousIdentity, change, sig) =>
  ed25519Verify(previousIdentity, orgKeyChangeMessage(changeFields(change)), sig);

/**
 * An organization's answer to an erasure request exactly as signed (src/domain/erasure.rs
 * AnswerStatement): `reason` left out when there is none (an erasure).
 */
export function erasureStatement({ customer_id, org_id, grant_id, request_index, outcome, reason }) {
  const s = { customer_id, org_id, grant_id, request_index, outcome };
  if (reason !== undefined && reason !== null) s.reason = reason;
  return s;
}
export const erasureAnswerMessage = (statement) => concat(utf8('assent/v2/erasure-answer\n'), jcs(erasureStatement(statement)));
export const signErasureAnswer = (signingKey, statement) => ed25519Sign(signingKey, erasureAnswerMessage(statement));
export const verifyErasureAnswer = (identityPublic, statement, sig) =>
  ed25519Verify(identityPublic, erasureAnswerMessage(statement), sig);

/** First 16 bytes of SHA-256(key) in hex, in groups of four: "a1b2 c3d4 …" (8 groups). */
export async function fingerprint(publicKey) {
  const h = hex((await sha256(publicKey)).subarray(0, 16));
  return h.match(/.{4}/g).join(' ');
}

/**
 * A fingerprint as a person typed or pasted it (any case, with or without spaces) → 32 lowercase
 * hex digits, or null when it is not one.
 */
export function normalizeFingerprint(given) {
  if (typeof given !== 'string') return null;
  const s = given.replace(/\s+/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(s) ? s : null;
}

/** Whether `given` is the fingerprint of `publicKey` (compares the digits, not the layout). */
export async function fingerprintMatches(publicKey, given) {
  const want = normalizeFingerprint(given);
  return want !== null && want === (await fingerprint(publicKey)).replace(/ /g, '');
}
