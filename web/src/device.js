// The customer's device in the page: sign-up, log-in, unlocking the key bundle, envelopes,
// approvals, revocation and rotation. Mirrors src/client/customer.rs byte for byte; the server
// only ever sees ciphertext, wraps, signatures and the login proof.
import { ApiError } from './api.js';
import { b64url, equal, fromB64url, fromB64urlN, wipe } from './crypto/bytes.js';
import { deriveKeys, newKdf, DEFAULT } from './crypto/kdf.js';
import { openBundle, sealBundle } from './crypto/bundle.js';
import { ed25519Public, ed25519SigningKey, newSecret, x25519KeyPair, x25519Public } from './crypto/keys.js';
import { envelopeAad, newDataKey, newEnvelopeId, openPayload, sealPayload } from './crypto/envelope.js';
import { OWNER, unwrapKey, wrapInfo, wrapKey } from './crypto/wrap.js';
import { fingerprint, grantTerms, signGrant, verifyOrgKey } from './crypto/sign.js';

export class WrongPassphrase extends Error {}
export class Refused extends Error {}

const rfc3339 = (unixSecs) => new Date(unixSecs * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const enc = (s) => encodeURIComponent(s);
const randomHex16 = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

/** Creates keys here, seals them under the passphrase and registers the account. */
export async function signUp(api, handle, passphrase, cost = DEFAULT) {
  const kdf = newKdf(cost);
  const { auth, kek } = await deriveKeys(passphrase, kdf);
  const x = newSecret();
  const ed = newSecret();
  try {
    const bundle = sealBundle(kek, kdf, x, ed);
    const profile = await api.post('/v1/customers', {
      handle,
      auth: b64url(auth),
      bundle,
      x25519_public: b64url(await x25519Public(x)),
      ed25519_public: b64url(await ed25519Public(ed)),
    });
    return profile;
  } finally {
    wipe(auth, kek, x, ed);
  }
}

/**
 * Derives the keys from the passphrase and logs in. Returns a Session holding only the token
 * (enough to revoke) and the key-encryption key needed by `unlock`. Wrong passphrase →
 * WrongPassphrase.
 */
export async function logIn(api, handle, passphrase) {
  const { kdf } = await api.get(`/v1/customers/kdf?handle=${enc(handle)}`);
  const { auth, kek } = await deriveKeys(passphrase, kdf);
  let answer;
  try {
    answer = await api.post('/v1/sessions', { handle, auth: b64url(auth) });
  } catch (e) {
    wipe(kek);
    if (e instanceof ApiError && e.status === 401) throw new WrongPassphrase('wrong handle or passphrase');
    throw e;
  } finally {
    wipe(auth);
  }
  api.token = answer.token;
  const session = new Session(api, answer);
  return { session, kek };
}

export class Session {
  constructor(api, answer) {
    this.api = api;
    this.customerId = answer.customer_id;
    this.handle = answer.handle;
    this.bundle = answer.bundle;
    this.x25519Public = fromB64urlN(answer.x25519_public, 32, 'x25519_public');
    this.ed25519Public = fromB64urlN(answer.ed25519_public, 32, 'ed25519_public');
    this.expiresAt = Date.now() + (answer.expires_in || 900) * 1000;
    this.keys = null; // { x25519: {privateKey, publicKey}, ed25519: CryptoKey } once unlocked
    this.orgs = new Map();
  }

  get unlocked() {
    return this.keys !== null;
  }

  /** Opens the key bundle with `kek` (wiped here) and checks it holds this account's keys. */
  async unlock(kek) {
    let secrets;
    try {
      secrets = openBundle(kek, this.bundle);
    } finally {
      wipe(kek);
    }
    try {
      if (!equal(await x25519Public(secrets.x25519), this.x25519Public) || !equal(await ed25519Public(secrets.ed25519), this.ed25519Public)) {
        throw new Refused('the key bundle from the vault does not hold this account’s keys; refusing it');
      }
      this.keys = { x25519: await x25519KeyPair(secrets.x25519), ed25519: await ed25519SigningKey(secrets.ed25519) };
    } finally {
      wipe(secrets.x25519, secrets.ed25519);
    }
  }

  /** Forgets keys and token. */
  lock() {
    this.keys = null;
    this.bundle = null;
    this.orgs.clear();
    this.api.token = null;
  }

  requireKeys() {
    if (!this.keys) throw new Refused('Your keys are locked. Unlock to do this.');
    return this.keys;
  }

  envelopes() {
    return this.api.get('/v1/me/envelopes');
  }

  async envelope(label) {
    try {
      return await this.api.get(`/v1/me/envelopes/${enc(label)}`);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'envelope_not_found') return null;
      throw e;
    }
  }

  async ownerKey(e) {
    const info = wrapInfo(e.envelope_id, e.version, this.customerId, OWNER);
    return unwrapKey(this.requireKeys().x25519, info, { enc: fromB64url(e.owner_wrap.enc), ct: fromB64url(e.owner_wrap.ct) });
  }

  /** Decrypts one envelope here: { envelope, plaintext }. */
  async open(label) {
    const e = await this.envelope(label);
    if (!e) throw new Refused(`there is no ${label} envelope`);
    return { envelope: e, plaintext: await this.openFull(e) };
  }

  async openFull(e) {
    const key = await this.ownerKey(e);
    try {
      const aad = envelopeAad(this.customerId, e.envelope_id, e.version, e.label);
      return openPayload(key, aad, fromB64urlN(e.nonce, 24, 'nonce'), fromB64url(e.ciphertext));
    } finally {
      wipe(key);
    }
  }

  /** An organization as checked before anything is wrapped to it. */
  async checkOrg(org) {
    const ed = fromB64urlN(org.ed25519_public, 32, 'ed25519_public');
    const x = fromB64urlN(org.x25519_public, 32, 'x25519_public');
    const bound = await verifyOrgKey(ed, x, fromB64url(org.key_signature));
    const fp = await fingerprint(ed);
    return { ...org, x25519: x, keyBound: bound, fingerprint: fp, fingerprintMatches: !org.fingerprint || org.fingerprint === fp };
  }

  async org(orgId) {
    if (!this.orgs.has(orgId)) {
      this.orgs.set(orgId, this.api.get(`/v1/orgs/${enc(orgId)}`).then((o) => this.checkOrg(o)));
    }
    return this.orgs.get(orgId);
  }

  /**
   * Seals `plaintext` under a fresh data key as the label's next version, wrapped to the owner
   * and to every organization with an active grant on the label (Device::put).
   */
  async put(label, contentType, plaintext, rotate = false) {
    this.requireKeys();
    const existing = await this.envelope(label);
    const envelopeId = existing ? existing.envelope_id : newEnvelopeId();
    const version = existing ? existing.version + 1 : 1;
    const key = newDataKey();
    try {
      const sealed = sealPayload(key, envelopeAad(this.customerId, envelopeId, version, label), plaintext);
      const owner = await wrapKey(this.x25519Public, wrapInfo(envelopeId, version, this.customerId, OWNER), key);
      const grantWraps = [];
      for (const g of await this.grants()) {
        if (g.state !== 'active' || !g.labels.includes(label)) continue;
        const org = await this.org(g.org_id);
        if (!org.keyBound) throw new Refused(`${org.name}’s encryption key is not signed by its identity key; refusing it`);
        const w = await wrapKey(org.x25519, wrapInfo(envelopeId, version, org.org_id, g.grant_id), key);
        grantWraps.push({ grant_id: g.grant_id, enc: b64url(w.enc), ct: b64url(w.ct) });
      }
      return await this.api.put(`/v1/me/envelopes/${enc(label)}`, {
        envelope_id: envelopeId,
        version,
        content_type: contentType,
        nonce: b64url(sealed.nonce),
        ciphertext: b64url(sealed.ciphertext),
        owner_wrap: { enc: b64url(owner.enc), ct: b64url(owner.ct) },
        grant_wraps: grantWraps,
        rotate,
      });
    } finally {
      wipe(key);
    }
  }

  /** Re-encrypts every envelope marked rotation_pending under a new data key. Returns the labels. */
  async rotatePending() {
    this.requireKeys();
    const done = [];
    for (const e of await this.envelopes()) {
      if (!e.rotation_pending) continue;
      const { envelope, plaintext } = await this.open(e.label);
      try {
        await this.put(e.label, envelope.content_type, plaintext, true);
      } finally {
        wipe(plaintext);
      }
      done.push(e.label);
    }
    return done;
  }

  erase(label) {
    return this.api.del(`/v1/me/envelopes/${enc(label)}`);
  }

  requests() {
    return this.api.get('/v1/me/requests');
  }

  /**
   * Approves a request, optionally narrowing labels, shortening the duration or capping reads:
   * signs the grant and wraps each granted envelope's data key to the organization (Device::approve).
   */
  async approve(request, { labels, durationSecs, maxReads } = {}) {
    const keys = this.requireKeys();
    if (request.status !== 'pending') throw new Refused(`this request is already ${request.status}`);
    const org = await this.checkOrg(request.org);
    if (!org.keyBound || !org.fingerprintMatches) {
      throw new Refused(`${org.name}’s encryption key is not signed by its identity key; refusing to approve`);
    }
    const chosen = [...(labels || request.labels)].sort();
    if (chosen.length === 0) throw new Refused('choose at least one kind of data to share');
    if (chosen.some((l) => !request.labels.includes(l))) throw new Refused('you can only share what was asked for');
    const duration = Math.min(durationSecs ?? request.duration_secs, request.duration_secs);
    const now = Math.floor(Date.now() / 1000);
    const grant = grantTerms({
      grant_id: `grt_${randomHex16()}`,
      customer_id: this.customerId,
      org_id: org.org_id,
      labels: chosen,
      purposes: request.purposes,
      not_after: rfc3339(now + duration),
      max_reads: maxReads || undefined,
    });
    const wraps = [];
    for (const label of grant.labels) {
      const e = await this.envelope(label);
      if (!e) continue;
      const key = await this.ownerKey(e);
      try {
        const w = await wrapKey(org.x25519, wrapInfo(e.envelope_id, e.version, org.org_id, grant.grant_id), key);
        wraps.push({ label, envelope_id: e.envelope_id, version: e.version, enc: b64url(w.enc), ct: b64url(w.ct) });
      } finally {
        wipe(key);
      }
    }
    const signature = await signGrant(keys.ed25519, grant);
    return this.api.post(`/v1/me/requests/${enc(request.request_id)}/approve`, { grant, signature: b64url(signature), wraps });
  }

  decline(requestId) {
    return this.api.post(`/v1/me/requests/${enc(requestId)}/decline`, {});
  }

  grants() {
    return this.api.get('/v1/me/grants');
  }

  /** Needs only the session, not the keys (the phone case). */
  revoke(grantId) {
    return this.api.post(`/v1/me/grants/${enc(grantId)}/revoke`, {});
  }

  receipt(grantId) {
    return this.api.get(`/v1/me/grants/${enc(grantId)}/receipt`);
  }

  ledger() {
    return this.api.get('/v1/me/ledger');
  }
}
