// "Access": who has my data, grouped by organization — its grants (until when, how many reads,
// whether you signed them) and its reads (what, when, for which purpose, ledger entry), the
// reads taken only from the account's VERIFIED ledger. Each grant the vault lists is checked
// against the account's own signing key (grantcheck.js): one that does not verify is flagged,
// never trusted. The organization's name comes from its verified key log, its 12 words are
// computed here from the identity key the customer signed, and a grant approved without an
// anchor says the organization was not checked (kept per account on this device, pins.js).
//
// Revoking uses Undo rather than a confirmation: a confirmation dialog is answered by reflex
// ("OK") and slows the one action that must be fast on a phone, while a 5-second Undo protects
// against the real mistake (a tap on the wrong card) without a second tap. The revocation is
// sent when the 5 seconds are up (or at once when the page is locked or left).
import { h, replace, toast, uid, plainError } from './dom.js';
import { labelWords, purposeWords, until, when, list, identityWords } from '../words.js';
import { fingerprint } from '../crypto/sign.js';
import { RECEIPT_ROUTE, renderReceipt } from './receipt.js';

export const RECALL = 'Data already read cannot be recalled.';
export const UNDO_SECONDS = 5;

/** grant_id → { send(): Promise } for revocations waiting out their Undo time. */
const pending = new Map();

// The last revocation's outcome, shown on Access until the customer moves to another screen
// (the screen may be redrawn several times meanwhile: live events, the re-encryption).
let notice = null;
window.addEventListener('hashchange', () => {
  notice = null;
});

/** Sends every waiting revocation now (the page is being locked or left). */
export function flushRevocations() {
  for (const p of [...pending.values()]) p.send();
}
// The header's Lock button and the Account screen's lock both end the session: send first.
document.addEventListener('click', (e) => {
  if (e.target instanceof Element && e.target.closest('#lock')) flushRevocations();
}, true);
window.addEventListener('beforeunload', (e) => {
  if (!pending.size) return;
  flushRevocations();
  e.preventDefault(); // ask to stay until the revocation has gone out
});

export async function renderAccess(ctx, root) {
  const receipt = RECEIPT_ROUTE.exec(location.hash);
  if (receipt) return renderReceipt(ctx, root, receipt[1]);
  const { session } = ctx;
  if (!ctx.lockWrapped) {
    const lock = ctx.lock;
    ctx.lock = (...a) => {
      flushRevocations();
      return lock(...a);
    };
    ctx.lockWrapped = true;
  }
  const unverified = session.pins.unverifiedOrgs;
  const L = await ctx.checkLedger();
  const entries = L.ok ? L.answer.entries : [];
  const orgs = new Map(); // org_id → { name, grants: [], reads: [] }
  const org = async (id) => {
    if (!orgs.has(id)) orgs.set(id, { id, name: await session.orgName(id), grants: [], reads: [] });
    return orgs.get(id);
  };
  for (const c of await session.checkedGrants()) {
    const g = c.grant;
    (await org(g.org_id)).grants.push({
      ...g,
      check: c,
      words: c.ok ? identityWords(await fingerprint(c.own.orgIdentityKey)) : null,
      fingerprint: c.ok ? await fingerprint(c.own.orgIdentityKey) : null,
      unverifiedOrg: !!unverified[g.grant_id],
    });
  }
  for (const e of entries) if (e.event.type === 'read' && e.event.org_id) (await org(e.event.org_id)).reads.push(e);
  for (const o of orgs.values()) if (o.name === o.id) o.name = 'An organization the vault could not identify';

  const heading = h('h2', { tabindex: '-1' }, 'Who has your data');
  if (ctx.notice) notice = ctx.notice;
  ctx.notice = null;
  const groups = [...orgs.values()].sort((a, b) => activeCount(b) - activeCount(a) || a.name.localeCompare(b.name));
  replace(root, heading,
    notice ? h('p', { class: 'status ok', id: 'access-notice', role: 'status' }, notice) : null,
    L.ok ? null : h('p', { class: 'notice' }, 'Reads cannot be listed: your history did not pass its checks on this device (see Ledger).'),
    groups.some((o) => activeCount(o)) ? null : h('p', { class: 'empty' }, 'No organization can read your data right now.'),
    groups.length ? h('div', { id: 'orgs' }, groups.map((o) => orgSection(ctx, o))) : null);
  return heading;
}

const activeCount = (o) => o.grants.filter((g) => g.state === 'active').length;

function orgSection(ctx, o) {
  const titleId = uid('org');
  const active = o.grants.filter((g) => g.state === 'active');
  const ended = o.grants.filter((g) => g.state !== 'active');
  const reads = o.reads.slice().reverse();
  return h('section', { class: 'org-group', 'data-org': o.id, 'aria-labelledby': titleId },
    h('h3', { id: titleId, class: 'org-name' }, o.name,
      o.grants.some((g) => g.unverifiedOrg) ? h('span', { class: 'badge warn unverified-org' }, 'not checked') : null),
    active.length ? h('ul', { class: 'cards grants' }, active.map((g) => grantCard(ctx, o, g))) : h('p', { class: 'muted' }, `${o.name} cannot read your data now.`),
    reads.length
      ? h('details', { class: 'reads', open: reads.length <= 5 ? true : undefined },
        h('summary', {}, `What ${o.name} read (${reads.length})`),
        h('ul', { class: 'reads-list' }, reads.map((e) =>
          h('li', { class: 'read', 'data-index': e.index, 'data-grant': e.event.grant_id },
            h('span', { class: 'what' }, `Your ${labelWords(e.event.label)}`), ` for ${purposeWords(e.event.purpose)}, `,
            h('time', { datetime: e.event.at }, when(e.event.at)),
            h('span', { class: 'meta' }, ` · ledger entry ${e.index}`)))))
      : h('p', { class: 'muted no-reads' }, `${o.name} has not read anything yet.`),
    ended.length
      ? h('div', { class: 'ended' }, h('h4', {}, 'Ended'),
        h('ul', { class: 'cards compact past-grants' }, ended.map((g) => pastCard(o, g))))
      : null);
}

/** What this device checked about the grant, in words. */
function checkedFacts(o, g) {
  if (g.check.locked) return h('p', { class: 'grant-check locked' }, 'Unlock your keys to check that you signed this.');
  if (!g.check.ok) {
    return h('p', { class: 'grant-check bad', role: 'alert' }, h('span', { 'aria-hidden': 'true' }, '✗ '),
      `The vault lists this access, but you did not sign it (${g.check.reason}). Nothing of yours is shared with it from this device. Tell the vault’s operator.`);
  }
  return h('div', { class: 'grant-check ok' },
    h('p', {}, h('span', { 'aria-hidden': 'true' }, '✓ '), 'You signed this.',
      g.unverifiedOrg ? ` You approved it without comparing ${o.name}’s 12 words.` : null),
    h('details', { class: 'digits' }, h('summary', {}, `${o.name}’s 12 words`),
      h('p', { class: 'words' }, g.words), h('code', { class: 'fingerprint' }, g.fingerprint)));
}
const readsText = (g) => `read ${g.reads} time${g.reads === 1 ? '' : 's'}${g.max_reads ? ` of at most ${g.max_reads}` : ''}`;

const receiptLink = (g, describedBy) =>
  h('a', { href: `#/access/receipt/${g.grant_id}`, class: 'button secondary receipt-link', 'aria-describedby': describedBy }, 'Receipt');

function grantCard(ctx, o, g) {
  const titleId = uid('grant');
  const noteId = uid('note');
  const waiting = pending.get(g.grant_id);
  const revoke = h('button', { type: 'button', class: 'danger revoke', 'aria-describedby': `${titleId} ${noteId}`, disabled: !!waiting }, waiting ? 'Ending…' : 'End access');
  revoke.addEventListener('click', () => startRevoke(ctx, o, g));
  return h('li', { class: `card grant${waiting ? ' ending' : ''}`, 'data-grant': g.grant_id },
    h('h4', { id: titleId }, `Your ${list(g.labels.map(labelWords))}`),
    h('p', {}, `For ${list(g.purposes.map(purposeWords))}.`),
    h('p', { class: 'meta' }, `Until ${until(g.not_after)} · ${readsText(g)}`),
    checkedFacts(o, g),
    h('p', { class: 'recall', id: noteId }, `Ending access stops every future read at once. ${RECALL}`),
    h('div', { class: 'actions' }, receiptLink(g, titleId), revoke));
}

function pastCard(o, g) {
  const titleId = uid('grant');
  const ended = g.state === 'revoked' ? `you ended it ${when(g.revoked_at)}` : g.state === 'expired' ? `it ran out ${when(g.not_after)}` : g.state;
  const badge = { revoked: 'ended by you', expired: 'ran out' }[g.state] || g.state;
  return h('li', { class: 'card grant ended', 'data-grant': g.grant_id },
    h('h4', { id: titleId }, `Your ${list(g.labels.map(labelWords))}`, ' ', h('span', { class: `badge ${g.state}` }, badge)),
    h('p', {}, `For ${list(g.purposes.map(purposeWords))}: ${ended}, ${readsText(g)}.`),
    checkedFacts(o, g),
    h('div', { class: 'actions' }, receiptLink(g, titleId)));
}

/** Revocation with Undo: the request goes out when the toast's time is up. */
function startRevoke(ctx, o, g) {
  // One at a time: an earlier one still waiting is sent now.
  flushRevocations();
  let done = false;
  const entry = {
    send: () => {
      if (done) return Promise.resolve();
      done = true;
      pending.delete(g.grant_id);
      clear();
      // Sent with the session as it is now: a lock right after still lets it go out.
      return ctx.session.revoke(g.grant_id).then(async () => {
        notice = `You ended ${o.name}’s access: it can no longer read your data. ${RECALL}`;
        toast(`${o.name} can no longer read your data.`);
        if (ctx.session) await ctx.afterRevoke();
      }, async (e) => {
        toast(`Ending ${o.name}’s access did not go through: ${plainError(e)} Unlock, open Access and tap “End access” again.`, 'error');
        if (ctx.session) await ctx.refresh();
      }).catch(() => {
        /* the screen shows its own errors */
      });
    },
  };
  pending.set(g.grant_id, entry);
  const clear = toast(`Ending ${o.name}’s access to your ${list(g.labels.map(labelWords))}…`, 'info', {
    seconds: UNDO_SECONDS,
    sticky: true,
    action: {
      label: 'Undo',
      run: () => {
        if (done) return;
        done = true;
        pending.delete(g.grant_id);
        toast(`Nothing changed: ${o.name} keeps its access.`);
        ctx.rerender();
      },
    },
    onExpire: () => entry.send(),
  });
  ctx.rerender();
}
