// The live stream: GET /v1/me/events (Server-Sent Events) read with fetch(), because EventSource
// cannot send the Authorization header. The parser follows the WHATWG HTML event stream format
// (§9.2.6 "Interpreting an event stream"); the client reconnects with Last-Event-ID and backoff.
//
// Invariant: the stream is a hint to look again, never a fact. The page renders nothing from an
// event's fields; on each event it re-fetches and re-verifies (main.js). A vault that invents,
// withholds or delays announcements changes only when the page looks, not what it shows.

/** Incremental parser: feed decoded text with push(); returns the events it completed. */
export class EventStreamParser {
  constructor() {
    this.buffer = '';
    this.started = false;
    this.data = '';
    this.type = '';
    this.idBuffer = '';
    this.lastEventId = '';
    this.retry = null;
  }

  push(text) {
    if (!this.started && text.length) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // one leading BOM is dropped
    }
    this.buffer += text;
    const out = [];
    // Lines end with CRLF, LF or CR. A CR at the very end may be the first half of a CRLF: wait.
    for (;;) {
      const m = /\r\n|\n|\r/.exec(this.buffer);
      if (!m) break;
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  line(line) {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null; // a comment (the keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data += `${value}\n`;
    else if (field === 'id') {
      if (!value.includes('\0')) this.idBuffer = value;
    } else if (field === 'retry') {
      if (/^[0-9]+$/.test(value)) this.retry = Number(value);
    }
    return null;
  }

  dispatch() {
    this.lastEventId = this.idBuffer;
    if (this.data === '') {
      this.type = '';
      return null;
    }
    const ev = { type: this.type || 'message', data: this.data.slice(0, -1), lastEventId: this.lastEventId };
    this.data = '';
    this.type = '';
    return ev;
  }
}

const BACKOFF_MS = [1000, 2000, 5000, 10000, 30000];
// The vault sends a comment every 15 s: a connection silent for longer is dead (a phone that
// slept, a proxy that dropped it without closing) and is replaced.
export const STALL_MS = 45 * 1000;
// A customer_seq as the server accepts it back in Last-Event-ID (anything else is not sent).
const SEQ = /^[0-9]{1,18}$/;

/**
 * Follows /v1/me/events while started. Callbacks:
 *   token()            the current bearer token (renewal replaces it; reconnect() picks it up)
 *   onEvent({type, lastEventId, resumed})  each announcement (also `reload`, and `ready` when a
 *                      later connection starts afresh); a hint only: fetch and verify
 *   onExpired()        `session_expired` or a 401: resolve true when a fresh token is in place
 *                      (the stream reconnects), false to stop
 *   onState(state)     'live' | 'retrying' | 'stopped' (for a quiet indicator, optional)
 */
export class LiveStream {
  constructor({ url = '/v1/me/events', token, onEvent, onExpired, onState = () => {}, fetchImpl = (...a) => fetch(...a), stallMs = STALL_MS }) {
    Object.assign(this, { url, token, onEvent, onExpired, onState, fetchImpl, stallMs });
    this.running = false;
    this.lastId = '';
    this.failures = 0;
    this.controller = null;
    this.wake = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    this.controller?.abort();
    this.wake?.();
    this.onState('stopped');
  }

  /** Drops the connection and opens a new one now (e.g. with a renewed token). */
  reconnect() {
    this.failures = 0;
    this.controller?.abort();
    this.wake?.();
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  backoff() {
    const base = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures += 1;
    return base + Math.floor(Math.random() * 250);
  }

  async loop() {
    while (this.running) {
      const wait = await this.connect();
      if (!this.running) break;
      if (wait > 0) {
        this.onState('retrying');
        await this.sleep(wait);
      }
    }
  }

  /** One connection; returns how long to wait before the next (0: at once). */
  async connect() {
    const controller = new AbortController();
    this.controller = controller;
    const headers = { accept: 'text/event-stream', authorization: `Bearer ${this.token()}` };
    const resumed = SEQ.test(this.lastId);
    if (resumed) headers['last-event-id'] = this.lastId;
    let res;
    try {
      res = await this.fetchImpl(this.url, { headers, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
    } catch {
      return controller.signal.aborted ? 0 : this.backoff();
    }
    if (res.status === 401) {
      res.body?.cancel().catch(() => {});
      const renewed = await this.onExpired();
      if (!renewed) this.stop();
      // Refused again right after a renewal: wait (a vault refusing fresh tokens is not hammered).
      const first = this.failures === 0;
      const wait = this.backoff();
      return first ? 0 : wait;
    }
    if (res.status === 429) {
      // too_many_streams (other tabs or devices): wait as told, within reason.
      const after = Number(res.headers.get('retry-after'));
      res.body?.cancel().catch(() => {});
      return (Number.isFinite(after) && after > 0 ? Math.min(after, 120) : 30) * 1000;
    }
    if (!res.ok || !res.body || !(res.headers.get('content-type') || '').startsWith('text/event-stream')) {
      res.body?.cancel().catch(() => {});
      return this.backoff();
    }
    const parser = new EventStreamParser();
    parser.lastEventId = this.lastId;
    parser.idBuffer = this.lastId;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let expired = false;
    let stalled = false;
    const dead = () => {
      stalled = true;
      controller.abort();
      reader.cancel().catch(() => {}); // ends a read the abort alone may not
    };
    let stall = setTimeout(dead, this.stallMs);
    this.onState('live');
    try {
      for (;;) {
        const { value, done } = await reader.read();
        clearTimeout(stall);
        if (done) break;
        stall = setTimeout(dead, this.stallMs);
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
          if (ev.type !== 'session_expired') this.failures = 0;
          if (SEQ.test(ev.lastEventId)) this.lastId = ev.lastEventId;
          if (ev.type === 'session_expired') {
            expired = true;
            continue;
          }
          // `ready` opens a stream without Last-Event-ID: only a reconnection needs a new look.
          if (ev.type === 'ready' && !this.seenReady) {
            this.seenReady = true;
            continue;
          }
          this.onEvent({ type: ev.type, lastEventId: ev.lastEventId, resumed });
        }
      }
    } catch {
      if (controller.signal.aborted) return 0;
    } finally {
      clearTimeout(stall);
      reader.releaseLock?.();
    }
    if (!this.running || stalled) return 0;
    if (expired) {
      const renewed = await this.onExpired();
      if (!renewed) this.stop();
      return 0;
    }
    // The vault ended the stream (a restart, a proxy's limit): come back, without hammering.
    return this.backoff();
  }
}
