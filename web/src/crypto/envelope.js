// Envelope payloads: a random 32-byte data key, XChaCha20-Poly1305 with a random 24-byte nonce,
// AAD = "assent/v1/envelope\n" customer_id "\n" envelope_id "\n" version "\n" label
// (src/crypto/envelope.rs).
import { randomBytes, utf8, hex } from './bytes.js';
import { xchachaSeal, xchachaOpen, NONCE_LEN } from './aead.js';

export const newDataKey = () => randomBytes(32);

/** A fresh envelope id: `env_` and 16 random bytes in hex (as `EnvelopeId::from_random`). */
export const newEnvelopeId = () => `env_${hex(randomBytes(16))}`;

export function envelopeAad(customerId, envelopeId, version, label) {
  return utf8(`assent/v1/envelope\n${customerId}\n${envelopeId}\n${version}\n${label}`);
}

export function sealPayload(key, aad, plaintext) {
  const nonce = randomBytes(NONCE_LEN);
  return { nonce, ciphertext: xchachaSeal(key, nonce, aad, plaintext) };
}

export function openPayload(key, aad, nonce, ciphertext) {
  return xchachaOpen(key, nonce, aad, ciphertext);
}
