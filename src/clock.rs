//! The wall clock, read in one place: the pure layers take time as a parameter, and the vault
//! and the device clients both get it from here.

use crate::domain::time::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// The current time, whole seconds (the wire format's precision).
pub fn now() -> Timestamp {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix_clamped(secs)
}
