// "Account": who you are, export everything, change the passphrase, close the account, lock.
// The passphrase is checked on this device first (it must open the key bundle); only login
// proofs and the re-sealed bundle are sent (device.js).
import { h, field, replace, busy, confirmDialog } from './dom.js';
import { fingerprint } from '../crypto/sign.js';
import { EXPORT_ROUTE, renderExport, downloadButton } from './export.js';
import { strength } from '../words.js';
import { WrongPassphrase } from '../device.js';

const MIN_PASSPHRASE = 10;

export async function renderAccount(ctx, root) {
  // The readable export page lives inside Account (`#/account/export`), as the receipt does inside Access.
  if (EXPORT_ROUTE.test(location.hash)) return renderExport(ctx, root);
  const { session } = ctx;
  const heading = h('h2', { tabindex: '-1' }, 'Your account');
  const error = h('p', { class: 'error', role: 'alert' });
  const see = h('a', { href: '#/account/export', class: 'button primary', id: 'see-export' }, 'See everything');
  const exportBtn = downloadButton(ctx, error, { id: 'export', kind: 'secondary' });
  replace(root, heading,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Handle'), h('dd', { id: 'account-handle' }, session.handle),
      h('dt', {}, 'Your keys'), h('dd', {}, session.unlocked ? 'Open on this device. They leave it only locked under your passphrase.' : 'Locked: unlock again to use them.')),
    h('section', { 'aria-labelledby': 'export-title', class: 'card' },
      h('h3', { id: 'export-title' }, 'A copy of everything'),
      h('p', {}, 'One file with your data unlocked, who you allowed to read it, the requests you had, and your history with the proofs that it is complete. Keep it somewhere safe: the file itself is not locked.'),
      h('p', {}, '“See everything” shows the same in words, on a page you can read and print.'),
      error, h('div', { class: 'actions' }, see, exportBtn)),
    passphraseCard(session),
    h('section', { 'aria-labelledby': 'lock-title', class: 'card' },
      h('h3', { id: 'lock-title' }, 'Lock'),
      h('p', {}, 'Locking makes this page forget your keys and your session. Your handle stays filled in on this device.'),
      h('button', { type: 'button', class: 'secondary', onclick: () => ctx.lock() }, 'Lock now')),
    closeCard(ctx),
    h('details', { class: 'support' },
      h('summary', {}, 'Details for support'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Account number'), h('dd', {}, h('code', { id: 'account-id' }, session.customerId)),
        h('dt', {}, 'Your signature key’s fingerprint'), h('dd', {}, h('code', { class: 'fingerprint' }, await fingerprint(session.ed25519Public))))));
  return heading;
}

function passphraseCard(session) {
  const current = field('Current passphrase', h('input', { id: 'pass-current', type: 'password', autocomplete: 'current-password' }));
  const next = field('New passphrase', h('input', { id: 'pass-new', type: 'password', autocomplete: 'new-password', minlength: MIN_PASSPHRASE }),
    `At least ${MIN_PASSPHRASE} characters. A few unrelated words are easy to remember and hard to guess.`);
  const meter = h('meter', { min: 0, max: 4, low: 2, high: 3, optimum: 4, value: 0, 'aria-label': 'New passphrase strength' });
  const hint = h('p', { class: 'hint', 'aria-live': 'polite' }, 'Enter a passphrase');
  next.input.addEventListener('input', () => {
    const s = strength(next.input.value);
    meter.value = s.score;
    hint.textContent = s.words;
    hint.dataset.score = String(s.score);
  });
  const again = field('Type the new one again', h('input', { id: 'pass-again', type: 'password', autocomplete: 'new-password' }));
  const error = h('p', { class: 'error', id: 'pass-error', role: 'alert' });
  const done = h('p', { class: 'status ok', id: 'pass-done', role: 'status', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Change passphrase');
  const form = h('form', { class: 'card', id: 'passphrase-form', 'aria-labelledby': 'pass-title', novalidate: true },
    h('h3', { id: 'pass-title' }, 'Change your passphrase'),
    h('p', {}, 'Your data stays as it is: your keys are locked again under the new passphrase, here on this device. On your other devices, use the new passphrase from now on.'),
    current.wrap, next.wrap, h('div', { class: 'strength' }, meter, hint), again.wrap, error, done, button);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    done.hidden = true;
    busy(button, error, async () => {
      const pass = next.input.value;
      if (!current.input.value) throw new Error('Type your current passphrase.');
      if ([...pass].length < MIN_PASSPHRASE) throw new Error(`The new passphrase needs at least ${MIN_PASSPHRASE} characters.`);
      if (strength(pass).score < 2) throw new Error('This passphrase is too easy to guess. Add a few more words.');
      if (pass !== again.input.value) throw new Error('The two new passphrases are not the same.');
      if (pass === current.input.value) throw new Error('The new passphrase is the same as the current one.');
      button.textContent = 'Locking your keys under the new passphrase…';
      try {
        await session.changePassphrase(current.input.value, pass);
      } catch (err) {
        if (err instanceof WrongPassphrase || err.code === 'bad_credentials') throw new Error('That is not your current passphrase. Nothing was changed.');
        throw err;
      }
      for (const f of [current, next, again]) f.input.value = '';
      meter.value = 0;
      replace(done, '✓ Your passphrase is changed. Use the new one next time you unlock, on every device.');
      done.hidden = false;
    });
  });
  return form;
}

function closeCard(ctx) {
  const pass = field('Your passphrase', h('input', { id: 'close-pass', type: 'password', autocomplete: 'current-password' }));
  const understand = h('input', { id: 'close-understand', type: 'checkbox' });
  const error = h('p', { class: 'error', id: 'close-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'danger' }, 'Close my account');
  const form = h('form', { class: 'card', id: 'close-form', 'aria-labelledby': 'close-title', novalidate: true },
    h('h3', { id: 'close-title' }, 'Close your account'),
    h('p', {}, 'Every organization’s access ends, every waiting request is declined, and every item you stored is destroyed with every key to it. Your history records each of these. Then the account is removed; your handle stays reserved so nobody else can take it.'),
    h('p', {}, h('strong', {}, 'This cannot be undone. '), 'Data an organization already read cannot be recalled. Download a copy first if you want one.'),
    pass.wrap,
    h('div', { class: 'check' }, understand, h('label', { for: 'close-understand' }, 'I understand that my data will be destroyed and cannot be recovered.')),
    error, button);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(button, error, async () => {
      if (!pass.input.value) throw new Error('Type your passphrase to close the account.');
      if (!understand.checked) throw new Error('Tick the box to confirm you understand.');
      const sure = await confirmDialog({
        title: 'Close your account for good?',
        body: 'Your data will be destroyed and every access ended. This cannot be undone.',
        confirm: 'Close my account',
      });
      if (!sure) return;
      button.textContent = 'Closing…';
      let answer;
      try {
        answer = await ctx.session.close(pass.input.value);
      } catch (err) {
        if (err instanceof WrongPassphrase || err.code === 'bad_credentials') throw new Error('That is not your passphrase. Nothing was changed.');
        throw err;
      }
      pass.input.value = '';
      ctx.closed(answer);
    });
  });
  return form;
}

