// "Account": who you are, your keys' fingerprints, export everything, lock.
import { h, replace, busy, download } from './dom.js';
import { fingerprint } from '../crypto/sign.js';
import { b64url, fromUtf8 } from '../crypto/bytes.js';

export async function renderAccount(ctx, root) {
  const { session } = ctx;
  const heading = h('h2', { tabindex: '-1' }, 'Account');
  const exportBtn = h('button', { type: 'button', class: 'primary', id: 'export', disabled: !session.unlocked }, 'Export everything');
  const error = h('p', { class: 'error', role: 'alert' });
  exportBtn.addEventListener('click', () =>
    busy(exportBtn, error, async () => {
      exportBtn.textContent = 'Decrypting…';
      download(`assent-export-${session.handle}-${new Date().toISOString().slice(0, 10)}.json`, await exportAll(ctx));
    }));
  replace(root, heading,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Handle'), h('dd', { id: 'account-handle' }, session.handle),
      h('dt', {}, 'Customer id'), h('dd', {}, h('code', { id: 'account-id' }, session.customerId)),
      h('dt', {}, 'Signing key'), h('dd', {}, h('code', { class: 'fingerprint' }, await fingerprint(session.ed25519Public))),
      h('dt', {}, 'Keys'), h('dd', {}, session.unlocked ? 'Unlocked on this device (they leave it only sealed under your passphrase)' : 'Locked')),
    h('section', { 'aria-labelledby': 'export-title', class: 'card' },
      h('h3', { id: 'export-title' }, 'Export'),
      h('p', {}, 'One JSON file with your data decrypted, your grants and requests, and your ledger entries with their proofs and the signed checkpoint. Keep it somewhere safe: it is not encrypted.'),
      error, exportBtn),
    h('section', { 'aria-labelledby': 'lock-title', class: 'card' },
      h('h3', { id: 'lock-title' }, 'Lock'),
      h('p', {}, 'Locking forgets your keys and session on this page.'),
      h('button', { type: 'button', class: 'secondary', onclick: () => ctx.lock() }, 'Lock now')));
  return heading;
}

async function exportAll(ctx) {
  const { session } = ctx;
  const envelopes = [];
  for (const e of await session.envelopes()) {
    const full = await session.envelope(e.label);
    const plain = await session.openFull(full);
    const item = { label: e.label, envelope_id: e.envelope_id, version: e.version, content_type: e.content_type, created_at: e.created_at, updated_at: e.updated_at };
    if (e.content_type.startsWith('text/')) item.text = fromUtf8(plain);
    else item.data_base64url = b64url(plain);
    envelopes.push(item);
  }
  const L = await ctx.checkLedger();
  return {
    format: 'assent-export/v1',
    exported_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    vault: location.origin,
    customer: { customer_id: session.customerId, handle: session.handle, x25519_public: b64url(session.x25519Public), ed25519_public: b64url(session.ed25519Public) },
    envelopes,
    grants: await session.grants(),
    requests: await session.requests(),
    ledger: {
      verified: L.ok,
      failure: L.failure,
      vault_key: localStorage.getItem('assent.vault_key'),
      checkpoint: L.answer?.checkpoint,
      size: L.answer?.size,
      entries: (L.answer?.entries || []).map((e) => ({ ...e, verification: L.results.find((r) => r.index === e.index)?.status })),
    },
  };
}
