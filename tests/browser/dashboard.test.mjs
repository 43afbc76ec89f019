// The dashboard in a real browser (Debian's Chromium through playwright-core) against the real
// server binary and the real CLI: sign up, store data, an organization requests (CLI), approve in
// the page, the organization reads (CLI), revoke from a phone on a second device, the next read
// is refused, the ledger shows every step verified, and tampering is flagged. Screenshots of each
// screen (desktop and phone) go to target/screenshots/.
//
// Run: `node --test tests/browser/` after `cargo build --bin assent` and `npm run build --prefix web`
// (`make test` does all of it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { b64std, concat, fromB64url, fromB64std, utf8 } from '../../web/src/crypto/bytes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core is a devDependency of web/ (web/node_modules), not of this folder.
const { chromium } = createRequire(join(ROOT, 'web/package.json'))('playwright-core');
const BIN = join(ROOT, 'target/debug/assent');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = join(ROOT, 'target/screenshots');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const HANDLE = 'alice';
const PASS = 'correct horse battery staple 42';
const EMAIL = 'alice@example.com';
const ORG_NAME = 'Acme Bank (demo)';

let server;
let url;
let tmp;
let browser;
const cspViolations = [];

function need(path, hint) {
  assert.ok(existsSync(path), `${path} is missing: ${hint}`);
}

before(async () => {
  need(BIN, 'run `cargo build --bin assent`');
  need(join(ROOT, 'web/dist/app.js'), 'run `npm ci --prefix web && npm run build --prefix web`');
  need(CHROMIUM, 'install Debian’s chromium (`apt-get install -y chromium`)');
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'assent-browser-'));
  const addr = join(tmp, 'addr');
  server = spawn(BIN, ['serve', '--demo', '--listen', '127.0.0.1:0', '--metrics-listen', '', '--data', join(tmp, 'data'), '--keys', join(ROOT, 'keys-example'), '--web', join(ROOT, 'web'), '--addr-file', addr], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ASSENT_LOG: 'warn' },
  });
  let log = '';
  server.stderr.on('data', (d) => {
    log += d;
  });
  const t0 = Date.now();
  while (!existsSync(addr) || !readFileSync(addr, 'utf8').trim()) {
    assert.ok(Date.now() - t0 < 20000, `the server did not start:\n${log}`);
    assert.equal(server.exitCode, null, `the server exited:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  url = readFileSync(addr, 'utf8').trim();
  if (!url.startsWith('http')) url = `http://${url}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The real CLI as the demo organization. */
function cli(...args) {
  const r = spawnSync(BIN, args, {
    env: { ...process.env, ASSENT_SERVER: url, ASSENT_ORG_KEY: join(ROOT, 'keys-example/demo-org.key'), ASSENT_LOG: 'warn' },
    encoding: 'utf8',
    timeout: 30000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function newPage(viewport, extra = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, ...extra });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => cspViolations.push(`page error: ${e.message}`));
  return { context, page };
}

let shotNo = 0;
/** Screenshots the current screen at desktop and phone size. */
async function shots(page, name) {
  const n = String(++shotNo).padStart(2, '0');
  const was = page.viewportSize();
  for (const [kind, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(50);
    await page.screenshot({ path: join(SHOTS, `${n}-${name}-${kind}.png`), fullPage: true });
  }
  await page.setViewportSize(was);
}

async function unlock(page, pass = PASS) {
  if (await page.locator('#tab-unlock').getAttribute('aria-pressed') !== 'true') await page.click('#tab-unlock');
  await page.fill('#unlock-handle', HANDLE);
  await page.fill('#unlock-pass', pass);
  await page.click('#unlock-form button[type=submit]');
}

async function go(page, view) {
  await page.click(`#nav-${view}`);
  await page.waitForSelector(`#view-${view}`);
}

/** Flips one byte of a checkpoint note's root line (keeps the old signature). */
function flipRoot(note) {
  const lines = note.split('\n');
  const root = fromB64std(lines[2]);
  root[5] ^= 0x01;
  lines[2] = b64std(root);
  return lines.join('\n');
}

/** Re-signs a checkpoint body with the demo vault key (published in keys-example/). */
async function signWithDemoKey(body) {
  const key = JSON.parse(readFileSync(join(ROOT, 'keys-example/vault.key'), 'utf8'));
  const seed = fromB64url(key.ed25519_seed);
  const pkcs8 = concat(new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]), seed);
  const sk = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const pub = fromB64url((await crypto.subtle.exportKey('jwk', sk)).x);
  const id = new Uint8Array(await crypto.subtle.digest('SHA-256', concat(utf8(key.name), new Uint8Array([0x0a, 0x01]), pub))).subarray(0, 4);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, sk, utf8(body)));
  return `${body}\n\u2014 ${key.name} ${b64std(concat(id, sig))}\n`;
}

test('the dashboard, end to end, in Chromium', async (t) => {
  const { page } = await newPage(DESKTOP);
  let customerId;

  await t.test('sign up with a strength hint, under a strict CSP', async () => {
    const res = await page.goto(url);
    assert.match(res.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
    await page.waitForSelector('#signup-form');
    await page.fill('#signup-handle', HANDLE);
    await page.fill('#signup-pass', 'password1');
    assert.match(await page.textContent('#signup-strength'), /Weak/);
    await page.fill('#signup-pass', PASS);
    assert.match(await page.textContent('#signup-strength'), /Strong|Good/);
    await page.fill('#signup-pass2', PASS);
    await page.check('#signup-understand');
    await shots(page, 'signup');
    await page.click('#signup-form button[type=submit]');
    await page.waitForSelector('#view-data', { timeout: 20000 });
    assert.equal(await page.textContent('#who-handle'), HANDLE);
  });

  await t.test('store a text envelope and a small file', async () => {
    await page.selectOption('#env-label', 'email');
    await page.fill('#env-text', EMAIL);
    await page.click('#envelope-form button[type=submit]');
    await page.waitForSelector('li[data-label="email"] .value');
    assert.equal(await page.textContent('li[data-label="email"] .value'), EMAIL);
    await page.selectOption('#env-label', 'document');
    await page.check('#env-kind-file');
    await page.setInputFiles('#env-file', { name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 a tiny scan') });
    await page.click('#envelope-form button[type=submit]');
    await page.waitForSelector('li[data-label="document"] .value');
    assert.match(await page.textContent('li[data-label="document"] .value'), /application\/pdf\), 20 bytes/);
    // A second version of the email.
    await page.click('li[data-label="email"] button:has-text("Edit")');
    await page.fill('#env-text', EMAIL);
    await page.click('#envelope-form button[type=submit]');
    await page.waitForSelector('li[data-label="email"] .meta:has-text("Version 2")');
    await shots(page, 'data');
  });

  let fingerprint;
  await t.test('an organization asks (CLI); the page checks its key and shows the request', async () => {
    const show = cli('org', 'show');
    assert.equal(show.status, 0, show.stderr);
    fingerprint = JSON.parse(show.stdout).fingerprint;
    const r = cli('org', 'request', '--customer', HANDLE, '--labels', 'email,postal_address', '--purposes', 'dpv:IdentityVerification', '--duration', '30d', '--justification', 'We must verify your identity to open your account');
    assert.equal(r.status, 0, r.stderr);
    customerId = JSON.parse(r.stdout).customer_id;
    assert.match(customerId, /^cus_/);
    await page.reload();
    await unlock(page);
    await page.waitForSelector('#nav-requests .count');
    await go(page, 'requests');
    const card = page.locator('li.request');
    await card.waitFor();
    assert.match(await card.locator('h3').textContent(), new RegExp(`${ORG_NAME.replace(/[()]/g, '\\$&')} asks`));
    assert.equal(await card.locator('.identity.ok .fingerprint').textContent(), fingerprint);
    assert.match(await card.textContent(), /identity verification/);
    assert.match(await card.textContent(), /30 days/);
    assert.match(await card.textContent(), /We must verify your identity/);
    await shots(page, 'requests');
  });

  await t.test('an organization key whose binding signature fails cannot be approved', async () => {
    await page.route('**/v1/me/requests', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const r of body) {
        const sig = fromB64url(r.org.key_signature);
        sig[10] ^= 0x40;
        r.org.key_signature = Buffer.from(sig).toString('base64url');
      }
      await route.fulfill({ response: res, json: body });
    });
    await go(page, 'data');
    await go(page, 'requests');
    const card = page.locator('li.request');
    await card.locator('.identity.bad').waitFor();
    assert.equal(await card.locator('button:has-text("Approve")').isDisabled(), true);
    await shots(page, 'request-bad-key');
    await page.unroute('**/v1/me/requests');
    await go(page, 'data');
    await go(page, 'requests');
    await page.locator('li.request .identity.ok').waitFor();
  });

  await t.test('approve, narrowed to the email; the organization reads it (CLI)', async () => {
    const card = page.locator('li.request');
    await card.locator('label:has-text("postal address")').click(); // uncheck
    await card.locator('button:has-text("Approve")').click();
    await page.waitForSelector('#view-requests .empty');
    const r = cli('org', 'read', '--customer', customerId, '--label', 'email', '--purpose', 'dpv:IdentityVerification');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, EMAIL);
    const refused = cli('org', 'read', '--customer', customerId, '--label', 'postal_address', '--purpose', 'dpv:IdentityVerification');
    assert.notEqual(refused.status, 0, 'a narrowed-away label must not be readable');
    await go(page, 'access');
    await page.waitForSelector('li.grant .meta:has-text("read 1 time")');
    await shots(page, 'access');
  });

  await t.test('a receipt downloads', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('li.grant button:has-text("Download receipt")')]);
    const receipt = JSON.parse(readFileSync(await dl.path(), 'utf8'));
    assert.ok(receipt.kantara?.signature && receipt.iso27560?.receipt, JSON.stringify(receipt).slice(0, 200));
  });

  await t.test('a wrong passphrase gets a clear message', async () => {
    const { context, page: p } = await newPage(DESKTOP);
    await p.goto(url);
    await unlock(p, 'correct horse battery staple 43');
    await p.waitForSelector('#unlock-error:has-text("Wrong handle or passphrase")', { timeout: 20000 });
    assert.equal(await p.locator('#nav').isHidden(), true);
    await shots(p, 'wrong-passphrase');
    await context.close();
  });

  await t.test('second device, phone: unlock and revoke with one tap; the next read is refused', async () => {
    const { context, page: phone } = await newPage(PHONE, { isMobile: true, hasTouch: true });
    await phone.goto(url);
    await phone.waitForSelector('#signup-form');
    await phone.tap('#tab-unlock');
    await phone.fill('#unlock-handle', HANDLE);
    await phone.fill('#unlock-pass', PASS);
    await shots(phone, 'unlock');
    await phone.tap('#unlock-form button[type=submit]');
    await phone.waitForSelector('#view-data li[data-label="email"] .value', { timeout: 20000 });
    assert.equal(await phone.textContent('li[data-label="email"] .value'), EMAIL);
    await phone.tap('#nav-access');
    const revoke = phone.locator('li.grant button.revoke');
    await revoke.waitFor();
    assert.match(await phone.textContent('li.grant .recall'), /Data already read cannot be recalled/);
    await revoke.tap();
    await phone.waitForSelector('#past-grants-list li .badge.revoked');
    assert.match(await phone.textContent('#access-notice'), /can no longer read your data\. Data already read cannot be recalled/);
    await shots(phone, 'access-revoked');
    const r = cli('org', 'read', '--customer', customerId, '--label', 'email', '--purpose', 'dpv:IdentityVerification');
    assert.notEqual(r.status, 0, 'the read after revocation must fail');
    assert.match(r.stderr, /grant_revoked|403/);

    await phone.tap('#nav-ledger');
    await phone.waitForSelector('#ledger-status.ok');
    const types = await phone.$$eval('#timeline li', (els) => els.map((e) => e.dataset.type));
    for (const want of ['customer_registered', 'envelope_written', 'request_created', 'grant_created', 'read', 'grant_revoked', 'key_rotated']) {
      assert.ok(types.includes(want), `ledger shows ${want}: ${types}`);
    }
    const marks = await phone.$$eval('#timeline li .mark', (els) => els.map((e) => e.className));
    assert.ok(marks.length >= 9 && marks.every((m) => m === 'mark verified'), `every entry verified: ${marks}`);
    const text = await phone.textContent('#timeline');
    assert.match(text, /Acme Bank \(demo\) read your email address for identity verification, today \d\d:\d\d/);
    assert.match(text, /You revoked Acme Bank \(demo\)’s access/);
    assert.equal(await phone.locator('#ledger-alert').isHidden(), true);
    await shots(phone, 'ledger');
    await context.close();
  });

  await t.test('back on the desktop: consistency with the kept checkpoint, export, erase', async () => {
    await page.reload();
    await unlock(page);
    await page.waitForSelector('#nav-ledger');
    await go(page, 'ledger');
    await page.waitForSelector('#ledger-status.ok');
    assert.match(await page.textContent('#ledger-status'), /extends the ledger of \d+ entries/);
    await shots(page, 'ledger-verified');

    await go(page, 'account');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const exported = JSON.parse(readFileSync(await dl.path(), 'utf8'));
    assert.equal(exported.customer.customer_id, customerId);
    assert.equal(exported.envelopes.find((e) => e.label === 'email').text, EMAIL);
    assert.equal(exported.ledger.verified, true);
    assert.ok(exported.ledger.entries.every((e) => e.proof && e.verification === 'verified'));
    assert.ok(exported.grants.some((g) => g.state === 'revoked'));
    await shots(page, 'account');

    await go(page, 'data');
    await page.click('li[data-label="document"] button:has-text("Delete")');
    await page.waitForSelector('dialog.confirm[open]');
    await shots(page, 'erase-confirm');
    await page.click('dialog.confirm button:has-text("Delete for good")');
    await page.waitForSelector('li[data-label="document"]', { state: 'detached' });
  });

  await t.test('a tampered checkpoint shows the red warning', async () => {
    await page.route('**/v1/me/ledger', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.checkpoint = flipRoot(body.checkpoint);
      await route.fulfill({ response: res, json: body });
    });
    await go(page, 'ledger');
    await page.click('#ledger-recheck');
    await page.waitForSelector('#ledger-status.bad');
    assert.ok(await page.locator('#ledger-alert').isVisible());
    assert.match(await page.textContent('#ledger-alert'), /failed verification.*signature/s);
    await shots(page, 'ledger-tampered');
    await page.unroute('**/v1/me/ledger');
    await page.click('#ledger-recheck');
    await page.waitForSelector('#ledger-status.ok');
    assert.equal(await page.locator('#ledger-alert').isHidden(), true);
  });

  await t.test('a rewritten history (validly signed fork of the kept checkpoint) shows the red warning', async () => {
    // The demo vault key is public, so the test can sign a checkpoint for the same size with
    // another root, as a compromised vault could; the device must notice on its next visit.
    const kept = await page.evaluate(() => localStorage.getItem('assent.last_checkpoint'));
    const body = `${flipRoot(kept).split('\n\n')[0]}\n`;
    const forged = await signWithDemoKey(body);
    await page.evaluate((n) => localStorage.setItem('assent.last_checkpoint', n), forged);
    await page.click('#ledger-recheck');
    await page.waitForSelector('#ledger-status.bad');
    assert.match(await page.textContent('#ledger-alert'), /history was rewritten/);
    await shots(page, 'ledger-rewritten');
  });

  assert.deepEqual(cspViolations, [], 'no CSP violation or page error');
});
