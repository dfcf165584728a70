//! SIGTERM and SIGINT during a run that changes the host: the signal is noted, the command that
//! is running is allowed to finish (children run in their own process group, so a Ctrl-C on the
//! terminal does not reach them), and the run stops at the next point between two actions, or in
//! a wait, with the report written and the lock released. The next run converges.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::error::{Error, Result};

static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn note(sig: nix::libc::c_int) {
    CAUGHT.store(sig, Ordering::SeqCst);
}

/// From now on SIGTERM and SIGINT are noted instead of ending the process.
pub fn catch() {
    let a = SigAction::new(
        SigHandler::Handler(note),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for s in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if let Err(e) = unsafe { sigaction(s, &a) } {
            tracing::warn!("cannot catch {s}: {e}");
        }
    }
}

/// The signal noted so far, if any.
pub fn caught() -> Option<Signal> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// `Err(Interrupted)` when a signal was noted; `during` says what was going on.
pub fn check(during: impl FnOnce() -> String) -> Result<()> {
    match caught() {
        None => Ok(()),
        Some(s) => Err(Error::Interrupted {
            signal: s.as_str().to_string(),
            during: during(),
        }),
    }
}

/// Sleeps for `d`, but returns `Err(Interrupted)` as soon as a signal is noted.
pub fn pause(d: Duration) -> Result<()> {
    let until = Instant::now() + d;
    loop {
        check(|| "while waiting".to_string())?;
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}
