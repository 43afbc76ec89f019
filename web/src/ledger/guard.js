// What the page keeps between visits and checks on each one: the vault's verifier key (pinned
// on first use, per origin), and per account (pins.js) the last verified checkpoint and the
// highest customer_seq. Every ledger answer and every organization key log goes through here:
// signature against the pinned key, consistency with the account's kept checkpoint, each entry's
// inclusion, completeness (verify.js) or the key chain (orgkeys.js). Checks run one at a time so
// that the kept checkpoint only moves forward. `storage` is localStorage in the page.
import { fingerprint } from '../crypto/sign.js';
import { parseVerifierKey } from './note.js';
import { verifyOrgKeyLog } from './orgkeys.js';
import { AccountPins } from './pins.js';
import { LedgerFailure, verifyLedger } from './verify.js';

export const PIN_KEY = 'assent.vault_key';
export const PIN_AT = 'assent.vault_key_pinned_at';

let queue = Promise.resolve();
/** Runs `fn` after every earlier check has finished (the kept checkpoint is read-then-written). */
function serial(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => {});
  return run;
}

/**
 * The vault's verifier key as pinned on this device (pinned now on first use). Throws
 * LedgerFailure('key_changed') when the vault presents another key. Returns { verifier, vaultKey }.
 */
export async function pinnedVerifier(api, storage) {
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
  const vaultKey = { name: verifier.name, fingerprint: await fingerprint(verifier.publicKey), pinnedAt: storage.getItem(PIN_AT), firstUse };
  if (served !== pinned) {
    throw Object.assign(new LedgerFailure('key_changed', 'The vault now presents a different signing key from the one this device pinned. Its ledger cannot be trusted.'), { vaultKey });
  }
  return { verifier, vaultKey };
}

const consistencyFrom = (api) => async (from, to) => (await api.get(`/v1/ledger/proof/consistency?from=${from}&to=${to}`)).proof;

/**
 * Checks the account's ledger (`answer`, or GET /v1/me/ledger). Returns { ok, failure: null |
 * {kind, message}, vaultKey, checkpoint, consistentWith, results (per entry), highestSeq, answer }.
 * Only a ledger that verifies completely moves the account's pins forward.
 */
export function checkLedger(api, storage, customerId, answer = null) {
  return serial(async () => {
    const out = { ok: false, failure: null, vaultKey: null, checkpoint: null, consistentWith: null, results: [], highestSeq: 0, answer: null };
    try {
      const pins = new AccountPins(storage, customerId);
      let verifier;
      try {
        ({ verifier, vaultKey: out.vaultKey } = await pinnedVerifier(api, storage));
      } catch (e) {
        out.vaultKey = e.vaultKey || null;
        throw e;
      }
      out.answer = answer || (await api.get('/v1/me/ledger'));
      const r = await verifyLedger(verifier, out.answer, pins.lastCheckpoint, consistencyFrom(api), { customerId, pinnedSeq: pins.customerSeq });
      out.checkpoint = r.checkpoint;
      out.consistentWith = r.consistentWith;
      out.results = r.entries;
      out.highestSeq = r.highestSeq;
      if (r.problem) throw new LedgerFailure(r.problem.kind, r.problem.message);
      if (!r.ok) {
        const bad = r.entries.filter((e) => e.status === 'failed');
        throw new LedgerFailure('entry', `${bad.length} ledger ${bad.length === 1 ? 'entry does' : 'entries do'} not verify: ${bad[0].reason}.`);
      }
      pins.lastCheckpoint = out.answer.checkpoint;
      pins.customerSeq = r.highestSeq;
      out.ok = true;
    } catch (e) {
      out.failure = e instanceof LedgerFailure ? { kind: e.kind, message: e.message } : { kind: 'error', message: `The ledger could not be checked: ${e.message}` };
    }
    return out;
  });
}

/**
 * Fetches and verifies an organization's key log (GET /v1/orgs/{id}/keys) against the pinned
 * vault key and the account's kept checkpoint, which it then moves forward. Returns what
 * verifyOrgKeyLog returns; throws LedgerFailure.
 */
export function checkOrgKeys(api, storage, customerId, orgId) {
  return serial(async () => {
    const pins = new AccountPins(storage, customerId);
    const { verifier } = await pinnedVerifier(api, storage);
    const answer = await api.get(`/v1/orgs/${encodeURIComponent(orgId)}/keys`);
    const log = await verifyOrgKeyLog(verifier, answer, pins.lastCheckpoint, consistencyFrom(api), orgId);
    pins.lastCheckpoint = answer.checkpoint;
    return log;
  });
}
