// "Requests": organizations asking for access. Who — the name and keys from the organization's
// verified key log (never the vault's `org` field), the fingerprint computed here, whether it
// was checked against an anchor from outside the vault (the organization's link or typed in) or
// against the keys this customer approved before — what, why, for how long; approve (optionally
// narrower) or decline. The device (device.js approve) re-checks all of it before signing.
import { h, field, replace, toast, busy, uid } from './dom.js';
import { labelWords, purposeWords, duration, when, list } from '../words.js';
import { assessOrg } from '../orgtrust.js';

const CHOICES = [3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400, 365 * 86400];

export async function renderRequests(ctx, root) {
  const all = await ctx.session.requests();
  const pending = all.filter((r) => r.status === 'pending');
  const past = all.filter((r) => r.status !== 'pending');
  const heading = h('h2', { tabindex: '-1' }, 'Requests');
  const cards = h('ul', { class: 'cards', id: 'requests', 'aria-label': 'Waiting requests' });
  const pastItems = [];
  for (const r of past) {
    pastItems.push(h('li', {}, `${await ctx.session.orgName(r.org_id)}: ${r.status} — asked ${when(r.created_at)} for your ${list(r.labels.map(labelWords))}`));
  }
  replace(root, heading,
    pending.length ? cards : h('p', { class: 'empty' }, 'No organization is waiting for an answer.'),
    past.length ? h('section', { 'aria-labelledby': 'past-req' }, h('h3', { id: 'past-req' }, 'Answered'), h('ul', { class: 'plain' }, pastItems)) : null);
  for (const r of pending) cards.append(await requestCard(ctx, r));
  return heading;
}

const day = (iso) => (iso ? new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' }) : 'an earlier day');

/** The key log's verdict and the keys' history, in words. */
function keyLogFacts(log) {
  const reg = log.history[0];
  return h('p', { class: 'keylog ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '),
    `Key log verified on this device: registered in ledger entry #${reg.index}`,
    log.keySeq > 1 ? `, key version ${log.keySeq}, each change signed by the previous identity key` : '',
    `, in the vault’s signed checkpoint of ${log.checkpoint.size} entries.`);
}

function changeList(changes) {
  return h('ol', { class: 'key-changes' }, changes.map((c) =>
    h('li', { 'data-index': c.index },
      `Ledger entry #${c.index}, ${when(c.event.at)}: key version ${c.keySeq}, new fingerprint `,
      h('code', { class: 'fingerprint' }, c.fingerprint), ', signed by the previous identity key.')));
}

async function requestCard(ctx, r) {
  const { session } = ctx;
  const titleId = uid('req');
  const error = h('p', { class: 'error', role: 'alert' });
  let log = null;
  let trust = null;
  let logProblem = null;
  const link = ctx.link && ctx.link.requestId === r.request_id ? ctx.link : null;
  try {
    ({ log, trust } = await session.assessOrg(r.org_id, link ? link.fingerprint : ''));
  } catch (e) {
    logProblem = e.message;
  }
  const name = log ? log.name : r.org_id;

  // Who: the fingerprint computed here, the key log's verdict, the pin or the anchor.
  const who = h('div', { class: 'who-asks' });
  let fpInput = null;
  let changeBox = null;
  let unverifiedBox = null;
  if (!log) {
    who.append(h('p', { class: 'identity bad keylog', role: 'alert' }, h('span', { 'aria-hidden': 'true' }, '✗ '),
      `${logProblem} Do not approve: your data could be read by someone else.`));
  } else {
    who.append(
      h('p', { class: 'identity' }, 'Fingerprint, computed on this device from its identity key: ', h('code', { class: 'fingerprint org-fingerprint' }, log.fingerprint)),
      keyLogFacts(log));
    if (trust.pin === 'same') {
      who.append(h('p', { class: 'pin ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '), `These are the keys you approved for ${name} on ${day(trust.since)}.`));
    } else if (trust.pin === 'changed' || trust.pin === 'unknown') {
      const cid = uid('chg');
      changeBox = h('input', { type: 'checkbox', id: cid, class: 'accept-change' });
      who.append(h('div', { class: 'keychange', role: 'alert' },
        h('p', {}, h('strong', {}, `${name}’s keys changed since you approved it on ${day(trust.since)}.`),
          trust.pin === 'unknown'
            ? ' The vault’s key log does not even contain the keys you approved then: do not go on unless the fingerprint below matches the one ' + name + ' gives you.'
            : ' The key log shows the change, signed by the key you approved. Check the new fingerprint with ' + name + ' before you go on.'),
        trust.changes.length ? changeList(trust.changes) : null,
        h('div', { class: 'check' }, changeBox, h('label', { for: cid }, `I checked the new keys with ${name} and want to go on`))));
    }
    if (trust.pin !== 'same') {
      const f = field(`The fingerprint ${name} gave you (from its website, app or letter)`,
        h('input', { class: 'fp-input', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'a1b2 c3d4 …', value: link ? link.fingerprint : '' }),
        'Compared here with the fingerprint computed from the key; spaces and case do not matter.');
      fpInput = f.input;
      const verdict = h('p', { class: 'anchor', 'aria-live': 'polite' });
      const show = async () => {
        const given = fpInput.value.trim();
        if (!given) {
          verdict.className = 'anchor none';
          replace(verdict, link ? '' : 'Not checked yet.');
          return;
        }
        const t = await assessOrg(log, [], given); // the anchor part of the verdict only
        if (t.anchor === 'match') {
          verdict.className = 'anchor ok';
          verdict.removeAttribute('role');
          replace(verdict, h('span', { 'aria-hidden': 'true' }, '✓ '), `Matches: these are the keys ${name} told you about${link && given === link.fingerprint ? ' (from its link)' : ''}.`);
        } else {
          verdict.className = 'anchor bad';
          verdict.setAttribute('role', 'alert');
          replace(verdict, h('span', { 'aria-hidden': 'true' }, '✗ '), `Does not match the fingerprint computed from the key the vault gives for ${name}. Do not approve: someone may be posing as ${name}.`);
        }
      };
      fpInput.addEventListener('input', show);
      who.append(f.wrap, verdict);
      await show();
      if (trust.pin === 'none') {
        const nid = uid('unv');
        unverifiedBox = h('input', { type: 'checkbox', id: nid, class: 'accept-unverified' });
        who.append(h('div', { class: 'check unverified' }, unverifiedBox,
          h('label', { for: nid }, 'Approve an organization I could not verify'),
          h('p', { class: 'help' }, `Only if you cannot get ${name}’s fingerprint. The vault could then be showing you someone else’s keys; your grants list will say this organization was not verified.`)));
      }
    }
  }

  const words = new Map((r.purpose_words || []).map((p) => [p.id, p.words]));
  const boxes = r.labels.map((l) => {
    const id = uid('lbl');
    const box = h('input', { type: 'checkbox', id, value: l, checked: true });
    return { box, el: h('span', { class: 'check' }, box, h('label', { for: id }, labelWords(l))) };
  });
  const options = [r.duration_secs, ...CHOICES.filter((c) => c < r.duration_secs)];
  const dur = field('Allow for', h('select', {}, options.map((s, i) => h('option', { value: s }, i === 0 ? `${duration(s)} (as asked)` : duration(s)))));
  const reads = field('Limit the number of reads (optional)', h('input', { type: 'number', min: 1, max: 1000000, inputmode: 'numeric', placeholder: 'no limit' }));
  const approve = h('button', { type: 'button', class: 'primary approve', disabled: !log || !session.unlocked, 'aria-describedby': titleId }, 'Approve');
  const decline = h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId }, 'Decline');
  approve.addEventListener('click', () =>
    busy(approve, error, async () => {
      const labels = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
      if (labels.length === 0) throw new Error('Choose at least one item to share, or decline.');
      const max = reads.input.value ? Number(reads.input.value) : undefined;
      if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new Error('The read limit must be a whole number of at least 1.');
      approve.textContent = 'Checking and signing…';
      const { trust: t } = await session.approve(r, {
        labels,
        durationSecs: Number(dur.input.value),
        maxReads: max,
        fingerprint: fpInput ? fpInput.value : '',
        acceptKeyChange: !!changeBox?.checked,
        acceptUnverified: !!unverifiedBox?.checked,
      });
      if (link) ctx.link = null;
      toast(`${name} may now read your ${list(labels.map(labelWords))}${t.verified ? '' : ' (not verified)'}. You can revoke this at any time under Access.`);
      await ctx.refresh();
    }));
  decline.addEventListener('click', () =>
    busy(decline, error, async () => {
      await session.decline(r.request_id);
      toast(`You declined ${name}’s request.`);
      await ctx.refresh();
    }));
  return h('li', { class: 'card request', 'data-request': r.request_id, 'data-org': r.org_id },
    h('h3', { id: titleId }, `${name} asks for your data`),
    who,
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
