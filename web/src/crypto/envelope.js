// Envelope payloads (wire v2, src/crypto/envelope.rs): a random 32-byte data key,
// XChaCha20-Poly1305 with a random 24-byte nonce, and
// AAD = "assent/v2/envelope\n" customer_id "\n" envelope_id "\n" version "\n" label "\n" content_type
// with the content type exactly as stored and served, so a vault that relabels data (changes its
// type) makes it fail to open.
import { randomBytes, utf8, hex } from './bytes.js';
import { xchachaSeal, xchachaOpen, NONCE_LEN } from './aead.js';

export const MAX_CONTENT_TYPE = 255;

export const newDataKey = () => randomBytes(32);

/** A fresh envelope id: `env_` and 16 random bytes in hex (as `EnvelopeId::from_random`). */
export const newEnvelopeId = () => `env_${hex(randomBytes(16))}`;

/**
 * Throws unless `ct` is a string of at most 255 UTF-8 bytes with no control character (the AAD
 * is newline-separated, so a newline in it would make the encoding ambiguous).
 */
export function checkContentType(ct) {
  if (typeof ct !== 'string' || ct.length === 0) throw new Error('the content type is missing');
  if (utf8(ct).length > MAX_CONTENT_TYPE) throw new Error(`the content type is longer than ${MAX_CONTENT_TYPE} bytes`);
  if (/\p{Cc}/u.test(ct)) throw new Error('the content type holds a control character');
  return ct;
}

export function envelopeAad(customerId, envelopeId, version, label, contentType) {
  checkContentType(contentType);
  return utf8(`assent/v2/envelope\n${customerId}\n${envelopeId}\n${version}\n${label}\n${contentType}`);
}

export function sealPayload(key, aad, plaintext) {
  const nonce = randomBytes(NONCE_LEN);
  return { nonce, ciphertext: xchachaSeal(key, nonce, aad, plaintext) };
}

export function openPayload(key, aad, nonce, ciphertext) {
  return xchachaOpen(key, nonce, aad, ciphertext);
}
