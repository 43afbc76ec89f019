// Byte helpers: UTF-8, strict base64url (the wire format) and standard base64 (signed notes).

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (s) => enc.encode(s);
export const fromUtf8 = (b) => dec.decode(b);

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Constant-time-ish equality (length is public). */
export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function encode(bytes, alphabet, pad) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (pad ? '=' : '');
  }
  return out;
}

// Strict decoding: wrong alphabet, wrong padding, whitespace and non-zero trailing bits are
// refused, like the Rust side (base64 crate, canonical mode).
function decode(s, alphabet, pad) {
  if (typeof s !== 'string') throw new Error('base64: not a string');
  let body = s;
  if (pad) {
    if (s.length % 4 !== 0) throw new Error('base64: bad length');
    body = s.replace(/={1,2}$/, '');
  }
  if (body.length % 4 === 1) throw new Error('base64: bad length');
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const c of body) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error('base64: bad character');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new Error('base64: non-canonical trailing bits');
  return out;
}

export const b64url = (b) => encode(b, URL, false);
export const fromB64url = (s) => decode(s, URL, false);
export const b64std = (b) => encode(b, STD, true);
export const fromB64std = (s) => decode(s, STD, true);

/** Decodes a base64url field that must be exactly `n` bytes. */
export function fromB64urlN(s, n, what) {
  const b = fromB64url(s);
  if (b.length !== n) throw new Error(`${what}: expected ${n} bytes, got ${b.length}`);
  return b;
}

export async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
}

/** Overwrites secret bytes (best effort: JS gives no guarantee about copies). */
export function wipe(...arrays) {
  for (const a of arrays) if (a instanceof Uint8Array) a.fill(0);
}
