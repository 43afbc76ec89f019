// The device's side of ledger trust: pins the vault's checkpoint key on first use, keeps the last
// verified checkpoint, and on every visit verifies the new checkpoint, its consistency with the
// kept one and every entry's inclusion (verify.js). `storage` is localStorage in the page.
import { fingerprint } from '../crypto/sign.js';
import { parseVerifierKey } from './note.js';
import { LedgerFailure, verifyLedger } from './verify.js';

export const PIN_KEY = 'assent.vault_key';
export const PIN_AT = 'assent.vault_key_pinned_at';
export const LAST_CHECKPOINT = 'assent.last_checkpoint';

/**
 * Returns { ok, failure: null | {kind, message}, vaultKey: {name, fingerprint, pinnedAt, firstUse},
 * checkpoint, consistentWith, results (per entry), answer }.
 */
export async function checkLedger(api, storage, answer = null) {
  const out = { ok: false, failure: null, vaultKey: null, checkpoint: null, consistentWith: null, results: [], answer: null };
  try {
    const served = (await api.getText('/v1/ledger/key')).trim();
    let pinned = storage.getItem(PIN_KEY);
    const firstUse = !pinned;
    if (firstUse) {
      await parseVerifierKey(served); // refuse to pin garbage
      storage.setItem(PIN_KEY, served);
      storage.setItem(PIN_AT, new Date().toISOString());
      pinned = served;
    }
    const verifier = await parseVerifierKey(pinned);
    out.vaultKey = { name: verifier.name, fingerprint: await fingerprint(verifier.publicKey), pinnedAt: storage.getItem(PIN_AT), firstUse };
    if (served !== pinned) {
      throw new LedgerFailure('key_changed', 'The vault now presents a different signing key from the one this device pinned. Its ledger cannot be trusted.');
    }
    out.answer = answer || (await api.get('/v1/me/ledger'));
    const last = storage.getItem(LAST_CHECKPOINT);
    const consistency = async (from, to) => (await api.get(`/v1/ledger/proof/consistency?from=${from}&to=${to}`)).proof;
    const r = await verifyLedger(verifier, out.answer, last, consistency);
    out.checkpoint = r.checkpoint;
    out.consistentWith = r.consistentWith;
    out.results = r.entries;
    if (!r.ok) {
      const bad = r.entries.filter((e) => e.status === 'failed');
      throw new LedgerFailure('entry', `${bad.length} ledger ${bad.length === 1 ? 'entry does' : 'entries do'} not verify: ${bad[0].reason}.`);
    }
    storage.setItem(LAST_CHECKPOINT, out.answer.checkpoint);
    out.ok = true;
  } catch (e) {
    out.failure = e instanceof LedgerFailure ? { kind: e.kind, message: e.message } : { kind: 'error', message: `The ledger could not be checked: ${e.message}` };
  }
  return out;
}
