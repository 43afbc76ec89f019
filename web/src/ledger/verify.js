// Verifies a `GET /v1/me/ledger` answer the way src/client/verify.rs does: the checkpoint's
// signature against the pinned vault key, its consistency with the last checkpoint this account
// kept, then for every entry the leaf recomputed from its event and nonce and its inclusion proof
// against the signed root, and that the answer is complete (customer_seq 1, 2, 3, … with no gap
// and not below the highest this account has seen). Nothing the vault sends is taken on trust:
// every field of an entry is either recomputed (leaf), proved (index, via the proof) or checked
// against what the account pinned (checkpoint, customer_seq).
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
 * The checkpoint this device kept, signed by the pinned key or by a key it trusted before and
 * moved from along verified rotation statements (`verifier.retired`, guard.js). Retired keys
 * verify only this device's own kept note, never anything the vault sends now.
 */
async function verifyKept(note, verifier) {
  let first;
  for (const v of [verifier, ...(verifier.retired || [])]) {
    try {
      return await verifyCheckpoint(note, v);
    } catch (e) {
      first = first || e;
    }
  }
  throw first;
}

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
    old = await verifyKept(lastSeen, verifier);
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
 * Checks one entry: its leaf recomputed from its event and nonce, its index inside the signed
 * tree (an index at or beyond the checkpoint's size is a failure: nothing proves such an entry,
 * and a vault could place anything there), and its inclusion proof against the signed root.
 * Throws an Error naming what failed.
 */
export async function checkEntry(e, checkpoint) {
  if (!e || typeof e !== 'object' || !e.event || typeof e.event !== 'object') throw new Error('the entry has no event');
  if (!Number.isSafeInteger(e.index) || e.index < 0) throw new Error('the entry has no valid index');
  const leaf = await leafCommitment(fromB64urlN(e.nonce, 32, 'nonce'), e.event);
  if (b64url(leaf) !== e.leaf) throw new Error('its leaf does not match its event and nonce');
  if (BigInt(e.index) >= checkpoint.size) {
    throw new Error(`its index ${e.index} is at or beyond the signed checkpoint's ${checkpoint.size} entries, so nothing proves it is in the ledger`);
  }
  if (!e.proof) throw new Error('no inclusion proof was given');
  await verifyInclusion(BigInt(e.index), checkpoint.size, await leafHash(leaf), hashes(e.proof), checkpoint.root);
}

/**
 * Verifies a customer's ledger answer (`GET /v1/me/ledger`) and that it is COMPLETE:
 *   - the checkpoint (signature, consistency with `lastSeen`), then every entry (checkEntry);
 *   - entries in ascending index order, every event naming `customerId`;
 *   - `customer_seq` contiguous from 1 in index order (a hidden event leaves a gap);
 *   - the highest `customer_seq` not below `pinnedSeq`, the highest this account has seen.
 * Returns { checkpoint, consistentWith, entries: [{index, status: 'verified' | 'failed', reason}],
 * highestSeq, problem: null | {kind, message}, ok }. Throws LedgerFailure for a checkpoint that
 * fails; entry failures are reported per entry, completeness failures as `problem`.
 */
export async function verifyLedger(verifier, answer, lastSeen, consistency, { customerId, pinnedSeq = 0 }) {
  if (typeof customerId !== 'string' || !customerId) throw new Error('verifyLedger needs the account’s customer id');
  if (!answer || typeof answer.checkpoint !== 'string') {
    throw new LedgerFailure('signature', 'The vault sent no signed checkpoint.');
  }
  const { checkpoint, consistentWith } = await checkCheckpoint(verifier, answer.checkpoint, lastSeen, consistency);
  if (!Array.isArray(answer.entries)) throw new LedgerFailure('entry', 'The vault sent no list of ledger entries.');
  const results = [];
  let problem = null;
  const fail = (kind, message) => {
    problem = problem || { kind, message };
  };
  let lastIndex = -1;
  let seq = 0;
  for (const e of answer.entries) {
    const r = { index: e?.index, status: 'verified', reason: '' };
    try {
      await checkEntry(e, checkpoint);
      if (e.index <= lastIndex) throw new Error('entries are not in ascending index order');
      lastIndex = e.index;
      if (e.event.customer_id !== customerId) throw new Error(`it names another customer (${e.event.customer_id})`);
      const n = e.event.customer_seq;
      if (n !== seq + 1) {
        const why = Number.isSafeInteger(n) && n > seq + 1
          ? `${n - seq - 1} of your events before it ${n - seq - 1 === 1 ? 'is' : 'are'} missing (your event number ${n} follows number ${seq})`
          : `its number among your events is ${n} where ${seq + 1} was expected`;
        fail('gap', `The vault hid part of your history: ${why}.`);
        throw new Error(why);
      }
    } catch (err) {
      r.status = 'failed';
      r.reason = err.message;
    }
    if (Number.isSafeInteger(e?.event?.customer_seq)) seq = Math.max(seq, e.event.customer_seq);
    results.push(r);
  }
  if (seq < pinnedSeq) {
    fail('rollback', `The vault shows ${seq} of your events, but this device has already seen ${pinnedSeq}: your history was cut.`);
  }
  const ok = !problem && results.every((r) => r.status === 'verified');
  return { checkpoint, consistentWith, entries: results, highestSeq: seq, problem, ok };
}
