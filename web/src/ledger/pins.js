// What this device remembers for each ACCOUNT (localStorage keys include the customer id, so two
// accounts on one browser, or one origin serving several vaults' pages, never share a pin):
//   last_checkpoint  the newest checkpoint this account verified (the next one must extend it)
//   customer_seq     the highest customer_seq seen in a verified ledger (it may never go back)
//   unverified_orgs  grants approved with "Approve an organization I could not verify"
// The vault's verifier key is pinned once per origin (guard.js): it is the vault's, not the account's.

const key = (customerId, what) => `assent.account.${customerId}.${what}`;

export class AccountPins {
  constructor(storage, customerId) {
    if (!customerId) throw new Error('pins need the account’s customer id');
    this.storage = storage;
    this.customerId = customerId;
  }

  get lastCheckpoint() {
    return this.storage.getItem(key(this.customerId, 'last_checkpoint'));
  }

  /** Call only with a checkpoint verified to extend the kept one. */
  set lastCheckpoint(note) {
    this.storage.setItem(key(this.customerId, 'last_checkpoint'), note);
  }

  get customerSeq() {
    const n = Number(this.storage.getItem(key(this.customerId, 'customer_seq')) || 0);
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  /** Only ever raises the pin. */
  set customerSeq(n) {
    if (n > this.customerSeq) this.storage.setItem(key(this.customerId, 'customer_seq'), String(n));
  }

  /** grant_id → { org_id, at } for grants approved without an anchor. */
  get unverifiedOrgs() {
    try {
      return JSON.parse(this.storage.getItem(key(this.customerId, 'unverified_orgs')) || '{}');
    } catch {
      return {};
    }
  }

  markUnverified(grantId, orgId) {
    const all = this.unverifiedOrgs;
    all[grantId] = { org_id: orgId, at: new Date().toISOString() };
    this.storage.setItem(key(this.customerId, 'unverified_orgs'), JSON.stringify(all));
  }
}
