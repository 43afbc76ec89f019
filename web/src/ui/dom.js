// Tiny DOM helpers. Everything is built with createElement and textContent (no innerHTML), so
// nothing from the vault or an organization is ever parsed as markup, and no inline style or
// script is needed under the page's Content-Security-Policy.

/** h('button', {class: 'primary', onclick: f, 'aria-label': 'x'}, 'text', child, …) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'required' || k === 'selected' || k === 'multiple') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let seq = 0;
export const uid = (p = 'id') => `${p}-${++seq}`;

/** A labelled form field: returns { wrap, input }. */
export function field(labelText, input, help) {
  const id = input.id || uid('f');
  input.id = id;
  const helpEl = help ? h('p', { class: 'help', id: `${id}-help` }, help) : null;
  if (helpEl) input.setAttribute('aria-describedby', helpEl.id);
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, labelText), input, helpEl), input };
}

/** Offers `data` (object → JSON, or bytes) as a file download. */
export function download(filename, data, type = 'application/json') {
  const body = data instanceof Uint8Array ? data : JSON.stringify(data, null, 2);
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = h('a', { href: url, download: filename, class: 'visually-hidden' }, 'download');
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Toasts: short messages stacked in #toast (role=status). They sit at the bottom, or at the top
// while a form field near the bottom has focus, so they never cover what is being typed; they
// go away after a few seconds (longer for errors), with a close button, and ordinary ones are
// cleared when the customer moves to another screen. A `sticky` toast (an Undo) stays across
// screens until its time is up.
const MAX_TOASTS = 3;

/** Bottom of the screen, or the top while the focused control (a field, the form's button) is low. */
function placeToasts() {
  const box = document.getElementById('toast');
  if (!box || box.hidden) return;
  const f = document.activeElement;
  const inForm = f && f !== document.body && f.matches && (f.matches('input, textarea, select') || f.closest('form, .request'));
  const r = inForm ? f.getBoundingClientRect() : null;
  box.classList.toggle('at-top', !!r && r.bottom > window.innerHeight - box.offsetHeight - 24);
}

function removeToast(item) {
  clearTimeout(item.timer);
  item.remove();
  const box = document.getElementById('toast');
  if (box && !box.children.length) box.hidden = true;
}

/**
 * Shows `message`; kind 'info' | 'error'. Options: seconds (default from the length, 4–8; 10 for
 * errors), sticky (kept across screens), action {label, run} (a button; the toast closes),
 * onExpire (called when the time is up without the action). Returns a function closing it.
 */
export function toast(message, kind = 'info', { seconds, sticky = false, action = null, onExpire = null } = {}) {
  const box = document.getElementById('toast');
  const item = h('div', { class: `toast-item ${kind}`, 'data-sticky': sticky ? 'true' : undefined });
  const secs = seconds ?? (kind === 'error' ? 10 : Math.min(8, 4 + Math.ceil(message.length / 40)));
  const text = h('p', {}, message);
  item.append(text);
  if (action) {
    // The time left, so the customer knows when it happens (updated once a second).
    const left = h('span', { class: 'toast-left' }, ` ${secs} s`);
    text.append(left);
    let n = secs;
    const tick = setInterval(() => {
      n -= 1;
      if (n <= 0 || !item.isConnected) clearInterval(tick);
      else left.textContent = ` ${n} s`;
    }, 1000);
  }
  if (action) {
    item.append(h('button', { type: 'button', class: 'toast-action', onclick: () => { removeToast(item); action.run(); } }, action.label));
  }
  item.append(h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Close message', onclick: () => { removeToast(item); if (onExpire) onExpire(); } }, '×'));
  item.timer = setTimeout(() => {
    removeToast(item);
    if (onExpire) onExpire();
  }, secs * 1000);
  // A new message replaces the ordinary ones still showing; Undo toasts stay.
  for (const c of [...box.children]) if (!c.dataset.sticky) removeToast(c);
  while (box.children.length >= MAX_TOASTS) {
    const old = [...box.children].find((c) => !c.dataset.sticky) || box.firstElementChild;
    removeToast(old);
  }
  box.append(item);
  box.hidden = false;
  placeToasts();
  return () => removeToast(item);
}

/** Clears the ordinary toasts (not the sticky ones): on every move to another screen. */
export function clearToasts() {
  const box = document.getElementById('toast');
  if (!box) return;
  for (const c of [...box.children]) if (!c.dataset.sticky) removeToast(c);
}

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', clearToasts);
  document.addEventListener('focusin', placeToasts);
  window.addEventListener('resize', placeToasts);
}

/** A modal confirmation (native <dialog>): resolves true when confirmed. */
export function confirmDialog({ title, body, confirm, danger = true }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': titleId });
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const yes = h('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => done(true) }, confirm);
    const no = h('button', { type: 'button', class: 'secondary', onclick: () => done(false) }, 'Cancel');
    dlg.append(h('h2', { id: titleId }, title), h('p', {}, body), h('div', { class: 'actions' }, no, yes));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}

/**
 * An error as a person reads it, saying what to do next. The vault's own refusals keep their
 * message (they name the problem); network and server failures get words instead of codes.
 */
export function plainError(e) {
  const msg = (e && e.message) || String(e);
  const status = e && typeof e.status === 'number' ? e.status : null;
  if (e && e.code === 'network') return 'The vault cannot be reached. Check your internet connection, then try again.';
  if (e && e.code === 'rate_limited') return 'Too many tries in a short time. Wait a minute, then try again.';
  if (e && e.code === 'already_revoked') return 'This access had already ended (perhaps from another device). The screen now shows where things stand.';
  if (e && e.code === 'erasure_already_requested') return 'You had already asked for erasure under this access (perhaps from another device). The screen now shows where it stands.';
  if (status !== null && status >= 500) return 'The vault had a problem and did not do this. Try again in a minute; if it keeps happening, tell the vault’s operator.';
  return msg;
}

/** Runs an async action with a button disabled and a busy state; errors go to `errorEl`. */
export async function busy(button, errorEl, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (errorEl) replace(errorEl);
  try {
    return await fn();
  } catch (e) {
    if (errorEl) replace(errorEl, plainError(e));
    else toast(plainError(e), 'error');
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}
