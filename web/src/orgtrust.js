// Whether the organization's CURRENT keys (from its verified key log, orgkeys.js) are the ones
// this customer means to trust. The vault's word is never enough: its key log proves only that
// the vault logged those keys. What anchors them:
//   pin     an earlier grant this customer signed for the organization (verified with the
//           account's own key, grantcheck.js) names the keys approved before;
//   anchor  a fingerprint from outside the vault (a request link `#/requests/{id}?fp=…` the
//           organization handed out, or typed in), compared with the one computed here.
// Verdicts:
//   anchor 'match' | 'mismatch' | 'none'          (mismatch always refuses)
//   pin    'same'    the keys approved before, on `since`
//          'changed' different from the keys approved on `since`; the key log links them by
//                    signed changes (`changes`); the customer must confirm
//          'unknown' the keys approved before are not in the key log at all: its history does not
//                    match what this customer signed; only a matching anchor can go on
//          'none'    first contact: an anchor or an explicit "not verified" choice is needed
import { equal } from './crypto/bytes.js';
import { fingerprintMatches, normalizeFingerprint } from './crypto/sign.js';

/**
 * `log`: verifyOrgKeyLog's result. `earlier`: [{ orgIdentityKey, orgEncryptionKey, approvedAt,
 * order }] from the account's own verified grants for this organization. `given`: the
 * fingerprint text from the link or the customer, or ''. Returns { anchor, pin, since,
 * changes, verified, fingerprint }.
 */
export async function assessOrg(log, earlier, given) {
  let anchor = 'none';
  if (given && given.trim()) {
    anchor = normalizeFingerprint(given) !== null && (await fingerprintMatches(log.identityKey, given)) ? 'match' : 'mismatch';
  }
  const sameKeys = (g) => equal(g.orgIdentityKey, log.identityKey) && equal(g.orgEncryptionKey, log.encryptionKey);
  const newest = (list) => list.reduce((a, b) => (b.order > a.order ? b : a), list[0]);
  let pin = 'none';
  let since = null;
  let changes = [];
  if (earlier.length) {
    const matching = earlier.filter(sameKeys);
    if (matching.length) {
      pin = 'same';
      since = newest(matching).approvedAt;
    } else {
      const last = newest(earlier);
      since = last.approvedAt;
      const at = log.history.findIndex((k) => equal(k.identityKey, last.orgIdentityKey) && equal(k.encryptionKey, last.orgEncryptionKey));
      pin = at < 0 ? 'unknown' : 'changed';
      changes = at < 0 ? log.history.slice(1) : log.history.slice(at + 1);
    }
  }
  const verified = anchor === 'match' || pin === 'same' || pin === 'changed';
  return { anchor, pin, since, changes, verified, fingerprint: log.fingerprint };
}

/**
 * What approving needs given the verdict: null when nothing more, else { need, message } with
 * need = 'refuse' | 'confirm_change' | 'accept_unverified'.
 */
export function approvalNeeds(trust, name, { acceptKeyChange = false, acceptUnverified = false } = {}, day = (t) => t) {
  if (trust.anchor === 'mismatch') {
    return { need: 'refuse', message: `The fingerprint you gave is not ${name}’s (${trust.fingerprint} in the vault’s key log). Refusing to approve: someone may be posing as ${name}. Nothing was shared.` };
  }
  if (trust.pin === 'unknown' && trust.anchor !== 'match') {
    return { need: 'refuse', message: `The vault’s key log for ${name} does not contain the keys you approved on ${day(trust.since)}. Refusing to approve unless you check ${name}’s fingerprint with ${name} and enter it.` };
  }
  if ((trust.pin === 'changed' || trust.pin === 'unknown') && !acceptKeyChange) {
    return { need: 'confirm_change', message: `${name}’s keys changed since you approved it on ${day(trust.since)}. Check the change with ${name} before you go on.` };
  }
  if (trust.pin === 'none' && trust.anchor === 'none' && !acceptUnverified) {
    return { need: 'accept_unverified', message: `This is the first time you approve ${name}, and its fingerprint was not checked. Enter the fingerprint ${name} gave you, or choose to approve an organization you could not verify.` };
  }
  return null;
}
