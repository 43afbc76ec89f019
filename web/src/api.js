// The vault's JSON API (same origin). Errors come back as {error, message}; ApiError keeps both.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor(base = '') {
    this.base = base;
    this.token = null;
    /** Called with the ApiError when a request's token is refused (401, not bad_credentials). */
    this.onUnauthorized = null;
  }

  async request(method, path, body, { text = false } = {}) {
    const headers = { accept: text ? 'text/plain' : 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (e) {
      throw new ApiError(0, 'network', `The vault cannot be reached (${e.message}).`);
    }
    if (!res.ok) {
      let code = `http_${res.status}`;
      let message = `The vault answered ${res.status}.`;
      try {
        const j = await res.json();
        code = j.error || code;
        message = j.message || message;
      } catch {
        /* not JSON */
      }
      const err = new ApiError(res.status, code, message);
      // Only a refused TOKEN ends the session; a wrong passphrase typed to change it or to close
      // the account (401 bad_credentials) is an answer to that form.
      if (res.status === 401 && code !== 'bad_credentials' && this.token && this.onUnauthorized) this.onUnauthorized(err);
      throw err;
    }
    return text ? res.text() : res.json();
  }

  get(path) {
    return this.request('GET', path);
  }
  getText(path) {
    return this.request('GET', path, undefined, { text: true });
  }
  post(path, body = {}) {
    return this.request('POST', path, body);
  }
  put(path, body) {
    return this.request('PUT', path, body);
  }
  del(path) {
    return this.request('DELETE', path);
  }
}
