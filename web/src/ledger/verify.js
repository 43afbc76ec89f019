// Verifies a `GET /v1/me/ledger` answer the way src/client/verify.rs does: the checkpoint's
// signature against the pinned vault key, its consistency with the last checkpoint this device
// saw, then for every entry the leaf recomputed from its event and nonce and its inclusion proof
// against the signed root.
import { b64url, equal, fromB64url, fromB64urlN, sha256, utf8 } from '../crypto/bytes.js';
import { jcs } from '../crypto/sign.js';
import { verifyCheckpoint } from './checkpoint.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';

/** leaf = SHA-256("assent/v1/leaf" ‖ nonce (32) ‖ JCS(event)) */
export const leafCommitment = (nonce, event) => sha256(utf8('assent/v1/leaf'), nonce, jcs(event));

export class LedgerFailure extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

const hashes = (list) => {
  if (!Array.isArray(list)) throw new LedgerFailure('proof', 'the proof is not a list');
  return list.map((h) => fromB64url(h));
};

/**
 * Checks `note` against the pinned verifier and against `lastSeen` (a previous note or null).
 * `consistency(from, to)` fetches the proof hashes (base64url list). Returns { checkpoint,
 * consistentWith }; throws LedgerFailure.
 */
export async function checkCheckpoint(verifier, note, lastSeen, consistency) {
  let cp;
  try {
    cp = await verifyCheckpoint(note, verifier);
  } catch (e) {
    throw new LedgerFailure('signature', `The vault's signed checkpoint does not verify: ${e.message}.`);
  }
  if (!lastSeen) return { checkpoint: cp, consistentWith: null };
  let old;
  try {
    old = await verifyCheckpoint(lastSeen, verifier);
  } catch (e) {
    throw new LedgerFailure('signature', `The checkpoint this device kept does not verify: ${e.message}.`);
  }
  if (cp.size < old.size) {
    throw new LedgerFailure('truncated', `The ledger shrank from ${old.size} to ${cp.size} entries: history was cut.`);
  }
  if (cp.size === old.size) {
    if (!equal(cp.root, old.root)) {
      throw new LedgerFailure('fork', `The vault signed two different ledgers of ${cp.size} entries: history was rewritten.`);
    }
    return { checkpoint: cp, consistentWith: old.size };
  }
  if (old.size === 0n) return { checkpoint: cp, consistentWith: 0n };
  try {
    const proof = hashes(await consistency(old.size, cp.size));
    await verifyConsistency(old.size, cp.size, old.root, cp.root, proof);
  } catch (e) {
    throw new LedgerFailure(
      'inconsistent',
      `The ledger of ${cp.size} entries does not extend the one of ${old.size} this device saw: history was rewritten (${e.message}).`,
    );
  }
  return { checkpoint: cp, consistentWith: old.size };
}

/**
 * Verifies every entry of the answer. Returns { checkpoint, consistentWith, entries: [{index,
 * status: 'verified' | 'pending' | 'failed', reason}], ok }. Throws LedgerFailure for a checkpoint
 * that fails; entry failures are reported per entry (ok = false).
 */
export async function verifyLedger(verifier, answer, lastSeen, consistency) {
  if (!answer || typeof answer.checkpoint !== 'string') {
    throw new LedgerFailure('signature', 'The vault sent no signed checkpoint.');
  }
  const { checkpoint, consistentWith } = await checkCheckpoint(verifier, answer.checkpoint, lastSeen, consistency);
  const results = [];
  for (const e of answer.entries || []) {
    const r = { index: e.index, status: 'verified', reason: '' };
    try {
      const leaf = await leafCommitment(fromB64urlN(e.nonce, 32, 'nonce'), e.event);
      if (b64url(leaf) !== e.leaf) throw new Error('its leaf does not match its event and nonce');
      if (BigInt(e.index) >= checkpoint.size) {
        r.status = 'pending';
        r.reason = 'newer than the signed checkpoint; checked on the next visit';
      } else {
        if (!e.proof) throw new Error('no inclusion proof was given');
        await verifyInclusion(BigInt(e.index), checkpoint.size, await leafHash(leaf), hashes(e.proof), checkpoint.root);
      }
    } catch (err) {
      r.status = 'failed';
      r.reason = err.message;
    }
    results.push(r);
  }
  return { checkpoint, consistentWith, entries: results, ok: results.every((r) => r.status !== 'failed') };
}
