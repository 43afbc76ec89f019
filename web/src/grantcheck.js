// Which grants this device will wrap data keys to. A grant comes from the vault (GET
// /v1/me/grants) and is trusted only as far as it is checked here:
//   signature   the account's OWN Ed25519 key over "assent/v2/grant\n" ‖ JCS(exactly the
//               signed fields) — the vault cannot forge it, and another customer's grant fails;
//   customer_id this account;
//   keys        org_identity_key / org_encryption_key decode to 32 bytes — the wrap goes to this
//               signed org_encryption_key, never to a key fetched now;
// and, before anything is wrapped to it (usableGrant):
//   not_after   in the future; labels include the label;
//   ledger      its grant_created entry is in the account's VERIFIED ledger with the same terms
//               and signature, and no grant_revoked entry names it (a revoked grant replayed as
//               "active" fails here).
import { fromB64url, fromB64urlN, fromUtf8 } from './crypto/bytes.js';
import { grantTerms, jcs, verifyGrant } from './crypto/sign.js';

export class GrantRefused extends Error {
  constructor(grant, reason) {
    super(reason);
    this.grantId = grant?.grant_id;
    this.orgId = grant?.org_id;
    this.reason = reason;
  }
}

/**
 * The account's own signed grant, or a GrantRefused. Returns { terms, orgIdentityKey,
 * orgEncryptionKey }.
 */
export async function verifyOwnGrant(g, { customerId, ed25519Public }) {
  if (!g || typeof g !== 'object') throw new GrantRefused(g, 'it is not a grant');
  const terms = grantTerms(g);
  let sig;
  let orgIdentityKey;
  let orgEncryptionKey;
  try {
    sig = fromB64url(g.signature);
    orgIdentityKey = fromB64urlN(terms.org_identity_key, 32, 'org_identity_key');
    orgEncryptionKey = fromB64urlN(terms.org_encryption_key, 32, 'org_encryption_key');
  } catch (e) {
    throw new GrantRefused(g, `it is malformed (${e.message})`);
  }
  if (!(await verifyGrant(ed25519Public, terms, sig))) throw new GrantRefused(g, 'it does not carry your signature');
  if (terms.customer_id !== customerId) throw new GrantRefused(g, `it is another customer’s grant (${terms.customer_id})`);
  return { terms, orgIdentityKey, orgEncryptionKey };
}

// The grant_created fields that must equal the signed terms.
const SAME = ['org_id', 'org_identity_key', 'org_encryption_key', 'labels', 'purposes', 'not_after', 'max_reads', 'signature'];
const same = (a, b) => fromUtf8(jcs(a ?? null)) === fromUtf8(jcs(b ?? null));

/**
 * verifyOwnGrant, then what wrapping `label` to it needs: not expired at `now` (ms), covers the
 * label, created in the verified ledger `entries` (the answer's entries, already verified) and
 * not revoked there. Returns what verifyOwnGrant returns plus { created } (the ledger entry).
 */
export async function usableGrant(g, account, entries, label, now = Date.now()) {
  const own = await verifyOwnGrant(g, account);
  const { terms } = own;
  const end = Date.parse(terms.not_after);
  if (!Number.isFinite(end) || end <= now) throw new GrantRefused(g, `it ended on ${terms.not_after}`);
  if (!Array.isArray(terms.labels) || !terms.labels.includes(label)) throw new GrantRefused(g, `it does not cover your ${label}`);
  const created = entries.find((e) => e.event.type === 'grant_created' && e.event.grant_id === terms.grant_id);
  if (!created) throw new GrantRefused(g, 'your verified ledger has no record of you granting it');
  const ev = created.event;
  const differs = SAME.find((k) => !same(ev[k], k === 'signature' ? g.signature : terms[k]));
  if (ev.customer_id !== account.customerId || differs) {
    throw new GrantRefused(g, `it differs from what your ledger records you granting (${differs || 'customer_id'})`);
  }
  const revoked = entries.find((e) => e.event.type === 'grant_revoked' && e.event.grant_id === terms.grant_id);
  if (revoked) throw new GrantRefused(g, `your ledger records that you revoked it (entry #${revoked.index})`);
  return { ...own, created };
}
