// "Ledger": every act concerning this customer, in words, grouped by who acted (you, or each
// organization, named from its verified key log), with a filter by organization. Each entry was
// checked on this device (verify.js); one that was not says so in place. An organization's answer
// to an erasure request that this device does not believe (erasure.js: not the first answer to a
// request of yours, or not signed by the organization's key of the moment) is marked in place too.
import { h, replace, busy, uid } from './dom.js';
import { eventTitle, when } from '../words.js';

// There is no "pending": an entry the signed checkpoint does not cover is a failure (verify.js).
const MARK = {
  verified: ['✓', 'checked', 'In the vault’s signed ledger: checked on this device'],
  failed: ['✗', 'not confirmed', 'Not confirmed: see the warning above'],
};

const YOU = '';

function statusBox(L) {
  if (!L.ok && L.failure?.kind === 'key_rotated') {
    return h('div', { class: 'status warn', id: 'ledger-status', role: 'status' },
      h('p', {}, h('strong', {}, 'Your vault changed the key it signs your history with. '),
        'Check the change shown at the top of the page and accept it to see your history again.'),
      h('p', {}, 'Until then, nothing is shown as checked.'));
  }
  if (!L.ok) {
    return h('div', { class: 'status bad', id: 'ledger-status', role: 'alert' },
      h('p', {}, h('strong', {}, '✗ Your history failed its checks on this device. '), L.failure.message),
      h('p', {}, h('strong', {}, 'What it means: '), 'the vault may be hiding or changing the record of who read your data.'),
      h('p', {}, h('strong', {}, 'What to do: '), 'do not approve requests or store new data from this device until it is explained, and tell the vault’s operator. You can still end any organization’s access under Access. Tap “Check again” later.'));
  }
  const n = L.highestSeq;
  return h('div', { class: 'status ok', id: 'ledger-status' },
    h('p', {}, h('strong', {}, '✓ '),
      n ? `Your history (${n} ${n === 1 ? 'entry' : 'entries'}) is complete, none missing, ` : 'You have no history yet; ',
      L.consistentWith === null
        ? 'and this device will notice from now on if anything in it is changed or removed.'
        : 'and unchanged since you last looked on this device.'),
    L.vaultKey?.pinnedAt
      ? h('p', { class: 'meta', id: 'vault-key' }, `Checked with the vault’s key this device has kept since ${when(L.vaultKey.pinnedAt)}.`)
      : null,
    witnessLine(L.witnesses));
}

/** The witnesses (of the pinned policy) whose cosignature on this checkpoint verified here. */
function witnessLine(list) {
  if (!list?.length) return null;
  const at = (t) => (t < 8640000000000n ? ` (${when(new Date(Number(t) * 1000).toISOString())})` : '');
  const names = list.map((c) => `${c.witness}${at(c.time)}`);
  return h('p', { class: 'meta', id: 'ledger-witnesses' },
    `Cosigned by ${list.length === 1 ? 'an independent witness' : `${list.length} independent witnesses`}, checked on this device: ${names.join(', ')}. So others are shown this same history.`);
}

export async function renderLedger(ctx, root) {
  const heading = h('h2', { tabindex: '-1' }, 'Your history');
  const again = h('button', { type: 'button', class: 'secondary', id: 'ledger-recheck' }, 'Check again');
  again.addEventListener('click', () => busy(again, null, () => ctx.rerender()));
  // Checked afresh on every visit: signature, consistency with the kept checkpoint, inclusion,
  // completeness (customer_seq 1…N with no gap, never below what this account saw before).
  const L = await ctx.checkLedger();
  const entries = (L.answer?.entries || []).slice().reverse();
  const disbelieved = L.ok ? (await ctx.session.erasures(L.answer.entries)).bad : new Map();
  const byIndex = new Map(L.results.map((r) => [r.index, r]));
  const groups = new Map([[YOU, { id: YOU, name: 'You', items: [] }]]);
  for (const e of entries) {
    const id = e.event.org_id && e.event.type !== 'customer_registered' ? e.event.org_id : YOU;
    if (!groups.has(id)) {
      const name = await ctx.session.orgName(id); // from the verified key log
      groups.set(id, { id, name: name === id ? 'An organization the vault could not identify' : name, items: [] });
    }
    groups.get(id).items.push(e);
  }
  const sections = [];
  for (const g of groups.values()) {
    if (!g.items.length) continue;
    const titleId = uid('lg');
    sections.push(h('section', { class: 'ledger-group', 'data-org': g.id || 'you', 'aria-labelledby': titleId },
      h('h3', { id: titleId }, g.id === YOU ? 'What you did' : g.name, h('span', { class: 'count-note' }, ` (${g.items.length})`)),
      h('ol', { class: 'timeline', 'aria-label': `${g.id === YOU ? 'Your acts' : g.name}, newest first` },
        g.items.map((e) => entryItem(e, byIndex, g.id === YOU ? null : g.name, disbelieved.get(e.index))))));
  }
  const filter = h('select', { id: 'ledger-filter' },
    h('option', { value: 'all' }, 'Everyone'),
    [...groups.values()].filter((g) => g.items.length).map((g) => h('option', { value: g.id || 'you' }, g.id === YOU ? 'Only what you did' : `Only ${g.name}`)));
  const filterWrap = h('div', { class: 'field filter' }, h('label', { for: 'ledger-filter' }, 'Show'), filter);
  filter.addEventListener('change', () => {
    for (const s of sections) s.hidden = filter.value !== 'all' && s.dataset.org !== filter.value;
  });
  replace(root, heading, statusBox(L),
    h('div', { class: 'actions ledger-tools' }, entries.length ? filterWrap : null, again),
    entries.length ? h('div', { id: 'timeline' }, sections) : h('p', { class: 'empty' }, L.ok ? 'Nothing here yet.' : 'Nothing can be shown until your history passes its checks.'));
  return heading;
}

function entryItem(e, byIndex, org, disbelieved) {
  // Without a result the whole history failed (said once above): no reason repeated per entry.
  let r = byIndex.get(e.index) || { status: 'failed', reason: '' };
  // In the signed ledger, but an answer this device does not believe: flagged as not confirmed.
  if (disbelieved && r.status === 'verified') r = { status: 'failed', reason: `the answer is not believed: ${disbelieved}`, answerDisbelieved: true };
  const [sym, word, kind] = MARK[r.status];
  const title = r.answerDisbelieved ? r.reason : kind;
  return h('li', { class: `entry ${r.status}`, 'data-index': e.index, 'data-type': e.event.type },
    h('p', { class: 'what' }, eventTitle(e.event, org)),
    h('p', { class: 'meta' }, h('time', { datetime: e.event.at }, when(e.event.at)), ` · ledger entry ${e.index} · `,
      h('span', { class: `mark ${r.status}`, title: title || r.reason }, h('span', { 'aria-hidden': 'true' }, `${sym} `), word, r.status === 'failed' && r.reason ? `: ${r.reason}` : '')));
}
