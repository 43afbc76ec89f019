// Keeping the customer's session alive while the page is in use, and ending it cleanly.
//
// The vault's customer token lasts minutes; POST /v1/me/session (with the current token) gives a
// new one until `renewable_until` (12 h after the passphrase), then 401 `reauthenticate`. The
// page renews RENEW_LEAD_MS before expiry when the customer used the page during the current
// token's life; an idle page lets the token run out and locks (its keys are forgotten).
// Invariants: the passphrase and the keys are never stored; renewal needs no secret but the
// token; a token that cannot be renewed ends the session, which the page shows as Unlock with
// the handle filled in (main.js keeps what was typed, in memory only).

export const RENEW_LEAD_MS = 90 * 1000;
/** How long before the session's hard end (`renewable_until`) the customer is told. */
export const WARN_BEFORE_END_MS = 5 * 60 * 1000;
const RETRY_MS = 10 * 1000;
// Bounds on what the vault says about its tokens: they only schedule timers here.
const MIN_TTL_S = 20;
const MAX_TTL_S = 24 * 3600;

/** Seconds → a lifetime the page will schedule with (clamped; the vault decides the real one). */
const ttl = (s) => (Number.isSafeInteger(s) ? Math.min(Math.max(s, MIN_TTL_S), MAX_TTL_S) : 15 * 60);

const ACTIVITY = ['pointerdown', 'keydown', 'wheel', 'touchstart', 'input'];

export class SessionKeeper {
  /**
   * `api` (its token is replaced on renewal), `onRenewed()` (reconnect what uses the token),
   * `onEnded(reason)` with reason 'idle' | 'reauthenticate' | 'expired', `onWarn(endsAt)` a few
   * minutes before the session can no longer be renewed (time to save what is being typed).
   */
  constructor({ api, onRenewed = () => {}, onEnded, onWarn = () => {}, target = globalThis.window }) {
    Object.assign(this, { api, onRenewed, onEnded, onWarn, target });
    this.timer = null;
    this.warnTimer = null;
    this.issuedAt = 0;
    this.expiresAt = 0;
    this.renewableUntil = 0;
    this.lastActivity = 0;
    this.renewing = null;
    this.mark = () => {
      this.lastActivity = Date.now();
    };
    this.onVisible = () => {
      if (this.expiresAt && document.visibilityState === 'visible' && Date.now() >= this.expiresAt) this.end('expired');
    };
  }

  /**
   * Starts after a log-in answer. Fields used: `expires_in` (clamped, schedules the renewal),
   * `renewable_until` (an RFC 3339 time; only decides whether to try renewing — the vault
   * refuses past it anyway). The token itself is opaque here: it goes back to the same vault.
   */
  start(answer) {
    this.stop();
    for (const t of ACTIVITY) this.target?.addEventListener(t, this.mark, { capture: true, passive: true });
    this.target?.document?.addEventListener('visibilitychange', this.onVisible);
    this.lastActivity = Date.now();
    this.adopt(answer);
    const warnIn = this.renewableUntil - WARN_BEFORE_END_MS - Date.now();
    if (warnIn > 0 && warnIn < 2 ** 31 - 1) this.warnTimer = setTimeout(() => this.onWarn(new Date(this.renewableUntil)), warnIn);
  }

  adopt(answer) {
    this.issuedAt = Date.now();
    this.expiresAt = this.issuedAt + ttl(answer.expires_in) * 1000;
    const until = Date.parse(answer.renewable_until);
    this.renewableUntil = Number.isFinite(until) ? until : this.expiresAt;
    this.schedule(Math.max(0, this.expiresAt - RENEW_LEAD_MS - Date.now()), () => this.due());
  }

  schedule(ms, fn) {
    clearTimeout(this.timer);
    this.timer = setTimeout(fn, ms);
  }

  /** RENEW_LEAD_MS before expiry: renew if the page was used during this token's life. */
  due() {
    const used = this.lastActivity > this.issuedAt;
    if (used && Date.now() < this.renewableUntil) {
      this.renew().catch(() => {});
      return;
    }
    // Idle, or the session may not be renewed any more: let the token run out.
    this.schedule(Math.max(0, this.expiresAt - Date.now()), () => this.end(used ? 'reauthenticate' : 'idle'));
  }

  /**
   * The token ran out under something using it (the live stream's `session_expired`): renew
   * only as `due` would; otherwise end the session now. Resolves true when renewed.
   */
  async expired() {
    const used = this.lastActivity > this.issuedAt;
    if (used && Date.now() < this.renewableUntil) return this.renew();
    this.end(used ? 'reauthenticate' : 'idle');
    return false;
  }

  /** POST /v1/me/session now; replaces api.token. Resolves true when renewed. */
  renew() {
    if (this.renewing) return this.renewing;
    this.renewing = (async () => {
      try {
        const answer = await this.api.post('/v1/me/session', {});
        if (typeof answer?.token !== 'string' || !answer.token) throw new Error('the vault sent no token');
        this.api.token = answer.token;
        this.adopt(answer);
        this.onRenewed();
        return true;
      } catch (e) {
        if (e.status === 401) {
          // api.onUnauthorized has already ended the session (main.js); make sure.
          this.end(e.code === 'reauthenticate' ? 'reauthenticate' : 'expired');
          return false;
        }
        // Unreachable vault: try again until the token runs out.
        if (Date.now() + RETRY_MS < this.expiresAt) this.schedule(RETRY_MS, () => this.due());
        else this.schedule(Math.max(0, this.expiresAt - Date.now()), () => this.end('expired'));
        return false;
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  end(reason) {
    if (!this.expiresAt) return;
    this.stop();
    this.onEnded(reason);
  }

  stop() {
    clearTimeout(this.timer);
    clearTimeout(this.warnTimer);
    this.timer = null;
    this.warnTimer = null;
    this.expiresAt = 0;
    for (const t of ACTIVITY) this.target?.removeEventListener(t, this.mark, { capture: true });
    this.target?.document?.removeEventListener('visibilitychange', this.onVisible);
  }
}
