// The first screen: unlock (log in, on this or a second device) or create an account.
import { h, field, replace } from './dom.js';
import { strength } from '../words.js';

const HANDLE_RE = /^[a-z0-9][a-z0-9._-]{2,63}$/;
const MIN_PASSPHRASE = 10;

/**
 * Renders into `root`. `onUnlock(handle, pass)` and `onSignUp(handle, pass)` return promises;
 * their errors are shown on the form. `notice` is an optional message (e.g. "session ended");
 * `handle` fills the Unlock form (the last handle used on this device: not secret), and
 * `onForgetHandle()` forgets it when the customer uses another.
 */
export function renderAuth(root, { onUnlock, onSignUp, notice, mode = 'unlock', handle: known = '', onForgetHandle = () => {} }) {
  const status = h('p', { class: 'progress', role: 'status', 'aria-live': 'polite' });

  // Unlock
  const uHandle = field('Handle', h('input', { id: 'unlock-handle', name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true }));
  const uPass = field('Passphrase', h('input', { id: 'unlock-pass', type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const uError = h('p', { class: 'error', id: 'unlock-error', role: 'alert' });
  const uButton = h('button', { type: 'submit', class: 'primary' }, 'Unlock');
  if (known) uHandle.input.value = known;
  // A link, not a second button beside Unlock: it only empties the handle (and forgets it here).
  const otherLink = h('a', { href: '#unlock-handle', id: 'unlock-other' }, 'use another handle');
  const other = known ? h('p', { class: 'muted' }, 'Not your handle? You can ', otherLink, '.') : null;
  otherLink.addEventListener('click', (e) => {
    e.preventDefault();
    onForgetHandle();
    uHandle.input.value = '';
    other.remove();
    uHandle.input.focus();
  });
  const unlock = h('form', { id: 'unlock-form', class: 'card', 'aria-labelledby': 'unlock-title', novalidate: true },
    h('h2', { id: 'unlock-title' }, 'Unlock your vault'),
    h('p', { class: 'muted' }, 'On this or any other device: your handle and passphrase are all you need.'),
    uHandle.wrap, uPass.wrap, uError, uButton, other);
  unlock.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(uError);
    const handle = uHandle.input.value.trim().toLowerCase();
    if (!handle || !uPass.input.value) {
      replace(uError, 'Enter your handle and passphrase.');
      return;
    }
    uButton.disabled = true;
    replace(status, 'Deriving your keys from the passphrase (this takes a moment)…');
    try {
      await onUnlock(handle, uPass.input.value);
    } catch (err) {
      replace(status);
      replace(uError, err.message);
      uPass.input.focus();
      uPass.input.select();
    } finally {
      uButton.disabled = false;
    }
  });

  // Sign up
  const sHandle = field('Choose a handle', h('input', { id: 'signup-handle', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true, pattern: HANDLE_RE.source }),
    '3–64 characters: a–z, 0–9, dot, dash or underscore. Organizations can find you by it.');
  const sPass = field('Choose a passphrase', h('input', { id: 'signup-pass', type: 'password', autocomplete: 'new-password', required: true, minlength: MIN_PASSPHRASE }),
    `At least ${MIN_PASSPHRASE} characters. A few unrelated words are easy to remember and hard to guess.`);
  const meter = h('meter', { id: 'signup-meter', min: 0, max: 4, low: 2, high: 3, optimum: 4, value: 0, 'aria-label': 'Passphrase strength' });
  const hint = h('p', { id: 'signup-strength', class: 'hint', 'aria-live': 'polite' }, 'Enter a passphrase');
  sPass.input.addEventListener('input', () => {
    const s = strength(sPass.input.value);
    meter.value = s.score;
    hint.textContent = s.words;
    hint.dataset.score = String(s.score);
  });
  const sPass2 = field('Type it again', h('input', { id: 'signup-pass2', type: 'password', autocomplete: 'new-password', required: true }));
  const understand = h('input', { id: 'signup-understand', type: 'checkbox', required: true });
  const sError = h('p', { class: 'error', id: 'signup-error', role: 'alert' });
  const sButton = h('button', { type: 'submit', class: 'primary' }, 'Create my vault');
  const signup = h('form', { id: 'signup-form', class: 'card', 'aria-labelledby': 'signup-title', novalidate: true },
    h('h2', { id: 'signup-title' }, 'Create your vault'),
    h('p', { class: 'muted' }, 'Your keys are made here, on this device, and sealed under your passphrase. The vault never sees the passphrase or your keys.'),
    sHandle.wrap, sPass.wrap, h('div', { class: 'strength' }, meter, hint), sPass2.wrap,
    h('div', { class: 'check' }, understand, h('label', { for: 'signup-understand' }, 'I understand that nobody, not even the vault, can recover my data if I forget my passphrase.')),
    sError, sButton);
  signup.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(sError);
    const handle = sHandle.input.value.trim().toLowerCase();
    const pass = sPass.input.value;
    let problem = '';
    if (!HANDLE_RE.test(handle)) problem = 'The handle must be 3–64 characters of a–z, 0–9, dot, dash or underscore, starting with a letter or digit.';
    else if ([...pass].length < MIN_PASSPHRASE) problem = `The passphrase must have at least ${MIN_PASSPHRASE} characters.`;
    else if (strength(pass).score < 2) problem = 'This passphrase is too easy to guess. Add a few more words.';
    else if (pass !== sPass2.input.value) problem = 'The two passphrases are not the same.';
    else if (!understand.checked) problem = 'Please confirm that you understand the passphrase cannot be recovered.';
    if (problem) {
      replace(sError, problem);
      return;
    }
    sButton.disabled = true;
    replace(status, 'Making your keys and sealing them under your passphrase…');
    try {
      await onSignUp(handle, pass);
    } catch (err) {
      replace(status);
      replace(sError, err.message);
    } finally {
      sButton.disabled = false;
    }
  });

  const showUnlock = h('button', { type: 'button', class: 'tab', id: 'tab-unlock' }, 'I have an account');
  const showSignup = h('button', { type: 'button', class: 'tab', id: 'tab-signup' }, 'Create an account');
  const select = (m) => {
    unlock.hidden = m !== 'unlock';
    signup.hidden = m !== 'signup';
    showUnlock.setAttribute('aria-pressed', String(m === 'unlock'));
    showSignup.setAttribute('aria-pressed', String(m === 'signup'));
    (m === 'unlock' ? (uHandle.input.value ? uPass.input : uHandle.input) : sHandle.input).focus();
  };
  showUnlock.addEventListener('click', () => select('unlock'));
  showSignup.addEventListener('click', () => select('signup'));

  replace(root,
    h('section', { class: 'auth', 'aria-labelledby': 'auth-title' },
      h('h1', { id: 'auth-title' }, 'Your personal data, your consent'),
      h('p', { class: 'lead' }, 'Keep your data encrypted, decide who may read it and for what, take it back at any moment, and check every access in a verifiable ledger.'),
      notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
      h('div', { class: 'tabs', role: 'group', 'aria-label': 'Unlock or create an account' }, showUnlock, showSignup),
      unlock, signup, status));
  select(mode);
}
