// The readable export (issue 13 item 6), in Chromium against the real vault and the real CLI as
// the organization: Account → "See everything" opens a page that says in words what the export
// file holds — the stored text (opened on this device), a file by its name (never its bytes),
// each organization with its 12 words, purposes, until-date and reads, the requests answered or
// not, and the history's count from the page's own checks — prints without buttons, keeps the
// file download beside it, and does not widen a 390 px screen. Screenshots go to
// target/screenshots/export/.
//
// Run: `node --test tests/browser/export.test.mjs` after `cargo build --bin assent` and `make web`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { identityWords } from '../../web/src/words.js';
import {
  DESKTOP, PHONE, SHOTS, cli as runCli, go, keyFileFingerprint, DEMO_ORG_KEY, newPage as openPage, saveText, signUp,
  openSuite, closeSuite,
} from './harness.mjs';

const PASS = 'correct horse battery staple 42';
const EMAIL = 'erin@example.com';
const ADDRESS = '12 Long Lane\nLondon EC1A 1AA';
const ID = 'dpv:IdentityVerification';
const FRAUD = 'dpv:FraudPreventionAndDetection';
const MARKETING = 'dpv:Marketing';

let vault;
let tmp;
let browser;
let shots;
const problems = [];

before(async () => {
  ({ tmp, vault, browser, shots } = await openSuite('export'));
});

after(() => closeSuite({ tmp, vault, browser }));

const cli = (...args) => runCli(vault, args);
const newPage = (viewport, extra = {}) => openPage(browser, viewport, extra, problems);

/** Stores text through the page's editor and waits until the screen has settled on it. */
async function storeText(page, label, text) {
  await saveText(page, label, text);
  await page.waitForTimeout(700); // the re-render after the live announcement of the save
}

/** Sets up an account with text, a named file, one approved request (read once) and one declined. */
async function setUp(page, handle) {
  await signUp(page, vault.url, handle, PASS);
  await storeText(page, 'email', EMAIL);
  await storeText(page, 'postal_address', ADDRESS);
  const bytes = Buffer.alloc(2945, 7);
  bytes.write('%PDF-1.4', 0);
  await page.selectOption('#env-label', 'document');
  await page.check('#env-kind-file');
  await page.setInputFiles('#env-file', { name: 'tenancy-agreement.pdf', mimeType: 'application/pdf', buffer: bytes });
  await page.click('#envelope-form button[type=submit]');
  await page.waitForSelector('li[data-label="document"] .value');

  const asked = cli('org', 'request', '--customer', handle, '--labels', 'email,document', '--purposes', `${ID},${FRAUD}`, '--duration', '30d', '--justification', 'We check who you are');
  assert.equal(asked.status, 0, asked.stderr);
  const customerId = JSON.parse(asked.stdout).customer_id;
  await go(page, 'requests');
  const card = page.locator('li.request');
  await card.waitFor();
  for (const box of await card.locator('input.choose-label, input.choose-purpose').all()) if (!(await box.isChecked())) await box.check();
  await card.locator('input.fp-input').fill(identityWords(await keyFileFingerprint(DEMO_ORG_KEY)));
  await card.locator('.anchor.ok').waitFor();
  await card.locator('button.approve').click();
  await page.waitForSelector('#view-requests .empty');
  const r = cli('org', 'read', '--customer', customerId, '--label', 'email', '--purpose', FRAUD);
  assert.equal(r.status, 0, r.stderr);

  const second = cli('org', 'request', '--customer', handle, '--labels', 'phone', '--purposes', MARKETING, '--duration', '7d', '--justification', 'Offers by text message');
  assert.equal(second.status, 0, second.stderr);
  await go(page, 'data');
  await go(page, 'requests');
  await page.locator('li.request button:has-text("Decline")').click();
  await page.waitForSelector('#view-requests .empty');
  return customerId;
}

async function openExport(page) {
  await go(page, 'account');
  await page.click('#see-export');
  await page.waitForSelector('article.export');
}

test('Account → See everything: the export in words, printable, with the file beside it', async (t) => {
  const { page } = await newPage(DESKTOP);
  const handle = `erin-${Date.now() % 100000}`;
  const customerId = await setUp(page, handle);
  await openExport(page);
  assert.equal(await page.evaluate(() => location.hash), '#/account/export');
  const article = page.locator('article.export');
  const text = await article.textContent();

  await t.test('your data: the text opened here, a file by its name, type, size, last changed', async () => {
    assert.equal(await page.textContent('li.export-item[data-label="email"] .value'), EMAIL);
    assert.equal(await page.textContent('li.export-item[data-label="postal_address"] .value'), ADDRESS);
    assert.match(await page.textContent('li.export-item[data-label="email"] .meta'), /^Text · 16 bytes · last changed \d{1,2} \w+ \d{4}/);
    assert.doesNotMatch(await page.textContent('li.export-item[data-label="email"] .meta'), /as the vault reports/);
    assert.equal(await page.textContent('li.export-item[data-label="document"] .file-name'), 'tenancy-agreement.pdf');
    assert.match(await page.textContent('li.export-item[data-label="document"] .meta'), /^PDF · 2\.9 KB · last changed/);
    assert.doesNotMatch(text, /%PDF/, 'no file bytes on the page');
    assert.match(await page.textContent('#export-data h3'), /Your data \(3 items\)/);
  });

  await t.test('who may read what: the organization with its 12 words, purposes, until when, reads', async () => {
    const org = page.locator('section.export-org[data-org="org_demo_acme"]');
    assert.equal(await org.locator('h4').textContent(), 'Acme Bank (demo)');
    assert.equal((await org.locator('.words').textContent()).trim(), identityWords(await keyFileFingerprint(DEMO_ORG_KEY)));
    const grant = await org.locator('li.export-grant').textContent();
    assert.match(grant, /^Your (email address and document|document and email address), for (fraud prevention and identity verification|identity verification and fraud prevention) only\. From /);
    const until = new Date(Date.now() + 30 * 86400000).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
    assert.match(grant, new RegExp(`until ${until}`));
    assert.match(grant, /Read 1 time\. Still allowed now\. You signed it; checked on this device\./);
    assert.equal(await org.locator('a.receipt-link').isVisible(), true);
  });

  await t.test('requests: answered yes and no, from the checked history', async () => {
    const reqs = await page.locator('#export-requests li').allTextContents();
    assert.equal(reqs.length, 2, reqs.join('\n'));
    assert.ok(reqs.some((x) => /^Acme Bank \(demo\) asked on .* for your (email address and document|document and email address), .*: you said yes on /.test(x)), reqs.join('\n'));
    assert.ok(reqs.some((x) => /^Acme Bank \(demo\) asked on .* for your phone number, for marketing: you said no on /.test(x)), reqs.join('\n'));
    assert.doesNotMatch(reqs.join('\n'), /as the vault reports/);
  });

  await t.test('history: the count from the page’s own checks', async () => {
    const summary = await page.textContent('.history-summary');
    assert.match(summary, /^✓ \d+ entries, complete and /);
    const n = Number(summary.match(/(\d+) entries/)[1]);
    assert.ok(n >= 9, `${n} entries`);
    // The same count the Ledger screen checked.
    await go(page, 'ledger');
    await page.waitForSelector('#ledger-status.ok');
    assert.match(await page.textContent('#ledger-status'), new RegExp(`Your history \\(${n} entries\\)`));
    await openExport(page);
    assert.match(await page.textContent('.history-summary'), /unchanged since you last looked on this device/);
  });

  await t.test('no jargon, no raw ids', async () => {
    assert.doesNotMatch(text, /ciphertext|JSON|grant|grt_|req_|env_|org_demo|cus_/i);
  });

  await t.test('the file beside it: the same download as on Account', async () => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export-file')]);
    const file = JSON.parse(readFileSync(await dl.path(), 'utf8'));
    assert.equal(file.format, 'assent-export/v1');
    assert.equal(file.customer.customer_id, customerId);
    assert.equal(file.envelopes.find((e) => e.label === 'email').text, EMAIL);
    assert.equal(file.ledger.verified, true);
    assert.match(dl.suggestedFilename(), new RegExp(`^assent-export-${handle}-\\d{4}-\\d\\d-\\d\\d\\.json$`));
    assert.equal(await page.textContent('#export-file'), 'Download everything (file)');
    await shots(page, 'export');
  });

  await t.test('prints without the tabs or buttons', async () => {
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('#nav').isVisible(), false, 'printed without the tabs');
    assert.equal(await page.locator('button.print').isVisible(), false, 'printed without buttons');
    assert.equal(await page.locator('#export-file').isVisible(), false, 'printed without buttons');
    assert.equal(await page.locator('a.back').isVisible(), false, 'printed without the back link');
    assert.equal(await page.locator('li.export-item[data-label="email"] .value').isVisible(), true);
    await page.pdf?.({ path: join(SHOTS, 'export', 'export-print.pdf') }).catch(() => {});
    await page.screenshot({ path: join(SHOTS, 'export', 'export-print.png'), fullPage: true });
    await page.emulateMedia({ media: 'screen' });
  });

  await t.test('Account keeps the download, and Back returns to it', async () => {
    await page.click('a.back');
    await page.waitForSelector('#see-export');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const file = JSON.parse(readFileSync(await dl.path(), 'utf8'));
    assert.equal(file.envelopes.length, 3);
    await shots(page, 'account');
  });

  await t.test('an access you ended says so, and when', async () => {
    await go(page, 'access');
    await page.click('li.grant button.revoke');
    await page.waitForSelector('li.grant.ended .badge.revoked', { timeout: 20000 });
    await openExport(page);
    const grant = await page.locator('li.export-grant').textContent();
    assert.match(grant, /until \d{1,2} \w+ \d{4} at \d\d:\d\d, when you ended it\. Read 1 time\. No longer allowed\./);
    assert.equal(await page.locator('li.export-grant.ended').count(), 1);
    await shots(page, 'export-ended');
  });

  assert.deepEqual(problems, [], 'no page error or CSP violation');
});

test('at 390 px with a 64-character handle and long text nothing overflows', async () => {
  const { context, page } = await newPage(PHONE, { isMobile: true, hasTouch: true });
  const handle = `e${'x'.repeat(56)}-${String(Date.now() % 1000000).padStart(6, '0')}`;
  assert.equal(handle.length, 64);
  await setUp(page, handle).catch(async (e) => {
    await page.screenshot({ path: join(SHOTS, 'export', 'setup-failed.png'), fullPage: true });
    throw e;
  });
  await storeText(page, 'full_name', `${'Z'.repeat(80)} ${'y'.repeat(40)}`);
  await openExport(page);
  await page.waitForTimeout(100);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the export page is ${width} px wide`);
  await go(page, 'account');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'the account page widened');
  await openExport(page);
  await shots(page, 'export-long-handle');
  await context.close();
  assert.deepEqual(problems, [], 'no page error or CSP violation');
});
