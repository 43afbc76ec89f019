// C2SP signed notes (https://c2sp.org/signed-note), Ed25519 signatures only, from the spec:
//   note      = text (ends in "\n") ‖ "\n" ‖ signature lines
//   signature = "— " name " " base64std(key id (4) ‖ signature (64)) "\n"
//   key id    = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]
//   verifier  = name "+" hex(key id) "+" base64std(0x01 ‖ public key)
// The text is split from the signatures at the LAST blank line. Unknown keys' signatures are
// ignored; a known key's bad signature rejects the whole note.
import { equal, fromB64std, hex, sha256, utf8 } from '../crypto/bytes.js';
import { ed25519Verify } from '../crypto/keys.js';

const ED25519_TYPE = 0x01;
const SIG_PREFIX = '\u2014 ';
const MAX_NOTE = 1 << 20;

export class NoteError extends Error {}

// Key names: non-empty, no Unicode space, no '+', no control characters.
export const isValidName = (name) => name.length > 0 && !/[\s+\p{Cc}]/u.test(name);

export async function keyId(name, publicKey) {
  return (await sha256(utf8(name), new Uint8Array([0x0a, ED25519_TYPE]), publicKey)).subarray(0, 4);
}

/** Parses `name+hexid+base64(0x01‖key)`; checks that the id belongs to the key. */
export async function parseVerifierKey(text) {
  const s = text.trim();
  const a = s.indexOf('+');
  const b = a < 0 ? -1 : s.indexOf('+', a + 1);
  if (b < 0) throw new NoteError('verifier key must be name+keyid+key');
  const name = s.slice(0, a);
  const id = s.slice(a + 1, b);
  if (!isValidName(name)) throw new NoteError('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(id)) throw new NoteError('key id must be 8 lowercase hex digits');
  let typed;
  try {
    typed = fromB64std(s.slice(b + 1));
  } catch {
    throw new NoteError('verifier key is not base64');
  }
  if (typed.length !== 33 || typed[0] !== ED25519_TYPE) throw new NoteError('not an Ed25519 verifier key');
  const publicKey = typed.slice(1);
  const kid = await keyId(name, publicKey);
  if (hex(kid) !== id) throw new NoteError('key id does not match the key');
  return { name, keyId: kid, publicKey, text: s };
}

/**
 * Opens a note signed by `verifier`: returns its text. Throws NoteError on a malformed note, a
 * bad signature by the verifier, or no signature by it.
 */
export async function openNote(note, verifier) {
  if (typeof note !== 'string' || note.length > MAX_NOTE) throw new NoteError('note missing or too large');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new NoteError('note holds a control character');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const sigs = note.slice(split + 2);
  if (!sigs.endsWith('\n')) throw new NoteError('signatures must end with a newline');
  let signed = false;
  for (const line of sigs.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('signature line must start with an em dash');
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp < 0) throw new NoteError('signature line must be name and signature');
    const name = rest.slice(0, sp);
    if (!isValidName(name)) throw new NoteError('invalid key name in a signature');
    let blob;
    try {
      blob = fromB64std(rest.slice(sp + 1));
    } catch {
      throw new NoteError('signature is not base64');
    }
    if (blob.length < 5) throw new NoteError('signature is too short');
    if (name !== verifier.name || !equal(blob.subarray(0, 4), verifier.keyId)) continue; // another key
    if (!(await ed25519Verify(verifier.publicKey, utf8(text), blob.subarray(4)))) {
      throw new NoteError('the signature does not verify against the pinned vault key');
    }
    signed = true;
  }
  if (!signed) throw new NoteError('the note is not signed by the pinned vault key');
  return text;
}

