//! Where a node's "now" comes from. Cosignatures are receipts, so their
//! times matter; tests and the demo run whole periods on a manual clock.

use std::sync::atomic::{AtomicU64, Ordering};

use cbm_wire::{TimeSpan, Timestamp};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told to: for tests and the demo, which
/// live through months of an agreement in seconds.
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicU64::new(start.0))
    }

    /// Sets the time; a clock never goes back, so an earlier time is ignored.
    pub fn set(&self, at: Timestamp) {
        self.0.fetch_max(at.0, Ordering::SeqCst);
    }

    /// Moves the time forward by `span`.
    pub fn advance(&self, span: TimeSpan) {
        self.0.fetch_add(span.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}
