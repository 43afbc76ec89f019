// A consent receipt a person can read and print (`#/access/receipt/<grant_id>`, opened from
// Access). Every fact on it is one this page checked itself: the terms come from the grant the
// customer signed (its signature checked against the account's own key, grantcheck.js), the
// dates and reads from the account's verified ledger, the organization's name and words from its
// verified key log. The vault's signed receipt (GET /v1/me/grants/{id}/receipt) is offered as a
// file beside it; its signature is checked here against the pinned vault key, and a fact only
// the vault states is labelled so. An erasure request under the grant, and the organization's
// signed answer, come from the verified ledger and its key log (erasure.js), as on Access.
import { h, replace, busy, download } from './dom.js';
import { labelWords, purposeWords, list, identityWords } from '../words.js';
import { fingerprint, jcs } from '../crypto/sign.js';
import { concat, fromB64url, utf8 } from '../crypto/bytes.js';
import { ed25519Verify } from '../crypto/keys.js';
import { parseVerifierKey } from '../ledger/note.js';
import { PIN_KEY } from '../ledger/guard.js';

export const RECEIPT_ROUTE = /^#\/access\/receipt\/(grt_[A-Za-z0-9_-]{1,64})$/;

const longDate = (iso) => new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' });

/** Whether the vault's receipt document carries a valid signature by the PINNED vault key. */
async function vaultSigned(signed) {
  try {
    const { publicKey } = await parseVerifierKey(localStorage.getItem(PIN_KEY) || '');
    const msg = concat(utf8('assent/v1/consent-receipt\n'), jcs(signed.receipt));
    return await ed25519Verify(publicKey, msg, fromB64url(signed.signature));
  } catch {
    return false;
  }
}

/** An erasure request (checked, erasure.js) in a sentence for the receipt. */
function erasureWords(r, name) {
  const entries = r.answer ? `ledger entries ${r.requestIndex} and ${r.answer.answerIndex}` : `ledger entry ${r.requestIndex}`;
  const signed = r.answer ? `signed by ${name} on ${longDate(r.answer.answeredAt)}` : '';
  switch (r.state) {
    case 'erased':
      return `You asked ${name} on ${longDate(r.requestedAt)} to erase what it read; it answered that it erased it, ${signed} (${entries}).`;
    case 'refused':
      return `You asked ${name} on ${longDate(r.requestedAt)} to erase what it read; it refused: “${r.answer.reason}”, ${signed} (${entries}).`;
    case 'overdue':
      return `OVERDUE: you asked ${name} on ${longDate(r.requestedAt)} to erase what it read; it has not answered, and the answer was due by ${longDate(r.due)} (${entries}).`;
    default:
      return `You asked ${name} on ${longDate(r.requestedAt)} to erase what it read; its answer is due by ${longDate(r.due)} (${entries}).`;
  }
}

export async function renderReceipt(ctx, root, grantId) {
  const { session } = ctx;
  const heading = h('h2', { tabindex: '-1' }, 'Consent receipt');
  const back = h('a', { href: '#/access', class: 'back no-print' }, '← Back to Access');
  const c = (await session.checkedGrants()).find((x) => x.grant.grant_id === grantId);
  if (!c) {
    replace(root, back, heading, h('p', { class: 'error', role: 'alert' }, 'This access is not in your list any more. Go back to Access to see who can read your data.'));
    return heading;
  }
  if (!c.ok) {
    replace(root, back, heading, h('p', { class: 'error', role: 'alert' },
      c.locked
        ? 'Your keys did not open on this device, so this page cannot check that you signed this. Tap Lock, unlock again, and come back.'
        : `This page cannot confirm that you agreed to this: ${c.reason}. Do not rely on it, and tell the vault’s operator.`));
    return heading;
  }
  const t = c.own.terms;
  const L = await ctx.checkLedger();
  const entries = L.ok ? L.answer.entries : [];
  const created = entries.find((e) => e.event.type === 'grant_created' && e.event.grant_id === t.grant_id);
  const revoked = entries.find((e) => e.event.type === 'grant_revoked' && e.event.grant_id === t.grant_id);
  const reads = entries.filter((e) => e.event.type === 'read' && e.event.grant_id === t.grant_id);
  const asked = L.ok ? (await session.erasures(entries)).byGrant.get(t.grant_id) : null;
  const named = await session.orgName(t.org_id); // from its verified key log, else its id
  const name = named === t.org_id ? 'The organization (its name could not be checked)' : named;
  const words = identityWords(await fingerprint(c.own.orgIdentityKey));
  const ended = revoked ? `${longDate(revoked.event.at)} (you ended it; ledger entry ${revoked.index})` : `${longDate(t.not_after)}${Date.parse(t.not_after) <= Date.now() ? ' (ended)' : ''}`;

  const facts = h('dl', { class: 'facts receipt-facts' },
    h('dt', {}, 'You agreed that'), h('dd', { class: 'agreed' }, `${name} may read your ${list(t.labels.map(labelWords))}, for ${list(t.purposes.map(purposeWords))} only.`),
    h('dt', {}, 'Organization'), h('dd', { class: 'org' }, name, h('br'), h('span', { class: 'words' }, words)),
    h('dt', {}, 'From'), h('dd', { class: 'from' }, created ? longDate(created.event.at) : `${longDate(c.grant.created_at)} (as the vault reports it; your history could not be checked)`),
    h('dt', {}, 'Until'), h('dd', { class: 'until' }, ended),
    h('dt', {}, 'Reads'), h('dd', { class: 'reads' },
      L.ok ? `${reads.length} so far${t.max_reads ? `, at most ${t.max_reads}` : ', no limit'}` : `${c.grant.reads} (as the vault reports it; your history could not be checked)`),
    h('dt', {}, 'Signed by'), h('dd', { class: 'signed' },
      'You, with your own key (the signature was checked on this device).',
      created ? h('span', { class: 'entry' }, ` The vault recorded your agreement as entry ${created.index} of its public ledger, checked on this device.`) : null),
    asked ? h('dt', {}, 'Erasure') : null,
    asked ? h('dd', { class: `erasure ${asked.state}`, 'data-state': asked.state }, erasureWords(asked, name)) : null);

  const readList = reads.length
    ? h('section', { 'aria-labelledby': 'receipt-reads' }, h('h3', { id: 'receipt-reads' }, `What ${name} read`),
      h('ul', { class: 'plain reads-list' }, reads.map((e) => h('li', {}, `Your ${labelWords(e.event.label)} for ${purposeWords(e.event.purpose)}, ${longDate(e.event.at)} (ledger entry ${e.index})`))))
    : null;

  const vaultNote = h('p', { class: 'meta vault-signature' }, 'Checking the vault’s signature on the file…');
  // Filled from the vault-signed file once its signature checks: the operator's word, not the page's.
  const controllerBox = h('section', { class: 'controller-facts', 'aria-labelledby': 'receipt-who', hidden: true });
  const file = h('button', { type: 'button', class: 'secondary download-receipt' }, 'Download the signed receipt (file)');
  const printBtn = h('button', { type: 'button', class: 'primary print' }, 'Print or save as PDF');
  printBtn.addEventListener('click', () => window.print());
  let signedDocs = null;
  const error = h('p', { class: 'error', role: 'alert' });
  file.addEventListener('click', () =>
    busy(file, error, async () => {
      signedDocs ||= await session.receipt(t.grant_id);
      download(`consent-receipt-${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase() || 'organization'}-${(created?.event.at || c.grant.created_at).slice(0, 10)}.json`, signedDocs);
    }));

  replace(root, back, heading,
    h('article', { class: 'card receipt', 'data-grant': t.grant_id },
      h('p', { class: 'lead' }, `A record of the consent you gave ${name}.`),
      facts, readList, controllerBox,
      h('section', { 'aria-labelledby': 'receipt-how' }, h('h3', { id: 'receipt-how' }, 'How to check it'),
        h('ol', { class: 'how' },
          h('li', {}, 'Keep the signed receipt file with this page: it says the same, signed by the vault.'),
          h('li', {}, `Anyone can check the vault’s signature on the file with the vault’s public key, published at ${location.origin}/v1/ledger/key.`),
          h('li', {}, created ? `Entry ${created.index} of the vault’s public ledger proves when you agreed. The vault cannot change or remove it without your devices noticing.` : 'Your history could not be checked just now; open the Ledger screen to see why.'),
          h('li', {}, `To confirm it was really ${name}, compare the 12 words above with the ones ${name} publishes.`)))),
    vaultNote, error,
    h('div', { class: 'actions no-print' }, printBtn, file));

  // The vault's own signature on its receipt, checked against the key pinned on this device.
  session.receipt(t.grant_id).then(async (docs) => {
    signedDocs = docs;
    const ok = (await vaultSigned(docs.kantara)) && (await vaultSigned(docs.iso27560));
    const same = !created || docs.kantara?.receipt?.assentGrant?.ledger_entry?.index === created.index;
    vaultNote.className = `meta vault-signature ${ok && same ? 'ok' : 'bad'}`;
    const pc = ok && same ? docs.kantara?.receipt?.piiControllers?.[0] : null;
    if (pc && typeof pc === 'object') {
      const text = (v) => (typeof v === 'string' ? v : '');
      const policy = text(docs.kantara.receipt.policyUrl);
      replace(controllerBox,
        h('h3', { id: 'receipt-who' }, `Who ${name} is, as the vault reports it`),
        h('p', {}, text(pc.piiController)),
        h('p', {}, text(pc.address)),
        h('p', {}, [text(pc.email), text(pc.phone)].filter(Boolean).join(' · ')),
        policy ? h('p', {}, `Privacy policy: ${policy}`) : null,
        h('p', { class: 'hint' }, 'Registered by the vault’s operator; not checked by this device.'));
      controllerBox.hidden = false;
    }
    replace(vaultNote, ok && same
      ? '✓ The file’s signature by the vault was checked on this device.'
      : 'The file’s signature by the vault could not be confirmed on this device: rely on this page, not on the file, and tell the vault’s operator.');
  }, () => {
    replace(vaultNote, 'The signed file could not be fetched just now. Try again later; this page’s facts stand on their own.');
  });
  return heading;
}
