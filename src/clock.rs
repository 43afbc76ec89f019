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

/// Where a vault reads the time: the system clock, or (for tests) the system clock shifted by an
/// offset that can be moved forward, so expiry is tested without sleeping. Time still passes.
#[derive(Clone, Default)]
pub struct Clock {
    offset: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
}

/// Moves an adjustable [`Clock`] forward.
#[derive(Clone)]
pub struct ClockHandle(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// The system clock plus an offset, starting at zero, that the handle moves.
    pub fn adjustable() -> (Self, ClockHandle) {
        let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        (
            Self {
                offset: Some(offset.clone()),
            },
            ClockHandle(offset),
        )
    }

    pub fn now(&self) -> Timestamp {
        match &self.offset {
            None => now(),
            Some(o) => now().plus(o.load(std::sync::atomic::Ordering::Relaxed)),
        }
    }
}

impl ClockHandle {
    /// Moves the clock `secs` seconds forward (never back: time in the ledger only grows).
    pub fn advance(&self, secs: u32) {
        self.0
            .fetch_add(i64::from(secs), std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.offset.is_some() {
            "Clock(adjustable)"
        } else {
            "Clock(system)"
        })
    }
}
