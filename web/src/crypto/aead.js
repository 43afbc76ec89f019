// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) from @noble/ciphers: 24-byte nonce, tag appended.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';

export const NONCE_LEN = 24;
export const TAG_LEN = 16;

export function xchachaSeal(key, nonce, aad, plaintext) {
  return xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** Throws on a wrong key, nonce, AAD or a modified ciphertext. */
export function xchachaOpen(key, nonce, aad, ciphertext) {
  if (nonce.length !== NONCE_LEN) throw new Error(`nonce must be ${NONCE_LEN} bytes`);
  if (ciphertext.length < TAG_LEN) throw new Error('ciphertext too short');
  return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
}
