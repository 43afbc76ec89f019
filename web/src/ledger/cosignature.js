// Witness cosignatures (C2SP tlog-cosignature, `cosignature/v1`) and the witness policy this
// device pins, with the rules of src/ledger/cosignature.rs:
//   line     = "— " name " " base64std(key id (4) ‖ time (8, big-endian) ‖ Ed25519 sig (64))
//   key id   = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]
//   signed   = "cosignature/v1\ntime " decimal(time) "\n" ‖ checkpoint text
//   verifier = name "+" hex(key id) "+" base64std(0x04 ‖ public key)
//   policy   = lines "witness <verifier>" and exactly one "quorum <k>" ('#' starts a comment);
//              k ≤ witnesses, k ≥ 1 when any witness is named, names distinct.
// A line whose name AND key id are a policy witness's must verify, or the whole note is refused;
// other keys' lines are ignored; fewer than k distinct witnesses with a valid line → refused.
import { equal, fromB64std, hex, sha256, utf8 } from '../crypto/bytes.js';
import { ed25519Verify } from '../crypto/keys.js';
import { isValidName } from './note.js';
import { LedgerFailure } from './verify.js';

const COSIGNATURE_TYPE = 0x04;
const HEADER = 'cosignature/v1';
const SIG_PREFIX = '\u2014 ';
const MAX_NOTE = 1 << 20; // bytes, as note.rs
const MAX_SIGNATURES = 100;
export const MAX_WITNESSES = 32;

export class PolicyError extends Error {}

const SPLIT_VIEW = 'the vault may be showing you a different history than others see';
export const NO_QUORUM = `This checkpoint is not cosigned by enough independent witnesses; ${SPLIT_VIEW}.`;
const BAD_COSIGNATURE = `A witness this device trusts did not sign this checkpoint as the vault claims (its cosignature does not verify); ${SPLIT_VIEW}.`;

// Ed25519 point decoding (RFC 8032 §5.1.3) as far as curve25519-dalek checks it: the y
// coordinate (taken mod p) must give x² = (y² − 1)/(d·y² + 1) a square root mod p.
const P = 2n ** 255n - 19n;
const mod = (a) => ((a % P) + P) % P;
function pow(b, e) {
  let r = 1n;
  for (let x = mod(b); e > 0n; e >>= 1n, x = (x * x) % P) if (e & 1n) r = (r * x) % P;
  return r;
}
const D = mod(-121665n * pow(121666n, P - 2n));
function isCurvePoint(key) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? key[i] & 0x7f : key[i]);
  const y2 = mod(y * y);
  const x2 = mod((y2 - 1n) * pow(D * y2 + 1n, P - 2n));
  return x2 === 0n || pow(x2, (P - 1n) / 2n) === 1n;
}

export async function cosignatureKeyId(name, publicKey) {
  return (await sha256(utf8(name), new Uint8Array([0x0a, COSIGNATURE_TYPE]), publicKey)).subarray(0, 4);
}

/** Parses `name+hexid+base64(0x04‖key)`: { name, keyId, publicKey, text }. Throws PolicyError. */
export async function parseWitnessKey(text) {
  const s = text.trim();
  const a = s.indexOf('+');
  const b = a < 0 ? -1 : s.indexOf('+', a + 1);
  if (b < 0) throw new PolicyError('witness key must be name+keyid+key');
  const name = s.slice(0, a);
  const id = s.slice(a + 1, b);
  if (!isValidName(name)) throw new PolicyError('invalid witness name');
  if (!/^[0-9a-f]{8}$/.test(id)) throw new PolicyError('key id must be 8 lowercase hex digits');
  let typed;
  try {
    typed = fromB64std(s.slice(b + 1));
  } catch {
    throw new PolicyError('witness key is not base64');
  }
  if (typed[0] !== COSIGNATURE_TYPE) throw new PolicyError('witness key is not of type 0x04');
  if (typed.length !== 33) throw new PolicyError('Ed25519 key must be 32 bytes');
  const publicKey = typed.slice(1);
  if (!isCurvePoint(publicKey)) throw new PolicyError('public key is not a curve point');
  const keyId = await cosignatureKeyId(name, publicKey);
  if (hex(keyId) !== id) throw new PolicyError('key id does not match the key');
  return { name, keyId, publicKey, text: s };
}

/** Parses a policy text: { witnesses, quorum }. Throws PolicyError on anything Rust refuses. */
export async function parsePolicy(text) {
  if (typeof text !== 'string') throw new PolicyError('the policy is not text');
  const witnesses = [];
  let quorum = null;
  for (const raw of text.split('\n')) {
    const line = raw.split('#')[0].trim();
    if (!line) continue;
    const sp = line.search(/\s/);
    const [word, rest] = sp < 0 ? [line, null] : [line.slice(0, sp), line.slice(sp + 1)];
    if (word === 'witness' && rest !== null) {
      witnesses.push(await parseWitnessKey(rest));
    } else if (word === 'quorum' && rest !== null) {
      if (quorum !== null) throw new PolicyError('the policy has two quorum lines');
      if (!/^\+?[0-9]+$/.test(rest.trim())) throw new PolicyError('quorum must be a number');
      quorum = Number(rest.trim());
    } else {
      throw new PolicyError(`unknown policy line \`${line}\``);
    }
  }
  if (quorum === null) throw new PolicyError('the policy has no quorum line');
  if (witnesses.length > MAX_WITNESSES) throw new PolicyError('too many witnesses');
  if (quorum > witnesses.length) throw new PolicyError('the quorum is larger than the number of witnesses');
  if (witnesses.length && quorum === 0) throw new PolicyError('a policy naming witnesses needs a quorum of at least 1');
  witnesses.forEach((w, i) => {
    if (witnesses.slice(0, i).some((o) => o.name === w.name)) throw new PolicyError(`witness ${w.name} is named twice`);
  });
  return { witnesses, quorum };
}

/** One text per policy meaning (witnesses sorted): two policies are the same iff these are equal. */
export const policyText = (p) => `${p.witnesses.map((w) => `witness ${w.text}\n`).sort().join('')}quorum ${p.quorum}\n`;

/** note.rs `split`: the note's text and its signature lines { name, keyId, rest }; form only. */
function splitNote(note) {
  const bad = (why) => new LedgerFailure('cosignature', `The vault's checkpoint is malformed (${why}); ${SPLIT_VIEW}.`);
  if (typeof note !== 'string' || utf8(note).length > MAX_NOTE) throw bad('missing or too large');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw bad('a control character');
  const at = note.lastIndexOf('\n\n');
  if (at < 0) throw bad('no blank line before the signatures');
  const sigs = note.slice(at + 2);
  if (!sigs.endsWith('\n')) throw bad('the signatures do not end with a newline');
  const lines = sigs.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw bad('too many signatures');
  const out = lines.map((line) => {
    if (!line.startsWith(SIG_PREFIX)) throw bad('a signature line without its em dash');
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp < 0 || !isValidName(rest.slice(0, sp))) throw bad('a signature line without a valid name');
    let blob;
    try {
      blob = fromB64std(rest.slice(sp + 1));
    } catch {
      throw bad('a signature that is not base64');
    }
    if (blob.length < 5) throw bad('a signature that is too short');
    return { name: rest.slice(0, sp), keyId: blob.subarray(0, 4), rest: blob.subarray(4) };
  });
  return { body: note.slice(0, at + 1), lines: out };
}

/**
 * The valid cosignatures [{ witness, time (BigInt, seconds) }] of `policy`'s witnesses on the
 * signed checkpoint `note` (its vault signature is checked elsewhere), one per witness. Throws
 * LedgerFailure: 'no_quorum' (fewer than the quorum; `have`, `need`), 'cosignature' (a trusted
 * witness's line that does not verify, or a malformed note).
 */
export async function checkQuorum(note, policy) {
  const { body, lines } = splitNote(note);
  const found = [];
  for (const line of lines) {
    for (const w of policy.witnesses) {
      if (line.name !== w.name || !equal(line.keyId, w.keyId)) continue;
      if (line.rest.length < 8) throw new LedgerFailure('cosignature', BAD_COSIGNATURE);
      const time = new DataView(line.rest.buffer, line.rest.byteOffset, 8).getBigUint64(0);
      const signed = utf8(`${HEADER}\ntime ${time}\n${body}`);
      if (!(await ed25519Verify(w.publicKey, signed, line.rest.subarray(8)))) throw new LedgerFailure('cosignature', BAD_COSIGNATURE);
      if (!found.some((c) => c.witness === w.name)) found.push({ witness: w.name, time });
    }
  }
  if (found.length < policy.quorum) {
    throw Object.assign(new LedgerFailure('no_quorum', NO_QUORUM), { have: found.length, need: policy.quorum });
  }
  return found;
}
