// A real tampering HTTP proxy (node:http) between Chromium and a real vault: the hostile operator.
// It forwards every request, records what the page sent (the body exactly as the page sent it,
// before any rewriting) and what it got, and applies the rules a test installs:
//   proxy.rule({ method, path: RegExp, request?(json, ctx), response?(body, ctx) })
// `request` may return a new JSON body to forward; `response` gets the parsed JSON (or the text
// when it is not JSON) and may return a replacement (object → JSON, string → as is).
import http from 'node:http';

const readAll = (stream) =>
  new Promise((resolve, reject) => {
    const parts = [];
    stream.on('data', (d) => parts.push(d));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });

const parse = (buf) => {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
};

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection']);

export async function startProxy(target) {
  const upstream = new URL(target);
  const rules = [];
  const sent = []; // { method, path, json, text } as the page sent them
  const received = []; // { method, path, status, json } as the page received them
  const server = http.createServer(async (req, res) => {
    try {
      const body = await readAll(req);
      const u = new URL(req.url, 'http://proxy');
      const ctx = { method: req.method, path: u.pathname, search: u.search };
      const json = parse(body);
      sent.push({ ...ctx, json, text: body.toString('utf8') });
      const mine = rules.filter((r) => (!r.method || r.method === req.method) && r.path.test(u.pathname));
      let out = body;
      for (const r of mine) {
        if (!r.request) continue;
        const j = await r.request(structuredClone(parse(out)), ctx);
        if (j !== undefined) out = Buffer.from(JSON.stringify(j));
      }
      const headers = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && k !== 'accept-encoding' && k !== 'host') headers[k] = v;
      headers.host = upstream.host;
      if (out.length || req.method !== 'GET') headers['content-length'] = String(out.length);
      const answer = await new Promise((resolve, reject) => {
        const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, async (r) => {
          resolve({ status: r.statusCode, headers: r.headers, body: await readAll(r) });
        });
        up.on('error', reject);
        up.end(out);
      });
      let resBody = answer.body;
      for (const r of mine) {
        if (!r.response) continue;
        const parsed = parse(resBody);
        const j = await r.response(parsed === undefined ? resBody.toString('utf8') : parsed, { ...ctx, status: answer.status });
        if (j !== undefined) resBody = Buffer.from(typeof j === 'string' ? j : JSON.stringify(j));
      }
      received.push({ ...ctx, status: answer.status, json: parse(resBody) });
      const outHeaders = {};
      for (const [k, v] of Object.entries(answer.headers)) if (!HOP.has(k)) outHeaders[k] = v;
      outHeaders['content-length'] = String(resBody.length);
      res.writeHead(answer.status, outHeaders);
      res.end(resBody);
    } catch (e) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e.message}`);
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    received,
    /** Installs a rule; returns a function that removes it. */
    rule(r) {
      rules.push(r);
      return () => rules.splice(rules.indexOf(r), 1);
    },
    /** Removes every rule and forgets what was recorded (between tests). */
    reset() {
      rules.length = 0;
      sent.length = 0;
      received.length = 0;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}
