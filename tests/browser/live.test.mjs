// Live screens, sessions and vault key rotation in Chromium (issue 13, items 2, 3, 4 and 8):
// two browser contexts as two devices of one customer, the real CLI as the organization and as
// the customer's third device, a real vault (`assent serve --demo`) restarted with a rotated key.
// Sessions are driven with Playwright's fake clock (page.clock), not by shortening the server's.
// The event-stream parser, the stream client and rotation statements are also checked under Node.
//
// Run: `node --test tests/browser/live.test.mjs` after `cargo build --bin assent` and `make web`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64std, concat, fromB64std, hex, randomBytes, utf8 } from '../../web/src/crypto/bytes.js';
import { ed25519Public, ed25519Sign, ed25519SigningKey } from '../../web/src/crypto/keys.js';
import { fingerprint } from '../../web/src/crypto/sign.js';
import { keyId, parseVerifierKey } from '../../web/src/ledger/note.js';
import { followRotations, ROTATION_HEADER, verifyRotation } from '../../web/src/ledger/rotation.js';
import { EventStreamParser, LiveStream } from '../../web/src/live.js';
import {
  DEMO_ORG_KEY, DESKTOP, PHONE, SHOTS, cli, copyDemoKeys, go, keyFileFingerprint, launchBrowser, needBuilt, newPage, shooter, signUp, startVault, stopVault, unlock,
} from './harness.mjs';

const PASS = 'correct horse battery staple 42';
const HANDLE = `live-${Date.now() % 100000}`;
const ID = 'dpv:IdentityVerification';

let tmp;
let keys;
let vault;
let browser;
let shots;
let profile;
let customerId;
const problems = [];

/** The customer's CLI (a third device), with its own profile file. */
const me = (...args) => {
  const r = cli(vault, ['customer', ...args], { ASSENT_PROFILE: profile, ASSENT_PASSPHRASE: PASS });
  assert.equal(r.status, 0, `customer ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** The demo organization asks for the email (CLI); returns the request id. */
function orgAsks(why = 'We must verify your identity') {
  const r = cli(vault, ['org', 'request', '--customer', HANDLE, '--labels', 'email', '--purposes', ID, '--required-purposes', ID, '--duration', '30d', '--justification', why]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  customerId = out.customer_id;
  return out.request_id;
}

const orgReads = () => cli(vault, ['org', 'read', '--customer', customerId, '--label', 'email', '--purpose', ID]);

/** A device: a browser context unlocked as the customer. `clock`: install Playwright's fake clock first. */
async function device({ viewport = DESKTOP, clock = false } = {}) {
  const { context, page } = await newPage(browser, viewport, {}, problems);
  if (clock) await page.clock.install();
  await page.goto(vault.url);
  await page.waitForSelector('#tab-unlock');
  await unlock(page, HANDLE, PASS);
  await page.waitForSelector('#view-data', { timeout: 30000 });
  return { context, page };
}

/** Opens a screen and waits until it has finished rendering (the address changed, nothing busy). */
async function open(page, view) {
  await go(page, view);
  await page.waitForFunction((v) => location.hash === `#/${v}` && !document.getElementById('main').hasAttribute('aria-busy'), view);
}

/** Bearer tokens the page sends, in order (distinct). */
function tokensOf(page) {
  const seen = [];
  page.on('request', (req) => {
    const a = req.headers().authorization;
    if (a && !seen.includes(a)) seen.push(a);
  });
  return seen;
}

before(async () => {
  needBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'assent-live-'));
  keys = copyDemoKeys(tmp);
  vault = await startVault(tmp, { keys });
  browser = await launchBrowser();
  rmSync(join(SHOTS, 'live'), { recursive: true, force: true });
  shots = shooter(join(SHOTS, 'live'));
  profile = join(tmp, 'me.json');
  me('signup', '--handle', HANDLE);
  me('put', '--label', 'email', '--text', 'me@example.com');
});

after(async () => {
  await browser?.close();
  vault?.proc.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- without a browser: the event-stream parser, the stream client, rotation statements --------

test('the event-stream parser follows the WHATWG format (CR, LF, CRLF split across chunks, comments, BOM, ids)', () => {
  const p = new EventStreamParser();
  const out = [];
  for (const chunk of ['\ufeff: keep-alive\r', '\nid: 4\r', '\nevent: read\ndata: {"a"', ':1}\n', 'data:second\r\r', 'id: 5\n\n', 'data\n\n', 'retry: 3000\nevent: x\n\n']) out.push(...p.push(chunk));
  assert.deepEqual(out, [
    { type: 'read', data: '{"a":1}\nsecond', lastEventId: '4' },
    { type: 'message', data: '', lastEventId: '5' },
  ]);
  assert.equal(p.lastEventId, '5', 'an id without data still moves the last event id');
  assert.equal(p.retry, 3000);
  assert.deepEqual(new EventStreamParser().push('data: cut off'), [], 'an unfinished event is not dispatched');
});

test('the stream client resumes with Last-Event-ID and renews on session_expired', async () => {
  const calls = [];
  const answers = [
    'event: ready\nid: 3\ndata: {"seq":3}\n\nevent: grant_revoked\nid: 4\ndata: {"seq":4}\n\nevent: session_expired\ndata: {}\n\n',
    'event: read\nid: 5\ndata: {"seq":5}\n\n',
  ];
  let token = 't1';
  const events = [];
  let expired = 0;
  await new Promise((resolve) => {
    const s = new LiveStream({
      token: () => token,
      fetchImpl: async (url, init) => {
        calls.push({ url, auth: init.headers.authorization, last: init.headers['last-event-id'] });
        const text = answers.shift();
        if (!text) {
          s.stop();
          resolve();
          return new Response('{"error":"gone"}', { status: 503 });
        }
        return new Response(text, { headers: { 'content-type': 'text/event-stream' } });
      },
      onEvent: (e) => events.push(`${e.type}:${e.lastEventId}`),
      onExpired: async () => {
        expired += 1;
        token = 't2';
        return true;
      },
    });
    s.start();
    setTimeout(resolve, 6000);
  });
  assert.deepEqual(events, ['grant_revoked:4', 'read:5'], 'ready is only a starting point; events are hints');
  assert.equal(expired, 1);
  assert.deepEqual(calls[0], { url: '/v1/me/events', auth: 'Bearer t1', last: undefined });
  assert.deepEqual(calls[1], { url: '/v1/me/events', auth: 'Bearer t2', last: '4' }, 'renewed token, resumed after the last id');
  assert.equal(calls[2].last, '5');
});

test('the stream client replaces a connection that went silent', async () => {
  const calls = [];
  await new Promise((resolve) => {
    const s = new LiveStream({
      token: () => 't',
      stallMs: 200,
      fetchImpl: async (url, init) => {
        calls.push(init.headers['last-event-id']);
        if (calls.length === 2) {
          s.stop();
          resolve();
        }
        // One event, then silence (no keep-alive): a dead connection.
        const body = new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode('event: read\nid: 7\ndata: {}\n\n'));
          },
        });
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
      },
      onEvent: () => {},
      onExpired: async () => false,
    });
    s.start();
    setTimeout(resolve, 5000);
  });
  assert.deepEqual(calls, [undefined, '7'], 'reconnected after the silence, resuming after the last id');
});

/** A vault key for notes: { seed, verifier (parsed), text }. */
async function vaultKey(name = 'v.example') {
  const seed = randomBytes(32);
  const pub = await ed25519Public(seed);
  const text = `${name}+${hex(await keyId(name, pub))}+${b64std(concat(new Uint8Array([1]), pub))}`;
  return { seed, text, name, pub, verifier: await parseVerifierKey(text) };
}

/** A C2SP signed note of `body` by `signer`. */
async function signNote(body, signer) {
  const sig = await ed25519Sign(await ed25519SigningKey(signer.seed), utf8(body));
  return `${body}\n— ${signer.name} ${b64std(concat(await keyId(signer.name, signer.pub), sig))}\n`;
}

const statement = (prev, next, signer = prev, at = '2026-12-01T00:00:00Z') => signNote(`${ROTATION_HEADER}\n${prev.text}\n${next.text}\n${at}\n`, signer);

test('rotation statements: followed only from the pinned key, each signed by the key it retires', async () => {
  const [a, b, c] = [await vaultKey(), await vaultKey(), await vaultKey()];
  const ab = await statement(a, b);
  const bc = await statement(b, c);
  const chain = await followRotations([bc, ab], a.verifier);
  assert.deepEqual(chain.map((r) => r.next.text), [b.text, c.text], 'any order, oldest first');
  assert.equal((await followRotations([ab, bc], b.verifier)).length, 1);
  assert.equal((await followRotations([ab, bc], c.verifier)).length, 0);
  // Signed by another key than the one it names as previous (the operator's new key vouching for itself).
  await assert.rejects(verifyRotation(await statement(a, c, c), a.verifier));
  assert.equal((await followRotations([await statement(a, c, c)], a.verifier)).length, 0);
  // Signed by the pinned key but naming another key as the one it retires.
  await assert.rejects(verifyRotation(await signNote(`${ROTATION_HEADER}\n${c.text}\n${b.text}\n2026-12-01T00:00:00Z\n`, a), a.verifier), /another previous key/);
  // The next key changed after signing.
  await assert.rejects(verifyRotation(ab.replace(b.text, c.text), a.verifier), /signature/);
  // Another vault's name, the same key again, a wrong header, a bad time.
  const other = await vaultKey('other.example');
  await assert.rejects(verifyRotation(await statement(a, other), a.verifier), /same vault/);
  await assert.rejects(verifyRotation(await statement(a, a), a.verifier), /new key/);
  await assert.rejects(verifyRotation(await signNote(`assent/v2/something-else\n${a.text}\n${b.text}\n2026-12-01T00:00:00Z\n`, a), a.verifier), /not a vault key rotation/);
  await assert.rejects(verifyRotation(await statement(a, b, a, 'yesterday'), a.verifier), /time/);
  // A loop back to the pinned key ends the chain.
  assert.equal((await followRotations([ab, await statement(b, a)], a.verifier)).length, 1);
  // Garbage in the list is ignored, not fatal.
  assert.equal((await followRotations(['junk', 42, ab], a.verifier)).length, 1);
  assert.deepEqual(await followRotations(null, a.verifier), []);
});

// ---- in Chromium ------------------------------------------------------------------------------

test('a first-time device opens on “Create your vault”; a device used before on Unlock with its handle', async () => {
  const { context, page } = await newPage(browser, PHONE, {}, problems);
  await page.goto(vault.url);
  await page.waitForSelector('#signup-form');
  assert.equal(await page.locator('#signup-form').isVisible(), true);
  assert.equal(await page.locator('#unlock-form').isVisible(), false);
  await page.click('#tab-unlock');
  await unlock(page, HANDLE, PASS);
  await page.waitForSelector('#view-data', { timeout: 30000 });
  await page.click('#lock');
  await page.waitForSelector('#unlock-form');
  await page.reload();
  await page.waitForSelector('#unlock-form');
  assert.equal(await page.locator('#unlock-form').isVisible(), true, 'opens on Unlock');
  assert.equal(await page.inputValue('#unlock-handle'), HANDLE, 'with the handle filled in');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'unlock-pass', 'the passphrase has the focus');
  await shots(page, 'unlock-known-device');
  await context.close();
});

test('reloading says why the keys are gone, with the handle filled in', async () => {
  const { context, page } = await device();
  await go(page, 'access');
  await page.reload();
  await page.waitForSelector('#unlock-form');
  assert.match(await page.textContent('.auth .notice'), /page was reloaded/);
  assert.equal(await page.inputValue('#unlock-handle'), HANDLE);
  await shots(page, 'reloaded');
  // Nothing secret was kept: no passphrase, no key material in either storage.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  assert.doesNotMatch(stored, new RegExp(PASS));
  await unlock(page, HANDLE, PASS);
  await page.waitForSelector('#view-access', { timeout: 30000 });
  await context.close();
});

test('live: a request made while signed in shows its badge without navigating, on the Requests screen too', async () => {
  const { context, page } = await device();
  await go(page, 'requests');
  assert.equal(await page.locator('#nav-requests .count').count(), 0);
  const t0 = Date.now();
  const id = orgAsks();
  await page.waitForSelector('#nav-requests .count:text-is("1")', { timeout: 5000 });
  await page.waitForSelector(`li.request[data-request="${id}"]`, { timeout: 5000 });
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(await page.evaluate(() => location.hash), '#/requests', 'no navigation happened');
  await shots(page, 'request-arrived-live');
  // Half-way through answering it, a second request arrives: the ticks and typed words stay.
  const card = page.locator(`li.request[data-request="${id}"]`);
  await card.locator('label:has-text("email address")').click();
  await card.locator('.fp-input').fill('give maid follow');
  const second = orgAsks('A second question');
  await page.waitForSelector(`li.request[data-request="${second}"]`, { timeout: 5000 });
  await page.waitForSelector('#nav-requests .count:text-is("2")');
  assert.equal(await card.locator('input.choose-label[value="email"]').isChecked(), true, 'the tick survived');
  assert.equal(await card.locator('.fp-input').inputValue(), 'give maid follow', 'the typed words survived');
  await context.close();
});

test('live: a revocation on one device updates Access on another within 2 s', async (t) => {
  if (!JSON.parse(me('requests')).some((r) => r.status === 'pending')) orgAsks();
  const pending = JSON.parse(me('requests')).filter((r) => r.status === 'pending');
  const fp = await keyFileFingerprint(DEMO_ORG_KEY);
  for (const r of pending) me('approve', r.request_id, '--org-fingerprint', fp);
  assert.equal(orgReads().status, 0, 'the organization reads');
  const a = await device();
  const b = await device({ viewport: PHONE });
  await go(a.page, 'access');
  await a.page.waitForSelector('li.grant button.revoke');
  await go(b.page, 'access');
  const grant = await b.page.locator('li.grant:not(.ended)').first().getAttribute('data-grant');
  await b.page.click(`li.grant[data-grant="${grant}"] button.revoke`);
  // The revocation goes out when its Undo time is up; the clock starts when the vault answered.
  await b.page.waitForResponse((res) => /\/v1\/me\/grants\/[^/]+\/revoke$/.test(new URL(res.url()).pathname) && res.ok(), { timeout: 20000 });
  const t0 = Date.now();
  await a.page.waitForSelector(`li.grant.ended[data-grant="${grant}"]`, { state: 'attached', timeout: 2000 });
  const took = Date.now() - t0;
  assert.ok(took <= 2000, `updated in ${took} ms`);
  t.diagnostic(`the other device showed the revocation ${took} ms after the vault answered`);
  assert.equal(await a.page.locator(`li.grant[data-grant="${grant}"] button.revoke`).count(), 0, 'no Revoke button left for the ended access');
  // End the others too (from the CLI, a third device), so the organization's next read is refused.
  for (const g of JSON.parse(me('grants')).filter((x) => x.state === 'active')) me('revoke', g.grant_id);
  assert.notEqual(orgReads().status, 0, 'the next read is refused');
  await shots(a.page, 'access-updated-live');
  await b.context.close();
  // The ledger screen follows too: a new read attempt is not logged (refused), but a new request is.
  await go(a.page, 'ledger');
  const before = await a.page.locator('li.entry').count();
  orgAsks('Once more, please');
  await a.page.waitForFunction((n) => document.querySelectorAll('li.entry').length > n, before, { timeout: 5000 });
  await a.context.close();
});

test('live: a data card’s history follows the organization’s reads', async () => {
  const fp = await keyFileFingerprint(DEMO_ORG_KEY);
  if (!JSON.parse(me('grants')).some((g) => g.state === 'active')) orgAsks();
  for (const r of JSON.parse(me('requests')).filter((x) => x.status === 'pending')) me('approve', r.request_id, '--org-fingerprint', fp);
  const { context, page } = await device({ viewport: PHONE });
  await open(page, 'data');
  const summary = page.locator('li[data-label="email"] details summary');
  const count = async () => Number(((await summary.count()) ? await summary.textContent() : '(0)').match(/\((\d+)\)/)[1]);
  const before = await count();
  assert.equal(orgReads().status, 0, 'the organization reads');
  await page.waitForFunction((n) => {
    const s = document.querySelector('li[data-label="email"] details summary');
    return s && Number((s.textContent.match(/\((\d+)\)/) || [])[1]) > n;
  }, before, { timeout: 5000 });
  assert.ok((await count()) > before);
  await context.close();
});

test('live: what is being typed survives an update; tapping the tab you are on looks again', async () => {
  const { context, page } = await device();
  await open(page, 'data');
  await page.fill('#env-text', 'half-typed note');
  await page.evaluate(() => document.getElementById('view-data').setAttribute('data-old', '1'));
  const badge = (await page.locator('#nav-requests .count').count()) ? Number(await page.textContent('#nav-requests .count')) : 0;
  orgAsks('And again');
  await page.waitForSelector(`#nav-requests .count:text-is("${badge + 1}")`, { timeout: 5000 });
  await page.waitForSelector('#view-data:not([data-old])', { timeout: 5000 });
  assert.equal(await page.inputValue('#env-text'), 'half-typed note', 'kept across the live update');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'env-text', 'and the focus');
  await page.evaluate(() => document.getElementById('view-data').setAttribute('data-old', '1'));
  await page.click('#nav-data');
  await page.waitForSelector('#view-data:not([data-old])', { timeout: 5000 });
  assert.equal(await page.inputValue('#env-text'), 'half-typed note');
  await context.close();
});

test('sessions: the token is renewed before it expires while the page is in use (fake clock)', async () => {
  const { context, page } = await device({ clock: true });
  const tokens = tokensOf(page);
  await go(page, 'access');
  await page.waitForTimeout(300);
  const first = tokens.at(-1);
  assert.ok(first, 'the page sent its token');
  const renewed = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/me/session' && r.request().method() === 'POST');
  await page.mouse.click(5, 5); // in use
  await page.clock.fastForward('14:00');
  assert.equal((await renewed).status(), 200);
  await page.waitForTimeout(300);
  await go(page, 'ledger');
  await page.waitForTimeout(300);
  assert.notEqual(tokens.at(-1), first, 'the renewed token is the one used');
  // The live stream came back with the new token.
  const stream = await page.waitForRequest((r) => new URL(r.url()).pathname === '/v1/me/events' && r.headers().authorization === tokens.at(-1), { timeout: 5000 }).catch(() => null);
  assert.ok(stream || tokens.length >= 2, 'the stream reconnected with the new token');
  assert.equal(await page.locator('#view-ledger').count(), 1, 'still signed in');
  await context.close();
});

test('sessions: an ended session keeps the handle and what was typed, and gives it back after unlocking', async () => {
  const { context, page } = await device({ clock: true, viewport: PHONE });
  await open(page, 'data');
  // Let the first live look (after the stream connects) finish before typing, so the typing is
  // not raced by a re-render.
  await page.waitForSelector('main:not([aria-busy="true"]) #envelope-form');
  await page.waitForTimeout(1000);
  await page.fill('#env-text', 'my new address, not saved yet');
  assert.equal(await page.inputValue('#env-text'), 'my new address, not saved yet');
  // The vault says the session is over (as after 12 hours): 401 reauthenticate on renewal.
  await page.route('**/v1/me/session', (route) => route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: 'reauthenticate', message: 'unlock again' }) }));
  await page.clock.fastForward('14:00');
  await page.waitForSelector('#unlock-form', { timeout: 5000 });
  assert.equal(await page.inputValue('#unlock-handle'), HANDLE);
  assert.match(await page.textContent('.auth .notice'), /passphrase again/);
  assert.match(await page.textContent('.auth .notice'), /typed is kept/);
  await shots(page, 'session-ended');
  await page.unroute('**/v1/me/session');
  await context.close();
});

test('sessions: a few minutes before the 12-hour end the customer is told to save what is being typed', async () => {
  const { context, page } = await newPage(browser, PHONE, {}, problems);
  await page.clock.install();
  // As if the passphrase had been typed 11 h 54 min ago: the log-in answer's end moved closer.
  await page.route('**/v1/sessions', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    body.renewable_until = new Date(Date.now() + 6 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await route.fulfill({ response: res, json: body });
  });
  await page.goto(vault.url);
  await page.waitForSelector('#tab-unlock');
  await unlock(page, HANDLE, PASS);
  await page.waitForSelector('#view-data', { timeout: 30000 });
  await open(page, 'data');
  await page.fill('#env-text', 'my new address, not saved yet');
  await page.clock.fastForward('01:30');
  await page.waitForSelector('#toast .toast-item:has-text("Save what you are typing")', { timeout: 5000 });
  await shots(page, 'session-ending-soon');
  // Past the end the vault is not asked again: Unlock, with the handle and the text kept.
  await page.clock.fastForward('14:00');
  await page.waitForSelector('#unlock-form', { timeout: 5000 });
  assert.match(await page.textContent('.auth .notice'), /passphrase again/);
  await page.fill('#unlock-pass', PASS);
  await page.click('#unlock-form button[type=submit]');
  await page.waitForSelector('#view-data', { timeout: 30000 });
  assert.equal(await page.inputValue('#env-text'), 'my new address, not saved yet', 'typed text restored');
  await context.close();
});

test('account: change the passphrase, then close the account', async () => {
  const handle = `acct-${Date.now() % 100000}`;
  const NEW = 'purple elephant quietly juggles 7 lamps';
  const { context, page } = await newPage(browser, PHONE, {}, problems);
  await signUp(page, vault.url, handle, PASS);
  await open(page, 'account');
  // A wrong current passphrase is refused on this device; the session goes on.
  await page.fill('#pass-current', 'not my passphrase at all');
  await page.fill('#pass-new', NEW);
  await page.fill('#pass-again', NEW);
  await page.click('#passphrase-form button[type=submit]');
  await page.waitForSelector('#pass-error:has-text("not your current passphrase")', { timeout: 30000 });
  assert.equal(await page.locator('#view-account').count(), 1, 'still signed in');
  await page.fill('#pass-current', PASS);
  await page.click('#passphrase-form button[type=submit]');
  await page.waitForSelector('#pass-done:not([hidden])', { timeout: 60000 });
  await shots(page, 'account-passphrase-changed');
  await page.click('#lock');
  await unlock(page, handle, PASS);
  await page.waitForSelector('#unlock-error:has-text("Wrong handle or passphrase")', { timeout: 30000 });
  await unlock(page, handle, NEW);
  await page.waitForSelector('#view-data', { timeout: 30000 });
  // Close: passphrase, the box, the dialog; then Create, and nothing of the account kept here.
  await open(page, 'account');
  await page.fill('#close-pass', NEW);
  await page.check('#close-understand');
  await shots(page, 'account-close');
  await page.click('#close-form button[type=submit]');
  await page.click('dialog.confirm button.danger');
  await page.waitForSelector('#signup-form:not([hidden])', { timeout: 30000 });
  assert.match(await page.textContent('.auth .notice'), /Your account is closed/);
  assert.equal(await page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('assent.account.') || k === 'assent.last_handle')), false);
  await shots(page, 'account-closed');
  await page.click('#tab-unlock');
  await unlock(page, handle, NEW);
  await page.waitForSelector('#unlock-error:not(:empty)', { timeout: 30000 });
  await context.close();
});

test('a rotated vault key: refused without a statement from the kept key; shown and accepted with one', async () => {
  // The device keeps its pins (the vault key, the account's last checkpoint) across the restart.
  const a = await device();
  await go(a.page, 'ledger');
  await a.page.waitForSelector('#ledger-status.ok');
  const entries = await a.page.locator('li.entry').count();
  assert.ok(entries >= 2);
  const oldServed = (await (await fetch(`${vault.url}/v1/ledger/key`)).text()).trim();
  assert.equal(await a.page.evaluate(() => localStorage.getItem('assent.vault_key')), oldServed);
  // Rotate while stopped; restart on the same address (the page's pins are per origin).
  const listen = new URL(vault.url).host;
  await stopVault(vault);
  const r = cli(vault, ['keygen', '--rotate', '--out', keys]);
  assert.equal(r.status, 0, r.stderr);
  vault = await startVault(tmp, { keys, listen });
  const newServed = (await (await fetch(`${vault.url}/v1/ledger/key`)).text()).trim();
  assert.notEqual(newServed, oldServed);
  const fpOf = async (k) => fingerprint(fromB64std(k.slice(k.indexOf('+', k.indexOf('+') + 1) + 1)).subarray(1)); // name+id+base64(0x01‖key)

  // Without a statement signed by the kept key: say what is wrong and what to do; nothing to accept.
  await a.page.route('**/v1/ledger/key/rotations', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ current: newServed, rotations: [] }) }));
  await a.page.reload();
  await a.page.waitForSelector('#unlock-form');
  await unlock(a.page, HANDLE, PASS);
  await a.page.waitForSelector('#ledger-alert:not([hidden])', { timeout: 30000 });
  assert.match(await a.page.textContent('#ledger-alert'), /shows no change signed by the key this device kept/);
  assert.match(await a.page.textContent('#ledger-alert'), /contact the vault’s operator/);
  assert.equal(await a.page.locator('#rotation-accept').count(), 0, 'nothing to accept');
  assert.equal(await a.page.evaluate(() => localStorage.getItem('assent.vault_key')), oldServed, 'the pin did not move');
  await shots(a.page, 'vault-key-unexplained');
  await a.page.unroute('**/v1/ledger/key/rotations');

  // With the statement: the vault signs its current tree with the new key at once, and the page
  // shows both keys (nothing is checked with the new key before the customer accepts).
  await a.page.reload();
  await a.page.waitForSelector('#unlock-form');
  await unlock(a.page, HANDLE, PASS);
  await open(a.page, 'ledger');
  await a.page.waitForSelector('#rotation', { timeout: 10000 });
  assert.equal(await a.page.textContent('#rotation-from'), await fpOf(oldServed));
  assert.equal(await a.page.textContent('#rotation-to'), await fpOf(newServed));
  assert.match(await a.page.textContent('#rotation'), /The old key signed this change/);
  assert.equal(await a.page.evaluate(() => localStorage.getItem('assent.vault_key')), oldServed, 'not moved before accepting');
  await shots(a.page, 'vault-key-rotated');
  await a.page.click('#rotation-accept');
  await a.page.waitForSelector('#ledger-alert', { state: 'hidden', timeout: 10000 });
  assert.equal(await a.page.evaluate(() => localStorage.getItem('assent.vault_key')), newServed);
  await go(a.page, 'ledger');
  await a.page.waitForSelector('#ledger-status.ok');
  assert.match(await a.page.textContent('#ledger-status'), /unchanged since you last looked/, 'the kept checkpoint was extended');
  assert.ok(await a.page.locator('li.entry').count() >= entries, 'the history shows again');
  await shots(a.page, 'ledger-after-rotation');
  await a.context.close();
});

test('no page error or CSP violation', () => {
  assert.deepEqual(problems, []);
});
