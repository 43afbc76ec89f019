// Vault key rotation statements (GET /v1/ledger/key/rotations), checked as src/ledger/rotation.rs
// checks them. A statement is a C2SP signed note signed by the RETIRING key whose text is exactly
//   assent/v2/vault-key-rotation \n <previous verifier key> \n <next verifier key> \n <RFC 3339 time> \n
// Invariants: a statement counts only when it verifies with the key this device already trusts
// (openNote), names that same key as previous, and names a new key of the same vault (same name,
// different key); the chain is followed from the pinned key only, never from a key the vault
// names. The vault's `current` field is not used: the chain's end must verify the checkpoint.
import { hex } from '../crypto/bytes.js';
import { openNote, parseVerifierKey, NoteError } from './note.js';

export const ROTATION_HEADER = 'assent/v2/vault-key-rotation';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** One vault key, whatever its spelling: name and public key. */
export const keyIdentity = (v) => `${v.name}+${hex(v.publicKey)}`;

/** Verifies one statement with `previous` (a parsed verifier): { previous, next, at }. Throws NoteError. */
export async function verifyRotation(statement, previous) {
  const text = await openNote(statement, previous);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== 4) throw new NoteError('a rotation statement has four lines');
  const [header, prev, next, at] = lines;
  if (header !== ROTATION_HEADER) throw new NoteError('not a vault key rotation statement');
  if (keyIdentity(await parseVerifierKey(prev)) !== keyIdentity(previous)) throw new NoteError('it names another previous key than the one that signed it');
  const nextKey = await parseVerifierKey(next);
  if (nextKey.name !== previous.name || keyIdentity(nextKey) === keyIdentity(previous)) throw new NoteError('the next key must be a new key of the same vault');
  if (!RFC3339.test(at) || Number.isNaN(Date.parse(at))) throw new NoteError('the statement’s time is not a time');
  return { previous, next: nextKey, at };
}

/**
 * Follows `statements` (any order) from `pinned` as far as they verify: the chain, oldest first
 * (empty when none starts at `pinned`). Each step goes to a key not seen before, so it ends.
 */
export async function followRotations(statements, pinned) {
  if (!Array.isArray(statements)) return [];
  const list = statements.filter((s) => typeof s === 'string').slice(0, 1000);
  const chain = [];
  const seen = new Set([keyIdentity(pinned)]);
  let at = pinned;
  while (chain.length < list.length) {
    let step = null;
    for (const s of list) {
      try {
        const r = await verifyRotation(s, at);
        if (!seen.has(keyIdentity(r.next))) {
          step = r;
          break;
        }
      } catch {
        /* not from this key, or not valid: ignored */
      }
    }
    if (!step) break;
    seen.add(keyIdentity(step.next));
    chain.push(step);
    at = step.next;
  }
  return chain;
}
