// Customer key pairs with WebCrypto: X25519 (HPKE recipient, RFC 7748) and Ed25519 (RFC 8032).
// Private keys are imported from their raw 32 bytes (X25519 secret / Ed25519 seed) through
// PKCS#8, the only private format WebCrypto takes for these curves; in-page keys are
// non-extractable CryptoKeys.
import { concat, fromB64url, randomBytes } from './bytes.js';

// PKCS#8 PrivateKeyInfo prefixes (RFC 8410): version 0, AlgorithmIdentifier, OCTET STRING(OCTET STRING(32)).
const PKCS8_X25519 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const PKCS8_ED25519 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export const X25519 = { name: 'X25519' };
export const ED25519 = { name: 'Ed25519' };

export const newSecret = () => randomBytes(32);

async function publicOf(pkcs8, alg, usages) {
  const k = await crypto.subtle.importKey('pkcs8', pkcs8, alg, true, usages);
  const jwk = await crypto.subtle.exportKey('jwk', k);
  return fromB64url(jwk.x);
}

export const x25519Public = (secret) => publicOf(concat(PKCS8_X25519, secret), X25519, ['deriveBits']);
export const ed25519Public = (seed) => publicOf(concat(PKCS8_ED25519, seed), ED25519, ['sign']);

/** The X25519 key pair as non-extractable CryptoKeys (what HPKE open takes). */
export async function x25519KeyPair(secret) {
  const privateKey = await crypto.subtle.importKey('pkcs8', concat(PKCS8_X25519, secret), X25519, false, ['deriveBits']);
  const publicKey = await crypto.subtle.importKey('raw', await x25519Public(secret), X25519, true, []);
  return { privateKey, publicKey };
}

/** A non-extractable Ed25519 signing key. */
export const ed25519SigningKey = (seed) =>
  crypto.subtle.importKey('pkcs8', concat(PKCS8_ED25519, seed), ED25519, false, ['sign']);

export async function ed25519Sign(key, message) {
  const k = key instanceof Uint8Array ? await ed25519SigningKey(key) : key;
  return new Uint8Array(await crypto.subtle.sign(ED25519, k, message));
}

/** Ed25519 verification; false for a bad signature or an unusable key. */
export async function ed25519Verify(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const k = await crypto.subtle.importKey('raw', publicKey, ED25519, false, ['verify']);
    return await crypto.subtle.verify(ED25519, k, signature, message);
  } catch {
    return false;
  }
}
