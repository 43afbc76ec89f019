// "Requests": organizations asking for access. Who — the name and keys from the organization's
// verified key log (never the vault's `org` field), its identity as 12 words computed here,
// whether it was checked against an anchor from outside the vault (the organization's link or
// words typed in) or against the keys this customer approved before — what, why, for how long;
// approve (a choice per item and per purpose, nothing pre-ticked but the purposes the request
// marks as needed for the service) or decline. The device (device.js approve) re-checks the
// organization before signing; the signed grant carries exactly the ticked items and purposes.
import { h, field, replace, toast, busy, uid } from './dom.js';
import { labelWords, purposeWords, duration, when, list, identityWords, wordsToFingerprint } from '../words.js';
import { assessOrg } from '../orgtrust.js';
import { normalizeFingerprint } from '../crypto/sign.js';

const CHOICES = [3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400, 365 * 86400];

/** "Allow for" options: ascending, none longer than asked, the asked duration among them. */
export const durationOptions = (asked) => [...CHOICES.filter((c) => c < asked), asked];

export async function renderRequests(ctx, root) {
  const all = await ctx.session.requests();
  const pending = all.filter((r) => r.status === 'pending');
  const past = all.filter((r) => r.status !== 'pending');
  const heading = h('h2', { tabindex: '-1' }, 'Requests');
  const cards = h('ul', { class: 'cards', id: 'requests', 'aria-label': 'Waiting requests' });
  const pastItems = [];
  const answered = { approved: 'you said yes', declined: 'you said no', expired: 'it expired unanswered' };
  for (const r of past) {
    pastItems.push(h('li', {}, `${await ctx.session.orgName(r.org_id)} asked ${when(r.created_at)} for your ${list(r.labels.map(labelWords))}: ${answered[r.status] || r.status}.`));
  }
  replace(root, heading,
    pending.length ? cards : h('p', { class: 'empty' }, 'No organization is waiting for an answer.'),
    past.length ? h('section', { 'aria-labelledby': 'past-req' }, h('h3', { id: 'past-req' }, 'Answered'), h('ul', { class: 'plain' }, pastItems)) : null);
  for (const r of pending) cards.append(await requestCard(ctx, r));
  return heading;
}

const day = (iso) => (iso ? new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' }) : 'an earlier day');

/**
 * An identity as 12 words, with the same 128 bits as letters and digits behind a disclosure
 * (some organizations publish that form). `cls` goes on the digits (tests read them there).
 */
export function identity(fp, cls = 'fingerprint') {
  let words = null;
  try {
    words = identityWords(fp);
  } catch {
    /* not a fingerprint: digits only */
  }
  return h('div', { class: 'identity-words' },
    words ? h('p', { class: 'words', lang: 'en' }, words) : null,
    h('details', { class: 'digits' }, h('summary', {}, 'Show as letters and digits'), h('code', { class: cls }, fp)));
}

/** The key log's verdict in words. */
function keyLogFacts(log) {
  return h('p', { class: 'keylog ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '),
    `Checked on this device: these are the keys ${log.name} registered with the vault`,
    log.keySeq > 1 ? ', and each later change was signed with its previous key' : '',
    '. The vault’s record of them has not been altered.');
}

function changeList(name, changes) {
  return h('ol', { class: 'key-changes' }, changes.map((c) =>
    h('li', { 'data-index': c.index },
      h('p', {}, `${when(c.event.at)}: ${name} changed its keys (signed with its previous key). The new words:`),
      identity(c.fingerprint))));
}

/** The fingerprint's 32 hex digits from what the customer typed (12 words or digits), or the text. */
const typedAnchor = (text) => wordsToFingerprint(text || '');

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
  const name = log ? log.name : 'An unknown organization';

  // Who: the identity words computed here, the key log's verdict, the pin or the anchor.
  const who = h('div', { class: 'who-asks' });
  let fpInput = null;
  let changeBox = null;
  let unverifiedBox = null;
  let verdictNow = () => 'none';
  let unverifiedWrap = null;
  const showUnverified = (yes) => {
    if (unverifiedWrap) unverifiedWrap.hidden = !yes;
    if (!yes && unverifiedBox) unverifiedBox.checked = false;
  };
  if (!log) {
    who.append(h('div', { class: 'identity bad keylog', role: 'alert' },
      h('p', {}, h('span', { 'aria-hidden': 'true' }, '✗ '), h('strong', {}, 'We could not confirm who is asking. '),
        'Do not approve: your data could go to someone else. Decline, or wait and look again later; if this stays, tell the vault’s operator.'),
      h('p', { class: 'detail' }, `What failed: ${logProblem}`)));
  } else {
    who.append(
      h('p', { class: 'identity-intro' }, `To be sure this is really ${name}, compare these 12 words with the ones ${name} publishes (on its website, in its app or in a letter):`),
      identity(log.fingerprint, 'fingerprint org-fingerprint'),
      keyLogFacts(log));
    if (trust.pin === 'same') {
      who.append(h('p', { class: 'pin ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '), `${name} is who they say they are: these are the keys you approved for ${name} on ${day(trust.since)}.`));
    } else if (trust.pin === 'changed' || trust.pin === 'unknown') {
      const cid = uid('chg');
      changeBox = h('input', { type: 'checkbox', id: cid, class: 'accept-change' });
      who.append(h('div', { class: 'keychange', role: 'alert' },
        h('p', {}, h('strong', {}, `${name}’s keys changed since you approved it on ${day(trust.since)}.`),
          trust.pin === 'unknown'
            ? ` The vault has no record of the keys you approved then. Do not go on unless the words above match the ones ${name} gives you.`
            : ` The change was signed with the keys you approved. Check the new words with ${name} before you go on.`),
        trust.changes.length ? changeList(name, trust.changes) : null,
        h('div', { class: 'check' }, changeBox, h('label', { for: cid }, `I checked the new words with ${name} and want to go on`))));
    }
    if (trust.pin !== 'same') {
      let prefill = '';
      if (link) {
        try {
          prefill = identityWords(link.fingerprint); // the link carries the digits
        } catch {
          prefill = link.fingerprint;
        }
      }
      const f = field(`The 12 words ${name} gave you`,
        h('input', { class: 'fp-input', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'word word word …', value: prefill }),
        'Type them as they appear; the letters-and-digits form works too. They are compared on this device.');
      fpInput = f.input;
      const verdict = h('p', { class: 'anchor', 'aria-live': 'polite' });
      verdictNow = () => (fpInput.value.trim() ? (normalizeFingerprint(typedAnchor(fpInput.value)) ? 'typed' : 'unreadable') : 'none');
      const show = async () => {
        const given = typedAnchor(fpInput.value.trim());
        if (!given) {
          showUnverified(true);
          verdict.className = 'anchor none';
          verdict.removeAttribute('role');
          replace(verdict, link ? '' : 'Not compared yet.');
          return;
        }
        const t = await assessOrg(log, [], given); // the anchor part of the verdict only
        showUnverified(t.anchor !== 'match'); // a mismatch refuses whatever is ticked (orgtrust.js)
        if (t.anchor === 'match') {
          verdict.className = 'anchor ok';
          verdict.removeAttribute('role');
          const fromLink = link && normalizeFingerprint(given) === normalizeFingerprint(link.fingerprint);
          replace(verdict, h('span', { 'aria-hidden': 'true' }, '✓ '), `The words match: ${name} is who they say they are${fromLink ? ' (the words came with its link)' : ''}.`);
        } else if (!normalizeFingerprint(given)) {
          verdict.className = 'anchor none';
          verdict.removeAttribute('role');
          replace(verdict, 'Keep typing: 12 words are needed.');
        } else {
          verdict.className = 'anchor bad';
          verdict.setAttribute('role', 'alert');
          replace(verdict, h('span', { 'aria-hidden': 'true' }, '✗ '), `These words do not match. Do not approve: someone may be posing as ${name}. Decline, and contact ${name} through its own website or phone number.`);
        }
      };
      fpInput.addEventListener('input', show);
      who.append(f.wrap, verdict);
      if (trust.pin === 'none') {
        const nid = uid('unv');
        unverifiedBox = h('input', { type: 'checkbox', id: nid, class: 'accept-unverified' });
        unverifiedWrap = h('div', { class: 'check unverified' }, unverifiedBox,
          h('label', { for: nid }, 'Approve an organization I could not verify'),
          h('p', { class: 'help' }, `Only if you cannot get ${name}’s words. Someone else could then be posing as ${name}; your Access screen will say you did not check.`));
        who.append(unverifiedWrap);
      }
      await show();
    }
  }

  // What and why: nothing pre-ticked but the purposes the service needs (ticked and fixed).
  const required = new Set((r.required_purposes || []).filter((p) => r.purposes.includes(p)));
  const words = new Map((r.purpose_words || []).map((p) => [p.id, p.words]));
  const pword = (p) => words.get(p) || purposeWords(p);
  const labelBoxes = r.labels.map((l) => {
    const id = uid('lbl');
    const box = h('input', { type: 'checkbox', id, value: l, class: 'choose-label' });
    return { box, el: h('span', { class: 'check' }, box, h('label', { for: id }, labelWords(l))) };
  });
  const purposeBoxes = r.purposes.map((p) => {
    const id = uid('pur');
    const needed = required.has(p);
    const box = h('input', { type: 'checkbox', id, value: p, class: 'choose-purpose', checked: needed, disabled: needed, 'data-required': needed ? 'true' : undefined });
    return { box, el: h('span', { class: `check${needed ? ' required' : ''}` }, box, h('label', { for: id }, pword(p)), needed ? h('span', { class: 'needed' }, 'needed for the service') : null) };
  });
  const options = durationOptions(r.duration_secs);
  const dur = field('Allow for', h('select', { class: 'allow-for' }, options.map((s) => h('option', { value: s, selected: s === r.duration_secs }, s === r.duration_secs ? `${duration(s)} (as asked)` : duration(s)))));
  const reads = field('Limit the number of reads (optional)', h('input', { type: 'number', min: 1, max: 1000000, inputmode: 'numeric', placeholder: 'no limit' }));
  const missing = h('p', { class: 'missing', 'aria-live': 'polite' });
  const approve = h('button', { type: 'button', class: 'primary approve', disabled: !log || !session.unlocked, 'aria-describedby': `${titleId} ${uid('x')}` }, 'Approve');
  missing.id = approve.getAttribute('aria-describedby').split(' ')[1];
  const decline = h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId }, 'Decline');
  const chosen = () => ({
    labels: labelBoxes.filter((b) => b.box.checked).map((b) => b.box.value),
    purposes: purposeBoxes.filter((b) => b.box.checked).map((b) => b.box.value).sort(),
  });
  /** What still has to be chosen, in words; '' when ready. */
  const stillMissing = () => {
    const c = chosen();
    const need = [];
    if (c.labels.length === 0) need.push('tick at least one item to share');
    if (c.purposes.length === 0) need.push('tick at least one purpose');
    return need.length ? `To approve, ${list(need)}.` : '';
  };
  const canApprove = !!log && session.unlocked;
  const sync = () => {
    if (!canApprove) {
      approve.textContent = 'Cannot approve';
      return;
    }
    const m = stillMissing();
    replace(missing, m);
    if (!m) missing.classList.remove('urgent');
    approve.classList.toggle('not-ready', !!m); // still clickable: it then points at what is missing
    approve.textContent = m ? 'Approve (choose first)' : `Approve ${chosen().labels.length === 1 ? 'this item' : `these ${chosen().labels.length} items`}`;
  };
  for (const b of [...labelBoxes, ...purposeBoxes]) b.box.addEventListener('change', sync);
  sync();
  approve.addEventListener('click', () =>
    busy(approve, error, async () => {
      if (stillMissing()) {
        missing.classList.add('urgent'); // the line above the button already says what
        (labelBoxes.find((b) => !b.box.checked) || purposeBoxes.find((b) => !b.box.disabled))?.box.focus();
        return;
      }
      const { labels, purposes } = chosen();
      const max = reads.input.value ? Number(reads.input.value) : undefined;
      if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new Error('The read limit must be a whole number of at least 1, or left empty for no limit.');
      // The device refuses a mismatch too (orgtrust.js); said here first, in words.
      if (verdictNow() === 'unreadable') throw new Error(`What you typed is not 12 of the words ${name} publishes. Check each word, or clear the box.`);
      if (verdictNow() === 'typed' && (await assessOrg(log, [], typedAnchor(fpInput.value))).anchor === 'mismatch') {
        throw new Error(`These words show this is not ${name}. Refusing to approve: someone may be posing as ${name}. Nothing was shared. Decline, and contact ${name} through its own website or phone number.`);
      }
      if (trust && trust.pin === 'none' && verdictNow() === 'none' && !unverifiedBox?.checked) {
        throw new Error(`First compare ${name}’s 12 words: type the words ${name} gave you above. If you cannot get them, tick “Approve an organization I could not verify”.`);
      }
      approve.textContent = 'Checking and signing…';
      // The grant is built from the request as narrowed here: exactly the ticked purposes (the
      // vault refuses a grant missing a required one, and any purpose not asked for).
      const { trust: t } = await session.approve(r, {
        purposes,
        labels,
        durationSecs: Number(dur.input.value),
        maxReads: max,
        fingerprint: fpInput ? typedAnchor(fpInput.value) : '',
        acceptKeyChange: !!changeBox?.checked,
        acceptUnverified: !!unverifiedBox?.checked,
      });
      if (link) ctx.link = null;
      toast(`${name} may now read your ${list(labels.map(labelWords))} for ${list(purposes.map(pword))}${t.verified ? '' : ' (not verified)'}. You can end this at any time under Access.`);
      await ctx.refresh();
    }).finally(sync));
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
      h('dt', {}, 'In their words'), h('dd', {}, h('blockquote', {}, r.justification)),
      ...controllerTerms(r.org?.controller),
      h('dt', {}, 'What'), h('dd', {}, h('fieldset', { class: 'labels' }, h('legend', {}, 'Tick what you want to share'), labelBoxes.map((b) => b.el))),
      h('dt', {}, 'Why'), h('dd', {}, h('fieldset', { class: 'purposes' }, h('legend', {}, required.size ? 'Tick what it may use it for (some are needed for the service)' : 'Tick what it may use it for'), purposeBoxes.map((b) => b.el))),
      h('dt', {}, 'Asked'), h('dd', {}, when(r.created_at))),
    dur.wrap, reads.wrap,
    session.unlocked ? null : h('p', { class: 'notice' }, 'Your keys did not open on this device, so you cannot approve here. Tap Lock and unlock again.'),
    error, missing,
    h('div', { class: 'actions' }, decline, approve));
}

/**
 * The organization's legal details as the vault's operator registered them (`org.controller`):
 * shown for the customer to check against what they know, labelled as the operator's word —
 * nothing here is verified, and nothing here is used to decide anything.
 */
function controllerTerms(c) {
  if (!c || typeof c !== 'object') return [];
  const text = (v) => (typeof v === 'string' ? v : '');
  const a = c.address || {};
  const address = [a.street_address, a.locality, a.region, a.postal_code, a.country].map(text).filter(Boolean).join(', ');
  const url = text(c.privacy_policy_url);
  const policy = /^https:\/\//.test(url) ? h('a', { href: url, rel: 'noopener noreferrer', target: '_blank' }, url) : url;
  return [
    h('dt', {}, 'Who they are'),
    h('dd', { class: 'controller' },
      h('p', {}, text(c.legal_name)),
      address ? h('p', {}, address) : null,
      h('p', {}, [text(c.email), text(c.phone)].filter(Boolean).join(' · ')),
      url ? h('p', {}, 'Privacy policy: ', policy) : null,
      h('p', { class: 'hint' }, 'As the vault’s operator registered them: not checked by this device. Compare with what you know of them.')),
  ];
}
