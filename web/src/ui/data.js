// "Your data": the envelopes, decrypted on this device, with add / update / delete. Files are
// sealed with their name and type inside (crypto/namedfile.js); older envelopes whose
// content_type is the file's own media type still show, without a name.
import { h, field, replace, toast, confirmDialog, download, busy, uid } from './dom.js';
import { LABELS, labelWords, when, sentence, humanSize, typeWords } from '../words.js';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { FILE_TYPE, checkName, openNamedFile, sealNamedFile, MAX_NAME } from '../crypto/namedfile.js';

// The envelope limit is 1 MiB of ciphertext: 16 bytes of tag and the name line come off it.
export const MAX_FILE = 1024 * 1024 - 16 - 64 - 3 * MAX_NAME;

const isText = (ct) => ct.startsWith('text/');
const TOKEN = /^[A-Za-z0-9!#$&^_.+-]{1,64}\/[A-Za-z0-9!#$&^_.+-]{1,64}$/;
/** The vault takes a bare media type (no parameters). */
const mediaType = (t) => {
  const bare = (t || '').split(';')[0].trim().toLowerCase();
  return TOKEN.test(bare) ? bare : 'application/octet-stream';
};

export async function renderData(ctx, root) {
  const { session } = ctx;
  const list = await session.envelopes();
  const heading = h('h2', { tabindex: '-1' }, 'Your data');
  const items = h('ul', { class: 'cards', id: 'envelopes', 'aria-label': 'Your stored data' });
  const form = editor(ctx, list);
  replace(root, heading,
    h('p', { class: 'muted' }, 'Everything here is locked on this device before it is sent: the vault keeps it but cannot read it.'),
    session.unlocked ? null : h('p', { class: 'notice' }, 'Your data cannot be shown because your keys did not open on this device. Tap Lock, then unlock again with your passphrase.'),
    list.length === 0 ? h('p', { class: 'empty' }, 'Nothing stored yet. Add your first item below.') : items,
    form.el);
  for (const e of list) items.append(await card(ctx, e, form));
  return heading;
}

/** What an opened envelope holds: { text } or { file: { name, contentType, bytes } }. */
function contents(contentType, plain) {
  if (contentType === FILE_TYPE) return { file: openNamedFile(plain) };
  if (isText(contentType)) return { text: fromUtf8(plain) };
  return { file: { name: null, contentType, bytes: plain } }; // stored before names were kept
}

const fileLine = (f) => `File ${f.name ? `${f.name} ` : ''}(${typeWords(f.contentType)}, ${humanSize(f.bytes.length)})`;

async function card(ctx, e, form) {
  const { session } = ctx;
  const titleId = uid('env');
  let content = h('p', { class: 'muted' }, 'Locked');
  let held = null;
  if (session.unlocked) {
    try {
      // The full envelope's content_type is the one its AAD authenticates (openFull).
      const full = await session.envelope(e.label);
      held = contents(full.content_type, await session.openFull(full));
      content = held.text !== undefined
        ? h('p', { class: 'value', 'data-label': e.label }, held.text)
        : h('p', { class: 'value file', 'data-label': e.label }, fileLine(held.file));
    } catch (err) {
      content = h('div', { class: 'error open-failed', role: 'alert' },
        h('p', {}, `Cannot open this item: ${err.message}.`),
        h('p', { class: 'next' }, 'Nobody could read it this way, but what the vault holds for it is not what you stored. Do not rely on it: store it again (Delete, then add it), and tell the vault’s operator.'));
    }
  }
  // Only a history that passed every check on this device is shown.
  const history = (ctx.ledger?.ok ? ctx.ledger.answer?.entries || [] : []).filter((x) => x.event.label === e.label && x.event.envelope_id === e.envelope_id);
  const actions = h('div', { class: 'actions' });
  if (held && held.text !== undefined) {
    actions.append(h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId, onclick: () => form.edit(e.label, held.text) }, 'Edit'));
  }
  if (held && held.file) {
    const f = held.file;
    actions.append(h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId, onclick: () => download(f.name || e.label, f.bytes, f.contentType) }, 'Download'));
  }
  const del = h('button', { type: 'button', class: 'danger', 'aria-describedby': titleId }, 'Delete');
  del.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: `Delete your ${labelWords(e.label)}?`,
      body: 'It is destroyed for you and for every organization, with every key to it. This cannot be undone. Your history keeps a note that it existed, but not what it said.',
      confirm: 'Delete for good',
    });
    if (!yes) return;
    await busy(del, null, async () => {
      await session.erase(e.label);
      toast(`Your ${labelWords(e.label)} was deleted.`);
      await ctx.refresh();
    });
  });
  actions.append(del);
  return h('li', { class: 'card envelope', 'data-label': e.label },
    h('h3', { id: titleId, class: 'capitalize' }, labelWords(e.label)),
    content,
    h('p', { class: 'meta' }, `Updated ${when(e.updated_at)}`,
      e.rotation_pending ? h('span', { class: 'badge warn' }, 'new lock on next unlock') : null),
    history.length
      ? h('details', {}, h('summary', {}, `History (${history.length})`),
        h('ul', { class: 'history' }, history.map((x) => h('li', {}, `${sentence(x.event, '')} — ${when(x.event.at)}`))))
      : null,
    actions);
}

function editor(ctx, existing) {
  const { session } = ctx;
  const known = new Set(existing.map((e) => e.label));
  const select = h('select', { id: 'env-label' },
    Object.entries(LABELS).map(([l, w]) => h('option', { value: l }, `${w}${known.has(l) ? ' (update)' : ''}`)),
    h('option', { value: 'custom' }, 'Something else…'));
  const labelField = field('What is it?', select);
  const custom = field('Name it', h('input', { id: 'env-custom', placeholder: 'loyalty_card', pattern: '[a-z0-9_]{1,40}', autocapitalize: 'none' }),
    'Lower-case letters, digits and underscores; saved as x_<name>.');
  custom.wrap.hidden = true;
  const kindText = h('input', { type: 'radio', name: 'env-kind', id: 'env-kind-text', value: 'text', checked: true });
  const kindFile = h('input', { type: 'radio', name: 'env-kind', id: 'env-kind-file', value: 'file' });
  const kinds = h('fieldset', { class: 'kinds' }, h('legend', {}, 'Content'),
    h('span', { class: 'radio' }, kindText, h('label', { for: 'env-kind-text' }, 'Text')),
    h('span', { class: 'radio' }, kindFile, h('label', { for: 'env-kind-file' }, 'File')));
  const text = field('Text', h('textarea', { id: 'env-text', rows: 3 }));
  const file = field('File (up to 1 MB)', h('input', { id: 'env-file', type: 'file' }));
  file.wrap.hidden = true;
  const error = h('p', { class: 'error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const heading = h('h3', { id: 'editor-title' }, 'Add or update');
  const form = h('form', { class: 'card editor', id: 'envelope-form', 'aria-labelledby': 'editor-title', novalidate: true },
    heading, labelField.wrap, custom.wrap, kinds, text.wrap, file.wrap, error, save);
  select.addEventListener('change', () => {
    custom.wrap.hidden = select.value !== 'custom';
  });
  const syncKind = () => {
    text.wrap.hidden = !kindText.checked;
    file.wrap.hidden = !kindFile.checked;
  };
  kindText.addEventListener('change', syncKind);
  kindFile.addEventListener('change', syncKind);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(save, error, async () => {
      let label = select.value;
      if (label === 'custom') {
        const name = custom.input.value.trim().toLowerCase();
        if (!/^[a-z0-9_]{1,40}$/.test(name)) throw new Error('Name it with 1–40 lower-case letters, digits or underscores.');
        label = `x_${name}`;
      }
      let bytes;
      let type;
      if (kindText.checked) {
        if (!text.input.value) throw new Error('Type the text to store.');
        bytes = utf8(text.input.value);
        type = 'text/plain';
      } else {
        const f = file.input.files[0];
        if (!f) throw new Error('Choose a file.');
        if (f.size > MAX_FILE) throw new Error('This file is too large: the vault takes files up to 1 MB. Choose a smaller file or a smaller scan.');
        try {
          checkName(f.name);
        } catch {
          throw new Error('This file’s name is too long or holds unusual characters. Rename the file and choose it again.');
        }
        bytes = sealNamedFile({ name: f.name, contentType: mediaType(f.type), bytes: new Uint8Array(await f.arrayBuffer()) });
        type = FILE_TYPE;
      }
      save.textContent = 'Locking and saving…';
      await session.put(label, type, bytes);
      toast(`Saved your ${labelWords(label)}.`);
      await ctx.refresh();
    });
  });
  return {
    el: form,
    edit(label, value) {
      select.value = LABELS[label] ? label : 'custom';
      custom.wrap.hidden = !!LABELS[label];
      if (!LABELS[label]) custom.input.value = label.slice(2);
      kindText.checked = true;
      syncKind();
      text.input.value = value;
      heading.textContent = `Update your ${labelWords(label)}`;
      text.input.focus();
    },
  };
}
