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
//
// Erasure (GDPR Art. 17): what an organization already read cannot be recalled, but the customer
// can ask it to erase its copies — ticking "Also ask them to erase what they already read" beside
// "End access" (sent once the revocation went through), or "Ask to erase" on any access without a
// request (one per access; a confirmation, since it cannot be taken back). A request's state is
// shown from the VERIFIED ledger only (erasure.js): its erasure_requested entry and deadline, and
// an answer only when the organization's key of the moment signed it; the device's clock says
// when it is overdue. The vault's `erasure` field is used only to say what cannot be checked.
import { h, replace, toast, uid, plainError, busy, confirmDialog } from './dom.js';
import { labelWords, purposeWords, until, when, list, identityWords, day } from '../words.js';
import { fingerprint } from '../crypto/sign.js';
import { RECEIPT_ROUTE, renderReceipt } from './receipt.js';

export const RECALL = 'Data already read cannot be recalled.';
/** The lever for what was already read. */
const ERASE_LEVER = (name) => `${RECALL} You can ask ${name} to erase it.`;
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
  // Erasure requests and answers from the verified ledger only (nothing when it failed).
  const erasures = L.ok ? (await session.erasures(entries)).byGrant : null;
  for (const o of orgs.values()) {
    for (const g of o.grants) {
      g.ledgerOk = L.ok;
      g.asked = erasures?.get(g.grant_id) || null;
    }
  }
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
        h('ul', { class: 'cards compact past-grants' }, ended.map((g) => pastCard(ctx, o, g))))
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
  const erasure = erasureFacts(o, g);
  const canAsk = !erasure;
  const alsoId = uid('erase');
  const also = canAsk
    ? h('input', { type: 'checkbox', id: alsoId, class: 'also-erase', value: 'erase', 'aria-describedby': noteId, checked: !!waiting?.erase, disabled: !!waiting })
    : null;
  const revoke = h('button', { type: 'button', class: 'danger revoke', 'aria-describedby': `${titleId} ${noteId}`, disabled: !!waiting }, waiting ? 'Ending…' : 'End access');
  revoke.addEventListener('click', () => startRevoke(ctx, o, g, { erase: !!also?.checked }));
  return h('li', { class: `card grant${waiting ? ' ending' : ''}`, 'data-grant': g.grant_id },
    h('h4', { id: titleId }, `Your ${list(g.labels.map(labelWords))}`),
    h('p', {}, `For ${list(g.purposes.map(purposeWords))}.`),
    h('p', { class: 'meta' }, `Until ${until(g.not_after)} · ${readsText(g)}`),
    checkedFacts(o, g),
    erasure,
    h('p', { class: 'recall', id: noteId }, `Ending access stops every future read at once. ${canAsk ? ERASE_LEVER(o.name) : RECALL}`),
    also ? h('div', { class: 'check also-erase-field' }, also, h('label', { for: alsoId }, 'Also ask them to erase what they already read')) : null,
    h('div', { class: 'actions' }, receiptLink(g, titleId), revoke, canAsk ? askButton(ctx, o, g, titleId, waiting) : null));
}

function pastCard(ctx, o, g) {
  const titleId = uid('grant');
  const ended = g.state === 'revoked' ? `you ended it ${when(g.revoked_at)}` : g.state === 'expired' ? `it ran out ${when(g.not_after)}` : g.state;
  const badge = { revoked: 'ended by you', expired: 'ran out' }[g.state] || g.state;
  const erasure = erasureFacts(o, g);
  return h('li', { class: 'card grant ended', 'data-grant': g.grant_id },
    h('h4', { id: titleId }, `Your ${list(g.labels.map(labelWords))}`, ' ', h('span', { class: `badge ${g.state}` }, badge)),
    h('p', {}, `For ${list(g.purposes.map(purposeWords))}: ${ended}, ${readsText(g)}.`),
    checkedFacts(o, g),
    erasure || h('p', { class: 'recall' }, ERASE_LEVER(o.name)),
    h('div', { class: 'actions' }, receiptLink(g, titleId), erasure ? null : askButton(ctx, o, g, titleId)));
}

/**
 * The erasure request under `g` in words, or null when there is none (then "Ask to erase" is
 * offered). From the verified ledger (`g.asked`, erasure.js); the vault's `g.erasure` only says
 * what this device cannot check.
 */
function erasureFacts(o, g) {
  const r = g.asked;
  if (!r) {
    if (!g.erasure) return null;
    const state = typeof g.erasure.state === 'string' ? g.erasure.state : 'unknown';
    return h('div', { class: 'erasure unchecked notice', 'data-state': 'unchecked' },
      h('p', {}, g.ledgerOk
        ? `The vault lists an erasure request under this access (“${state}”, as the vault reports it) that your checked history does not show. Look again later; if it stays, tell the vault’s operator.`
        : `The vault reports that you asked ${o.name} to erase what it read under this access (it reports “${state}”), but your history failed its checks on this device, so neither the request nor any answer can be confirmed here (see Ledger).`));
  }
  const signed = (a) => `signed by ${o.name} on ${day(a.answeredAt)}`;
  const asked = `Erasure asked on ${day(r.requestedAt)}`;
  let line;
  if (r.state === 'erased') {
    line = h('p', {}, h('span', { 'aria-hidden': 'true' }, '✓ '), h('strong', {}, 'Erased'), ` (${signed(r.answer)}).`);
  } else if (r.state === 'refused') {
    line = h('p', {}, h('strong', {}, 'Refused: '), h('q', { class: 'erasure-reason' }, r.answer.reason), ` (${signed(r.answer)}).`);
  } else if (r.state === 'overdue') {
    line = h('p', {}, h('strong', { class: 'overdue-mark' }, 'OVERDUE:'), ` no answer since ${day(r.requestedAt)}; it was due by ${day(r.due)}. You can complain to your data protection authority.`);
  } else {
    line = h('p', {}, `${asked}; answer due by ${day(r.due)}.`);
  }
  const where = r.answer
    ? `${asked}. Ledger entries ${r.requestIndex} and ${r.answer.answerIndex}; ${o.name}’s signature checked on this device against its key log.`
    : `Ledger entry ${r.requestIndex}, checked on this device.`;
  return h('div', { class: `erasure ${r.state}`, 'data-state': r.state },
    line,
    h('p', { class: 'meta' }, where),
    r.rejected.map((x) => h('p', { class: 'grant-check bad erasure-rejected', role: 'alert' }, h('span', { 'aria-hidden': 'true' }, '✗ '),
      `Ledger entry ${x.index} claims to be ${o.name}’s answer, but this device does not believe it: ${x.reason}. It is not shown as ${o.name}’s answer. Tell the vault’s operator.`)));
}

/** "Ask to erase": one request per access, confirmed first (it cannot be taken back). */
function askButton(ctx, o, g, titleId, waiting = null) {
  const ask = h('button', { type: 'button', class: 'secondary ask-erasure', 'aria-describedby': titleId, disabled: !!waiting }, 'Ask to erase');
  ask.addEventListener('click', async () => {
    const what = list(g.labels.map(labelWords));
    const yes = await confirmDialog({
      title: `Ask ${o.name} to erase what it read?`,
      body: `${o.name} will be asked to erase the copies of your ${what} it read under this access. The request goes into your history, and ${o.name} must answer by the deadline (usually a month): erased, or refused with its legal reason, signed with its key. You can ask once per access.`,
      confirm: 'Ask to erase',
      danger: false,
    });
    if (!yes) return;
    await busy(ask, null, async () => {
      try {
        await ctx.session.askErasure(g.grant_id);
      } catch (e) {
        if (e?.code === 'erasure_already_requested') await ctx.refresh();
        throw e;
      }
      notice = `You asked ${o.name} to erase what it read of your ${what}. Its answer will show here.`;
      toast(`You asked ${o.name} to erase what it read.`);
      await ctx.refresh();
    });
  });
  return ask;
}

/**
 * Revocation with Undo: the request goes out when the toast's time is up. With `erase`, the
 * erasure request follows once the revocation went through.
 */
function startRevoke(ctx, o, g, { erase = false } = {}) {
  // One at a time: an earlier one still waiting is sent now.
  flushRevocations();
  let done = false;
  const entry = {
    erase,
    send: () => {
      if (done) return Promise.resolve();
      done = true;
      pending.delete(g.grant_id);
      clear();
      // Sent with the session as it is now: a lock right after still lets it go out.
      const session = ctx.session;
      return session.revoke(g.grant_id).then(async () => {
        let failed = null;
        if (erase) {
          try {
            await session.askErasure(g.grant_id);
          } catch (e) {
            failed = e;
          }
        }
        notice = `You ended ${o.name}’s access: it can no longer read your data. ${erase && !failed ? `${RECALL} You asked ${o.name} to erase what it already read; its answer will show here.` : ERASE_LEVER(o.name)}`;
        if (failed) toast(`${o.name} can no longer read your data, but asking it to erase what it read did not go through: ${plainError(failed)} Tap “Ask to erase” on the ended access to try again.`, 'error');
        else toast(`${o.name} can no longer read your data.${erase ? ' You asked it to erase what it read.' : ''}`);
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
  const clear = toast(`Ending ${o.name}’s access to your ${list(g.labels.map(labelWords))}${erase ? ' and asking it to erase what it read' : ''}…`, 'info', {
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
