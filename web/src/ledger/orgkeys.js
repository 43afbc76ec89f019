// An organization's key log (`GET /v1/orgs/{id}/keys`), checked without trusting the vault:
// the checkpoint against the pinned vault key and the account's kept checkpoint (checkCheckpoint),
// every entry's leaf, index (< size) and inclusion proof (checkEntry), and the chain of key
// events itself:
//   entries[0]  org_registered,   key_seq 1
//   entries[i]  org_keys_changed, key_seq = previous + 1, previous_identity_key = the previous
//               entry's identity_key, change_signature by that previous identity key
//   every entry's key_signature binds its encryption key to its identity key.
// The organization's current keys (and its name, from the registration) are the last entry's.
// The fingerprint is computed here from the identity key, never taken from the vault.
import { b64url, fromB64url, fromB64urlN } from '../crypto/bytes.js';
import { fingerprint, verifyOrgKey, verifyOrgKeyChange } from '../crypto/sign.js';
import { checkCheckpoint, checkEntry, LedgerFailure } from './verify.js';

const refuse = (orgId, why) => new LedgerFailure('org_keys', `The vault’s key log for ${orgId} does not verify: ${why}.`);

/**
 * Returns { orgId, name, keySeq, identityKey, encryptionKey (raw bytes), fingerprint,
 * registeredAt, changedAt, history: [{index, keySeq, event, fingerprint}], checkpoint,
 * consistentWith }. Throws LedgerFailure (kind 'org_keys', or the checkpoint's kind).
 */
export async function verifyOrgKeyLog(verifier, answer, lastSeen, consistency, orgId) {
  if (!answer || typeof answer.checkpoint !== 'string') throw refuse(orgId, 'no signed checkpoint was sent');
  if (answer.org_id !== orgId) throw refuse(orgId, `the vault answered about ${answer.org_id}`);
  const { checkpoint, consistentWith } = await checkCheckpoint(verifier, answer.checkpoint, lastSeen, consistency);
  if (!Array.isArray(answer.entries) || answer.entries.length === 0) throw refuse(orgId, 'it holds no registration');
  const history = [];
  let prev = null;
  for (const [i, e] of answer.entries.entries()) {
    try {
      await checkEntry(e, checkpoint);
    } catch (err) {
      throw refuse(orgId, `entry #${e?.index}: ${err.message}`);
    }
    const ev = e.event;
    if (ev.org_id !== orgId) throw refuse(orgId, `entry #${e.index} is about another organization (${ev.org_id})`);
    if (prev && e.index <= prev.index) throw refuse(orgId, 'its entries are not in ledger order');
    const want = i === 0 ? 'org_registered' : 'org_keys_changed';
    if (ev.type !== want) throw refuse(orgId, `entry #${e.index} is ${ev.type} where ${want} was expected`);
    if (ev.key_seq !== i + 1) throw refuse(orgId, `entry #${e.index} has key version ${ev.key_seq} where ${i + 1} was expected`);
    let identityKey;
    let encryptionKey;
    try {
      identityKey = fromB64urlN(ev.identity_key, 32, 'identity_key');
      encryptionKey = fromB64urlN(ev.encryption_key, 32, 'encryption_key');
      if (!(await verifyOrgKey(identityKey, encryptionKey, fromB64url(ev.key_signature)))) throw new Error('its encryption key is not signed by its identity key');
      if (i === 0) {
        if (typeof ev.name !== 'string' || !ev.name) throw new Error('the registration names no organization');
      } else {
        if (ev.previous_identity_key !== b64url(prev.identityKey)) throw new Error('it does not follow from the previous identity key');
        const change = { org_id: orgId, key_seq: ev.key_seq, identity_key: identityKey, encryption_key: encryptionKey };
        if (!(await verifyOrgKeyChange(prev.identityKey, change, fromB64url(ev.change_signature)))) {
          throw new Error('the change is not signed by the previous identity key');
        }
      }
    } catch (err) {
      throw refuse(orgId, `entry #${e.index} (key version ${ev.key_seq}): ${err.message}`);
    }
    prev = { index: e.index, identityKey, encryptionKey, event: ev };
    history.push({ index: e.index, keySeq: ev.key_seq, event: ev, identityKey, encryptionKey, fingerprint: await fingerprint(identityKey) });
  }
  const first = history[0].event;
  const last = history[history.length - 1];
  return {
    orgId,
    name: first.name,
    keySeq: last.keySeq,
    identityKey: last.identityKey,
    encryptionKey: last.encryptionKey,
    fingerprint: last.fingerprint,
    registeredAt: first.at,
    changedAt: last.event.at,
    history,
    checkpoint,
    consistentWith,
  };
}
