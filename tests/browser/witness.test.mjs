// Witnesses against a split view, in Chromium: a real vault (`assent serve --demo` with its demo
// witness in-process, keys-example/witness.key) behind the tampering proxy (proxy.mjs). The page
// pins the vault's witness policy on first use (GET /v1/ledger/witnesses) and then believes a
// checkpoint only with the PINNED quorum of valid cosignatures (web/src/ledger/cosignature.js,
// guard.js). Checked here: (a) the honest vault's ledger shows as verified and cosigned; (b) a
// checkpoint without the pinned quorum (cosignatures stripped, or forged) is refused in plain
// words, nothing is saved, and an organization's key log under one is not believed; (c) a served
// policy other than the pinned one is refused, also from the same vault restarted without its
// witness, while a device that never pinned witnesses accepts that vault.
//
// Run: `node --test tests/browser/witness.test.mjs` after `cargo build --bin assent` and
// `npm run build --prefix web`.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64std, fromB64std, hex } from '../../web/src/crypto/bytes.js';
import { ed25519Public } from '../../web/src/crypto/keys.js';
import { cosignatureKeyId, parsePolicy, policyText } from '../../web/src/ledger/cosignature.js';
import { DESKTOP, ROOT, SHOTS, cli, go, launchBrowser, needBuilt, newPage, putText, saveText, shooter, signUp, startVault, stopVault } from './harness.mjs';
import { startProxy } from './proxy.mjs';

const PASS = 'correct horse battery staple 42';
const WITNESS = 'witness.assent.demo';
const POLICY = readFileSync(join(ROOT, 'keys-example/witness-policy.txt'), 'utf8');
const NO_QUORUM = /This checkpoint is not cosigned by enough independent witnesses; the vault may be showing you a different history than others see\./;
const CHANGED = /The vault now names different witnesses from the ones this device pinned/;
const WITNESS_LINE = /^\u2014 witness\.assent\.demo (\S+)\n/gm;

let vault;
let proxy;
let browser;
let tmp;
let shots;
const problems = [];

/** startVault with the demo witness running in the vault (witnesses.demo, from the environment). */
async function startWitnessed(dir, opts) {
  process.env.ASSENT_WITNESSES_DEMO = 'true';
  try {
    return await startVault(dir, opts);
  } finally {
    delete process.env.ASSENT_WITNESSES_DEMO;
  }
}

before(async () => {
  needBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'assent-witness-'));
  vault = await startWitnessed(tmp);
  proxy = await startProxy(vault.url);
  browser = await launchBrowser();
  rmSync(join(SHOTS, 'witness'), { recursive: true, force: true });
  shots = shooter(join(SHOTS, 'witness'));
});

after(async () => {
  await browser?.close();
  await proxy?.close();
  vault?.proc.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => proxy.reset());

let handles = 0;
/** A customer in a fresh context (its own localStorage: nothing pinned) with one saved item. */
async function customer(tag) {
  const handle = `${tag}-${++handles}-${Date.now() % 100000}`;
  const { context, page } = await newPage(browser, DESKTOP, {}, problems);
  await signUp(page, proxy.url, handle, PASS);
  await saveText(page, 'email', `${tag}@example.com`);
  await go(page, 'ledger');
  await page.waitForSelector('#ledger-status.ok');
  return { handle, context, page };
}

/** Rewrites every checkpoint the page can get (ledger pages, key logs, the current one). */
function rewriteCheckpoints(fn) {
  proxy.rule({ method: 'GET', path: /^\/v1\/(me\/ledger|orgs\/[^/]+\/keys)$/, response: (j) => (typeof j?.checkpoint === 'string' ? { ...j, checkpoint: fn(j.checkpoint) } : j) });
  proxy.rule({ method: 'GET', path: /^\/v1\/ledger\/checkpoint$/, response: (t) => fn(t) });
}

const servePolicy = (text) => proxy.rule({ method: 'GET', path: /^\/v1\/ledger\/witnesses$/, response: () => text });

async function ledgerFails(page, why) {
  await go(page, 'ledger');
  await page.click('#ledger-recheck');
  await page.waitForSelector('#ledger-status.bad');
  assert.match(await page.textContent('#ledger-status'), why);
  assert.ok(await page.locator('#ledger-alert').isVisible(), 'the red warning is shown on every screen');
  assert.equal(await page.locator('#ledger-witnesses').count(), 0, 'no cosignature is shown as checked');
}

/** A write from the page is refused on the device: no PUT reaches the proxy. */
async function saveRefused(page) {
  const puts = () => proxy.sent.filter((s) => s.method === 'PUT').length;
  const before = puts();
  await putText(page, 'email', 'not-saved@example.com');
  await page.waitForSelector('#envelope-form .error:has-text("Your ledger does not verify")');
  assert.equal(puts(), before, 'nothing was sent');
}

test('(a) the honest vault: the ledger verifies with the witness’s cosignature, and the policy is pinned', async () => {
  const { page, context } = await customer('a');
  const shown = await page.textContent('#ledger-witnesses');
  assert.match(shown, new RegExp(`Cosigned by an independent witness, checked on this device: ${WITNESS.replace(/\./g, '\\.')} \\(today`));
  const pinned = await page.evaluate(() => localStorage.getItem('assent.witness_policy'));
  assert.equal(pinned, policyText(await parsePolicy(POLICY)), 'the served policy is pinned on first use');
  const last = proxy.received.filter((r) => r.path === '/v1/me/ledger').pop().json;
  assert.equal([...last.checkpoint.matchAll(WITNESS_LINE)].length, 1, 'the checkpoint carries the cosignature');
  await shots(page, 'a-cosigned-ledger');
  await context.close();
});

test('(b) cosignatures stripped from the checkpoints: refused as short of the quorum, nothing saved', async () => {
  const { page, context } = await customer('b');
  rewriteCheckpoints((note) => note.replace(WITNESS_LINE, ''));
  await ledgerFails(page, NO_QUORUM);
  await shots(page, 'b-no-quorum');
  await saveRefused(page);
  await context.close();
});

test('(b) a forged cosignature of the pinned witness: the whole checkpoint is refused', async () => {
  const { page, context } = await customer('b-forged');
  rewriteCheckpoints((note) => note.replace(WITNESS_LINE, (line, blob) => {
    const b = fromB64std(blob);
    b[20] ^= 1; // inside the signature: key id and time kept
    return line.replace(blob, b64std(b));
  }));
  await ledgerFails(page, /A witness this device trusts did not sign this checkpoint as the vault claims/);
  await saveRefused(page);
  await context.close();
});

test('(b) an organization’s key log under a checkpoint without the cosignature: not confirmed, approval disabled', async () => {
  const { page, context, handle } = await customer('b-keys');
  proxy.rule({ method: 'GET', path: /^\/v1\/orgs\/[^/]+\/keys$/, response: (j) => ({ ...j, checkpoint: j.checkpoint.replace(WITNESS_LINE, '') }) });
  const r = cli(vault, ['org', 'request', '--customer', handle, '--labels', 'email', '--purposes', 'dpv:IdentityVerification', '--duration', '30d', '--justification', 'We must verify your identity']);
  assert.equal(r.status, 0, r.stderr);
  const id = JSON.parse(r.stdout).request_id;
  await page.evaluate((h) => {
    location.hash = h;
  }, `#/requests/${id}`);
  const card = page.locator(`li.request[data-request="${id}"]`);
  await card.locator('.keylog.bad').waitFor();
  assert.match(await card.locator('.keylog.bad').textContent(), NO_QUORUM);
  assert.equal(await card.locator('button.approve').isDisabled(), true);
  await shots(page, 'b-key-log-no-quorum');
  await context.close();
});

/** The demo policy with one more witness (a made-up key), quorum 1. */
async function widerPolicy() {
  const publicKey = await ed25519Public(new Uint8Array(32).fill(7));
  const id = hex(await cosignatureKeyId('other.witness', publicKey));
  return POLICY.replace('quorum 1', `witness other.witness+${id}+${b64std(Uint8Array.of(4, ...publicKey))}\nquorum 1`);
}

test('(c) the vault serves another witness policy than the pinned one: refused, the pin kept', async () => {
  const { page, context } = await customer('c');
  const pinned = await page.evaluate(() => localStorage.getItem('assent.witness_policy'));
  for (const policy of ['quorum 0\n', await widerPolicy()]) {
    await parsePolicy(policy); // a well-formed policy, only not the pinned one
    const drop = servePolicy(policy);
    await ledgerFails(page, CHANGED);
    assert.equal(await page.evaluate(() => localStorage.getItem('assent.witness_policy')), pinned, 'the pin did not move');
    if (policy === 'quorum 0\n') await shots(page, 'c-witnesses-changed');
    await saveRefused(page);
    drop();
  }
  await context.close();
});

test('(c) the same vault restarted without its witness: a device that pinned it refuses, a new one accepts', async () => {
  const { page, context } = await customer('c-restart');
  await stopVault(vault);
  vault = await startVault(tmp, { listen: new URL(vault.url).host });
  await ledgerFails(page, CHANGED);
  await shots(page, 'c-vault-without-witness');
  // A device that never pinned a policy with witnesses pins `quorum 0` and checks as before.
  const fresh = await customer('c-fresh');
  assert.equal(await fresh.page.evaluate(() => localStorage.getItem('assent.witness_policy')), 'quorum 0\n');
  assert.equal(await fresh.page.locator('#ledger-witnesses').count(), 0);
  await fresh.context.close();
  await context.close();
});

test('no page error or CSP violation', () => {
  assert.deepEqual(problems, []);
});
