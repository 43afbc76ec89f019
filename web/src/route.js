// Hash routes: `#/<view>` and an organization's request link `#/requests/<request_id>?fp=<fp>`.
// The link's fingerprint is an anchor from OUTSIDE the vault (the organization hands the link out
// through its own channel); it is only ever compared with the fingerprint computed here.

const REQUEST_ID = /^req_[A-Za-z0-9_-]{1,64}$/;

/** → { view, link: null | { requestId, fingerprint } } */
export function parseRoute(hash) {
  const raw = (hash || '').startsWith('#/') ? hash.slice(2) : '';
  const [path, query = ''] = raw.split('?', 2);
  const [view, id] = path.split('/');
  let link = null;
  if (view === 'requests' && id && REQUEST_ID.test(decodeURIComponent(id))) {
    const fp = new URLSearchParams(query).get('fp') || '';
    link = { requestId: decodeURIComponent(id), fingerprint: fp.slice(0, 200) };
  }
  return { view: view || 'data', link };
}
