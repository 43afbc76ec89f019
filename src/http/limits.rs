//! Abuse limits on the endpoints that cost Argon2id or mint tokens: a token bucket per client
//! IP, and per account (handle or organization) for logins and token requests.

use super::error::ApiError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

pub struct AuthLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n)
}

fn refused(endpoint: &'static str) -> ApiError {
    metrics::counter!("assent_rate_limited_total", "endpoint" => endpoint).increment(1);
    ApiError::TooManyRequests
}

impl AuthLimits {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> Self {
        Self {
            per_ip: RateLimiter::keyed(quota(per_ip_per_minute)),
            per_account: RateLimiter::keyed(quota(per_account_per_minute)),
        }
    }

    pub fn check_ip(&self, ip: IpAddr, endpoint: &'static str) -> Result<(), ApiError> {
        self.per_ip.check_key(&ip).map_err(|_| refused(endpoint))
    }

    pub fn check_account(&self, account: &str, endpoint: &'static str) -> Result<(), ApiError> {
        self.per_account
            .check_key(&account.to_owned())
            .map_err(|_| refused(endpoint))
    }

    /// Forgets idle keys so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.per_account.retain_recent();
    }
}
