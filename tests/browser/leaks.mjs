// "Nothing decryptable left the page", proved by trying: every data-key wrap the page sent
// through the proxy (approve bodies' `wraps`, envelope writes' `grant_wraps`) is opened with a
// private key the test holds (the operator's substituted X25519 key, or an organization's), with
// every wrap info it could have been made for. A wrap that opens is a leak: the data key, and
// with it the envelope, is readable by the holder of that key.
import { fromB64url } from '../../web/src/crypto/bytes.js';
import { unwrapKey, wrapInfo } from '../../web/src/crypto/wrap.js';

/** grant_id → org_id for every grant the page was shown or signed (from the proxy's records). */
function grantOrgs(proxy) {
  const m = new Map();
  for (const r of proxy.received) {
    if (r.path === '/v1/me/grants' && Array.isArray(r.json)) for (const g of r.json) if (g?.grant_id) m.set(g.grant_id, g.org_id);
  }
  for (const s of proxy.sent) if (s.json?.grant?.grant_id) m.set(s.json.grant.grant_id, s.json.grant.org_id);
  return m;
}

async function opens(secret, info, w) {
  try {
    return await unwrapKey(secret, info, { enc: fromB64url(w.enc), ct: fromB64url(w.ct) });
  } catch {
    return null;
  }
}

/**
 * Returns the wraps in what the page sent that `secret` (raw X25519 secret) opens:
 * [{ path, grant_id, envelope_id, version, key }]. `orgIds`: organization ids to try besides
 * the ones the records name.
 */
export async function leakedTo(proxy, secret, orgIds = []) {
  const orgs = grantOrgs(proxy);
  const found = [];
  for (const s of proxy.sent) {
    const j = s.json;
    if (!j || typeof j !== 'object') continue;
    const tries = [];
    if (j.grant && Array.isArray(j.wraps)) {
      for (const w of j.wraps) tries.push({ w, envelope_id: w.envelope_id, version: w.version, grant_id: j.grant.grant_id, org_ids: [j.grant.org_id] });
    }
    if (Array.isArray(j.grant_wraps)) {
      for (const w of j.grant_wraps) tries.push({ w, envelope_id: j.envelope_id, version: j.version, grant_id: w.grant_id, org_ids: [orgs.get(w.grant_id)] });
    }
    for (const t of tries) {
      for (const org of new Set([...t.org_ids, ...orgIds].filter(Boolean))) {
        const key = await opens(secret, wrapInfo(t.envelope_id, t.version, org, t.grant_id), t.w);
        if (key) found.push({ path: s.path, grant_id: t.grant_id, envelope_id: t.envelope_id, version: t.version, key });
      }
    }
  }
  return found;
}

/** The wraps of data keys the page sent at all (approve `wraps` and envelope `grant_wraps`). */
export function wrapsSent(proxy) {
  return proxy.sent.flatMap((s) => [...(s.json?.wraps || []), ...(s.json?.grant_wraps || [])]);
}
