// The customer's key bundle (src/crypto/bundle.rs): X25519 secret ‖ Ed25519 seed sealed with
// XChaCha20-Poly1305 under `kek`, AAD "assent/v1/bundle".
// JSON {"v":1,"kdf":{alg,m_kib,t,p,salt},"nonce","ct"}.
import { b64url, fromB64url, fromB64urlN, randomBytes, utf8, wipe } from './bytes.js';
import { xchachaOpen, xchachaSeal } from './aead.js';
import { validateKdf } from './kdf.js';

export const BUNDLE_VERSION = 1;
const AAD = utf8('assent/v1/bundle');

export function sealBundle(kek, kdf, x25519Secret, ed25519Seed) {
  validateKdf(kdf);
  const plain = new Uint8Array(64);
  plain.set(x25519Secret, 0);
  plain.set(ed25519Seed, 32);
  const nonce = randomBytes(24);
  try {
    const ct = xchachaSeal(kek, nonce, AAD, plain);
    return { v: BUNDLE_VERSION, kdf: { ...kdf }, nonce: b64url(nonce), ct: b64url(ct) };
  } finally {
    wipe(plain);
  }
}

/** Returns { x25519, ed25519 } raw secrets; the caller wipes them. Throws on a wrong kek. */
export function openBundle(kek, bundle) {
  if (bundle.v !== BUNDLE_VERSION) throw new Error(`unsupported key bundle version ${bundle.v}`);
  validateKdf(bundle.kdf);
  const plain = xchachaOpen(kek, fromB64urlN(bundle.nonce, 24, 'bundle nonce'), AAD, fromB64url(bundle.ct));
  if (plain.length !== 64) throw new Error('key bundle must hold 64 bytes');
  const out = { x25519: plain.slice(0, 32), ed25519: plain.slice(32) };
  wipe(plain);
  return out;
}
