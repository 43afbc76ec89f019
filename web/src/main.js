// The dashboard: wiring of the screens. All customer-side crypto happens in this page
// (device.js, crypto/, ledger/); the vault sees only ciphertext, wraps and signatures.
// While signed in, the page follows the live stream (live.js) and renews its token (session.js);
// every event only makes it look again: re-verify the ledger, re-render the screen.
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
import { LiveStream } from './live.js';
import { SessionKeeper } from './session.js';
import { busyHere, captureEdits, restoreEdits, trackEdits } from './formstash.js';
import { acceptRotation } from './ledger/guard.js';

const VIEWS = {
  data: ['Data', renderData],
  requests: ['Requests', renderRequests],
  access: ['Access', renderAccess],
  ledger: ['Ledger', renderLedger],
  account: ['Account', renderAccount],
};

// What this device remembers between visits (not secret): the last handle that unlocked here
// (localStorage), and that this tab was signed in (sessionStorage: a reload says so).
const LAST_HANDLE = 'assent.last_handle';
const SIGNED_IN = 'assent.signed_in';

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
  /** The account was closed (account.js): forget it on this device and offer "Create". */
  closed: (answer) => ctx.lock({ closed: answer || {} }),
};

// ---- session: renewal, end, what was typed ----------------------------------------------

/** Kept in memory only when a session ends: { customerId, hash, edits } (never a passphrase). */
let stash = null;

const keeper = new SessionKeeper({
  api,
  onRenewed: () => live?.reconnect(),
  onEnded: (reason) => ctx.lock({ ended: reason }),
  onWarn: (endsAt) => toast(`For your safety this session ends at ${endsAt.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })}, 12 hours after you unlocked. Save what you are typing: you will need your passphrase again.`, 'info', { seconds: 60, sticky: true }),
});

let live = null;

const ENDED = {
  idle: 'You were away for a while, so the page locked itself and forgot your keys. Unlock to go on where you were.',
  reauthenticate: 'You unlocked over 12 hours ago, so for your safety the vault asks for your passphrase again.',
  expired: 'Your session ended. Unlock to go on where you were.',
};
const KEPT = ' What you had typed is kept and comes back once you have unlocked.';

/**
 * `arg`: nothing (the customer locked), a notice string, { ended: reason } (the session ended:
 * what was typed is kept in memory), or { closed: counts } (the account is gone).
 */
function lock(arg) {
  const ended = arg && typeof arg === 'object' ? arg.ended : null;
  const closed = arg && typeof arg === 'object' ? arg.closed : null;
  let handle = ctx.session?.handle || localStorage.getItem(LAST_HANDLE) || '';
  if (ended && ctx.session) {
    stash = { customerId: ctx.session.customerId, hash: location.hash, edits: captureEdits($('main')) };
  } else if (!ended) {
    stash = null;
    sessionStorage.removeItem(SIGNED_IN);
  }
  if (closed) {
    // Nothing of a closed account stays on this device: its handle, its pins.
    const prefix = ctx.session ? `assent.account.${ctx.session.customerId}.` : null;
    for (const k of Object.keys(localStorage)) if (prefix && k.startsWith(prefix)) localStorage.removeItem(k);
    if (localStorage.getItem(LAST_HANDLE) === handle) localStorage.removeItem(LAST_HANDLE);
    handle = '';
  }
  live?.stop();
  live = null;
  keeper.stop();
  clearTimeout(retryTimer);
  clearTimeout(rotateTimer);
  if (ctx.session) ctx.session.lock();
  ctx.session = null;
  ctx.ledger = null;
  ctx.link = null;
  replace($('nav'));
  $('nav').hidden = true;
  replace($('who'));
  renderAlert();
  if (location.hash) history.replaceState(null, '', location.pathname);
  if (closed) {
    const n = (k) => (Number.isSafeInteger(closed[k]) ? closed[k] : 0); // counts from the vault: words only
    startAuth({ mode: 'signup', notice: `Your account is closed. ${n('grants_revoked')} ${n('grants_revoked') === 1 ? 'access was' : 'accesses were'} ended, ${n('requests_declined')} waiting ${n('requests_declined') === 1 ? 'request was' : 'requests were'} declined and ${n('envelopes_erased')} stored ${n('envelopes_erased') === 1 ? 'item was' : 'items were'} destroyed. Nothing of it is kept on this device.` });
    return;
  }
  const typed = ended && stash?.edits.fields.size ? KEPT : '';
  const notice = ended ? (ENDED[ended] || ENDED.expired) + typed : typeof arg === 'string' ? arg : undefined;
  startAuth({ notice, mode: 'unlock', handle });
}

api.onUnauthorized = (err) => {
  if (ctx.session) ctx.lock({ ended: err.code === 'reauthenticate' ? 'reauthenticate' : 'expired' });
};

// ---- the live stream -----------------------------------------------------------------------

let refreshing = null;
let again = false;
let retryTimer = null;

/**
 * Looks again after an announcement: re-verifies the ledger, updates the badge, re-renders the
 * screen keeping what was typed. Announcements that arrive meanwhile are coalesced into one more
 * look. A screen in the middle of something (a dialog, a busy button, a chosen file, a passphrase
 * being typed) is re-rendered once it is free (checked each second, without fetching again).
 */
function lookAgain() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  const session = ctx.session;
  refreshing = (async () => {
    try {
      do {
        again = false;
        if (!session || ctx.session !== session) return; // locked meanwhile: nothing to look at
        await ctx.checkLedger();
        await updateBadge();
        await renderWhenFree(session);
      } while (again);
    } catch {
      /* the screens show their own errors; the next event looks again */
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// Screens that show nothing an announcement changes (and hold passphrase fields).
const STILL = new Set(['account']);

/** Re-renders the current screen now, or once it is no longer in the middle of something. */
function renderWhenFree(session) {
  clearTimeout(retryTimer);
  if (ctx.session !== session || STILL.has(ctx.view)) return undefined;
  if (!busyHere($('main'))) return show(ctx.view, { focus: false, keep: true });
  retryTimer = setTimeout(() => renderWhenFree(session), 1000);
  return undefined;
}

let rotateTimer = null;
/** After someone's access ended elsewhere: re-encrypt what it could read, unless that device did. */
function rotateLater() {
  clearTimeout(rotateTimer);
  rotateTimer = setTimeout(async () => {
    if (!ctx.session?.unlocked) return;
    try {
      const done = await ctx.session.rotatePending();
      if (done.length) toast(`Your ${list(done.map(labelWords))} got a new lock after an access was ended on another device.`);
    } catch {
      /* the other device did it first (a version conflict), or the next unlock does it */
    }
  }, 5000);
}

function follow() {
  live?.stop();
  live = new LiveStream({
    token: () => api.token,
    // Every kind (an erasure_answered too) re-verifies and re-renders: Access then shows the
    // answer once it checks against the ledger and the organization's key log.
    onEvent: (ev) => {
      if (ev.type === 'grant_revoked') rotateLater();
      lookAgain();
    },
    // The stream's token ran out: renew (if still allowed) and reconnect, or end the session.
    onExpired: async () => (ctx.session ? keeper.expired() : false),
  });
  live.start();
}

// ---- screens ----------------------------------------------------------------------------------

function renderAlert() {
  const el = $('ledger-alert');
  const L = ctx.ledger;
  el.className = 'ledger-alert';
  if (!L || L.ok) {
    el.hidden = true;
    replace(el);
    return;
  }
  if (L.failure.kind === 'key_rotated' && L.rotation) {
    // Not an attack but a change to look at: the page's warning colours, not the red alarm.
    el.className = 'notice rotation-notice';
    replace(el, rotationOffer(L.rotation));
    el.hidden = false;
    return;
  }
  replace(el,
    h('p', {}, h('strong', {}, 'Warning: your history failed its checks on this device. '), L.failure.message),
    h('p', {}, 'Do not rely on what this vault shows about your data until this is explained. ', h('a', { href: '#/ledger' }, 'See your history')));
  el.hidden = false;
}

/**
 * The vault's key changed along a statement signed by the key this device kept (guard.js checked
 * it, and that the new key signs the current history). Both keys are shown as groups of four;
 * accepting re-checks everything from the pinned key before moving the pin.
 */
function rotationOffer(r) {
  const error = h('p', { class: 'error', id: 'rotation-error', role: 'alert' });
  const accept = h('button', { type: 'button', class: 'primary', id: 'rotation-accept' }, 'Accept the new key');
  accept.addEventListener('click', async () => {
    accept.disabled = true;
    replace(error);
    try {
      await acceptRotation(api, localStorage, r.toKey);
      await ctx.checkLedger();
      await ctx.refresh();
      if (ctx.ledger?.ok) toast('The vault’s new key is accepted. Your history was checked with it and still extends what this device saw before.');
    } catch (e) {
      replace(error, e.message);
    } finally {
      accept.disabled = false;
    }
  });
  const date = new Date(r.at).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
  return h('div', { id: 'rotation' },
    h('h2', {}, 'Your vault changed its key'),
    h('p', {}, `The vault changed the key it signs your history with on ${date}. The old key signed this change, so it comes from the vault this device knows (checked here${r.steps > 1 ? `, through ${r.steps} changes` : ''}).`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Old key (kept on this device)'), h('dd', {}, h('code', { class: 'fingerprint', id: 'rotation-from' }, r.from.fingerprint)),
      h('dt', {}, 'New key'), h('dd', {}, h('code', { class: 'fingerprint', id: 'rotation-to' }, r.to.fingerprint))),
    h('p', {}, 'Until you accept it, this page cannot check your history: don’t approve requests or store new data. If you did not expect this, ask the vault’s operator first (they can tell you the new key’s groups of four).'),
    error, h('div', { class: 'actions' }, accept));
}

let pendingCount = 0;

async function renderNav() {
  if (!ctx.session) return;
  const links = Object.entries(VIEWS).map(([id, [title]]) => {
    const a = h('a', { href: `#/${id}`, id: `nav-${id}`, 'aria-current': ctx.view === id ? 'page' : undefined }, title);
    // Tapping the tab you are on looks again (the address does not change, so no hashchange).
    a.addEventListener('click', (e) => {
      if (location.hash === `#/${id}` && ctx.session) {
        e.preventDefault();
        show(id, { keep: true });
      }
    });
    return a;
  });
  replace($('nav'), h('ul', {}, links.map((a) => h('li', {}, a))));
  $('nav').hidden = false;
  await updateBadge();
}

/** The number of pending requests on the Requests tab (from GET /v1/me/requests: a count only). */
async function updateBadge() {
  if (!ctx.session) return;
  try {
    pendingCount = (await ctx.session.requests()).filter((r) => r.status === 'pending').length;
  } catch {
    return; /* shown by the view */
  }
  const a = $('nav-requests');
  if (!a) return;
  a.querySelector('.count')?.remove();
  if (pendingCount) a.append(h('span', { class: 'count', 'aria-label': `, ${pendingCount} waiting` }, String(pendingCount)));
}

let renderSeq = 0;
/** Edits kept from an ended session, for the first screen rendered after unlocking. */
let restoreNext = null;
/**
 * Renders a screen. `keep`: the customer's edits on the same screen survive (a live update, a
 * tap on its tab); after an ended session, `restoreNext` puts back what was typed.
 */
async function show(view, { focus = true, keep = false } = {}) {
  if (!ctx.session) return;
  const route = parseRoute(`#/${view}`);
  if (route.link) ctx.link = route.link;
  view = route.view;
  if (!VIEWS[view]) view = 'data';
  const same = ctx.view === view;
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
    // What was typed before the session ended goes back into the first render of its screen.
    const saved = restoreNext || (keep && same ? captureEdits(main) : null);
    restoreNext = null;
    const y = window.scrollY;
    replace(main, scratch);
    document.title = `${VIEWS[view][0]} · Assent`;
    if (saved) {
      restoreEdits(main, saved);
      if (keep) window.scrollTo(0, y);
    } else if (focus && heading) heading.focus();
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
  const { session, kek, answer } = result;
  ctx.session = session;
  localStorage.setItem(LAST_HANDLE, session.handle);
  sessionStorage.setItem(SIGNED_IN, session.handle);
  keeper.start(answer);
  replace($('who'), h('span', { class: 'handle', id: 'who-handle' }, session.handle),
    h('button', { type: 'button', class: 'secondary', id: 'lock', onclick: () => ctx.lock() }, 'Lock'));
  // What was open when the session ended comes back for the same account only.
  const back = stash && stash.customerId === session.customerId ? stash : null;
  stash = null;
  if (back?.hash && !location.hash) history.replaceState(null, '', back.hash);
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
  if (keyProblem) toast(`Your keys could not be opened (${keyProblem}). You can still end access.`, 'error');
  else await rotate();
  await ctx.checkLedger();
  await renderNav();
  restoreNext = back?.edits || null;
  await show(ctx.view, { focus: !back });
  if (!back) $('main').querySelector('h2')?.focus();
  follow();
}

function startAuth({ notice, mode, handle } = {}) {
  renderAuth($('main'), {
    notice,
    mode,
    handle,
    onUnlock: enter,
    onSignUp: async (h2, pass) => {
      await signUp(api, h2, pass);
      await enter(h2, pass);
      toast('Your vault is ready. Your keys were made on this device.');
    },
    onForgetHandle: () => localStorage.removeItem(LAST_HANDLE),
  });
  document.title = 'Assent';
}

window.addEventListener('hashchange', () => {
  if (!location.hash.startsWith('#/')) return; // e.g. the skip link
  if (ctx.session) show(location.hash.slice(2));
});

trackEdits($('main'));

// Back to a page that was hidden (another app, a sleeping phone): look again once; the stream
// resumes by itself with Last-Event-ID.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && ctx.session) lookAgain();
});

// A device that unlocked before opens on Unlock with its handle; a first visit on "Create".
// A reload forgets the keys (they are derived from the passphrase and never stored): say so.
{
  const reloaded = sessionStorage.getItem(SIGNED_IN);
  const last = localStorage.getItem(LAST_HANDLE);
  if (reloaded) {
    startAuth({ mode: 'unlock', handle: reloaded, notice: 'The page was reloaded, so it forgot your keys: they are made from your passphrase and never stored. Unlock to go on.' });
  } else {
    startAuth({ mode: last || localStorage.getItem('assent.vault_key') ? 'unlock' : 'signup', handle: last || '' });
  }
}

