// "Ledger": every act concerning this customer, in words, each with its verification mark.
import { h, replace, busy } from './dom.js';
import { sentence, when } from '../words.js';

// There is no "pending": an entry the signed checkpoint does not cover is a failure (verify.js).
const MARK = {
  verified: ['✓', 'verified', 'Included in the signed ledger (proof checked on this device)'],
  failed: ['✗', 'NOT verified', ''],
};

export async function renderLedger(ctx, root) {
  const heading = h('h2', { tabindex: '-1' }, 'Ledger');
  const again = h('button', { type: 'button', class: 'secondary', id: 'ledger-recheck' }, 'Check again');
  again.addEventListener('click', () => busy(again, null, () => ctx.rerender()));
  // Checked afresh on every visit: signature, consistency with the kept checkpoint, inclusion,
  // completeness (customer_seq 1…N with no gap, never below what this account saw before).
  const L = await ctx.checkLedger();
  const status = L.ok
    ? h('div', { class: 'status ok', id: 'ledger-status' },
      h('p', {}, h('strong', {}, '✓ Verified on this device. '),
        `The vault’s signed checkpoint (${L.checkpoint.size} entries) carries a valid signature by the pinned vault key; `,
        L.consistentWith === null
          ? 'this is the first checkpoint this device has kept; '
          : `it extends the ledger of ${L.consistentWith} entries this device saw before, so no history was rewritten; `,
        'each entry below is proved to be in it; ',
        L.highestSeq ? `and your events are complete: numbers 1 to ${L.highestSeq}, none missing.` : 'and you have no events yet.'))
    : h('div', { class: 'status bad', id: 'ledger-status', role: 'alert' },
      h('p', {}, h('strong', {}, '✗ The ledger failed verification. '), L.failure.message));
  const key = L.vaultKey
    ? h('p', { class: 'meta', id: 'vault-key' }, `Vault key “${L.vaultKey.name}”, fingerprint `, h('code', { class: 'fingerprint' }, L.vaultKey.fingerprint),
      `, pinned on this device ${L.vaultKey.pinnedAt ? when(L.vaultKey.pinnedAt) : ''}.`)
    : null;
  const entries = (L.answer?.entries || []).slice().reverse();
  const byIndex = new Map(L.results.map((r) => [r.index, r]));
  const names = new Map();
  for (const e of entries) {
    const id = e.event.org_id;
    if (id && !names.has(id)) {
      names.set(id, await ctx.session.orgName(id)); // from the verified key log
    }
  }
  const items = entries.map((e) => {
    const r = byIndex.get(e.index) || { status: 'failed', reason: 'cannot be checked against a checkpoint that failed' };
    const [sym, word, title] = MARK[r.status];
    return h('li', { class: `entry ${r.status}`, 'data-index': e.index, 'data-type': e.event.type },
      h('p', { class: 'what' }, `${sentence(e.event, names.get(e.event.org_id))}, `, h('time', { datetime: e.event.at }, when(e.event.at))),
      h('p', { class: 'meta' }, `Ledger entry #${e.index}`),
      h('p', { class: `mark ${r.status}`, title: title || r.reason }, h('span', { 'aria-hidden': 'true' }, `${sym} `), word, r.status === 'failed' ? `: ${r.reason}` : ''));
  });
  replace(root, heading, status, key,
    h('div', { class: 'actions' }, again),
    items.length ? h('ol', { class: 'timeline', id: 'timeline', 'aria-label': 'Ledger entries, newest first' }, items) : h('p', { class: 'empty' }, 'No entries yet.'));
  return heading;
}
