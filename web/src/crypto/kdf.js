// Passphrase → Argon2id (RFC 9106, via hash-wasm) → 32-byte master → HKDF-SHA256 (RFC 5869,
// WebCrypto, no salt) into `auth` (login proof) and `kek` (opens the key bundle). Same bytes as
// src/crypto/bundle.rs `derive_keys`.
import { argon2id } from 'hash-wasm';
import { randomBytes, utf8, wipe, b64url, fromB64urlN } from './bytes.js';

export const KDF_ALG = 'argon2id';
export const DEFAULT = { m_kib: 65536, t: 3, p: 4 };
export const MIN = { m_kib: 19456, t: 2, p: 1 };
export const MAX = { m_kib: 1 << 20, t: 20, p: 16 };

/** Refuses unknown algorithms and costs outside [MIN, MAX] (same ranges as the Rust side). */
export function validateKdf(kdf) {
  if (!kdf || kdf.alg !== KDF_ALG) throw new Error(`unsupported key derivation ${kdf && kdf.alg}`);
  for (const k of ['m_kib', 't', 'p']) {
    const v = kdf[k];
    if (!Number.isInteger(v) || v < MIN[k] || v > MAX[k]) {
      throw new Error(`key derivation parameter ${k}=${v} outside ${MIN[k]}..=${MAX[k]}`);
    }
  }
  fromB64urlN(kdf.salt, 16, 'salt');
}

/** Fresh parameters at the default cost with a random 16-byte salt. */
export function newKdf(cost = DEFAULT) {
  const kdf = { alg: KDF_ALG, m_kib: cost.m_kib, t: cost.t, p: cost.p, salt: b64url(randomBytes(16)) };
  validateKdf(kdf);
  return kdf;
}

async function hkdf(master, info) {
  const key = await crypto.subtle.importKey('raw', master, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8(info) },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** Returns { auth, kek } (32 bytes each). The passphrase is used as its UTF-8 bytes, as the CLI does. */
export async function deriveKeys(passphrase, kdf) {
  validateKdf(kdf);
  const pw = typeof passphrase === 'string' ? utf8(passphrase) : passphrase;
  const master = await argon2id({
    password: pw,
    salt: fromB64urlN(kdf.salt, 16, 'salt'),
    parallelism: kdf.p,
    iterations: kdf.t,
    memorySize: kdf.m_kib,
    hashLength: 32,
    outputType: 'binary',
  });
  try {
    return { auth: await hkdf(master, 'assent/v1/auth'), kek: await hkdf(master, 'assent/v1/kek') };
  } finally {
    wipe(master);
    if (pw !== passphrase) wipe(pw);
  }
}
