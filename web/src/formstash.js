// What the customer typed, kept across a re-render of the same screen (a live update, a tap on
// the tab you are on) and across an ended session (restored after unlocking). Only fields the
// customer changed are kept, never passwords or files, and only in memory.
// A field is found again by a key made of what identifies it on the screen (its id unless
// generated, its name or classes, the data-request/label/grant/org of its card), since a
// re-render makes new elements.

const AUTO_ID = /-\d+$/; // ids made by dom.js uid(): they change on every render
const SCOPES = ['data-request', 'data-label', 'data-grant', 'data-org'];
const dirty = new WeakSet();

const keepable = (el) => !(el instanceof HTMLInputElement && ['password', 'file', 'hidden', 'submit', 'button'].includes(el.type)) && !el.disabled;

/**
 * Marks fields as changed by the customer (call once on the element that holds the screens).
 * The page sets values without events (or marks them itself, in restoreEdits), so any input or
 * change event is an edit: the customer's own, or a tool's acting for them (an extension filling
 * a form, a test driving the page), whose events are not `isTrusted` but must survive a live
 * re-render all the same.
 */
export function trackEdits(root) {
  const mark = (e) => {
    if (e.target.matches?.('input, textarea, select')) dirty.add(e.target);
  };
  root.addEventListener('input', mark, true);
  root.addEventListener('change', mark, true);
}

function baseKey(el, root) {
  const parts = [];
  for (let n = el.parentElement; n && n !== root; n = n.parentElement) {
    const scope = SCOPES.find((a) => n.hasAttribute(a));
    if (scope) parts.push(`[${scope}=${n.getAttribute(scope)}]`);
    else if (n.id && !AUTO_ID.test(n.id)) parts.push(`#${n.id}`);
  }
  let own = el.tagName.toLowerCase();
  if (el.id && !AUTO_ID.test(el.id)) own += `#${el.id}`;
  else if (el.name) own += `[name=${el.name}]`;
  else if (el.classList.length) own += `.${[...el.classList].sort().join('.')}`;
  if (el.type === 'checkbox' || el.type === 'radio') own += `=${el.value}`;
  return `${parts.reverse().join(' ')} ${own}`;
}

/** Every field under `root` with its key (a repeated key gets its position). */
function keyed(root) {
  const seen = new Map();
  return [...root.querySelectorAll('input, textarea, select')].map((el) => {
    const base = baseKey(el, root);
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    return [`${base}#${n}`, el];
  });
}

/** → { fields: Map key → value|checked, focus: null | { key, start, end } } */
export function captureEdits(root) {
  const fields = new Map();
  let focus = null;
  for (const [key, el] of keyed(root)) {
    if (dirty.has(el) && keepable(el)) fields.set(key, el.type === 'checkbox' || el.type === 'radio' ? { checked: el.checked } : { value: el.value });
    if (el === document.activeElement && keepable(el)) {
      focus = { key };
      try {
        focus.start = el.selectionStart;
        focus.end = el.selectionEnd;
      } catch {
        /* no selection on this kind of field */
      }
    }
  }
  return { fields, focus };
}

/** Puts captured values back where the same fields exist again; returns how many were restored. */
export function restoreEdits(root, saved) {
  if (!saved) return 0;
  let n = 0;
  for (const [key, el] of keyed(root)) {
    const v = saved.fields.get(key);
    if (v && keepable(el)) {
      if ('checked' in v) el.checked = v.checked;
      else el.value = v.value;
      dirty.add(el);
      // The screen's own handlers update what depends on the field (shown parts, checks).
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
      n += 1;
    }
    if (saved.focus?.key === key) {
      el.focus({ preventScroll: true });
      if (saved.focus.start != null) {
        try {
          el.setSelectionRange(saved.focus.start, saved.focus.end);
        } catch {
          /* not a text field */
        }
      }
    }
  }
  return n;
}

/**
 * Whether re-rendering `root` now would lose something that is never kept: an open dialog, an
 * action under way, a chosen file, a passphrase being typed.
 */
export function busyHere(root) {
  if (document.querySelector('dialog[open]')) return true;
  if (root.querySelector('[aria-busy="true"]')) return true;
  if ([...root.querySelectorAll('input[type=password]')].some((f) => f.value)) return true;
  return [...root.querySelectorAll('input[type=file]')].some((f) => f.files && f.files.length);
}
