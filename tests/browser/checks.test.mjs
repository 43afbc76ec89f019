// The page's verification logic under Node, on ledgers built here (an RFC 9162 tree from §2.1.1
// MTH and §2.1.3.1 PATH, checkpoints signed as C2SP notes with a fresh key): the complete-ledger
// checks (verify.js), an organization's key log (orgkeys.js), which grants may receive a wrap
// (grantcheck.js) and the verdict on an organization's keys (orgtrust.js). No browser, no server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64std, b64url, concat, hex, randomBytes, sha256, utf8 } from '../../web/src/crypto/bytes.js';
import { ed25519Public, ed25519Sign, newSecret, x25519Public } from '../../web/src/crypto/keys.js';
import { fingerprint, signGrant, signOrgKey, signOrgKeyChange } from '../../web/src/crypto/sign.js';
import { leafHash, nodeHash } from '../../web/src/ledger/merkle.js';
import { parseVerifierKey } from '../../web/src/ledger/note.js';
import { leafCommitment, verifyLedger } from '../../web/src/ledger/verify.js';
import { verifyOrgKeyLog } from '../../web/src/ledger/orgkeys.js';
import { usableGrant, verifyOwnGrant } from '../../web/src/grantcheck.js';
import { approvalNeeds, assessOrg } from '../../web/src/orgtrust.js';

// ---- a ledger built here ------------------------------------------------------------------

const largestPow2Below = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
async function mth(leaves) {
  if (leaves.length === 1) return leafHash(leaves[0]);
  const k = largestPow2Below(leaves.length);
  return nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}
async function path(m, leaves) {
  if (leaves.length === 1) return [];
  const k = largestPow2Below(leaves.length);
  return m < k ? [...(await path(m, leaves.slice(0, k))), await mth(leaves.slice(k))] : [...(await path(m - k, leaves.slice(k))), await mth(leaves.slice(0, k))];
}

const NAME = 'checks.vault';
const vaultSeed = newSecret();
const vaultPub = await ed25519Public(vaultSeed);
const keyId = (await sha256(utf8(NAME), new Uint8Array([0x0a, 0x01]), vaultPub)).subarray(0, 4);
const verifier = await parseVerifierKey(`${NAME}+${hex(keyId)}+${b64std(concat(new Uint8Array([1]), vaultPub))}`);

async function checkpoint(leaves) {
  const body = `${NAME}\n${leaves.length}\n${b64std(await mth(leaves))}\n`;
  return `${body}\n\u2014 ${NAME} ${b64std(concat(keyId, await ed25519Sign(vaultSeed, utf8(body))))}\n`;
}

/** A log of `events`; `answer(pick)` → {checkpoint, size, entries} for the picked indexes. */
async function buildLog(events) {
  const nonces = events.map(() => randomBytes(32));
  const leaves = await Promise.all(events.map((e, i) => leafCommitment(nonces[i], e)));
  const note = await checkpoint(leaves);
  return {
    leaves,
    async answer(pick) {
      const entries = [];
      for (const i of pick) entries.push({ index: i, nonce: b64url(nonces[i]), event: events[i], leaf: b64url(leaves[i]), proof: (await path(i, leaves)).map(b64url) });
      return { checkpoint: note, size: leaves.length, entries };
    },
  };
}

const noConsistency = async () => {
  throw new Error('not needed');
};
const AT = '2026-11-24T10:00:00Z';
const CUS = 'cus_checks1';

// ---- complete ledgers ---------------------------------------------------------------------

const customerEvents = [
  { type: 'customer_registered', customer_id: CUS, at: AT, customer_seq: 1 },
  { type: 'org_registered', org_id: 'org_x', at: AT, org_seq: 1 }, // someone else's
  { type: 'envelope_written', customer_id: CUS, envelope_id: 'env_1', label: 'email', version: 1, at: AT, customer_seq: 2 },
  { type: 'read', customer_id: CUS, org_id: 'org_x', grant_id: 'grt_1', envelope_id: 'env_1', version: 1, label: 'email', purpose: 'dpv:IdentityVerification', at: AT, customer_seq: 3, org_seq: 2 },
  { type: 'key_rotated', customer_id: CUS, envelope_id: 'env_1', label: 'email', version: 2, at: AT, customer_seq: 4 },
];

test('a complete ledger verifies; a hidden event, an index past the checkpoint, a rollback or another customer’s event fail', async () => {
  const log = await buildLog(customerEvents);
  const mine = [0, 2, 3, 4];
  const ok = await verifyLedger(verifier, await log.answer(mine), null, noConsistency, { customerId: CUS, pinnedSeq: 4 });
  assert.equal(ok.ok, true, JSON.stringify([ok.problem, ok.entries]));
  assert.equal(ok.highestSeq, 4);

  const hidden = await verifyLedger(verifier, await log.answer([0, 2, 4]), null, noConsistency, { customerId: CUS });
  assert.equal(hidden.ok, false);
  assert.equal(hidden.problem.kind, 'gap');
  assert.match(hidden.problem.message, /1 of your events before it is missing/);

  const last = await verifyLedger(verifier, await log.answer([0, 2, 3]), null, noConsistency, { customerId: CUS, pinnedSeq: 4 });
  assert.equal(last.problem.kind, 'rollback', 'the newest event hidden after the device saw it');

  const moved = await log.answer(mine);
  moved.entries = moved.entries.map((e, i) => ({ ...e, index: moved.size + i, proof: null }));
  const past = await verifyLedger(verifier, moved, null, noConsistency, { customerId: CUS });
  assert.equal(past.ok, false);
  assert.ok(past.entries.every((e) => e.status === 'failed' && /at or beyond the signed checkpoint/.test(e.reason)), JSON.stringify(past.entries));

  const other = await verifyLedger(verifier, await log.answer(mine), null, noConsistency, { customerId: 'cus_other' });
  assert.equal(other.ok, false);
  assert.match(other.entries[0].reason, /another customer/);

  const shuffled = await log.answer([0, 3, 2, 4]);
  assert.equal((await verifyLedger(verifier, shuffled, null, noConsistency, { customerId: CUS })).ok, false, 'out of order');
});

// ---- an organization's key log -----------------------------------------------------------

async function orgKeys() {
  const seed = newSecret();
  const x = await x25519Public(newSecret());
  return { seed, identity: await ed25519Public(seed), x, binding: await signOrgKey(seed, x) };
}

async function keyEvents(orgId, k1, k2, { badChange = false } = {}) {
  const reg = { type: 'org_registered', org_id: orgId, name: 'Acme Bank', key_seq: 1, identity_key: b64url(k1.identity), encryption_key: b64url(k1.x), key_signature: b64url(k1.binding), at: AT, org_seq: 1 };
  const change = { org_id: orgId, key_seq: 2, identity_key: k2.identity, encryption_key: k2.x };
  const changed = {
    type: 'org_keys_changed', org_id: orgId, key_seq: 2, identity_key: b64url(k2.identity), encryption_key: b64url(k2.x), key_signature: b64url(k2.binding),
    previous_identity_key: b64url(k1.identity), change_signature: b64url(await signOrgKeyChange(badChange ? k2.seed : k1.seed, change)), at: AT, org_seq: 5,
  };
  return [reg, changed];
}

test('an organization key log: the chain verifies, its last keys are current; every break fails', async () => {
  const k1 = await orgKeys();
  const k2 = await orgKeys();
  const [reg, changed] = await keyEvents('org_acme', k1, k2);
  const events = [reg, customerEvents[0], changed];
  const log = await buildLog(events);
  const answer = { org_id: 'org_acme', ...(await log.answer([0, 2])) };
  const v = await verifyOrgKeyLog(verifier, answer, null, noConsistency, 'org_acme');
  assert.equal(v.name, 'Acme Bank');
  assert.equal(v.keySeq, 2);
  assert.deepEqual(v.identityKey, k2.identity);
  assert.deepEqual(v.encryptionKey, k2.x);
  assert.equal(v.fingerprint, await fingerprint(k2.identity));

  const fails = async (a, why, id = 'org_acme') => {
    await assert.rejects(verifyOrgKeyLog(verifier, a, null, noConsistency, id), (e) => e.kind === 'org_keys' && why.test(e.message));
  };
  await fails(answer, /answered about org_acme/, 'org_other');
  await fails({ ...answer, entries: [answer.entries[1]] }, /org_keys_changed where org_registered was expected|key version 2 where 1/);
  await fails({ ...answer, entries: [] }, /no registration/);
  const past = structuredClone(answer);
  past.entries[1].index = past.size;
  await fails(past, /at or beyond the signed checkpoint/);
  const swapped = structuredClone(answer);
  swapped.entries[0].event.encryption_key = b64url(k2.x);
  swapped.entries[0].leaf = b64url(await leafCommitment(randomBytes(32), swapped.entries[0].event));
  await fails(swapped, /leaf does not match/);

  // A change not signed by the previous identity key (the operator's own) fails, even in a genuine tree.
  const [r2, forged] = await keyEvents('org_acme', k1, k2, { badChange: true });
  const bad = await buildLog([r2, forged]);
  await fails({ org_id: 'org_acme', ...(await bad.answer([0, 1])) }, /not signed by the previous identity key/);
  const unbound = await keyEvents('org_acme', k1, { ...k2, binding: k1.binding });
  const ub = await buildLog(unbound);
  await fails({ org_id: 'org_acme', ...(await ub.answer([0, 1])) }, /not signed by its identity key/);
});

// ---- grants and the verdict on an organization's keys ------------------------------------------

test('grants: own signature, own customer id, in the verified ledger and not revoked', async () => {
  const seed = newSecret();
  const account = { customerId: CUS, ed25519Public: await ed25519Public(seed) };
  const k = await orgKeys();
  const terms = {
    grant_id: 'grt_1', customer_id: CUS, org_id: 'org_acme', org_identity_key: b64url(k.identity), org_encryption_key: b64url(k.x),
    labels: ['email'], purposes: ['dpv:IdentityVerification'], not_after: '2099-01-01T00:00:00Z',
  };
  const signature = b64url(await signGrant(seed, terms));
  const listed = { ...terms, signature, state: 'active', reads: 0, org_name: 'whatever the vault says' };
  const created = { index: 7, event: { type: 'grant_created', customer_id: CUS, request_id: 'req_1', ...terms, signature, at: AT, customer_seq: 3, org_seq: 2 } };
  const revoked = { index: 9, event: { type: 'grant_revoked', customer_id: CUS, org_id: 'org_acme', grant_id: 'grt_1', at: AT, customer_seq: 4, org_seq: 3 } };

  const ok = await usableGrant(listed, account, [created], 'email');
  assert.deepEqual(ok.orgEncryptionKey, k.x, 'the wrap goes to the signed key');
  const refused = (p, why) => assert.rejects(p, (e) => why.test(e.reason));
  await refused(usableGrant({ ...listed, org_encryption_key: b64url(randomBytes(32)) }, account, [created], 'email'), /does not carry your signature/);
  await refused(usableGrant(listed, { ...account, ed25519Public: await ed25519Public(newSecret()) }, [created], 'email'), /does not carry your signature/);
  await refused(usableGrant(listed, account, [], 'email'), /no record of you granting it/);
  await refused(usableGrant(listed, account, [created, revoked], 'email'), /revoked it \(entry #9\)/);
  await refused(usableGrant(listed, account, [created], 'postal_address'), /does not cover/);
  await refused(usableGrant(listed, account, [created], 'email', Date.parse('2099-01-02T00:00:00Z')), /ended/);
  const other = { ...created, event: { ...created.event, org_encryption_key: b64url(randomBytes(32)) } };
  await refused(usableGrant(listed, account, [other], 'email'), /differs from what your ledger records/);
  // Another customer's genuine grant.
  const bobSeed = newSecret();
  const bobTerms = { ...terms, customer_id: 'cus_bob' };
  const bob = { ...bobTerms, signature: b64url(await signGrant(bobSeed, bobTerms)) };
  await refused(verifyOwnGrant(bob, account), /does not carry your signature/);
  await refused(verifyOwnGrant(bob, { customerId: CUS, ed25519Public: await ed25519Public(bobSeed) }), /another customer’s grant/);
});

test('the verdict on an organization’s keys: pin, anchor, change, first contact', async () => {
  const k1 = await orgKeys();
  const k2 = await orgKeys();
  const [reg, changed] = await keyEvents('org_acme', k1, k2);
  const log = await buildLog([reg, changed]);
  const v = await verifyOrgKeyLog(verifier, { org_id: 'org_acme', ...(await log.answer([0, 1])) }, null, noConsistency, 'org_acme');
  const fp = v.fingerprint;
  const pinned = (k, when) => ({ orgIdentityKey: k.identity, orgEncryptionKey: k.x, approvedAt: when, order: Date.parse(when) });

  const first = await assessOrg(v, [], '');
  assert.deepEqual([first.pin, first.anchor, first.verified], ['none', 'none', false]);
  assert.equal(approvalNeeds(first, 'Acme').need, 'accept_unverified');
  assert.equal(approvalNeeds(first, 'Acme', { acceptUnverified: true }), null);

  const anchored = await assessOrg(v, [], fp.replace(/ /g, '').toUpperCase());
  assert.deepEqual([anchored.anchor, anchored.verified], ['match', true]);
  assert.equal(approvalNeeds(anchored, 'Acme'), null);

  const wrong = await assessOrg(v, [], await fingerprint(k1.identity));
  assert.equal(wrong.anchor, 'mismatch');
  assert.equal(approvalNeeds(wrong, 'Acme', { acceptUnverified: true, acceptKeyChange: true }).need, 'refuse');

  const same = await assessOrg(v, [pinned(k2, '2026-11-02T10:00:00Z')], '');
  assert.deepEqual([same.pin, same.verified], ['same', true]);

  const change = await assessOrg(v, [pinned(k1, '2026-11-02T10:00:00Z')], '');
  assert.equal(change.pin, 'changed');
  assert.deepEqual(change.changes.map((c) => c.keySeq), [2]);
  const need = approvalNeeds(change, 'Acme Bank', {}, (t) => t.slice(0, 10));
  assert.equal(need.need, 'confirm_change');
  assert.match(need.message, /Acme Bank’s keys changed since you approved it on 2026-11-02/);
  assert.equal(approvalNeeds(change, 'Acme Bank', { acceptKeyChange: true }), null);

  const stranger = await orgKeys();
  const unknown = await assessOrg(v, [pinned(stranger, '2026-11-02T10:00:00Z')], '');
  assert.equal(unknown.pin, 'unknown');
  assert.equal(approvalNeeds(unknown, 'Acme', { acceptKeyChange: true, acceptUnverified: true }).need, 'refuse');
});
