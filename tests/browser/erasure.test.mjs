// Erasure requests (GDPR Art. 17) on the Access screen, in Chromium against the real vault and the
// real CLI as the organization: ending access with "Also ask them to erase what they already
// read" ticked, the deadline shown from the verified ledger, the organization's signed refusal
// arriving through the live stream and shown with its reason, "Ask to erase" on an access still
// active, an overdue request on a device whose clock is past the deadline, the signed erasure,
// and what the page does when the vault's words or the ledger's bytes are changed in transit.
// Under Node: which answers the page believes (erasure.js) on entries built here — forged,
// altered, out of place, signed by a key the organization did not hold at the time.
// Screenshots go to target/screenshots/erasure/.
//
// Run: `node --test tests/browser/erasure.test.mjs` after `cargo build --bin assent` and `make web`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { b64url } from '../../web/src/crypto/bytes.js';
import { ed25519Public, newSecret } from '../../web/src/crypto/keys.js';
import { signErasureAnswer } from '../../web/src/crypto/sign.js';
import { checkErasures, keyAt } from '../../web/src/erasure.js';
import { day, sentence } from '../../web/src/words.js';
import {
  DESKTOP, DEMO_ORG_KEY, cli as runCli, go, keyFileFingerprint, newPage as openPage, saveText, signUp, unlock,
  openSuite, closeSuite,
} from './harness.mjs';

const PASS = 'correct horse battery staple 42';
const ORG = 'Acme Bank (demo)';
const REASON = 'We must keep identity records for 5 years (AML Directive, Art. 40).';
const ID = 'dpv:IdentityVerification';

let vault;
let tmp;
let browser;
let shots;
const problems = [];

before(async () => {
  ({ tmp, vault, browser, shots } = await openSuite('erasure'));
});

after(() => closeSuite({ tmp, vault, browser }));

const cli = (...args) => runCli(vault, args);
const newPage = (viewport, extra = {}) => openPage(browser, viewport, extra, problems);

/** The organization asks `handle` for `labels`; returns the request (CLI JSON). */
function orgRequest(handle, labels) {
  const r = cli('org', 'request', '--customer', handle, '--labels', labels, '--purposes', ID, '--duration', '90d', '--justification', 'We must verify your identity');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Approves through the organization's request link (fingerprint anchored), ticking everything. */
async function approve(page, requestId) {
  const fp = await keyFileFingerprint(DEMO_ORG_KEY);
  await page.evaluate((h) => {
    location.hash = h;
  }, `#/requests/${requestId}?fp=${encodeURIComponent(fp)}`);
  const card = page.locator(`li.request[data-request="${requestId}"]`);
  await card.waitFor();
  for (const box of await card.locator('input.choose-label, input.choose-purpose:not(:disabled)').all()) await box.check();
  await card.locator('button.approve').click();
  await card.waitFor({ state: 'detached' });
}

const grantCard = (page, grantId) => page.locator(`li.grant[data-grant="${grantId}"]`);

test('end access and ask to erase; the signed refusal and erasure shown as checked; overdue; tampering', async (t) => {
  const { page } = await newPage(DESKTOP);
  const handle = `erin-${Date.now() % 100000}`;
  await signUp(page, vault.url, handle, PASS);
  await saveText(page, 'email', 'erin@example.com');
  await saveText(page, 'phone', '+44 20 7946 0001');
  const asked = [];
  page.on('request', (q) => {
    if (q.method() === 'POST' && /\/v1\/me\/grants\/[^/]+\/(revoke|erasure)$/.test(new URL(q.url()).pathname)) asked.push(new URL(q.url()).pathname.split('/').pop());
  });

  const first = orgRequest(handle, 'email');
  await approve(page, first.request_id);
  const customerId = first.customer_id;
  const r = cli('org', 'read', '--customer', customerId, '--label', 'email', '--purpose', ID);
  assert.equal(r.status, 0, r.stderr);
  const second = orgRequest(handle, 'phone');
  await approve(page, second.request_id);
  let g1; // email: ended with the box ticked, then refused
  let g2; // phone: asked while active, overdue on a later clock, then erased

  await t.test('an active access offers "Ask to erase" and the unticked "Also ask them to erase" beside End access', async () => {
    await go(page, 'access');
    const cards = page.locator('li.grant:not(.ended)');
    await cards.first().waitFor();
    assert.equal(await cards.count(), 2);
    const ids = await cards.evaluateAll((els) => els.map((e) => e.dataset.grant));
    // Which card is which: by the item it covers.
    for (const id of ids) {
      const text = await grantCard(page, id).locator('h4').textContent();
      if (/email/.test(text)) g1 = id;
      else g2 = id;
    }
    assert.ok(g1 && g2, ids.join(' '));
    const card = grantCard(page, g1);
    const box = card.locator('input.also-erase');
    assert.equal(await box.isChecked(), false, 'not ticked by default');
    assert.equal(await card.locator(`label[for="${await box.getAttribute('id')}"]`).textContent(), 'Also ask them to erase what they already read');
    assert.equal(await card.locator('button.ask-erasure').textContent(), 'Ask to erase');
    assert.match(await card.locator('.recall').textContent(), /Data already read cannot be recalled\. You can ask Acme Bank \(demo\) to erase it\./);
  });

  await t.test('End access with the box ticked: revoked, then the erasure asked; the deadline shown', async () => {
    const card = grantCard(page, g1);
    await card.locator('input.also-erase').check();
    await card.locator('button.revoke').click();
    await page.locator('#toast .toast-item:has-text("and asking it to erase what it read")').waitFor();
    const ended = page.locator(`li.grant.ended[data-grant="${g1}"]`);
    await ended.locator('.erasure.pending').waitFor({ timeout: 20000 });
    assert.deepEqual(asked, ['revoke', 'erasure'], 'the erasure request follows the revocation');
    const text = await ended.locator('.erasure').textContent();
    const m = /Erasure asked on (\d{1,2} \w{3} \d{4}); answer due by (\d{1,2} \w{3} \d{4})\./.exec(text);
    assert.ok(m, text);
    assert.equal(m[1], day(new Date().toISOString()));
    assert.equal(Math.round((Date.parse(m[2]) - Date.parse(m[1])) / 86400000), 30, 'due a month later');
    assert.match(text, /Ledger entry \d+, checked on this device/);
    assert.equal(await ended.locator('button.ask-erasure').count(), 0, 'one request per access');
    assert.match(await page.textContent('#access-notice'), /can no longer read your data\. Data already read cannot be recalled\. You asked Acme Bank \(demo\) to erase what it already read/);
    await shots(page, 'asked');
  });

  await t.test('the organization refuses (signed, CLI): the live stream brings it, shown with its reason as checked', async () => {
    const a = cli('org', 'answer-erasure', g1, '--refused', REASON);
    assert.equal(a.status, 0, a.stderr);
    // No navigation: the announcement makes the page look again.
    const ended = page.locator(`li.grant.ended[data-grant="${g1}"]`);
    await ended.locator('.erasure.refused').waitFor({ timeout: 20000 });
    const text = await ended.locator('.erasure').textContent();
    assert.match(text, new RegExp(`^Refused: ${REASON.replace(/[().]/g, '\\$&')} \\(signed by Acme Bank \\(demo\\) on \\d{1,2} \\w{3} \\d{4}\\)\\.`));
    assert.match(text, /Ledger entries \d+ and \d+; Acme Bank \(demo\)’s signature checked on this device against its key log/);
    assert.equal(await ended.locator('.erasure-rejected').count(), 0);
    await shots(page, 'refused');
    await go(page, 'ledger');
    await page.waitForSelector('#ledger-status.ok');
    const acme = page.locator('section.ledger-group[data-org="org_demo_acme"]');
    const req = acme.locator('li[data-type="erasure_requested"]');
    assert.match(await req.locator('.what').textContent(), /^You asked Acme Bank \(demo\) to erase what it read under a grant \(answer due \d{1,2} \w{3} \d{4}\)$/);
    const ans = acme.locator('li[data-type="erasure_answered"]');
    assert.equal(await ans.locator('.what').textContent(), `${ORG} answered your erasure request: refused: ${REASON}`);
    assert.equal(await ans.locator('.mark').getAttribute('class'), 'mark verified');
    await go(page, 'access');
    // The printable receipt states the request and the checked answer too.
    await page.click(`li.grant.ended[data-grant="${g1}"] a.receipt-link`);
    const fact = page.locator('article.receipt dd.erasure');
    await fact.waitFor();
    assert.equal(await fact.getAttribute('data-state'), 'refused');
    assert.match(await fact.textContent(), new RegExp(`it refused: “${REASON.replace(/[().]/g, '\\$&')}”, signed by Acme Bank \\(demo\\) on .*\\(ledger entries \\d+ and \\d+\\)\\.$`));
    await go(page, 'access');
  });

  await t.test('the vault’s own word on a grant is not what is shown: the reason comes from the ledger', async () => {
    await page.route('**/v1/me/grants', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const g of body) {
        if (!g.erasure?.answer) continue;
        g.erasure.state = 'erased';
        g.erasure.answer.outcome = 'erased';
        delete g.erasure.answer.reason;
      }
      await route.fulfill({ response: res, json: body });
    });
    await go(page, 'data');
    await go(page, 'access');
    const ended = page.locator(`li.grant.ended[data-grant="${g1}"]`);
    await ended.locator('.erasure.refused').waitFor();
    assert.doesNotMatch(await page.textContent('#view-access'), /Erased \(signed/);
    await page.unroute('**/v1/me/grants');
  });

  await t.test('a reason changed in the ledger in transit: the history fails and no answer is shown as checked', async () => {
    await page.route('**/v1/me/ledger', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const e of body.entries) if (e.event.type === 'erasure_answered') e.event.reason = 'We erased everything.';
      await route.fulfill({ response: res, json: body });
    });
    await go(page, 'data');
    await go(page, 'access');
    const ended = page.locator(`li.grant.ended[data-grant="${g1}"]`);
    await ended.locator('.erasure.unchecked').waitFor();
    assert.ok(await page.locator('#ledger-alert').isVisible());
    const text = await page.textContent('#view-access');
    assert.doesNotMatch(text, /We erased everything/);
    assert.doesNotMatch(text, /Refused: |Erased \(signed|signed by Acme Bank/);
    assert.match(await ended.locator('.erasure').textContent(), /your history failed its checks on this device, so neither the request nor any answer can be confirmed here/);
    assert.equal(await ended.locator('button.ask-erasure').count(), 0, 'the vault says one was asked: not offered again');
    await shots(page, 'tampered');
    await page.unroute('**/v1/me/ledger');
    await go(page, 'ledger');
    await page.click('#ledger-recheck');
    await page.waitForSelector('#ledger-status.ok');
    await go(page, 'access');
    await page.locator(`li.grant.ended[data-grant="${g1}"] .erasure.refused`).waitFor();
  });

  await t.test('"Ask to erase" on an access still active: confirmed, then pending', async () => {
    const card = grantCard(page, g2);
    await card.locator('button.ask-erasure').click();
    const dlg = page.locator('dialog.confirm[open]');
    await dlg.waitFor();
    assert.match(await dlg.textContent(), /Ask Acme Bank \(demo\) to erase what it read\?.*You can ask once per access\./s);
    await shots(page, 'ask-confirm');
    await dlg.locator('button:has-text("Ask to erase")').click();
    await card.locator('.erasure.pending').waitFor({ timeout: 20000 });
    assert.equal(await card.locator('button.revoke').isEnabled(), true, 'the access itself goes on');
    assert.equal(await card.locator('input.also-erase').count(), 0);
    assert.equal(await card.locator('button.ask-erasure').count(), 0);
    assert.deepEqual(asked, ['revoke', 'erasure', 'erasure']);
  });

  await t.test('on a device whose clock is past the deadline, the unanswered request is OVERDUE', async () => {
    const { context, page: later } = await newPage(DESKTOP);
    await later.clock.setFixedTime(new Date(Date.now() + 31 * 86400000));
    await later.goto(vault.url);
    await later.waitForSelector('#signup-form'); // a first visit on this device
    await unlock(later, handle, PASS);
    await later.waitForSelector('#nav-access', { timeout: 30000 });
    await go(later, 'access');
    const card = later.locator(`li.grant[data-grant="${g2}"]`);
    await card.locator('.erasure.overdue').waitFor();
    assert.match(await card.locator('.erasure').textContent(), /^OVERDUE: no answer since \d{1,2} \w{3} \d{4}; it was due by \d{1,2} \w{3} \d{4}\./);
    // The answered one stays answered, whatever the clock.
    await later.locator(`li.grant[data-grant="${g1}"] .erasure.refused`).waitFor();
    await shots(later, 'overdue');
    await context.close();
  });

  await t.test('the organization erases (signed): shown as erased', async () => {
    const a = cli('org', 'answer-erasure', g2, '--erased');
    assert.equal(a.status, 0, a.stderr);
    const card = grantCard(page, g2);
    await card.locator('.erasure.erased').waitFor({ timeout: 20000 });
    assert.match(await card.locator('.erasure').textContent(), /^✓ Erased \(signed by Acme Bank \(demo\) on \d{1,2} \w{3} \d{4}\)\./);
    await shots(page, 'erased');
  });

  assert.deepEqual(problems, [], 'no page error or CSP violation');
});

// ---- which answers the page believes (Node, entries built here) ------------------------------

const CUS = 'cus_erasure1';
const ORG_ID = 'org_bank';
const GRANT = 'grt_0123456789abcdef0123456789abcdef';
const T0 = '2026-11-01T10:00:00Z';
const DUE = '2026-12-01T10:00:00Z';

async function orgKey() {
  const seed = newSecret();
  return { seed, pub: await ed25519Public(seed) };
}

test('an answer is believed only when it answers your request first, with the key the organization held then', async () => {
  const k1 = await orgKey();
  const k2 = await orgKey(); // after a key change at ledger index 20
  const forger = await orgKey();
  const log = { history: [{ index: 1, identityKey: k1.pub }, { index: 20, identityKey: k2.pub }] };
  let fetched = 0;
  const keyLog = async () => {
    fetched += 1;
    return log;
  };
  const asked = (index, grant = GRANT) => ({ index, event: { type: 'erasure_requested', customer_id: CUS, org_id: ORG_ID, grant_id: grant, due: DUE, at: T0 } });
  async function answer(index, requestIndex, { signer = k1, claimed = signer.pub, outcome = 'refused', reason = REASON, shown = reason, grant = GRANT, org = ORG_ID } = {}) {
    const statement = { customer_id: CUS, org_id: org, grant_id: grant, request_index: requestIndex, outcome, reason };
    const signature = await signErasureAnswer(signer.seed, statement);
    const event = { type: 'erasure_answered', customer_id: CUS, org_id: org, grant_id: grant, request_index: requestIndex, outcome, identity_key: b64url(claimed), signature: b64url(signature), at: '2026-11-05T10:00:00Z' };
    if (shown !== null) event.reason = shown;
    return { index, event };
  }
  const before = Date.parse(DUE) - 1000;
  const check = (entries, now = before) => checkErasures(CUS, entries, keyLog, now);

  assert.deepEqual(keyAt(log, 20), k1.pub, 'the key held just BEFORE the index');
  assert.deepEqual(keyAt(log, 21), k2.pub);
  assert.equal(keyAt(log, 1), null);

  // Unanswered: pending, then overdue on the device's clock.
  let got = await check([asked(5)]);
  assert.equal(got.byGrant.get(GRANT).state, 'pending');
  got = await check([asked(5)], Date.parse(DUE) + 1000);
  assert.equal(got.byGrant.get(GRANT).state, 'overdue');

  // Genuine refusal and erasure.
  got = await check([asked(5), await answer(6, 5)], Date.parse(DUE) + 1000);
  const r = got.byGrant.get(GRANT);
  assert.equal(r.state, 'refused');
  assert.deepEqual(r.answer, { outcome: 'refused', reason: REASON, answeredAt: '2026-11-05T10:00:00Z', answerIndex: 6 });
  assert.equal(got.bad.size, 0);
  got = await check([asked(5), await answer(6, 5, { outcome: 'erased', reason: null })]);
  assert.equal(got.byGrant.get(GRANT).state, 'erased');
  // After the key change, the new key; the old one no longer counts.
  got = await check([asked(5), await answer(25, 5, { signer: k2 })]);
  assert.equal(got.byGrant.get(GRANT).state, 'refused');

  const refused = async (entries, why) => {
    const out = await check(entries);
    const idx = entries.at(-1).index;
    assert.equal(out.byGrant.get(GRANT)?.answer ?? null, null, why.source);
    assert.match(out.bad.get(idx) || '', why);
    if (out.byGrant.get(GRANT)) {
      assert.equal(out.byGrant.get(GRANT).state, 'pending');
      assert.equal(out.byGrant.get(GRANT).rejected.at(-1).index, idx);
    }
  };
  await refused([asked(5), await answer(6, 5, { shown: 'We erased everything.' })], /signature .* does not verify/);
  await refused([asked(5), await answer(6, 5, { signer: forger, claimed: k1.pub })], /signature .* does not verify/);
  await refused([asked(5), await answer(6, 5, { signer: forger })], /did not hold when it answered/);
  await refused([asked(5), await answer(25, 5, { signer: k1 })], /did not hold when it answered/);
  await refused([asked(5), await answer(6, 4)], /answers no erasure request/);
  await refused([await answer(6, 5)], /answers no erasure request/);
  await refused([asked(5), asked(7, 'grt_ffffffffffffffffffffffffffffffff'), await answer(8, 7)], /answers no erasure request/);
  await refused([asked(5), await answer(6, 5, { org: 'org_other' })], /not from the organization you asked/);
  await refused([asked(5), await answer(6, 5, { outcome: 'refused', reason: null })], /gives no reason/);
  // Only the first answer counts: a second (even genuine) one is not believed.
  got = await check([asked(5), await answer(6, 5), await answer(7, 5, { outcome: 'erased', reason: null })]);
  assert.equal(got.byGrant.get(GRANT).state, 'refused');
  assert.match(got.bad.get(7), /not the organization’s first answer/);
  // A first answer that failed still uses up the request.
  got = await check([asked(5), await answer(6, 5, { signer: forger }), await answer(7, 5)]);
  assert.equal(got.byGrant.get(GRANT).state, 'pending');
  assert.equal(got.bad.size, 2);
  // A key log that does not verify: nothing believed.
  const broken = await checkErasures(CUS, [asked(5), await answer(6, 5)], async () => {
    throw new Error('no');
  }, before);
  assert.match(broken.bad.get(6), /key log does not verify/);
  assert.ok(fetched > 0);
});

test('erasure events in words', () => {
  assert.equal(sentence({ type: 'erasure_requested', due: '2026-12-24T10:00:00Z' }, ORG), `You asked ${ORG} to erase what it read under a grant (answer due 24 Dec 2026)`);
  assert.equal(sentence({ type: 'erasure_answered', outcome: 'erased' }, ORG), `${ORG} answered your erasure request: erased`);
  assert.equal(sentence({ type: 'erasure_answered', outcome: 'refused', reason: REASON }, ORG), `${ORG} answered your erasure request: refused: ${REASON}`);
});
