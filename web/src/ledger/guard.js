// What the page keeps between visits and checks on each one: the vault's verifier key (pinned
// on first use, per origin), and per account (pins.js) the last verified checkpoint and the
// highest customer_seq. Every ledger answer and every organization key log goes through here:
// signature against the pinned key, consistency with the account's kept checkpoint, each entry's
// inclusion, completeness (verify.js) or the key chain (orgkeys.js). Checks run one at a time so
// that the kept checkpoint only moves forward. `storage` is localStorage in the page.
// The pin moves only when the customer accepts a vault key rotation that this device verified
// (rotation.js: a chain of statements, each signed by the key before it, from the pinned key to
// the key that signs the current checkpoint); the history kept from before must still extend.
// The witness policy (cosignature.js) is pinned per origin with the key and never moves: every
// checkpoint believed here (ledger, key log, rotation) first carries the PINNED quorum of witness
// cosignatures, so a vault cannot show this device a history the witnesses did not see.
import { ApiError } from '../api.js';
import { fingerprint } from '../crypto/sign.js';
import { verifyCheckpoint } from './checkpoint.js';
import { checkQuorum, parsePolicy, policyText } from './cosignature.js';
import { parseVerifierKey } from './note.js';
import { verifyOrgKeyLog } from './orgkeys.js';
import { AccountPins } from './pins.js';
import { followRotations, keyIdentity } from './rotation.js';
import { LedgerFailure, verifyLedger } from './verify.js';

export const PIN_KEY = 'assent.vault_key';
export const PIN_AT = 'assent.vault_key_pinned_at';
/** Keys this device trusted before and moved from along verified rotation statements (JSON list). */
export const RETIRED = 'assent.vault_keys_retired';
/** The witness policy pinned on first use (policyText form); it never moves. */
export const WITNESS_PIN = 'assent.witness_policy';

let queue = Promise.resolve();
/** Runs `fn` after every earlier check has finished (the kept checkpoint is read-then-written). */
function serial(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => {});
  return run;
}

/** The retired keys as verifiers (a broken entry is dropped: it can only make a check fail). */
async function retiredVerifiers(storage) {
  let list = [];
  try {
    list = JSON.parse(storage.getItem(RETIRED) || '[]');
  } catch {
    /* nothing kept */
  }
  const out = [];
  for (const k of Array.isArray(list) ? list : []) {
    try {
      out.push(await parseVerifierKey(k));
    } catch {
      /* ignored */
    }
  }
  return out;
}

const longDate = (iso) => new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });

const describeKey = async (v) => ({ name: v.name, fingerprint: await fingerprint(v.publicKey) });

const WITNESSES_CHANGED = 'The vault now names different witnesses from the ones this device pinned, so it could show you a history others do not see. Its ledger cannot be trusted.';

/**
 * The witness policy pinned on this device (pinned now on first use from GET
 * /v1/ledger/witnesses, which is used for nothing else). Throws LedgerFailure: 'witnesses_changed'
 * when the vault serves another policy, 'witnesses' when the first one is unreadable.
 */
export async function pinnedPolicy(api, storage) {
  let served;
  try {
    served = await api.getText('/v1/ledger/witnesses');
  } catch (e) {
    // A vault from before witnesses: the same as serving `quorum 0` (a pin with witnesses refuses it).
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    served = 'quorum 0\n';
  }
  const pinned = storage.getItem(WITNESS_PIN);
  if (!pinned) {
    let policy;
    try {
      policy = await parsePolicy(served);
    } catch (e) {
      throw new LedgerFailure('witnesses', `The vault’s list of witnesses cannot be read (${e.message}), so its ledger cannot be checked.`);
    }
    storage.setItem(WITNESS_PIN, policyText(policy));
    return policy;
  }
  let policy;
  let now;
  try {
    policy = await parsePolicy(pinned);
    now = policyText(await parsePolicy(served));
  } catch {
    throw new LedgerFailure('witnesses_changed', WITNESSES_CHANGED);
  }
  if (now !== policyText(policy)) throw new LedgerFailure('witnesses_changed', WITNESSES_CHANGED);
  return policy;
}

/** The pinned policy's valid cosignatures on `note` (none asked for by `quorum 0`); throws LedgerFailure. */
const witnessed = (note, policy) => (policy.quorum === 0 ? [] : checkQuorum(note, policy));

/**
 * The vault's verifier key as pinned on this device (pinned now on first use). Throws
 * LedgerFailure('key_changed') when the vault presents another key. Returns { verifier, vaultKey };
 * `verifier.retired` lists the keys it replaced (they verify only checkpoints this device kept).
 */
export async function pinnedVerifier(api, storage) {
  // GET /v1/ledger/key: used only as the pin on first use (then checked against every
  // checkpoint) and, later, compared with the pin; its word alone never moves the pin.
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
  verifier.retired = await retiredVerifiers(storage);
  const vaultKey = { name: verifier.name, fingerprint: await fingerprint(verifier.publicKey), pinnedAt: storage.getItem(PIN_AT), firstUse };
  let same = served === pinned;
  if (!same) {
    try {
      same = keyIdentity(await parseVerifierKey(served)) === keyIdentity(verifier);
    } catch {
      same = false;
    }
  }
  if (!same) {
    throw Object.assign(new LedgerFailure('key_changed', 'The vault now presents a different signing key from the one this device pinned. Its ledger cannot be trusted.'), { vaultKey, verifier });
  }
  return { verifier, vaultKey };
}

/**
 * The vault signs with a key other than the pinned one: is there a chain of rotation statements
 * (GET /v1/ledger/key/rotations), each verified here with the key before it, from the pinned key
 * to the key that verifies the vault's current checkpoint (GET /v1/ledger/checkpoint)? Returns a
 * LedgerFailure: 'key_rotated' with `rotation` { from, to, at, steps, toKey, retire } the customer
 * may accept, 'key_changed' saying what is wrong, or the current checkpoint's witness failure
 * ('no_quorum', 'cosignature' against the pinned `policy`); or null when a verified chain exists
 * but the current checkpoint still verifies with the pinned key (checks go on with it). Nothing
 * here moves the pin.
 */
async function examineKeyChange(api, verifier, pinnedAt, policy) {
  const since = pinnedAt ? ` (kept since ${longDate(pinnedAt)})` : '';
  const noTrust = 'Don’t approve requests or store new data from this device, and contact the vault’s operator. You can still end any organization’s access under Access.';
  let statements;
  let checkpoint;
  try {
    statements = (await api.get('/v1/ledger/key/rotations')).rotations;
    checkpoint = await api.getText('/v1/ledger/checkpoint');
  } catch (e) {
    return new LedgerFailure('key_changed', `The vault now signs your history with a key this device does not know, and its explanation could not be fetched (${e.message}). ${noTrust}`);
  }
  try {
    await witnessed(checkpoint, policy);
  } catch (e) {
    return e;
  }
  const chain = await followRotations(statements, verifier);
  if (!chain.length) {
    return new LedgerFailure('key_changed', `The vault now signs your history with a key this device does not know, and shows no change signed by the key this device kept${since}. Someone may be posing as your vault, or it lost its key. ${noTrust}`);
  }
  const last = chain[chain.length - 1];
  try {
    await verifyCheckpoint(checkpoint, last.next);
  } catch {
    // Announced, but the history is still signed with the pinned key (a vault restarted with a
    // new key serves its last checkpoint until the next entry): go on with the pinned key.
    if (await verifyCheckpoint(checkpoint, verifier).then(() => true, () => false)) return null;
    return new LedgerFailure('key_changed', `The vault announced a new key signed by the old one, but your history is not signed with that new key. ${noTrust}`);
  }
  const rotation = { from: await describeKey(verifier), to: await describeKey(last.next), at: last.at, steps: chain.length, toKey: last.next.text, retire: chain.map((r) => r.previous.text) };
  return Object.assign(new LedgerFailure('key_rotated', `The vault changed the key it signs your history with on ${longDate(last.at)}, and the old key signed the change. Check it at the top of the page and accept it to see your history again.`), { rotation });
}

/**
 * Moves the pin to the vault's new key after the customer accepted it: the chain is checked
 * again from the key pinned NOW (never from what was shown), and must still end at the key that
 * signs the current checkpoint. The old keys are kept as retired (for the kept checkpoint, which
 * the next check still requires the new history to extend). Throws LedgerFailure.
 */
export function acceptRotation(api, storage, shownKey) {
  return serial(async () => {
    const pinned = storage.getItem(PIN_KEY);
    if (!pinned) throw new LedgerFailure('key_changed', 'No vault key is pinned on this device.');
    const policy = await pinnedPolicy(api, storage);
    const verdict = await examineKeyChange(api, await parseVerifierKey(pinned), storage.getItem(PIN_AT), policy);
    if (!verdict) throw new LedgerFailure('key_changed', 'The vault does not sign with its new key yet. Check again later.');
    if (verdict.kind !== 'key_rotated') throw verdict;
    if (verdict.rotation.toKey !== shownKey) throw new LedgerFailure('key_changed', 'The vault’s key changed again while you were looking. Check the new change before accepting it.');
    let retired = [];
    try {
      retired = JSON.parse(storage.getItem(RETIRED) || '[]');
    } catch {
      /* start afresh */
    }
    if (!Array.isArray(retired)) retired = [];
    for (const k of verdict.rotation.retire) if (!retired.includes(k)) retired.push(k);
    storage.setItem(RETIRED, JSON.stringify(retired));
    storage.setItem(PIN_KEY, verdict.rotation.toKey);
    storage.setItem(PIN_AT, new Date().toISOString());
    return verdict.rotation;
  });
}

/**
 * The pinned witness policy and the key to check the vault's answers with: the pinned one, also
 * when the vault presents another key that a verified rotation leads to but does not sign with
 * yet. Returns { verifier, vaultKey, policy }. Throws LedgerFailure ('witnesses_changed',
 * 'key_rotated' to accept, 'key_changed', …).
 */
async function trustedVerifier(api, storage) {
  const policy = await pinnedPolicy(api, storage);
  try {
    return { ...(await pinnedVerifier(api, storage)), policy };
  } catch (e) {
    if (e.kind !== 'key_changed' || !e.verifier) throw e;
    const verdict = await examineKeyChange(api, e.verifier, e.vaultKey?.pinnedAt, policy);
    if (verdict) throw Object.assign(verdict, { vaultKey: e.vaultKey });
    return { verifier: e.verifier, vaultKey: e.vaultKey, policy };
  }
}

const consistencyFrom = (api) => async (from, to) => (await api.get(`/v1/ledger/proof/consistency?from=${from}&to=${to}`)).proof;

/**
 * Checks the account's ledger (`answer`, or GET /v1/me/ledger). Returns { ok, failure: null |
 * {kind, message}, vaultKey, witnesses ([{witness, time}] cosigning the checkpoint), checkpoint,
 * consistentWith, results (per entry), highestSeq, answer }.
 * Only a ledger that verifies completely moves the account's pins forward.
 */
export function checkLedger(api, storage, customerId, answer = null) {
  return serial(async () => {
    const out = { ok: false, failure: null, vaultKey: null, witnesses: [], checkpoint: null, consistentWith: null, results: [], highestSeq: 0, answer: null };
    try {
      const pins = new AccountPins(storage, customerId);
      let verifier;
      let policy;
      try {
        ({ verifier, vaultKey: out.vaultKey, policy } = await trustedVerifier(api, storage));
      } catch (e) {
        out.vaultKey = e.vaultKey || null;
        throw e;
      }
      out.answer = answer || (await api.get('/v1/me/ledger'));
      out.witnesses = await witnessed(out.answer?.checkpoint, policy);
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
      out.rotation = e.rotation || null;
    }
    return out;
  });
}

/**
 * Fetches and verifies an organization's key log (GET /v1/orgs/{id}/keys) against the pinned
 * witness policy, the pinned vault key and the account's kept checkpoint, which it then moves
 * forward. Returns what verifyOrgKeyLog returns; throws LedgerFailure.
 */
export function checkOrgKeys(api, storage, customerId, orgId) {
  return serial(async () => {
    const pins = new AccountPins(storage, customerId);
    const { verifier, policy } = await trustedVerifier(api, storage);
    const answer = await api.get(`/v1/orgs/${encodeURIComponent(orgId)}/keys`);
    await witnessed(answer?.checkpoint, policy);
    const log = await verifyOrgKeyLog(verifier, answer, pins.lastCheckpoint, consistencyFrom(api), orgId);
    pins.lastCheckpoint = answer.checkpoint;
    return log;
  });
}
