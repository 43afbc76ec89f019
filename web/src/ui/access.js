// "Access": grants with expiry and reads; one-tap revoke (needs only the session); receipts.
// Each grant the vault lists is checked here against the account's own signing key
// (grantcheck.js): one that does not verify is flagged, never trusted. The organization's name
// comes from its verified key log, the fingerprint is computed here from the identity key the
// customer signed, and a grant approved without an anchor says the organization was not verified
// (kept per account on this device, pins.js).
import { h, replace, busy, download, uid } from './dom.js';
import { labelWords, purposeWords, until, when, list } from '../words.js';
import { fingerprint } from '../crypto/sign.js';

export const RECALL = 'Data already read cannot be recalled.';

export async function renderAccess(ctx, root) {
  const { session } = ctx;
  const unverified = session.pins.unverifiedOrgs;
  const grants = [];
  for (const c of await session.checkedGrants()) {
    const g = c.grant;
    grants.push({
      ...g,
      check: c,
      name: await session.orgName(g.org_id),
      fingerprint: c.ok ? await fingerprint(c.own.orgIdentityKey) : null,
      unverifiedOrg: !!unverified[g.grant_id],
    });
  }
  const active = grants.filter((g) => g.state === 'active');
  const past = grants.filter((g) => g.state !== 'active');
  const heading = h('h2', { tabindex: '-1' }, 'Who can read your data');
  const notice = ctx.notice;
  ctx.notice = null;
  replace(root, heading,
    notice ? h('p', { class: 'status ok', id: 'access-notice', role: 'status' }, notice) : null,
    active.length
      ? h('ul', { class: 'cards', id: 'grants', 'aria-label': 'Active access' }, active.map((g) => grantCard(ctx, g)))
      : h('p', { class: 'empty' }, 'No organization can read your data right now.'),
    past.length
      ? h('section', { 'aria-labelledby': 'past-grants' }, h('h3', { id: 'past-grants' }, 'Ended'),
        h('ul', { class: 'cards compact', id: 'past-grants-list' }, past.map((g) => pastCard(ctx, g))))
      : null);
  return heading;
}

const orgName = (g) => g.name;

/** What this device checked about the grant, in words. */
function checkedFacts(g) {
  if (g.check.locked) return h('p', { class: 'grant-check locked' }, 'Unlock your keys to check that you signed this.');
  if (!g.check.ok) {
    return h('p', { class: 'grant-check bad', role: 'alert' }, h('span', { 'aria-hidden': 'true' }, '✗ '),
      `The vault lists this access, but this device cannot verify it: ${g.check.reason}. Nothing of yours is wrapped to it from this device.`);
  }
  return h('p', { class: 'grant-check ok' },
    h('span', { 'aria-hidden': 'true' }, '✓ '), 'Signed by you, for the keys with fingerprint ', h('code', { class: 'fingerprint' }, g.fingerprint), '.',
    g.unverifiedOrg ? h('span', { class: 'badge warn unverified-org' }, 'organization not verified') : null,
    g.unverifiedOrg ? ' You approved it without checking its fingerprint.' : null);
}
const readsText = (g) => `read ${g.reads} time${g.reads === 1 ? '' : 's'}${g.max_reads ? ` of at most ${g.max_reads}` : ''}`;

function receiptButton(ctx, g, describedBy) {
  const b = h('button', { type: 'button', class: 'secondary', 'aria-describedby': describedBy }, 'Download receipt');
  b.addEventListener('click', () =>
    busy(b, null, async () => {
      download(`assent-receipt-${g.grant_id}.json`, await ctx.session.receipt(g.grant_id));
    }));
  return b;
}

function grantCard(ctx, g) {
  const titleId = uid('grant');
  const noteId = uid('note');
  const revoke = h('button', { type: 'button', class: 'danger revoke', 'aria-describedby': `${titleId} ${noteId}` }, 'Revoke access');
  revoke.addEventListener('click', () =>
    busy(revoke, null, async () => {
      revoke.textContent = 'Revoking…';
      await ctx.session.revoke(g.grant_id);
      ctx.notice = `You revoked ${orgName(g)}’s access: it can no longer read your data. ${RECALL}`;
      await ctx.afterRevoke();
    }));
  return h('li', { class: 'card grant', 'data-grant': g.grant_id },
    h('h3', { id: titleId }, orgName(g)),
    h('p', {}, `Can read your ${list(g.labels.map(labelWords))} for ${list(g.purposes.map(purposeWords))}.`),
    h('p', { class: 'meta' }, `Until ${until(g.not_after)} · ${readsText(g)}`),
    checkedFacts(g),
    h('p', { class: 'recall', id: noteId }, `Revoking stops every future read at once. ${RECALL}`),
    h('div', { class: 'actions' }, receiptButton(ctx, g, titleId), revoke));
}

function pastCard(ctx, g) {
  const titleId = uid('grant');
  const ended = g.state === 'revoked' ? `revoked ${when(g.revoked_at)}` : g.state === 'expired' ? `expired ${when(g.not_after)}` : g.state;
  return h('li', { class: 'card grant ended', 'data-grant': g.grant_id },
    h('h3', { id: titleId }, orgName(g), ' ', h('span', { class: `badge ${g.state}` }, g.state)),
    h('p', {}, `Your ${list(g.labels.map(labelWords))} for ${list(g.purposes.map(purposeWords))}: ${ended}, ${readsText(g)}.`),
    checkedFacts(g),
    h('div', { class: 'actions' }, receiptButton(ctx, g, titleId)));
}
