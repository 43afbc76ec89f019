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
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64std, concat, fromB64url, fromB64std, utf8 } from '../../web/src/crypto/bytes.js';
import {
  DESKTOP, PHONE, ROOT, SHOTS, cli as runCli, go, keyFileFingerprint, DEMO_ORG_KEY, launchBrowser, needBuilt, newPage as openPage, shooter, startVault, unlock as unlockAs,
} from './harness.mjs';

const HANDLE = 'alice';
const PASS = 'correct horse battery staple 42';
const EMAIL = 'alice@example.com';
const ORG_NAME = 'Acme Bank (demo)';

let vault;
let url;
let tmp;
let browser;
let shots;
const cspViolations = [];

before(async () => {
  needBuilt();
  // Only this file's screenshots (top level of target/screenshots/) are replaced.
  shots = shooter(SHOTS);
  for (const f of readdirSync(SHOTS)) if (f.endsWith('.png')) rmSync(join(SHOTS, f));
  tmp = mkdtempSync(join(tmpdir(), 'assent-browser-'));
  vault = await startVault(tmp);
  url = vault.url;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  vault?.proc.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The real CLI as the demo organization. */
const cli = (...args) => runCli(vault, args);
const newPage = (viewport, extra = {}) => openPage(browser, viewport, extra, cspViolations);
const unlock = (page, pass = PASS) => unlockAs(page, HANDLE, pass);

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
    assert.equal(await page.textContent('li[data-label="document"] .value'), 'File scan.pdf (PDF, 20 bytes)');
    // A second version of the email.
    await page.click('li[data-label="email"] button:has-text("Edit")');
    await page.fill('#env-text', EMAIL);
    await page.click('#envelope-form button[type=submit]');
    await page.waitForSelector('li[data-label="email"] details summary:has-text("History (2)")');
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
    // Computed in the page from the key in the verified key log; the same as the CLI's.
    assert.equal(await card.locator('.org-fingerprint').textContent(), fingerprint);
    assert.equal(fingerprint, await keyFileFingerprint(DEMO_ORG_KEY));
    await card.locator('.keylog.ok').waitFor();
    assert.equal(await card.locator('input.accept-unverified').isChecked(), false, 'unticked by default');
    assert.match(await card.textContent(), /identity verification/);
    assert.match(await card.locator('select.allow-for option:checked').textContent(), /30 days \(as asked\)/);
    assert.match(await card.textContent(), /We must verify your identity/);
    await shots(page, 'requests');
  });

  await t.test('an organization key log whose binding signature fails cannot be approved', async () => {
    await page.route('**/v1/orgs/*/keys', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const e of body.entries) {
        const sig = fromB64url(e.event.key_signature);
        sig[10] ^= 0x40;
        e.event.key_signature = Buffer.from(sig).toString('base64url');
      }
      await route.fulfill({ response: res, json: body });
    });
    await go(page, 'data');
    await go(page, 'requests');
    const card = page.locator('li.request');
    await card.locator('.keylog.bad').waitFor();
    assert.match(await card.locator('.keylog.bad').textContent(), /does not verify/);
    assert.equal(await card.locator('button:has-text("Approve")').isDisabled(), true);
    await shots(page, 'request-bad-key');
    await page.unroute('**/v1/orgs/*/keys');
    await go(page, 'data');
    await go(page, 'requests');
    await page.locator('li.request .keylog.ok').waitFor();
  });

  await t.test('first contact without the fingerprint needs the explicit choice', async () => {
    const card = page.locator('li.request');
    await card.locator('label:has-text("email address")').click(); // nothing is pre-ticked
    await card.locator('label:has-text("postal address")').click();
    await card.locator('label:has-text("identity verification")').click();
    await card.locator('button:has-text("Approve")').click();
    await card.locator('.error:has-text("First compare Acme Bank (demo)’s 12 words")').waitFor();
    await card.locator('input.fp-input').fill('0000 1111 2222 3333 4444 5555 6666 7777');
    await card.locator('.anchor.bad').waitFor();
    await card.locator('button:has-text("Approve")').click();
    await card.locator('.error:has-text("Refusing to approve")').waitFor();
    await shots(page, 'request-fingerprint-mismatch');
  });

  await t.test('approve with the fingerprint the bank gave, narrowed to the email; the organization reads it (CLI)', async () => {
    const card = page.locator('li.request');
    await card.locator('input.fp-input').fill(fingerprint.replace(/ /g, '').toUpperCase()); // as typed from a letter
    await card.locator('.anchor.ok').waitFor();
    await shots(page, 'request-fingerprint-matches');
    await card.locator('label:has-text("postal address")').click(); // untick: narrowed to the email
    await card.locator('button:has-text("Approve")').click();
    await page.waitForSelector('#view-requests .empty');
    const r = cli('org', 'read', '--customer', customerId, '--label', 'email', '--purpose', 'dpv:IdentityVerification');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, EMAIL);
    const refused = cli('org', 'read', '--customer', customerId, '--label', 'postal_address', '--purpose', 'dpv:IdentityVerification');
    assert.notEqual(refused.status, 0, 'a narrowed-away label must not be readable');
    await go(page, 'access');
    await page.waitForSelector('li.grant .meta:has-text("read 1 time")');
    assert.equal(await page.locator('section.org-group li.read').count(), 1, 'the read is listed under the organization');
    assert.equal(await page.locator('li.grant .grant-check.ok .fingerprint').textContent(), fingerprint);
    assert.equal(await page.locator('li.grant .unverified-org').count(), 0);
    await shots(page, 'access');
  });

  await t.test('a receipt downloads', async () => {
    await page.click('li.grant a.receipt-link');
    await page.waitForSelector('article.receipt');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button.download-receipt')]);
    const receipt = JSON.parse(readFileSync(await dl.path(), 'utf8'));
    assert.ok(receipt.kantara?.signature && receipt.iso27560?.receipt, JSON.stringify(receipt).slice(0, 200));
    await go(page, 'access');
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
    await phone.waitForSelector('li.grant.ended .badge.revoked'); // after the 5-second Undo
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
    assert.match(text, /Acme Bank \(demo\) read your email address for identity verification\s*today \d\d:\d\d/);
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
    assert.match(await page.textContent('#ledger-status'), /is complete, none missing, and unchanged since you last looked/);
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
    assert.match(await page.textContent('#ledger-alert'), /(failed verification|failed its checks).*signature/s);
    await shots(page, 'ledger-tampered');
    await page.unroute('**/v1/me/ledger');
    await page.click('#ledger-recheck');
    await page.waitForSelector('#ledger-status.ok');
    assert.equal(await page.locator('#ledger-alert').isHidden(), true);
  });

  await t.test('a rewritten history (validly signed fork of the kept checkpoint) shows the red warning', async () => {
    // The demo vault key is public, so the test can sign a checkpoint for the same size with
    // another root, as a compromised vault could; the device must notice on its next visit.
    const pin = `assent.account.${customerId}.last_checkpoint`; // kept per account
    const kept = await page.evaluate((k) => localStorage.getItem(k), pin);
    const body = `${flipRoot(kept).split('\n\n')[0]}\n`;
    const forged = await signWithDemoKey(body);
    await page.evaluate(([k, n]) => localStorage.setItem(k, n), [pin, forged]);
    await page.click('#ledger-recheck');
    await page.waitForSelector('#ledger-status.bad');
    assert.match(await page.textContent('#ledger-alert'), /history was rewritten/);
    await shots(page, 'ledger-rewritten');
  });

  assert.deepEqual(cspViolations, [], 'no CSP violation or page error');
});
