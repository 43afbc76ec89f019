//! The client side of the protocol, used by the CLI (and by the tests): all customer and
//! organization cryptography happens here, on the device; the server only sees ciphertext.

pub mod api;
pub mod customer;
pub mod erasure;
pub mod org;
pub mod profile;
pub mod verify;
pub mod webhook;

pub use api::{Api, ClientError};

/// Parses `90s`, `15m`, `12h`, `30d` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<u64, ClientError> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: u64 = num.parse().map_err(|_| {
        ClientError::Usage(format!("`{s}` is not a duration like 30d, 12h, 15m or 90s"))
    })?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => {
            return Err(ClientError::Usage(format!(
                "unknown duration unit in `{s}`"
            )));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| ClientError::Usage(format!("`{s}` is too long")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::parse_duration("30d").unwrap(), 2_592_000);
        assert_eq!(super::parse_duration("90").unwrap(), 90);
        assert_eq!(super::parse_duration("15m").unwrap(), 900);
        assert!(super::parse_duration("x").is_err());
        assert!(super::parse_duration("3w").is_err());
    }
}
