// Shared setup for the Chromium tests: a real vault (`target/debug/assent serve --demo`), Debian's
// Chromium through playwright-core, the real CLI as an organization, and page helpers (sign up,
// unlock, navigate, screenshots). Used by dashboard.test.mjs, hostile.test.mjs, consent.test.mjs and
// live.test.mjs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { fromB64url } from '../../web/src/crypto/bytes.js';
import { ed25519Public } from '../../web/src/crypto/keys.js';
import { fingerprint } from '../../web/src/crypto/sign.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// playwright-core is a devDependency of web/ (web/node_modules), not of this folder.
const { chromium } = createRequire(join(ROOT, 'web/package.json'))('playwright-core');
export const BIN = join(ROOT, 'target/debug/assent');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = join(ROOT, 'target/screenshots');
export const DEMO_ORG_KEY = join(ROOT, 'keys-example/demo-org.key');
export const DEMO_ORG = 'org_demo_acme';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export function need(path, hint) {
  assert.ok(existsSync(path), `${path} is missing: ${hint}`);
}

/** Checks the built pieces are there (the binary, the bundle, Chromium). */
export function needBuilt() {
  need(BIN, 'run `cargo build --bin assent`');
  need(join(ROOT, 'web/dist/app.js'), 'run `npm ci --prefix web && npm run build --prefix web`');
  need(CHROMIUM, 'install Debian’s chromium (`apt-get install -y chromium`)');
}

/**
 * Starts `assent serve --demo` on 127.0.0.1:0 (or `listen`) with its data in `dir` and the keys in
 * `keys` (default keys-example/). Returns { url, dir, proc, log() }.
 */
export async function startVault(dir, { keys = join(ROOT, 'keys-example'), listen = '127.0.0.1:0' } = {}) {
  const addr = join(dir, 'addr');
  rmSync(addr, { force: true });
  const proc = spawn(BIN, ['serve', '--demo', '--listen', listen, '--metrics-listen', '', '--data', join(dir, 'data'), '--keys', keys, '--web', join(ROOT, 'web'), '--addr-file', addr], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ASSENT_LOG: 'warn' },
  });
  let log = '';
  proc.stderr.on('data', (d) => {
    log += d;
  });
  const t0 = Date.now();
  while (!existsSync(addr) || !readFileSync(addr, 'utf8').trim()) {
    assert.ok(Date.now() - t0 < 20000, `the server did not start:\n${log}`);
    assert.equal(proc.exitCode, null, `the server exited:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  let url = readFileSync(addr, 'utf8').trim();
  if (!url.startsWith('http')) url = `http://${url}`;
  return { url, dir, proc, log: () => log };
}

/** Stops a vault started by startVault (SIGTERM: it signs a final checkpoint) and waits for it. */
export async function stopVault(vault) {
  if (vault.proc.exitCode !== null) return;
  const exited = new Promise((r) => vault.proc.once('exit', r));
  vault.proc.kill('SIGTERM');
  await exited;
}

/** A private copy of keys-example/ in `dir` (for `keygen --rotate`). Returns its path. */
export function copyDemoKeys(dir) {
  const keys = join(dir, 'keys');
  cpSync(join(ROOT, 'keys-example'), keys, { recursive: true, filter: (src) => !src.endsWith('.state.json') });
  return keys;
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * The real CLI against `vault` (startVault's answer), as the demo organization unless
 * ASSENT_ORG_KEY is given in `env`. Each key file's pins (`ASSENT_ORG_STATE`) are kept in the
 * vault's own directory, never beside the key file in keys-example/.
 */
export function cli(vault, args, env = {}) {
  const key = env.ASSENT_ORG_KEY || DEMO_ORG_KEY;
  const state = join(vault.dir, `${basename(key)}.state.json`);
  const r = spawnSync(BIN, args, {
    env: { ...process.env, ASSENT_SERVER: vault.url, ASSENT_ORG_KEY: DEMO_ORG_KEY, ASSENT_ORG_STATE: state, ASSENT_ADMIN_KEY: join(ROOT, 'keys-example/admin.key'), ASSENT_LOG: 'warn', ...env },
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A page in a fresh browser context; CSP violations and page errors are pushed to `problems`. */
export async function newPage(browser, viewport, extra = {}, problems = []) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, ...extra });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page };
}

/** Screenshots at desktop and phone size into `dir`, numbered in order. */
export function shooter(dir) {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (page, name) => {
    const no = String(++n).padStart(2, '0');
    const was = page.viewportSize();
    for (const [kind, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      await page.setViewportSize(size);
      await page.waitForTimeout(50);
      await page.screenshot({ path: join(dir, `${no}-${name}-${kind}.png`), fullPage: true });
    }
    await page.setViewportSize(was);
  };
}

/** Signs up on the page at `url` (keys made in the page) and waits for the data view. */
export async function signUp(page, url, handle, pass) {
  await page.goto(url);
  await page.waitForSelector('#signup-form');
  if (await page.locator('#tab-signup').getAttribute('aria-pressed') !== 'true') await page.click('#tab-signup');
  await page.fill('#signup-handle', handle);
  await page.fill('#signup-pass', pass);
  await page.fill('#signup-pass2', pass);
  await page.check('#signup-understand');
  await page.click('#signup-form button[type=submit]');
  await page.waitForSelector('#view-data', { timeout: 30000 });
}

export async function unlock(page, handle, pass) {
  if (await page.locator('#tab-unlock').getAttribute('aria-pressed') !== 'true') await page.click('#tab-unlock');
  await page.fill('#unlock-handle', handle);
  await page.fill('#unlock-pass', pass);
  await page.click('#unlock-form button[type=submit]');
}

export async function go(page, view) {
  await page.click(`#nav-${view}`);
  await page.waitForSelector(`#view-${view}`);
}

/** Stores a text envelope through the page's editor; waits until it shows. */
export async function putText(page, label, text) {
  await go(page, 'data');
  // A live re-render (after the previous save's announcement) can replace the form while it is
  // being filled; a select changed by automation is not a trusted edit, so the re-rendered form
  // would show the default item again. Fill until the form holds what we mean, then click.
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.waitForSelector('main:not([aria-busy="true"]) #envelope-form');
    await page.selectOption('#env-label', label);
    await page.check('#env-kind-text');
    await page.fill('#env-text', text);
    if ((await page.inputValue('#env-label')) === label && (await page.inputValue('#env-text')) === text) break;
  }
  await page.click('#envelope-form button[type=submit]');
}

/**
 * Stores a text envelope that must go through and waits until it shows. A live announcement
 * (of the previous save) may re-render the Data screen between the fill and the click; the save
 * is then tried again, up to three times. (Not for writes a test expects to be refused.)
 */
export async function saveText(page, label, text) {
  for (let attempt = 1; ; attempt++) {
    await putText(page, label, text);
    try {
      await page.waitForFunction(([l, t]) => document.querySelector(`li[data-label="${l}"] .value`)?.textContent === t, [label, text], { timeout: 10000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

/** An organization key file (JSON: org_id, name, ed25519_seed, x25519_secret). */
export const readKeyFile = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** The fingerprint of a key file's identity key, computed as the page does. */
export async function keyFileFingerprint(path) {
  return fingerprint(await ed25519Public(fromB64url(readKeyFile(path).ed25519_seed)));
}

/**
 * A test file's shared setup: a vault in a fresh temporary directory, Chromium, and a screenshot
 * folder `target/screenshots/<name>/` emptied first. Close it with `closeSuite`.
 */
export async function openSuite(name) {
  needBuilt();
  const tmp = mkdtempSync(join(tmpdir(), `assent-${name}-`));
  const vault = await startVault(tmp);
  const browser = await launchBrowser();
  rmSync(join(SHOTS, name), { recursive: true, force: true });
  return { tmp, vault, browser, shots: shooter(join(SHOTS, name)) };
}

export async function closeSuite({ tmp, vault, browser } = {}) {
  await browser?.close();
  vault?.proc.kill();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
