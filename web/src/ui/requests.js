// "Requests": organizations asking for access. Who (name + identity fingerprint, the key binding
// verified here), what, why, for how long; approve (optionally narrower) or decline.
import { h, field, replace, toast, busy, uid } from './dom.js';
import { labelWords, purposeWords, duration, when, list } from '../words.js';

const CHOICES = [3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400, 365 * 86400];

export async function renderRequests(ctx, root) {
  const all = await ctx.session.requests();
  const pending = all.filter((r) => r.status === 'pending');
  const past = all.filter((r) => r.status !== 'pending');
  const heading = h('h2', { tabindex: '-1' }, 'Requests');
  const cards = h('ul', { class: 'cards', id: 'requests', 'aria-label': 'Waiting requests' });
  replace(root, heading,
    pending.length ? cards : h('p', { class: 'empty' }, 'No organization is waiting for an answer.'),
    past.length
      ? h('section', { 'aria-labelledby': 'past-req' }, h('h3', { id: 'past-req' }, 'Answered'),
        h('ul', { class: 'plain' }, past.map((r) => h('li', {}, `${r.org.name}: ${r.status} — asked ${when(r.created_at)} for your ${list(r.labels.map(labelWords))}`))))
      : null);
  for (const r of pending) cards.append(await requestCard(ctx, r));
  return heading;
}

async function requestCard(ctx, r) {
  const { session } = ctx;
  const org = await session.checkOrg(r.org);
  const trusted = org.keyBound && org.fingerprintMatches;
  const titleId = uid('req');
  const words = new Map((r.purpose_words || []).map((p) => [p.id, p.words]));
  const boxes = r.labels.map((l) => {
    const id = uid('lbl');
    const box = h('input', { type: 'checkbox', id, value: l, checked: true });
    return { box, el: h('span', { class: 'check' }, box, h('label', { for: id }, labelWords(l))) };
  });
  const options = [r.duration_secs, ...CHOICES.filter((c) => c < r.duration_secs)];
  const dur = field('Allow for', h('select', {}, options.map((s, i) => h('option', { value: s }, i === 0 ? `${duration(s)} (as asked)` : duration(s)))));
  const reads = field('Limit the number of reads (optional)', h('input', { type: 'number', min: 1, max: 1000000, inputmode: 'numeric', placeholder: 'no limit' }));
  const error = h('p', { class: 'error', role: 'alert' });
  const approve = h('button', { type: 'button', class: 'primary', disabled: !trusted || !session.unlocked, 'aria-describedby': titleId }, 'Approve');
  const decline = h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId }, 'Decline');
  approve.addEventListener('click', () =>
    busy(approve, error, async () => {
      const labels = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
      if (labels.length === 0) throw new Error('Choose at least one item to share, or decline.');
      const max = reads.input.value ? Number(reads.input.value) : undefined;
      if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new Error('The read limit must be a whole number of at least 1.');
      approve.textContent = 'Signing…';
      await session.approve(r, { labels, durationSecs: Number(dur.input.value), maxReads: max });
      toast(`${org.name} may now read your ${list(labels.map(labelWords))}. You can revoke this at any time under Access.`);
      await ctx.refresh();
    }));
  decline.addEventListener('click', () =>
    busy(decline, error, async () => {
      await session.decline(r.request_id);
      toast(`You declined ${org.name}’s request.`);
      await ctx.refresh();
    }));
  return h('li', { class: 'card request', 'data-request': r.request_id },
    h('h3', { id: titleId }, `${org.name} asks for your data`),
    trusted
      ? h('p', { class: 'identity ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '), 'Identity key checked on this device. Fingerprint ', h('code', { class: 'fingerprint' }, org.fingerprint))
      : h('p', { class: 'identity bad', role: 'alert' }, '✗ This organization’s encryption key is not signed by its identity key. Do not approve: your data could be read by someone else.'),
    h('dl', { class: 'terms' },
      h('dt', {}, 'What'), h('dd', {}, h('fieldset', { class: 'labels' }, h('legend', { class: 'visually-hidden' }, 'Items to share'), boxes.map((b) => b.el))),
      h('dt', {}, 'Why'), h('dd', {}, list(r.purposes.map((p) => words.get(p) || purposeWords(p)))),
      h('dt', {}, 'For how long'), h('dd', {}, duration(r.duration_secs)),
      h('dt', {}, 'In their words'), h('dd', {}, h('blockquote', {}, r.justification)),
      h('dt', {}, 'Asked'), h('dd', {}, when(r.created_at))),
    dur.wrap, reads.wrap,
    session.unlocked ? null : h('p', { class: 'notice' }, 'Unlock your keys to approve.'),
    error,
    h('div', { class: 'actions' }, decline, approve));
}
