// A file with its name, sealed together (the name never travels in the clear). The envelope's
// content_type is FILE_TYPE and its plaintext is one line of JSON, then "\n", then the raw bytes:
//   {"content_type":"<the file's media type>","name":"<file name>"}\n<bytes>
// keys in that order, no spaces (JSON.stringify of an object built in that order). The Rust
// organization client unwraps the same format.
import { concat, fromUtf8, utf8 } from './bytes.js';
import { checkContentType } from './envelope.js';

export const FILE_TYPE = 'application/vnd.assent.file';
export const MAX_NAME = 255;
/** The header line is looked for in this many bytes (as src/domain/named_file.rs). */
export const MAX_HEADER = 2048;

const TOKEN = "[A-Za-z0-9!#$&^_.+-]{1,64}";
const MEDIA = new RegExp(`^${TOKEN}/${TOKEN}(\\s*;.*)?$`);

/**
 * Throws unless `name` is 1–255 UTF-8 bytes with no control or format character (Unicode Cc,
 * Cf: bidi overrides and zero-width characters make a name read as another) and no path
 * separator — the rules of src/domain/named_file.rs, so either side opens what the other sealed.
 */
export function checkName(name) {
  if (typeof name !== 'string' || name.length === 0) throw new Error('the file has no name');
  if (utf8(name).length > MAX_NAME) throw new Error(`the file name is longer than ${MAX_NAME} bytes`);
  if (/[\p{Cc}\p{Cf}]/u.test(name)) throw new Error('the file name holds a control or invisible character');
  if (/[/\\]/.test(name)) throw new Error('the file name holds a slash');
  return name;
}

/** Throws unless `t` is a media type (type/subtype, parameters allowed) fit for the AAD rules. */
export function checkMediaType(t) {
  if (typeof t !== 'string' || !MEDIA.test(t)) throw new Error('the file’s type is not a media type');
  return checkContentType(t);
}

/** The plaintext to seal for a file: header line + bytes. */
export function sealNamedFile({ name, contentType, bytes }) {
  checkName(name);
  checkMediaType(contentType);
  const header = JSON.stringify({ content_type: contentType, name });
  return concat(utf8(`${header}\n`), bytes);
}

/** The opened plaintext → { name, contentType, bytes }; throws on anything malformed. */
export function openNamedFile(plaintext) {
  const nl = plaintext.subarray(0, MAX_HEADER).indexOf(0x0a);
  if (nl < 0) throw new Error('the stored file has no header line');
  let header;
  try {
    header = JSON.parse(fromUtf8(plaintext.subarray(0, nl)));
  } catch {
    throw new Error('the stored file’s header is not readable');
  }
  // Exactly the two keys, as the sealing side writes them.
  if (!header || typeof header !== 'object' || Array.isArray(header) || Object.keys(header).sort().join() !== 'content_type,name') {
    throw new Error('the stored file’s header is not readable');
  }
  return { name: checkName(header.name), contentType: checkMediaType(header.content_type), bytes: plaintext.subarray(nl + 1) };
}
