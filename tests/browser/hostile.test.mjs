// The dashboard against a HOSTILE vault operator: a tampering proxy (proxy.mjs, node:http) sits
// between Chromium and a real, honest vault (`assent serve --demo`); the organization side is the
// real CLI (`assent org request/read` with keys-example/demo-org.key). One test per attack from
// issue 11. Each ends with the page refusing with a clear message, and with proof that nothing
// decryptable left the page: every wrap the page sent through the proxy is tried with the
// operator's X25519 private key (leaks.mjs). The operator's keys belong to an organization the
// operator registered itself ("Acme Bank (demo)" again, org_operator), so the test holds the
// private half. A control run through the transparent proxy passes the normal flow.
//
// Run: `node --test tests/browser/` after `cargo build --bin assent` and `npm run build --prefix web`.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64url, fromB64url, randomBytes } from '../../web/src/crypto/bytes.js';
import { ed25519Public, x25519Public } from '../../web/src/crypto/keys.js';
import { fingerprint, signOrgKey } from '../../web/src/crypto/sign.js';
import { leafCommitment } from '../../web/src/ledger/verify.js';
import { startProxy } from './proxy.mjs';

/** Controller details for an organization the test registers (receipts need them). */
function controllerFile(dir) {
  const file = join(dir, 'controller.json');
  writeFileSync(file, JSON.stringify({
    legal_name: 'Operator Test Ltd',
    address: { street_address: '1 Test Street', locality: 'Dublin', postal_code: 'D02 XY00', country: 'IE' },
    email: 'privacy@operator.example',
    phone: '+35315550199',
    privacy_policy_url: 'https://operator.example/privacy',
    jurisdiction: 'IE',
  }));
  return file;
}
import { leakedTo } from './leaks.mjs';
import {
  DEMO_ORG, DEMO_ORG_KEY, DESKTOP, SHOTS, cli, go, keyFileFingerprint, launchBrowser, needBuilt, newPage, putText, readKeyFile, shooter, signUp, startVault,
} from './harness.mjs';

const PASS = 'correct horse battery staple 42';
const ORG_NAME = 'Acme Bank (demo)';
const OPERATOR_ORG = 'org_operator';

let vault;
let proxy;
let browser;
let tmp;
let shots;
const problems = [];
const op = {}; // the operator's keys: { seed, secret, identity, encryption, binding, fingerprint, file }
let demoFp;
let demoSecret;

before(async () => {
  needBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'assent-hostile-'));
  vault = await startVault(tmp);
  proxy = await startProxy(vault.url);
  browser = await launchBrowser();
  rmSync(join(SHOTS, 'hostile'), { recursive: true, force: true });
  shots = shooter(join(SHOTS, 'hostile'));
  // The operator registers an organization of its own, under the same display name as the demo
  // bank, with keys it holds: its X25519 key is the one substituted below.
  op.file = join(tmp, 'operator.key');
  let r = cli(vault, ['org', 'keygen', '--id', OPERATOR_ORG, '--name', ORG_NAME, '--out', op.file]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(vault, ['admin', 'org', 'add', '--from-key-file', op.file, '--controller', controllerFile(tmp)]);
  assert.equal(r.status, 0, r.stderr);
  const k = readKeyFile(op.file);
  op.secret = fromB64url(k.x25519_secret);
  op.identity = await ed25519Public(fromB64url(k.ed25519_seed));
  op.encryption = await x25519Public(op.secret);
  op.binding = await signOrgKey(fromB64url(k.ed25519_seed), op.encryption);
  op.fingerprint = await fingerprint(op.identity);
  demoFp = await keyFileFingerprint(DEMO_ORG_KEY);
  demoSecret = fromB64url(readKeyFile(DEMO_ORG_KEY).x25519_secret);
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  vault?.proc.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => proxy.reset());

// ---- helpers ------------------------------------------------------------------------------

let handles = 0;
/** A new customer in a fresh browser context (its own localStorage), signed up through the proxy. */
async function customer(tag) {
  const handle = `${tag}-${++handles}-${Date.now() % 100000}`;
  const { context, page } = await newPage(browser, DESKTOP, {}, problems);
  await signUp(page, proxy.url, handle, PASS);
  return { handle, context, page };
}

/** The organization (real CLI, straight to the vault) asks `handle` for its email. */
function orgRequest(handle, keyFile = DEMO_ORG_KEY) {
  const r = cli(vault, ['org', 'request', '--customer', handle, '--labels', 'email', '--purposes', 'dpv:IdentityVerification', '--duration', '30d', '--justification', 'We must verify your identity'], { ASSENT_ORG_KEY: keyFile });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function orgRead(customerId, keyFile = DEMO_ORG_KEY) {
  return cli(vault, ['org', 'read', '--customer', customerId, '--label', 'email', '--purpose', 'dpv:IdentityVerification'], { ASSENT_ORG_KEY: keyFile });
}

/** Opens the organization's request link (`#/requests/{id}?fp=…`) in the unlocked page. */
async function openRequest(page, requestId, fp) {
  const hash = `#/requests/${requestId}${fp ? `?fp=${encodeURIComponent(fp)}` : ''}`;
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  const card = page.locator(`li.request[data-request="${requestId}"]`);
  await card.waitFor();
  return card;
}

/** Ticks every item and purpose on a request card (nothing is pre-ticked). */
async function chooseAll(card) {
  for (const box of await card.locator('input.choose-label, input.choose-purpose:not(:disabled)').all()) await box.check();
}

/** Approves through the page and waits until the request is answered. */
async function approve(page, requestId, { fp, unverified = false } = {}) {
  const card = await openRequest(page, requestId, fp);
  await chooseAll(card);
  if (unverified) await card.locator('input.accept-unverified').check();
  await card.locator('button.approve').click();
  await page.locator(`li.request[data-request="${requestId}"]`).waitFor({ state: 'detached' });
}

async function saveEmail(page, text) {
  await putText(page, 'email', text);
}

/** Waits for the email card to show `text` (the write went through). */
const shows = (page, text) => page.waitForSelector(`li[data-label="email"] .value:text-is("${text}")`);

const PUTS = (label) => (s) => s.method === 'PUT' && s.path === `/v1/me/envelopes/${label}`;
const APPROVES = (s) => s.method === 'POST' && /\/approve$/.test(s.path);

/** The operator's keys in place of an OrgInfo's ({org_id, name, ed25519_public, …}). */
function substituteOrgInfo(o) {
  if (!o || o.org_id !== DEMO_ORG) return o;
  return { ...o, ed25519_public: b64url(op.identity), x25519_public: b64url(op.encryption), key_signature: b64url(op.binding), fingerprint: op.fingerprint };
}

/** Rules replacing the demo org's keys with the operator's in /v1/me/requests and /v1/orgs/{id}. */
function substituteOrgEndpoints() {
  proxy.rule({ method: 'GET', path: /^\/v1\/me\/requests$/, response: (list) => list.map((r) => ({ ...r, org: substituteOrgInfo(r.org) })) });
  proxy.rule({ method: 'GET', path: /^\/v1\/orgs\/[^/]+$/, response: (o) => substituteOrgInfo(o) });
}

/** The same in the key log: the events carry the operator's keys (leaf recomputed, so the proof is what fails). */
function substituteKeyLog() {
  proxy.rule({
    method: 'GET',
    path: /^\/v1\/orgs\/[^/]+\/keys$/,
    response: async (log) => {
      for (const e of log.entries || []) {
        e.event.identity_key = b64url(op.identity);
        e.event.encryption_key = b64url(op.encryption);
        e.event.key_signature = b64url(op.binding);
        e.leaf = b64url(await leafCommitment(fromB64url(e.nonce), e.event));
      }
      return log;
    },
  });
}

async function noLeakTo(secret, what) {
  const leaks = await leakedTo(proxy, secret, [DEMO_ORG, OPERATOR_ORG]);
  assert.deepEqual(leaks.map((l) => `${l.path} ${l.grant_id}`), [], `a data key left the page readable by ${what}`);
}

/**
 * Waits until the page either shows `shown` (a locator: its refusal) or sends a request matching
 * `sends` through the proxy, whichever comes first: 'refused' | 'sent'. Tests check for leaks
 * BEFORE asserting the refusal, so a page that sends instead fails on the leak it caused.
 */
async function outcome(shown, sends, ms = 30000) {
  const already = proxy.sent.filter(sends).length;
  const t0 = Date.now();
  for (;;) {
    if (proxy.sent.filter(sends).length > already) {
      await new Promise((r) => setTimeout(r, 300)); // let the answer come back
      return 'sent';
    }
    if (await shown.count()) return 'refused';
    assert.ok(Date.now() - t0 < ms, 'the page neither refused nor sent anything');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(cond, ms = 10000) {
  const t0 = Date.now();
  while (!cond()) {
    assert.ok(Date.now() - t0 < ms, 'timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function customerId(page) {
  await go(page, 'account');
  return (await page.textContent('#account-id')).trim();
}

// ---- (h) control ----------------------------------------------------------------------------

test('(h) control: through a transparent proxy the normal flow passes', async () => {
  const { page, context, handle } = await customer('ctl');
  await saveEmail(page, 'ctl@example.com');
  await shows(page, 'ctl@example.com');
  const req = orgRequest(handle);
  await approve(page, req.request_id, { fp: demoFp });
  let r = orgRead(req.customer_id);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ctl@example.com');
  await go(page, 'access');
  const card = page.locator('li.grant');
  await card.locator('.grant-check.ok').waitFor();
  assert.equal(await card.locator('.grant-check .fingerprint').textContent(), demoFp);
  assert.equal(await card.locator('.unverified-org').count(), 0);
  await card.locator('button.revoke').click();
  await page.waitForSelector('li.grant.ended .badge.revoked');
  r = orgRead(req.customer_id);
  assert.notEqual(r.status, 0, 'the read after revocation must fail');
  assert.ok(proxy.sent.some((s) => PUTS('email')(s) && s.json.rotate === true), 'the revocation re-encrypted the email');
  await go(page, 'ledger');
  await page.waitForSelector('#ledger-status.ok');
  assert.match(await page.textContent('#ledger-status'), /none missing/);
  const marks = await page.$$eval('#timeline li .mark', (els) => els.map((e) => e.className));
  assert.ok(marks.length >= 7 && marks.every((m) => m === 'mark verified'), `every entry verified: ${marks}`);
  // The leak detector works: the approval's wrap opens with the bank's key, not the operator's.
  assert.ok((await leakedTo(proxy, demoSecret)).length >= 1, 'the bank can open what was approved to it');
  await noLeakTo(op.secret, 'the operator');
  await shots(page, 'control-ledger');
  await context.close();
});

// ---- (a) key substitution at approval ------------------------------------------------------

test('(a) org key substituted at approval in /v1/me/requests and /v1/orgs/{id}: the page uses the key log', async () => {
  const { page, context, handle } = await customer('a1');
  await saveEmail(page, 'a1@example.com');
  await shows(page, 'a1@example.com');
  const req = orgRequest(handle);
  substituteOrgEndpoints();
  const card = await openRequest(page, req.request_id, demoFp);
  // The fingerprint shown is computed from the key log's key, not the substituted one.
  assert.equal(await card.locator('.org-fingerprint').textContent(), demoFp);
  await card.locator('.anchor.ok').waitFor();
  await chooseAll(card);
  await card.locator('button.approve').click();
  await outcome(card.locator('.error:not(:empty)'), APPROVES);
  await noLeakTo(op.secret, 'the operator');
  await page.locator(`li.request[data-request="${req.request_id}"]`).waitFor({ state: 'detached' });
  const r = orgRead(req.customer_id);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'a1@example.com', 'the wrap went to the bank’s genuine key');
  await noLeakTo(op.secret, 'the operator');
  await context.close();
});

test('(a) org key substituted in the key log too: the log fails and approval is refused', async () => {
  const { page, context, handle } = await customer('a2');
  await saveEmail(page, 'a2@example.com');
  await shows(page, 'a2@example.com');
  const req = orgRequest(handle);
  substituteOrgEndpoints();
  substituteKeyLog();
  // No fingerprint at hand: even "approve an organization I could not verify" must not go on.
  const card = await openRequest(page, req.request_id);
  await card.locator('.keylog.bad').waitFor();
  assert.match(await card.locator('.keylog.bad').textContent(), /key log for org_demo_acme does not verify: .*inclusion proof/);
  assert.equal(await card.locator('button.approve').isDisabled(), true);
  await shots(page, 'a2-key-log-fails');
  // The device refuses too, even if the button is forced.
  await chooseAll(card);
  await card.locator('button.approve').evaluate((b) => {
    b.disabled = false;
  });
  await card.locator('button.approve').click();
  const a2 = await outcome(card.locator('.error:has-text("does not verify")'), APPROVES);
  await noLeakTo(op.secret, 'the operator');
  assert.equal(a2, 'refused');
  assert.match(await card.locator('.error').textContent(), /Refusing to approve: nothing was shared/);
  assert.equal(proxy.sent.filter(APPROVES).length, 0, 'no approval was sent');
  await noLeakTo(op.secret, 'the operator');
  await context.close();
});

test('(a) an impostor registered under the same name: the fingerprint from the bank refuses it', async () => {
  const { page, context, handle } = await customer('a3');
  await saveEmail(page, 'a3@example.com');
  await shows(page, 'a3@example.com');
  const req = orgRequest(handle, op.file); // the operator's own org, named "Acme Bank (demo)"
  const card = await openRequest(page, req.request_id);
  assert.match(await card.locator('h3').textContent(), /Acme Bank \(demo\) asks/);
  await card.locator('input.fp-input').fill(demoFp.replace(/ /g, '').toUpperCase()); // from the bank's website
  await card.locator('.anchor.bad').waitFor();
  await chooseAll(card);
  await card.locator('input.accept-unverified').check(); // even so
  await card.locator('button.approve').click();
  const a3 = await outcome(card.locator('.error:has-text("is not Acme Bank")'), APPROVES);
  await noLeakTo(op.secret, 'the operator');
  assert.equal(a3, 'refused');
  assert.match(await card.locator('.error').textContent(), /someone may be posing as Acme Bank \(demo\)\. Nothing was shared/);
  await shots(page, 'a3-impostor-refused');
  assert.equal(proxy.sent.filter(APPROVES).length, 0, 'no approval was sent');
  await noLeakTo(op.secret, 'the operator');
  await context.close();
});

test('(a) keys changed since the customer approved (a genuine rotation): said plainly, the change shown, confirmation needed', async () => {
  const k1 = join(tmp, 'rotating.key');
  const k2 = join(tmp, 'rotating-2.key');
  assert.equal(cli(vault, ['org', 'keygen', '--id', 'org_rotating', '--name', 'Rotating Bank', '--out', k1]).status, 0);
  const added = cli(vault, ['admin', 'org', 'add', '--from-key-file', k1, '--controller', controllerFile(tmp)]);
  assert.equal(added.status, 0, added.stderr);
  const { page, context, handle } = await customer('rot');
  await saveEmail(page, 'rot@example.com');
  await shows(page, 'rot@example.com');
  const first = orgRequest(handle, k1);
  await approve(page, first.request_id, { fp: await keyFileFingerprint(k1) });
  const rotated = cli(vault, ['org', 'rotate-keys', '--out', k2], { ASSENT_ORG_KEY: k1 });
  assert.equal(rotated.status, 0, rotated.stderr);
  const second = orgRequest(handle, k2);
  const card = await openRequest(page, second.request_id);
  const change = card.locator('.keychange');
  await change.waitFor();
  assert.match(await change.textContent(), /Rotating Bank’s keys changed since you approved it on \d{1,2} \w{3} \d{4}\./);
  assert.equal(await change.locator('.key-changes li').count(), 1, 'the key-change event is shown');
  assert.equal(await change.locator('.key-changes .fingerprint').textContent(), await keyFileFingerprint(k2));
  assert.equal(await card.locator('.org-fingerprint').textContent(), await keyFileFingerprint(k2));
  await shots(page, 'keys-changed');
  await chooseAll(card);
  await card.locator('button.approve').click();
  await card.locator('.error:has-text("keys changed since you approved it on")').waitFor();
  assert.equal(proxy.sent.filter(APPROVES).length, 1, 'only the first approval was sent');
  await change.locator('input.accept-change').check();
  await card.locator('button.approve').click();
  await page.locator(`li.request[data-request="${second.request_id}"]`).waitFor({ state: 'detached' });
  // The new grant's wraps open with the new key (and not the operator's).
  const [g1, g2] = proxy.sent.filter(APPROVES).map((a) => a.json.grant);
  assert.equal(g2.org_encryption_key, b64url(await x25519Public(fromB64url(readKeyFile(k2).x25519_secret))));
  assert.ok((await leakedTo(proxy, fromB64url(readKeyFile(k2).x25519_secret))).some((l) => l.grant_id === g2.grant_id));
  // With the old grant revoked, the bank reads under the new one with its new key.
  await go(page, 'access');
  await page.locator(`li.grant[data-grant="${g1.grant_id}"] button.revoke`).click();
  await page.waitForSelector(`li.grant.ended[data-grant="${g1.grant_id}"]`);
  const r = orgRead(second.customer_id, k2);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'rot@example.com');
  await noLeakTo(op.secret, 'the operator');
  await context.close();
});

// ---- (b) key substitution later, on put ------------------------------------------------------

test('(b) org key substituted later: puts wrap to the signed key, a grant with another key is refused', async () => {
  const { page, context, handle } = await customer('b');
  await saveEmail(page, 'b1@example.com');
  await shows(page, 'b1@example.com');
  const req = orgRequest(handle);
  await approve(page, req.request_id, { fp: demoFp });
  // The operator now substitutes the bank's keys everywhere it used to be fetched from.
  substituteOrgEndpoints();
  substituteKeyLog();
  await saveEmail(page, 'b2@example.com');
  await shows(page, 'b2@example.com');
  await noLeakTo(op.secret, 'the operator');
  const r = orgRead(req.customer_id);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'b2@example.com', 'the new version is wrapped to the key the customer signed');
  // And in the grant itself.
  proxy.rule({
    method: 'GET',
    path: /^\/v1\/me\/grants$/,
    response: (list) => list.map((g) => (g.org_id === DEMO_ORG ? { ...g, org_identity_key: b64url(op.identity), org_encryption_key: b64url(op.encryption) } : g)),
  });
  const before = proxy.sent.filter(PUTS('email')).length;
  await saveEmail(page, 'b3@example.com');
  const error = page.locator('#envelope-form .error');
  const b = await outcome(error.locator('text=/cannot verify/'), PUTS('email'));
  await noLeakTo(op.secret, 'the operator');
  assert.equal(b, 'refused');
  assert.match(await error.textContent(), /Acme Bank \(demo\).*cannot verify: it does not carry your signature\. Saving refused: nothing was sent/);
  await shots(page, 'b-grant-key-substituted');
  assert.equal(proxy.sent.filter(PUTS('email')).length, before, 'no write was sent');
  await noLeakTo(op.secret, 'the operator');
  await context.close();
});

// ---- (c) injected grants ----------------------------------------------------------------------

/** Adds `grant` to every /v1/me/grants answer and strips its wrap from writes (so the vault accepts them). */
function inject(grant) {
  proxy.rule({ method: 'GET', path: /^\/v1\/me\/grants$/, response: (list) => [...list, grant] });
  proxy.rule({ method: 'PUT', path: /^\/v1\/me\/envelopes\//, request: (body) => ({ ...body, grant_wraps: body.grant_wraps.filter((w) => w.grant_id !== grant.grant_id) }) });
}

async function refusedPut(page, text, why, secrets = [op.secret]) {
  const before = proxy.sent.filter(PUTS('email')).length;
  await saveEmail(page, text);
  const error = page.locator('#envelope-form .error');
  const what = await outcome(error.locator(`text=/${why}/`), PUTS('email'));
  for (const secret of secrets) await noLeakTo(secret, secret === op.secret ? 'the operator' : 'an organization it was not for');
  assert.equal(what, 'refused');
  assert.match(await error.textContent(), /Saving refused: nothing was sent/);
  assert.equal(proxy.sent.filter(PUTS('email')).length, before, 'no write was sent');
  return error.textContent();
}

test('(c) injected grants: unsigned, another customer’s genuine one, and a revoked one replayed', async () => {
  const alice = await customer('c-alice');
  await saveEmail(alice.page, 'c1@example.com');
  await shows(alice.page, 'c1@example.com');
  const aliceId = await customerId(alice.page);
  const future = new Date(Date.now() + 30 * 86400e3).toISOString().replace(/\.\d{3}Z$/, 'Z');

  // 1. An unsigned "active" grant for the operator's organization.
  const unsigned = {
    grant_id: 'grt_injected0000000000000000000001', customer_id: aliceId, org_id: OPERATOR_ORG,
    org_identity_key: b64url(op.identity), org_encryption_key: b64url(op.encryption),
    labels: ['email'], purposes: ['dpv:IdentityVerification'], not_after: future,
    signature: b64url(randomBytes(64)), request_id: 'req_injected', state: 'active', reads: 0,
    created_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), ledger_index: 1, org_name: ORG_NAME,
  };
  inject(unsigned);
  await refusedPut(alice.page, 'c2@example.com', 'it does not carry your signature');
  await shots(alice.page, 'c-unsigned-grant');
  await noLeakTo(op.secret, 'the operator');
  proxy.reset();

  // 2. Bob's genuine grant to the operator's organization, signed by Bob.
  const bob = await customer('c-bob');
  await saveEmail(bob.page, 'bob@example.com');
  await shows(bob.page, 'bob@example.com');
  const req = orgRequest(bob.handle, op.file);
  await approve(bob.page, req.request_id, { unverified: true });
  await go(bob.page, 'access');
  await bob.page.locator('.unverified-org').waitFor(); // Bob's listing says it was not verified
  const bobGrant = proxy.received.filter((r) => r.path === '/v1/me/grants').flatMap((r) => r.json).find((g) => g.org_id === OPERATOR_ORG);
  assert.ok(bobGrant, 'Bob’s genuine grant was captured');
  await bob.context.close();
  proxy.reset();
  inject(bobGrant);
  await refusedPut(alice.page, 'c3@example.com', 'it does not carry your signature');
  await noLeakTo(op.secret, 'the operator');
  proxy.reset();

  // 3. Alice's own grant, revoked, replayed as active: only the ledger knows.
  const req2 = orgRequest(alice.handle);
  await approve(alice.page, req2.request_id, { fp: demoFp });
  await go(alice.page, 'access');
  await alice.page.locator('li.grant button.revoke').click();
  await alice.page.waitForSelector('li.grant.ended .badge.revoked');
  proxy.reset();
  proxy.rule({
    method: 'GET',
    path: /^\/v1\/me\/grants$/,
    response: (list) => list.map((g) => {
      const { revoked_at: _, ...rest } = g;
      return g.state === 'revoked' ? { ...rest, state: 'active' } : g;
    }),
  });
  proxy.rule({ method: 'PUT', path: /^\/v1\/me\/envelopes\//, request: (body) => ({ ...body, grant_wraps: [] }) });
  await refusedPut(alice.page, 'c4@example.com', 'your ledger records that you revoked it', [demoSecret, op.secret]);
  await shots(alice.page, 'c-revoked-grant-replayed');
  await noLeakTo(demoSecret, 'the organization whose access was revoked');
  await noLeakTo(op.secret, 'the operator');
  await alice.context.close();
});

// ---- (d)–(f) incomplete or rolled-back ledgers ------------------------------------------------

/** A customer with a genuine grant, one read by the bank, and a later write (so a read is mid-history). */
async function customerWithHistory(tag) {
  const c = await customer(tag);
  await saveEmail(c.page, `${tag}@example.com`);
  await shows(c.page, `${tag}@example.com`);
  const req = orgRequest(c.handle);
  await approve(c.page, req.request_id, { fp: demoFp });
  const r = orgRead(req.customer_id);
  assert.equal(r.status, 0, r.stderr);
  await saveEmail(c.page, `${tag}2@example.com`);
  await shows(c.page, `${tag}2@example.com`);
  await go(c.page, 'ledger');
  await c.page.waitForSelector('#ledger-status.ok');
  return { ...c, customerId: req.customer_id };
}

async function ledgerFails(page, why) {
  await go(page, 'ledger');
  await page.click('#ledger-recheck');
  await page.waitForSelector('#ledger-status.bad');
  assert.match(await page.textContent('#ledger-status'), why);
  assert.ok(await page.locator('#ledger-alert').isVisible(), 'the red warning is shown on every screen');
}

test('(d) the bank’s read dropped from /v1/me/ledger: a gap in customer_seq', async () => {
  const c = await customerWithHistory('d');
  proxy.reset();
  proxy.rule({ method: 'GET', path: /^\/v1\/me\/ledger$/, response: (l) => ({ ...l, entries: l.entries.filter((e) => e.event.type !== 'read') }) });
  await ledgerFails(c.page, /hid part of your history: 1 of your events before it is missing/);
  await shots(c.page, 'd-read-hidden');
  await refusedPut(c.page, 'd3@example.com', 'Your ledger does not verify');
  await noLeakTo(op.secret, 'the operator');
  await noLeakTo(demoSecret, 'anyone');
  await c.context.close();
});

test('(e) every index moved past the checkpoint, and a fabricated read placed there', async () => {
  const c = await customerWithHistory('e');
  proxy.reset();
  proxy.rule({
    method: 'GET',
    path: /^\/v1\/me\/ledger$/,
    response: async (l) => {
      const entries = l.entries.map((e, i) => ({ ...e, index: l.size + i, proof: null }));
      const last = entries[entries.length - 1].event;
      const event = { type: 'read', customer_id: c.customerId, org_id: DEMO_ORG, grant_id: last.grant_id || 'grt_x', envelope_id: 'env_x', version: 1, label: 'email', purpose: 'dpv:Marketing', at: last.at, customer_seq: last.customer_seq + 1, org_seq: 1 };
      const nonce = randomBytes(32);
      entries.push({ index: l.size + entries.length, nonce: b64url(nonce), event, leaf: b64url(await leafCommitment(nonce, event)), proof: null });
      return { ...l, entries };
    },
  });
  await ledgerFails(c.page, /at or beyond the signed checkpoint/);
  await shots(c.page, 'e-past-checkpoint');
  await refusedPut(c.page, 'e3@example.com', 'Your ledger does not verify');
  await noLeakTo(op.secret, 'the operator');
  await c.context.close();
});

test('(f) a rolled-back checkpoint (an older, genuine answer replayed)', async () => {
  const c = await customer('f');
  await saveEmail(c.page, 'f@example.com');
  await shows(c.page, 'f@example.com');
  await go(c.page, 'ledger');
  await c.page.waitForSelector('#ledger-status.ok');
  const old = proxy.received.filter((r) => r.path === '/v1/me/ledger').pop().json;
  // The tree grows without any event of this customer (another organization registers)...
  const other = join(tmp, `other-${Date.now()}.key`);
  assert.equal(cli(vault, ['org', 'keygen', '--id', `org_other${Date.now() % 100000}`, '--name', 'Other', '--out', other]).status, 0);
  const added = cli(vault, ['admin', 'org', 'add', '--from-key-file', other, '--controller', controllerFile(tmp)]);
  assert.equal(added.status, 0, added.stderr);
  // ...the page sees the newer checkpoint...
  const seen = proxy.received.filter((r) => r.path === '/v1/me/ledger').length;
  await c.page.click('#ledger-recheck');
  await until(() => proxy.received.filter((r) => r.path === '/v1/me/ledger').length > seen);
  await c.page.waitForSelector('#ledger-status.ok');
  const newer = proxy.received.filter((r) => r.path === '/v1/me/ledger').pop().json;
  assert.ok(newer.size > old.size, `the tree grew (${old.size} → ${newer.size})`);
  // ...and the operator then serves the older answer again (same events, older checkpoint).
  proxy.rule({ method: 'GET', path: /^\/v1\/me\/ledger$/, response: () => old });
  await ledgerFails(c.page, /shrank from \d+ to \d+ entries: history was cut/);
  await shots(c.page, 'f-rolled-back');
  await refusedPut(c.page, 'f2@example.com', 'Your ledger does not verify');
  await noLeakTo(op.secret, 'the operator');
  await c.context.close();
});

// ---- (g) relabelled data ------------------------------------------------------------------

test('(g) content_type changed by the server: the envelope does not open', async () => {
  const { page, context } = await customer('g');
  await saveEmail(page, 'g@example.com');
  await shows(page, 'g@example.com');
  const relabel = (e) => (e && e.label === 'email' ? { ...e, content_type: 'text/html' } : e);
  proxy.rule({ method: 'GET', path: /^\/v1\/me\/envelopes$/, response: (list) => list.map(relabel) });
  proxy.rule({ method: 'GET', path: /^\/v1\/me\/envelopes\/email$/, response: relabel });
  await go(page, 'ledger');
  await go(page, 'data');
  const card = page.locator('li[data-label="email"]');
  await card.locator('.open-failed').waitFor();
  assert.match(await card.textContent(), /does not open: the vault changed it or what it says about it \(type “text\/html”/);
  assert.equal(await card.locator('.value').count(), 0, 'nothing is shown');
  await shots(page, 'g-relabelled');
  await noLeakTo(op.secret, 'the operator');
  await context.close();
});

test('no page error or CSP violation', () => {
  assert.deepEqual(problems, []);
});
