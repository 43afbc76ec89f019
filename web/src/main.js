// The dashboard: wiring of the screens. All customer-side crypto happens in this page
// (device.js, crypto/, ledger/); the vault sees only ciphertext, wraps and signatures.
import { Api } from './api.js';
import { logIn, signUp, WrongPassphrase } from './device.js';
import { h, replace, toast } from './ui/dom.js';
import { renderAuth } from './ui/auth.js';
import { renderData } from './ui/data.js';
import { renderRequests } from './ui/requests.js';
import { renderAccess } from './ui/access.js';
import { renderLedger } from './ui/ledger.js';
import { renderAccount } from './ui/account.js';
import { labelWords, list } from './words.js';
import { parseRoute } from './route.js';

const VIEWS = {
  data: ['Data', renderData],
  requests: ['Requests', renderRequests],
  access: ['Access', renderAccess],
  ledger: ['Ledger', renderLedger],
  account: ['Account', renderAccount],
};

const $ = (id) => document.getElementById(id);
const api = new Api('');

const ctx = {
  session: null,
  ledger: null,
  notice: null,
  view: 'data',
  async refresh() {
    await renderNav();
    await show(ctx.view, { focus: false });
  },
  rerender() {
    return show(ctx.view, { focus: false });
  },
  /** An organization's request link: `#/requests/{request_id}?fp=<fingerprint>` (route.js). */
  link: null,
  async checkLedger() {
    const L = await ctx.session.checkLedger();
    ctx.ledger = L;
    renderAlert();
    return L;
  },
  async afterRevoke() {
    // The organization's wrapped keys are gone; re-encrypt the affected data now if the keys
    // are open (otherwise the next unlock does it).
    if (ctx.session.unlocked) await rotate();
    await ctx.refresh();
  },
  rotate: () => rotate(),
  lock,
};

function lock(notice) {
  if (ctx.session) ctx.session.lock();
  ctx.session = null;
  ctx.ledger = null;
  ctx.link = null;
  replace($('nav'));
  $('nav').hidden = true;
  replace($('who'));
  renderAlert();
  if (location.hash) history.replaceState(null, '', location.pathname);
  startAuth(typeof notice === 'string' ? notice : undefined);
}

api.onUnauthorized = () => {
  if (ctx.session) lock('Your session ended (sessions last 15 minutes). Unlock again to continue.');
};

function renderAlert() {
  const el = $('ledger-alert');
  const L = ctx.ledger;
  if (!L || L.ok) {
    el.hidden = true;
    replace(el);
    return;
  }
  replace(el,
    h('p', {}, h('strong', {}, 'Warning: the vault’s ledger failed verification. '), L.failure.message),
    h('p', {}, 'Do not rely on what this vault shows about your data until this is explained. ', h('a', { href: '#/ledger' }, 'See the ledger')));
  el.hidden = false;
}

async function renderNav() {
  if (!ctx.session) return;
  let pending = 0;
  try {
    pending = (await ctx.session.requests()).filter((r) => r.status === 'pending').length;
  } catch {
    /* shown by the view */
  }
  const links = Object.entries(VIEWS).map(([id, [title]]) =>
    h('a', { href: `#/${id}`, id: `nav-${id}`, 'aria-current': ctx.view === id ? 'page' : undefined },
      title, id === 'requests' && pending ? h('span', { class: 'count', 'aria-label': `, ${pending} waiting` }, String(pending)) : null));
  replace($('nav'), h('ul', {}, links.map((a) => h('li', {}, a))));
  $('nav').hidden = false;
}

let renderSeq = 0;
async function show(view, { focus = true } = {}) {
  if (!ctx.session) return;
  const route = parseRoute(`#/${view}`);
  if (route.link) ctx.link = route.link;
  view = route.view;
  if (!VIEWS[view]) view = 'data';
  ctx.view = view;
  const seq = ++renderSeq;
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.id === `nav-${view}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = $('main');
  main.setAttribute('aria-busy', 'true');
  const scratch = h('div', { class: 'view', id: `view-${view}` });
  try {
    const heading = await VIEWS[view][1](ctx, scratch);
    if (seq !== renderSeq) return; // a newer navigation won
    replace(main, scratch);
    document.title = `${VIEWS[view][0]} · Assent`;
    if (focus && heading) heading.focus();
  } catch (e) {
    if (seq !== renderSeq || !ctx.session) return;
    replace(main, h('div', { class: 'view' }, h('h2', { tabindex: '-1' }, VIEWS[view][0]), h('p', { class: 'error', role: 'alert' }, e.message)));
  } finally {
    main.removeAttribute('aria-busy');
  }
}

async function rotate() {
  try {
    const done = await ctx.session.rotatePending();
    if (done.length) toast(`Your ${list(done.map(labelWords))} ${done.length === 1 ? 'was' : 'were'} re-encrypted under a new key after a revocation.`);
  } catch (e) {
    toast(`Re-encrypting after a revocation failed: ${e.message}`, 'error');
  }
}

/** Log in (token first: revocation works at once), then open the keys, rotate, verify the ledger. */
async function enter(handle, passphrase) {
  let result;
  try {
    result = await logIn(api, handle, passphrase, localStorage);
  } catch (e) {
    if (e instanceof WrongPassphrase) throw new Error('Wrong handle or passphrase. Check both and try again.');
    throw e;
  }
  const { session, kek } = result;
  ctx.session = session;
  replace($('who'), h('span', { class: 'handle', id: 'who-handle' }, session.handle),
    h('button', { type: 'button', class: 'secondary', id: 'lock', onclick: () => lock() }, 'Lock'));
  const route = parseRoute(location.hash);
  ctx.view = VIEWS[route.view] ? route.view : 'data';
  if (route.link) ctx.link = route.link;
  await renderNav();
  let keyProblem = null;
  try {
    await session.unlock(kek);
  } catch (e) {
    keyProblem = e.message;
  }
  if (keyProblem) toast(`Your keys could not be opened (${keyProblem}). You can still revoke access.`, 'error');
  else await rotate();
  await ctx.checkLedger();
  await ctx.refresh();
  $('main').querySelector('h2')?.focus();
}

function startAuth(notice, mode) {
  renderAuth($('main'), {
    notice,
    mode,
    onUnlock: enter,
    onSignUp: async (handle, pass) => {
      await signUp(api, handle, pass);
      await enter(handle, pass);
      toast('Your vault is ready. Your keys were made on this device.');
    },
  });
  document.title = 'Assent';
}

window.addEventListener('hashchange', () => {
  if (!location.hash.startsWith('#/')) return; // e.g. the skip link
  if (ctx.session) show(location.hash.slice(2));
});

startAuth(undefined, localStorage.getItem('assent.vault_key') ? 'unlock' : 'signup');
