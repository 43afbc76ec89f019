// "Everything in your vault" (`#/account/export`, opened from Account): what the export file holds,
// in words, on a page a person can read and print; the file itself ("Download everything") is
// offered beside it, the same file as before (exportAll).
//
// As on the receipt page (receipt.js), every fact shown is one this page checked itself, or it is
// labelled "as the vault reports it": an item's contents only when it opened here (its AAD binds
// the label, type and version), its last change from the account's verified ledger, the terms of
// each access from the grant the customer signed (grantcheck.js), reads and requests from the
// verified ledger, an organization's name from its verified key log and its 12 words from the
// identity key the customer signed.
import { h, replace, busy, download } from './dom.js';
import { labelWords, purposeWords, list, identityWords, humanSize, typeWords } from '../words.js';
import { fingerprint } from '../crypto/sign.js';
import { b64url, fromUtf8 } from '../crypto/bytes.js';
import { FILE_TYPE, openNamedFile } from '../crypto/namedfile.js';

export const EXPORT_ROUTE = /^#\/account\/export$/;

const REPORTED = 'as the vault reports it';
const longDate = (iso) => new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' });
const times = (n) => `${n} time${n === 1 ? '' : 's'}`;
const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** The export file (format assent-export/v1): data opened on this device, grants, requests, the ledger with its proofs. */
export async function exportAll(ctx) {
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

/** A "Download everything (file)" button: decrypts on this device and offers the file. */
export function downloadButton(ctx, error, { id, label = 'Download everything (file)', kind = 'primary' } = {}) {
  const { session } = ctx;
  const button = h('button', { type: 'button', class: `${kind} download-export`, id, disabled: !session.unlocked }, label);
  button.addEventListener('click', () =>
    busy(button, error, async () => {
      button.textContent = 'Decrypting…';
      download(`assent-export-${session.handle}-${new Date().toISOString().slice(0, 10)}.json`, await exportAll(ctx));
    }));
  return button;
}

/** One stored item, opened here when the keys are open. */
async function itemView(ctx, e, entries, ledgerOk) {
  const { session } = ctx;
  const written = entries.filter((x) => x.event.type === 'envelope_written' && x.event.envelope_id === e.envelope_id && x.event.label === e.label);
  const changed = ledgerOk && written.length ? longDate(written.at(-1).event.at) : `${longDate(e.updated_at)} (${REPORTED})`;
  let kind;
  let size;
  let body = null;
  if (!session.unlocked) {
    kind = e.content_type === FILE_TYPE ? 'a file' : `${typeWords(e.content_type)} (${REPORTED})`;
    size = `${humanSize(e.size)} locked (${REPORTED})`;
    body = h('p', { class: 'muted locked' }, 'Locked: unlock on this device to see what it holds.');
  } else {
    try {
      const full = await session.envelope(e.label);
      if (!full) throw new Error('the vault no longer lists it');
      const plain = await session.openFull(full);
      if (full.content_type === FILE_TYPE) {
        const f = openNamedFile(plain);
        kind = typeWords(f.contentType);
        size = humanSize(f.bytes.length);
        body = h('p', { class: 'value file' }, 'File ', h('strong', { class: 'file-name' }, f.name), ' (in the file, with its contents)');
      } else if (full.content_type.startsWith('text/')) {
        kind = 'text';
        size = humanSize(plain.length);
        body = h('p', { class: 'value text' }, fromUtf8(plain));
      } else {
        kind = typeWords(full.content_type);
        size = humanSize(plain.length);
        body = h('p', { class: 'value file' }, `A ${kind} without a name (in the file, with its contents)`);
      }
    } catch (err) {
      kind = 'unknown';
      size = `${humanSize(e.size)} (${REPORTED})`;
      body = h('p', { class: 'error open-failed' }, `It could not be opened on this device (${err.message}): what the vault holds for it is not what you stored, so it is not shown. See Your data.`);
    }
  }
  return h('li', { class: 'export-item', 'data-label': e.label },
    h('h4', {}, capital(labelWords(e.label))),
    h('p', { class: 'meta' }, `${capital(kind)} · ${size} · last changed ${changed}`),
    body);
}

/** Each access as this device checked it, grouped by organization. */
async function accessGroups(ctx, entries, ledgerOk) {
  const { session } = ctx;
  const unverified = session.pins.unverifiedOrgs;
  const orgs = new Map();
  for (const c of await session.checkedGrants()) {
    const g = c.grant;
    if (!orgs.has(g.org_id)) {
      const name = await session.orgName(g.org_id);
      orgs.set(g.org_id, { id: g.org_id, name: name === g.org_id ? 'An organization the vault could not identify' : name, words: new Set(), items: [], unverified: false });
    }
    const o = orgs.get(g.org_id);
    if (c.ok) o.words.add(identityWords(await fingerprint(c.own.orgIdentityKey)));
    if (unverified[g.grant_id]) o.unverified = true;
    o.items.push({ c, g });
  }
  const groups = [...orgs.values()].sort((a, b) => a.name.localeCompare(b.name));
  return groups.map((o) => h('section', { class: 'export-org', 'data-org': o.id },
    h('h4', { class: 'org-name' }, o.name),
    o.words.size
      ? [h('p', { class: 'meta' }, `${o.name}’s 12 words${o.unverified ? ' (you approved without comparing them)' : ''}:`), [...o.words].map((w) => h('p', { class: 'words' }, w))]
      : null,
    h('ul', { class: 'plain export-grants' }, o.items.map(({ c, g }) => grantLine(o, c, g, entries, ledgerOk)))));
}

function grantLine(o, c, g, entries, ledgerOk) {
  if (!c.ok) {
    const why = c.locked ? 'unlock on this device to check that you signed it' : `you did not sign it (${c.reason}); tell the vault’s operator`;
    return h('li', { class: 'export-grant unchecked' },
      `Your ${list(g.labels.map(labelWords))}, for ${list(g.purposes.map(purposeWords))}, until ${longDate(g.not_after)} (${REPORTED}: ${why}).`);
  }
  const t = c.own.terms;
  const created = entries.find((e) => e.event.type === 'grant_created' && e.event.grant_id === t.grant_id);
  const revoked = entries.find((e) => e.event.type === 'grant_revoked' && e.event.grant_id === t.grant_id);
  const reads = entries.filter((e) => e.event.type === 'read' && e.event.grant_id === t.grant_id).length;
  const from = created ? longDate(created.event.at) : `${longDate(g.created_at)} (${REPORTED})`;
  const ended = Date.parse(t.not_after) <= Date.now();
  const until = revoked
    ? `until ${longDate(revoked.event.at)}, when you ended it`
    : `until ${longDate(t.not_after)}${ended ? ', when it ran out' : ''}`;
  const readText = ledgerOk
    ? `Read ${times(reads)}${t.max_reads ? ` of at most ${t.max_reads}` : ''}.`
    : `Read ${times(g.reads)} (${REPORTED}).`;
  const state = revoked || ended ? 'ended' : 'active';
  return h('li', { class: `export-grant ${state}` },
    h('p', { class: 'what' }, h('strong', {}, `Your ${list(t.labels.map(labelWords))}`), `, for ${list(t.purposes.map(purposeWords))} only.`),
    h('p', { class: 'when' }, ` From ${from} ${until}.`),
    h('p', { class: 'reads' }, ` ${readText} ${state === 'active' ? 'Still allowed now.' : 'No longer allowed.'} You signed it; checked on this device. `,
      h('a', { href: `#/access/receipt/${t.grant_id}`, class: 'no-print receipt-link' }, 'See its receipt')));
}

/** Requests, from the verified ledger (asked, declined, answered with yes), else labelled. */
async function requestLines(ctx, entries, ledgerOk) {
  const { session } = ctx;
  const served = await session.requests();
  const byId = new Map(served.map((r) => [r.request_id, r]));
  const name = async (id) => {
    const n = await session.orgName(id);
    return n === id ? 'An organization the vault could not identify' : n;
  };
  const out = [];
  const seen = new Set();
  if (ledgerOk) {
    for (const e of entries.filter((x) => x.event.type === 'request_created')) {
      const ev = e.event;
      seen.add(ev.request_id);
      const yes = entries.find((x) => x.event.type === 'grant_created' && x.event.request_id === ev.request_id);
      const no = entries.find((x) => x.event.type === 'request_declined' && x.event.request_id === ev.request_id);
      const r = byId.get(ev.request_id);
      const answer = yes ? `you said yes on ${longDate(yes.event.at)}`
        : no ? `you said no on ${longDate(no.event.at)}`
          : r?.status === 'pending' ? `not answered yet (${REPORTED})`
            : r?.status === 'expired' ? `it expired unanswered (${REPORTED})`
              : 'not answered';
      out.push(h('li', { class: `export-request ${yes ? 'approved' : no ? 'declined' : 'open'}` },
        `${await name(ev.org_id)} asked on ${longDate(ev.at)} for your ${list((ev.labels || []).map(labelWords))}, for ${list((ev.purposes || []).map(purposeWords))}: ${answer}.`));
    }
  }
  const answered = { approved: 'you said yes', declined: 'you said no', expired: 'it expired unanswered', pending: 'not answered yet' };
  for (const r of served) {
    if (seen.has(r.request_id)) continue;
    out.push(h('li', { class: 'export-request reported' },
      `${await name(r.org_id)} asked on ${longDate(r.created_at)} for your ${list(r.labels.map(labelWords))}, for ${list(r.purposes.map(purposeWords))}: ${answered[r.status] || 'unknown'} (${REPORTED}; not in your checked history).`));
  }
  return out;
}

function historySummary(L) {
  if (!L.ok) {
    return h('p', { class: 'history-summary bad', role: 'alert' },
      `✗ Your history did not pass its checks on this device: ${L.failure?.message || 'it could not be checked'} Open Your history to see what it means. The file still holds it, marked as not confirmed.`);
  }
  const n = L.highestSeq;
  if (!n) return h('p', { class: 'history-summary ok' }, 'You have no history yet.');
  return h('p', { class: 'history-summary ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '),
    `${n} ${n === 1 ? 'entry' : 'entries'}, complete and `,
    L.consistentWith === null ? 'checked on this device for the first time: from now on it will notice if any is changed or removed.' : 'unchanged since you last looked on this device.');
}

export async function renderExport(ctx, root) {
  const { session } = ctx;
  const heading = h('h2', { tabindex: '-1' }, 'Everything in your vault');
  const back = h('a', { href: '#/account', class: 'back no-print' }, '← Back to Account');
  const L = await ctx.checkLedger();
  const entries = L.ok ? L.answer.entries : [];
  const items = (await session.envelopes()).slice().sort((a, b) => labelWords(a.label).localeCompare(labelWords(b.label)));
  const itemViews = [];
  for (const e of items) itemViews.push(await itemView(ctx, e, entries, L.ok));
  const groups = await accessGroups(ctx, entries, L.ok);
  const requests = await requestLines(ctx, entries, L.ok);

  const error = h('p', { class: 'error', role: 'alert' });
  const printBtn = h('button', { type: 'button', class: 'secondary print' }, 'Print or save as PDF');
  printBtn.addEventListener('click', () => window.print());
  const file = downloadButton(ctx, error, { id: 'export-file' });

  replace(root, back, heading,
    h('article', { class: 'card export' },
      h('p', { class: 'lead' }, 'Everything your vault holds for you, in words: the same as the file you can download at the end of this page.'),
      h('p', { class: 'meta' }, 'For ', h('strong', { class: 'handle' }, session.handle), ', on ', h('span', { class: 'made' }, longDate(new Date().toISOString())), '.'),
      session.unlocked ? null : h('p', { class: 'notice' }, 'Your keys are locked on this device, so your data is not shown and the file cannot be made. Tap Lock, then unlock again with your passphrase.'),
      h('section', { 'aria-labelledby': 'export-data-title', id: 'export-data' },
        h('h3', { id: 'export-data-title' }, `Your data (${items.length} ${items.length === 1 ? 'item' : 'items'})`),
        items.length ? h('ul', { class: 'export-items' }, itemViews) : h('p', { class: 'empty' }, 'Nothing stored.')),
      h('section', { 'aria-labelledby': 'export-access-title', id: 'export-access' },
        h('h3', { id: 'export-access-title' }, 'Who you allowed to read what'),
        groups.length ? groups : h('p', { class: 'empty' }, 'You have not allowed any organization to read your data.')),
      h('section', { 'aria-labelledby': 'export-requests-title', id: 'export-requests' },
        h('h3', { id: 'export-requests-title' }, 'Requests you had'),
        requests.length ? h('ul', { class: 'plain' }, requests) : h('p', { class: 'empty' }, 'No organization has asked you for anything.')),
      h('section', { 'aria-labelledby': 'export-history-title', id: 'export-history' },
        h('h3', { id: 'export-history-title' }, 'Your history'),
        historySummary(L),
        h('p', { class: 'meta' }, 'Every entry is in the file, each with the proof this device checked. The Ledger tab shows them one by one, in words.')),
      h('section', { 'aria-labelledby': 'export-file-title', id: 'export-about' },
        h('h3', { id: 'export-file-title' }, 'About the file'),
        h('ul', { class: 'plain' },
          h('li', {}, 'It holds all of the above, plus the contents of your files and what a computer needs to check your history again.'),
          h('li', {}, 'It is not locked: anyone who gets it can read your data. Keep it somewhere safe.'),
          h('li', {}, 'Facts marked “as the vault reports it” could not be checked on this device.')))),
    error,
    h('div', { class: 'actions no-print' }, file, printBtn));
  return heading;
}
