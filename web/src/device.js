// The customer's device in the page: sign-up, log-in, unlocking the key bundle, envelopes,
// approvals, revocation and rotation. Mirrors src/client/customer.rs byte for byte; the server
// only ever sees ciphertext, wraps, signatures and the login proof.
//
// Invariant: a data key is wrapped only to the owner's own key or to the org_encryption_key of a
// grant this device verified (grantcheck.js) — at approval, the grant it is signing, with keys
// from the organization's verified key log and anchored (orgtrust.js); on every put and rotation,
// grants with the account's own signature that its verified ledger shows created and not revoked.
// Anything that fails is refused with a Refused error, before anything is sent.
import { ApiError } from './api.js';
import { b64url, equal, fromB64url, fromB64urlN, wipe } from './crypto/bytes.js';
import { deriveKeys, newKdf, DEFAULT } from './crypto/kdf.js';
import { openBundle, sealBundle } from './crypto/bundle.js';
import { ed25519Public, ed25519SigningKey, newSecret, x25519KeyPair, x25519Public } from './crypto/keys.js';
import { checkContentType, envelopeAad, newDataKey, newEnvelopeId, openPayload, sealPayload } from './crypto/envelope.js';
import { OWNER, unwrapKey, wrapInfo, wrapKey } from './crypto/wrap.js';
import { grantTerms, signGrant } from './crypto/sign.js';
import { checkLedger, checkOrgKeys } from './ledger/guard.js';
import { AccountPins } from './ledger/pins.js';
import { GrantRefused, usableGrant, verifyOwnGrant } from './grantcheck.js';
import { approvalNeeds, assessOrg } from './orgtrust.js';
import { checkErasures } from './erasure.js';

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
export async function logIn(api, handle, passphrase, storage = globalThis.localStorage) {
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
  const session = new Session(api, answer, storage);
  // `answer` also goes to the session keeper (session.js): expires_in and renewable_until.
  return { session, kek, answer };
}

export class Session {
  constructor(api, answer, storage) {
    this.api = api;
    this.storage = storage;
    this.customerId = answer.customer_id;
    this.pins = new AccountPins(storage, this.customerId);
    this.handle = answer.handle;
    this.bundle = answer.bundle;
    this.x25519Public = fromB64urlN(answer.x25519_public, 32, 'x25519_public');
    this.ed25519Public = fromB64urlN(answer.ed25519_public, 32, 'ed25519_public');
    this.keys = null; // { x25519: {privateKey, publicKey}, ed25519: CryptoKey } once unlocked
    this.orgLogs = new Map(); // org_id → promise of its verified key log (display only)
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

  /**
   * Opens the bundle with `passphrase` here (the passphrase is checked on this device before
   * anything is sent) and checks it holds this account's keys. Returns { auth, secrets }; the
   * caller wipes both. Wrong passphrase → WrongPassphrase.
   */
  async reopen(passphrase) {
    if (!this.bundle) throw new Refused('Unlock again to do this.');
    // The bundle's kdf came with the bundle this device opened at unlock; a changed one only
    // makes the proof fail.
    const { auth, kek } = await deriveKeys(passphrase, this.bundle.kdf);
    let secrets;
    try {
      secrets = openBundle(kek, this.bundle);
    } catch {
      wipe(auth);
      throw new WrongPassphrase('That is not your current passphrase.');
    } finally {
      wipe(kek);
    }
    if (!equal(await x25519Public(secrets.x25519), this.x25519Public) || !equal(await ed25519Public(secrets.ed25519), this.ed25519Public)) {
      wipe(auth, secrets.x25519, secrets.ed25519);
      throw new Refused('the key bundle does not hold this account’s keys; refusing to use it');
    }
    return { auth, secrets };
  }

  /**
   * Seals the same keys under a new passphrase (new salt) and sends the old and new login
   * proofs (POST /v1/me/passphrase). Other devices need the new passphrase from then on.
   */
  async changePassphrase(current, next, cost = DEFAULT) {
    const { auth, secrets } = await this.reopen(current);
    try {
      const kdf = newKdf(cost);
      const fresh = await deriveKeys(next, kdf);
      try {
        const bundle = sealBundle(fresh.kek, kdf, secrets.x25519, secrets.ed25519);
        await this.api.post('/v1/me/passphrase', { auth: b64url(auth), new_auth: b64url(fresh.auth), bundle });
        this.bundle = bundle; // the one sealed here, not an echo
      } finally {
        wipe(fresh.auth, fresh.kek);
      }
    } finally {
      wipe(auth, secrets.x25519, secrets.ed25519);
    }
  }

  /**
   * Closes the account (POST /v1/me/close): the vault revokes every grant, declines every
   * pending request and erases every envelope, each a ledger entry, then removes the account.
   * Returns { grants_revoked, requests_declined, envelopes_erased } (counts: for the message only).
   */
  async close(passphrase) {
    const { auth, secrets } = await this.reopen(passphrase);
    wipe(secrets.x25519, secrets.ed25519);
    try {
      return await this.api.post('/v1/me/close', { auth: b64url(auth) });
    } finally {
      wipe(auth);
    }
  }

  /** Forgets keys and token. */
  lock() {
    this.keys = null;
    this.bundle = null;
    this.orgLogs.clear();
    this.api.token = null;
  }

  requireKeys() {
    if (!this.keys) throw new Refused('Your keys are locked. Unlock to do this.');
    return this.keys;
  }

  envelopes() {
    return this.api.get('/v1/me/envelopes');
  }

  /**
   * Whether the label holds an envelope, from the list (GET /v1/me/envelopes): asking for a label
   * that holds none would be a 404 in the console on every first save.
   */
  async has(label) {
    return (await this.envelopes()).some((e) => e.label === label);
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

  /**
   * Opens an envelope with the AAD of what the vault says it is (customer, id, version, label,
   * content_type): a vault that changed any of them makes it fail, and nothing is shown.
   */
  async openFull(e) {
    let aad;
    try {
      aad = envelopeAad(this.customerId, e.envelope_id, e.version, e.label, e.content_type);
    } catch (err) {
      throw new Refused(`your ${e.label} cannot be opened: ${err.message}`);
    }
    const key = await this.ownerKey(e);
    try {
      return openPayload(key, aad, fromB64urlN(e.nonce, 24, 'nonce'), fromB64url(e.ciphertext));
    } catch {
      throw new Refused(`your ${e.label} does not open: the vault changed it or what it says about it (type “${e.content_type}”, version ${e.version}), so it is not shown`);
    } finally {
      wipe(key);
    }
  }

  /** The account's ledger, checked completely (guard.js): { ok, failure, answer, results, … }. */
  checkLedger(answer = null) {
    return checkLedger(this.api, this.storage, this.customerId, answer);
  }

  /** The verified ledger's entries, or Refused: without it nothing is wrapped to anyone. */
  async verifiedEntries() {
    const L = await this.checkLedger();
    if (!L.ok) throw new Refused(`Your ledger does not verify (${L.failure.message.replace(/\.$/, '')}), so this device cannot tell which organizations you approved. Saving refused: nothing was sent.`);
    return L.answer.entries;
  }

  /**
   * An organization's keys from its verified key log (never from /v1/orgs/{id} or a request).
   * `fresh` skips the per-session cache (approval always fetches afresh).
   */
  orgKeys(orgId, { fresh = false } = {}) {
    if (fresh || !this.orgLogs.has(orgId)) {
      const p = checkOrgKeys(this.api, this.storage, this.customerId, orgId);
      this.orgLogs.set(orgId, p);
      p.catch(() => this.orgLogs.delete(orgId));
      return p;
    }
    return this.orgLogs.get(orgId);
  }

  /** A display name: from the verified key log, else the id (never a name the vault asserts). */
  async orgName(orgId) {
    try {
      return (await this.orgKeys(orgId)).name;
    } catch {
      return orgId;
    }
  }

  /**
   * Every grant the vault lists, each checked against this account's own key (verifyOwnGrant):
   * [{ grant, ok, reason, own }].
   */
  async checkedGrants() {
    const account = { customerId: this.customerId, ed25519Public: this.ed25519Public };
    const out = [];
    for (const g of await this.grants()) {
      if (!this.unlocked) {
        // The account's public key came from the vault; only unlocking proves it is ours.
        out.push({ grant: g, ok: false, locked: true, reason: 'unlock your keys to check it', own: null });
        continue;
      }
      try {
        out.push({ grant: g, ok: true, reason: '', own: await verifyOwnGrant(g, account) });
      } catch (e) {
        out.push({ grant: g, ok: false, reason: e.message, own: null });
      }
    }
    return out;
  }

  /**
   * The organization as this device would approve it now: its verified key log, and the
   * verdict on its keys (orgtrust.js) against the account's earlier grants and `fingerprint`.
   * Throws (LedgerFailure) when the key log does not verify.
   */
  async assessOrg(orgId, fingerprint = '') {
    const log = await this.orgKeys(orgId, { fresh: true });
    const earlier = [];
    for (const c of await this.checkedGrants()) {
      if (!c.ok || c.own.terms.org_id !== orgId) continue;
      earlier.push({ ...c.own, approvedAt: c.grant.created_at, order: Date.parse(c.grant.created_at) || 0, grantId: c.grant.grant_id });
    }
    return { log, trust: await assessOrg(log, earlier, fingerprint) };
  }

  /**
   * Seals `plaintext` under a fresh data key as the label's next version, wrapped to the owner
   * and to every organization with an active grant on the label (Device::put) — each grant
   * verified (usableGrant), the wrap made to ITS signed org_encryption_key. One grant that fails
   * refuses the whole write: nothing is sent.
   */
  async put(label, contentType, plaintext, rotate = false) {
    this.requireKeys();
    try {
      checkContentType(contentType);
    } catch (e) {
      throw new Refused(`cannot store this: ${e.message}`);
    }
    const entries = await this.verifiedEntries();
    const account = { customerId: this.customerId, ed25519Public: this.ed25519Public };
    const recipients = [];
    for (const g of await this.grants()) {
      if (g.state !== 'active' || !(g.labels || []).includes(label)) continue;
      // A grant whose read quota is used up can never read again: it gets no new wraps.
      if (g.max_reads != null && g.reads >= g.max_reads) continue;
      try {
        recipients.push(await usableGrant(g, account, entries, label));
      } catch (e) {
        if (!(e instanceof GrantRefused)) throw e;
        const name = g.org_name || g.org_id;
        throw new Refused(`The vault lists access for “${name}” (${g.grant_id}) that this device cannot verify: ${e.reason}. Saving refused: nothing was sent, and your ${label} was not shared with it.`);
      }
    }
    const existing = (await this.has(label)) ? await this.envelope(label) : null;
    const envelopeId = existing ? existing.envelope_id : newEnvelopeId();
    const version = existing ? existing.version + 1 : 1;
    const key = newDataKey();
    try {
      const sealed = sealPayload(key, envelopeAad(this.customerId, envelopeId, version, label, contentType), plaintext);
      const owner = await wrapKey(this.x25519Public, wrapInfo(envelopeId, version, this.customerId, OWNER), key);
      const grantWraps = [];
      for (const { terms, orgEncryptionKey } of recipients) {
        const w = await wrapKey(orgEncryptionKey, wrapInfo(envelopeId, version, terms.org_id, terms.grant_id), key);
        grantWraps.push({ grant_id: terms.grant_id, enc: b64url(w.enc), ct: b64url(w.ct) });
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
   * Approves a request, optionally narrowing labels or purposes (`purposes`: a subset of those
   * asked that keeps every one the request marks as needed), shortening the duration or capping reads:
   * signs a grant naming the organization's CURRENT keys from its verified key log and wraps
   * each granted envelope's data key to that signed org_encryption_key (Device::approve).
   * `fingerprint`: the anchor from the organization's link or typed in; `acceptKeyChange` and
   * `acceptUnverified`: the customer's explicit choices (orgtrust.js says when each is needed).
   */
  async approve(request, { labels, purposes, durationSecs, maxReads, fingerprint = '', acceptKeyChange = false, acceptUnverified = false } = {}) {
    const keys = this.requireKeys();
    if (request.status !== 'pending') throw new Refused(`this request is already ${request.status}`);
    let assessed;
    try {
      assessed = await this.assessOrg(request.org_id, fingerprint);
    } catch (e) {
      throw new Refused(`${e.message} Refusing to approve: nothing was shared.`);
    }
    const { log, trust } = assessed;
    const need = approvalNeeds(trust, log.name, { acceptKeyChange, acceptUnverified }, (t) => (t ? t.slice(0, 10) : 'an earlier day'));
    if (need) throw new Refused(need.message);
    const chosen = [...(labels || request.labels)].sort();
    if (chosen.length === 0) throw new Refused('choose at least one kind of data to share');
    if (chosen.some((l) => !request.labels.includes(l))) throw new Refused('you can only share what was asked for');
    const picked = [...(purposes || request.purposes)];
    if (picked.some((p) => !request.purposes.includes(p))) throw new Refused('you can only allow the purposes that were asked for');
    const why = request.purposes.filter((p) => picked.includes(p)); // in the order asked
    if (why.length === 0) throw new Refused('choose at least one purpose');
    const needed = (request.required_purposes || []).filter((p) => !why.includes(p));
    if (needed.length) throw new Refused('the purposes the service needs must stay ticked, or decline the request');
    const duration = Math.min(durationSecs ?? request.duration_secs, request.duration_secs);
    const now = Math.floor(Date.now() / 1000);
    const grant = grantTerms({
      grant_id: `grt_${randomHex16()}`,
      customer_id: this.customerId,
      org_id: log.orgId,
      org_identity_key: b64url(log.identityKey),
      org_encryption_key: b64url(log.encryptionKey),
      labels: chosen,
      purposes: why,
      not_after: rfc3339(now + duration),
      max_reads: maxReads || undefined,
    });
    const orgEncryptionKey = fromB64urlN(grant.org_encryption_key, 32, 'org_encryption_key'); // the signed key
    const wraps = [];
    for (const label of grant.labels) {
      const e = (await this.has(label)) ? await this.envelope(label) : null;
      if (!e) continue;
      const key = await this.ownerKey(e);
      try {
        const w = await wrapKey(orgEncryptionKey, wrapInfo(e.envelope_id, e.version, grant.org_id, grant.grant_id), key);
        wraps.push({ label, envelope_id: e.envelope_id, version: e.version, enc: b64url(w.enc), ct: b64url(w.ct) });
      } finally {
        wipe(key);
      }
    }
    const signature = await signGrant(keys.ed25519, grant);
    if (!trust.verified) this.pins.markUnverified(grant.grant_id, grant.org_id);
    const answer = await this.api.post(`/v1/me/requests/${enc(request.request_id)}/approve`, { grant, signature: b64url(signature), wraps });
    return { answer, grant, log, trust };
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

  /**
   * Asks the grant's organization to erase what it read under it (GDPR Art. 17): one request
   * per grant, active or ended. Needs only the session, like revoke.
   */
  askErasure(grantId) {
    return this.api.post(`/v1/me/grants/${enc(grantId)}/erasure`, {});
  }

  /**
   * The erasure requests in the verified ledger `entries`, each answer checked against the
   * organization's verified key log (erasure.js); the vault's `erasure` field is never used.
   */
  erasures(entries, now = Date.now()) {
    return checkErasures(this.customerId, entries, (orgId, opts) => this.orgKeys(orgId, opts), now);
  }

}
