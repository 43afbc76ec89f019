//! Abuse limits on the endpoints that cost Argon2id, mint tokens or write the ledger.
//!
//! - Per client network (an IPv4 address, or an IPv6 /64): every sign-up, KDF lookup, login
//!   and token request.
//! - Per account (a handle, or an organization) **and** client network: failed logins and
//!   refused client assertions. Only failures are charged, and only the network they came from
//!   is held back, so nobody can lock another client out of an account: junk from one address
//!   never slows the right credentials from another.
//! - Per account: successful logins and issued tokens, which only the account's holder can
//!   spend (a token is charged only once its assertion's signature and `jti` have passed).
//! - Per organization: access requests per minute (every attempt, after authentication).
//!
//! Every refusal is `429 rate_limited` with `Retry-After`.

use super::error::ApiError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Instant;

/// Default cap on one organization's access requests per minute.
pub const DEFAULT_REQUESTS_PER_ORG_PER_MINUTE: u32 = 60;
/// Default cap on the requests one organization may have pending with one customer.
pub const DEFAULT_PENDING_REQUESTS_PER_CUSTOMER: u32 = 20;
/// Keys a failure or success table keeps at most before idle ones are forgotten early.
const MAX_KEYS: usize = 200_000;

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n)
}

fn refused(endpoint: &'static str) -> ApiError {
    metrics::counter!("assent_rate_limited_total", "endpoint" => endpoint).increment(1);
    ApiError::TooManyRequests
}

/// The client network a limit is keyed on: the IPv4 address (also when IPv4-mapped), or the
/// IPv6 /64 (one subscriber usually holds a whole /64, so per-address keys would not hold).
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Token buckets that can be looked at without being charged: `allows` before the work,
/// `charge` after it, once the outcome (failure or success) is known.
struct Buckets<K> {
    per_minute: f64,
    map: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Eq + Hash + Clone> Buckets<K> {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Tokens left in `entry` at `now` (full for a key never seen).
    fn level(&self, entry: Option<&(f64, Instant)>, now: Instant) -> f64 {
        match entry {
            None => self.per_minute,
            Some((tokens, at)) => {
                let refill =
                    now.saturating_duration_since(*at).as_secs_f64() * self.per_minute / 60.0;
                (tokens + refill).min(self.per_minute)
            }
        }
    }

    fn allows(&self, key: &K) -> bool {
        let Ok(map) = self.map.lock() else {
            return true;
        };
        self.level(map.get(key), Instant::now()) >= 1.0
    }

    fn charge(&self, key: &K) {
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        let now = Instant::now();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, e| self.level(Some(e), now) < self.per_minute);
            if map.len() >= MAX_KEYS {
                tracing::warn!(keys = map.len(), "rate-limit table full; forgetting it");
                map.clear();
            }
        }
        let left = (self.level(map.get(key), now) - 1.0).max(0.0);
        map.insert(key.clone(), (left, now));
    }

    /// Forgets keys whose bucket has refilled (they are as good as new).
    fn forget_idle(&self) {
        if let Ok(mut map) = self.map.lock() {
            let now = Instant::now();
            map.retain(|_, e| self.level(Some(e), now) < self.per_minute);
        }
    }
}

pub struct AuthLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Failures per (account, client network).
    failures: Buckets<(String, IpAddr)>,
    /// Successes per account.
    successes: Buckets<String>,
    /// Access requests per organization.
    requests: DefaultKeyedRateLimiter<String>,
    pending_per_customer: u32,
}

impl AuthLimits {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        Self {
            per_ip: RateLimiter::keyed(quota(per_ip_per_minute)),
            failures: Buckets::new(per_account_per_minute),
            successes: Buckets::new(per_account_per_minute),
            requests: RateLimiter::keyed(quota(DEFAULT_REQUESTS_PER_ORG_PER_MINUTE)),
            pending_per_customer: DEFAULT_PENDING_REQUESTS_PER_CUSTOMER,
        }
    }

    /// Sets the access-request limits: per organization per minute, and pending per
    /// (organization, customer).
    pub fn with_requests(mut self, per_org_per_minute: u32, pending_per_customer: u32) -> Self {
        self.requests = RateLimiter::keyed(quota(per_org_per_minute));
        self.pending_per_customer = pending_per_customer.max(1);
        self
    }

    /// Every attempt from this client network.
    pub fn check_ip(&self, ip: IpAddr, endpoint: &'static str) -> Result<(), ApiError> {
        self.per_ip
            .check_key(&network(ip))
            .map_err(|_| refused(endpoint))
    }

    /// Before the work: refused if this client network has failed too often for this account,
    /// or the account has succeeded too often. Charges nothing.
    pub fn check_account(
        &self,
        account: &str,
        ip: IpAddr,
        endpoint: &'static str,
    ) -> Result<(), ApiError> {
        let key = (account.to_owned(), network(ip));
        if self.failures.allows(&key) && self.successes.allows(&account.to_owned()) {
            Ok(())
        } else {
            Err(refused(endpoint))
        }
    }

    /// After a failed login or a refused assertion: charged to (account, client network) only.
    pub fn account_failed(&self, account: &str, ip: IpAddr) {
        self.failures.charge(&(account.to_owned(), network(ip)));
    }

    /// After a login or a token was granted: charged to the account (only its holder can).
    pub fn account_succeeded(&self, account: &str) {
        self.successes.charge(&account.to_owned());
    }

    /// One access request by an (authenticated) organization.
    pub fn check_request(&self, org: &str) -> Result<(), ApiError> {
        self.requests
            .check_key(&org.to_owned())
            .map_err(|_| refused("create_request"))
    }

    /// How many requests one organization may have pending with one customer.
    pub fn pending_per_customer(&self) -> u32 {
        self.pending_per_customer
    }

    /// Forgets idle keys so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.failures.forget_idle();
        self.successes.forget_idle();
        self.requests.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_keyed_on_the_64_and_mapped_ipv4_on_the_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(c));
        let m: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(network(m), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn failures_hold_back_only_the_network_they_came_from() {
        let l = AuthLimits::new(1000, 3);
        let attacker: IpAddr = "192.0.2.1".parse().unwrap();
        let victim: IpAddr = "198.51.100.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check_account("alice", attacker, "t").is_ok());
            l.account_failed("alice", attacker);
        }
        assert!(l.check_account("alice", attacker, "t").is_err());
        assert!(l.check_account("alice", victim, "t").is_ok());
        assert!(l.check_account("bob", attacker, "t").is_ok());
    }
}
