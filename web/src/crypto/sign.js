// Signed messages (src/crypto/sign.rs): grants over "assent/v1/grant\n" ‖ JCS(grant) (RFC 8785,
// from the `canonicalize` package), organization key bindings over "assent/v1/org-key\n" ‖ key,
// and the human fingerprint of an identity key.
import canonicalize from 'canonicalize';
import { concat, hex, sha256, utf8 } from './bytes.js';
import { ed25519Sign, ed25519Verify } from './keys.js';

export const jcs = (value) => utf8(canonicalize(value));

export const grantMessage = (grant) => concat(utf8('assent/v1/grant\n'), jcs(grant));
export const orgKeyMessage = (x25519Public) => concat(utf8('assent/v1/org-key\n'), x25519Public);

/** The grant object exactly as signed: `max_reads` left out when there is no quota. */
export function grantTerms({ grant_id, customer_id, org_id, labels, purposes, not_after, max_reads }) {
  const g = { grant_id, customer_id, org_id, labels, purposes, not_after };
  if (max_reads !== undefined && max_reads !== null) g.max_reads = max_reads;
  return g;
}

export const signGrant = (signingKey, grant) => ed25519Sign(signingKey, grantMessage(grantTerms(grant)));
export const verifyGrant = (publicKey, grant, sig) => ed25519Verify(publicKey, grantMessage(grantTerms(grant)), sig);
export const signOrgKey = (signingKey, x25519Public) => ed25519Sign(signingKey, orgKeyMessage(x25519Public));
export const verifyOrgKey = (identityPublic, x25519Public, sig) =>
  ed25519Verify(identityPublic, orgKeyMessage(x25519Public), sig);

/** First 16 bytes of SHA-256(key) in hex, in groups of four: "a1b2 c3d4 …" (8 groups). */
export async function fingerprint(publicKey) {
  const h = hex((await sha256(publicKey)).subarray(0, 16));
  return h.match(/.{4}/g).join(' ');
}
