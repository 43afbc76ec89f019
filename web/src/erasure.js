// Erasure requests as this device believes them (src/client/erasure.rs): from the account's
// VERIFIED ledger only, never from the vault's `erasure` field on a grant (display). A request is
// its `erasure_requested` entry (with its deadline); an answer is the `erasure_answered` entry
// that follows it, believed only when
//   request     it names an earlier erasure_requested entry of this account (request_index) for
//               the same grant and organization, and is the FIRST answer to it;
//   key         its identity_key is the key the organization held just before the answer's
//               ledger index, according to the organization's verified key log (orgkeys.js);
//   signature   Ed25519 by that key over "assent/v2/erasure-answer\n" ‖ JCS({customer_id, org_id,
//               grant_id, request_index, outcome, reason?}) verifies (crypto/sign.js).
// An answer that fails any of these is not shown as the organization's: its ledger index goes to
// `bad` with the reason, and the request stays pending (or overdue) on this device.
// The state follows from the answer and the device's clock: pending until `due`, then overdue.
import { equal, fromB64url, fromB64urlN } from './crypto/bytes.js';
import { verifyErasureAnswer } from './crypto/sign.js';

const OUTCOMES = new Set(['erased', 'refused']);

/** The identity key `log` says the organization held just before ledger index `at`. */
export function keyAt(log, at) {
  let key = null;
  for (const k of log.history) {
    if (Number(k.index) >= at) break;
    key = k.identityKey;
  }
  return key;
}

/**
 * `entries`: the account's verified ledger entries (index order). `keyLog(orgId, { fresh })`:
 * the organization's verified key log (throws when it does not verify). Returns
 * { byGrant: Map grant_id → { grantId, orgId, requestedAt, due, requestIndex, state, answer,
 * rejected: [{ index, reason }] }, bad: Map ledger index → reason }, where `answer` is null or
 * { outcome, reason, answeredAt, answerIndex } and state is pending | overdue | erased | refused.
 */
export async function checkErasures(customerId, entries, keyLog, now = Date.now()) {
  const byGrant = new Map();
  const byIndex = new Map();
  const bad = new Map();
  for (const e of entries) {
    const ev = e.event;
    if (!ev || ev.customer_id !== customerId) continue;
    if (ev.type === 'erasure_requested') {
      const r = { grantId: ev.grant_id, orgId: ev.org_id, requestedAt: ev.at, due: ev.due, requestIndex: e.index, state: 'pending', answer: null, answered: false, rejected: [] };
      byIndex.set(e.index, r);
      if (!byGrant.has(ev.grant_id)) byGrant.set(ev.grant_id, r);
    } else if (ev.type === 'erasure_answered') {
      const r = byIndex.get(ev.request_index);
      const reason = await answerProblem(customerId, r, e, keyLog);
      if (r && r.grantId === ev.grant_id) r.answered = true; // only the first answer counts
      if (reason) {
        bad.set(e.index, reason);
        if (r && r.grantId === ev.grant_id) r.rejected.push({ index: e.index, reason });
        else byGrant.get(ev.grant_id)?.rejected.push({ index: e.index, reason });
        continue;
      }
      r.answer = { outcome: ev.outcome, reason: ev.reason ?? null, answeredAt: ev.at, answerIndex: e.index };
    }
  }
  for (const r of byGrant.values()) {
    const due = Date.parse(r.due);
    r.state = r.answer ? r.answer.outcome : Number.isFinite(due) && now > due ? 'overdue' : 'pending';
    delete r.answered;
  }
  return { byGrant, bad };
}

/** Why the answer in entry `e` is not believed, or '' when it is. */
async function answerProblem(customerId, r, e, keyLog) {
  const ev = e.event;
  if (!r || r.grantId !== ev.grant_id) return 'it answers no erasure request of yours';
  if (r.orgId !== ev.org_id) return `it comes from ${ev.org_id}, not from the organization you asked`;
  if (r.answered) return 'it is not the organization’s first answer to your request';
  if (!OUTCOMES.has(ev.outcome)) return 'its outcome is not one an organization can give';
  const hasReason = typeof ev.reason === 'string' && ev.reason.length > 0;
  if (ev.outcome === 'refused' ? !hasReason : ev.reason !== undefined && ev.reason !== null) {
    return ev.outcome === 'refused' ? 'the refusal gives no reason' : 'an erasure carries no reason';
  }
  let identityKey;
  let signature;
  try {
    identityKey = fromB64urlN(ev.identity_key, 32, 'identity_key');
    signature = fromB64url(ev.signature);
  } catch (err) {
    return `it is malformed (${err.message})`;
  }
  let log;
  try {
    log = await keyLog(ev.org_id);
    // A key log fetched earlier in this session may predate a key change: look again once.
    if (!equalKey(keyAt(log, e.index), identityKey)) log = await keyLog(ev.org_id, { fresh: true });
  } catch {
    return 'the organization’s key log does not verify, so its key cannot be checked';
  }
  if (!equalKey(keyAt(log, e.index), identityKey)) return 'it is signed by a key the organization did not hold when it answered';
  const statement = { customer_id: customerId, org_id: ev.org_id, grant_id: ev.grant_id, request_index: ev.request_index, outcome: ev.outcome, reason: ev.reason };
  if (!(await verifyErasureAnswer(identityKey, statement, signature))) return 'its signature by the organization’s key does not verify';
  return '';
}

const equalKey = (a, b) => !!a && !!b && equal(a, b);
