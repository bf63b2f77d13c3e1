//! The clock that progress reports measure speed with: `std::time::Instant`
//! natively, and a clock that stands still in the browser.
//!
//! On `wasm32-unknown-unknown` std has no clock: `std::time::Instant::now`
//! panics there. Only the speeds and ETAs of [`crate::Progress`] and the
//! seconds of [`crate::RunStats`] read the time, never the training, so in
//! the browser they read zero elapsed time (a speed of 0 steps/s; the page
//! measures its own with `performance.now()`) and nothing else changes.

use std::time::Duration;

/// A moment, for measuring how long training took (see the module docs).
#[derive(Copy, Clone, Debug)]
pub struct Instant {
    #[cfg(not(target_arch = "wasm32"))]
    at: std::time::Instant,
}

impl Instant {
    /// Now (natively); on wasm32 a moment no time ever passes after.
    pub fn now() -> Instant {
        Instant {
            #[cfg(not(target_arch = "wasm32"))]
            at: std::time::Instant::now(),
        }
    }

    /// The time since this moment: zero on wasm32.
    pub fn elapsed(&self) -> Duration {
        #[cfg(not(target_arch = "wasm32"))]
        return self.at.elapsed();
        #[cfg(target_arch = "wasm32")]
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_passes_natively() {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(start.elapsed() >= Duration::from_millis(2));
    }
}
