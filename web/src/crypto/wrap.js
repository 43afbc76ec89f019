// Wrapping a data key to a recipient: HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, ChaCha20Poly1305, single-shot, empty AAD, and
// info = "assent/v1/wrap\n" envelope_id "\n" version "\n" recipient_id "\n" (grant_id | "owner")
// (src/crypto/wrap.rs). From @hpke/core + @hpke/chacha20poly1305.
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { utf8 } from './bytes.js';

export const OWNER = 'owner';
export const ENC_LEN = 32;
export const WRAPPED_LEN = 48;

export const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Chacha20Poly1305(),
});

export function wrapInfo(envelopeId, version, recipientId, grantIdOrOwner) {
  return utf8(`assent/v1/wrap\n${envelopeId}\n${version}\n${recipientId}\n${grantIdOrOwner}`);
}

/** Seals the 32-byte `key` to a raw X25519 public key. Returns { enc, ct } as bytes. */
export async function wrapKey(recipientPublic, info, key) {
  const pk = await suite.kem.importKey('raw', recipientPublic, true);
  const { enc, ct } = await suite.seal({ recipientPublicKey: pk, info }, key, new Uint8Array(0));
  return { enc: new Uint8Array(enc), ct: new Uint8Array(ct) };
}

/**
 * Opens a wrap. `recipient` is an X25519 key pair of CryptoKeys ({privateKey, publicKey}) or the
 * raw 32-byte secret.
 */
export async function unwrapKey(recipient, info, wrap) {
  if (wrap.enc.length !== ENC_LEN) throw new Error('wrap enc must be 32 bytes');
  if (wrap.ct.length !== WRAPPED_LEN) throw new Error('wrap ct must be 48 bytes');
  const recipientKey =
    recipient instanceof Uint8Array ? await suite.kem.importKey('raw', recipient, false) : recipient;
  const pt = new Uint8Array(await suite.open({ recipientKey, enc: wrap.enc, info }, wrap.ct, new Uint8Array(0)));
  if (pt.length !== 32) throw new Error('a wrapped data key must be 32 bytes');
  return pt;
}
