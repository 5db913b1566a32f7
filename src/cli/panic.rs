//! What a panic prints: one line, not a backtrace, and nothing at all for one known upstream
//! defect that is not an error of its own.
//!
//! When a write to a table fails part-way (the disk is full), delta-rs reports the failure and
//! then aborts the file's upload in a detached task; object_store's `BufWriter` panics there
//! with "Already shut down" because the failed flush already closed it (delta-rs 1.1,
//! object_store 0.13). The panic ends only that cleanup task, the command still fails with the
//! write's own error ("No space left on device") and the table is unchanged, so the panic's
//! message would only bury that error under a dozen backtraces.

use std::panic::PanicHookInfo;

/// Installs the hook (once, at start-up). `RUST_BACKTRACE` set to anything but `0` keeps the
/// default report as well, for developers.
pub fn install() {
    let default = std::panic::take_hook();
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if is_cleanup_after_failed_write(info) {
            return;
        }
        if verbose {
            default(info);
        }
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error (a bug in attendance, please report it): {}{location}",
            crate::text::printable(message(info))
        );
    }));
}

fn message<'a>(info: &'a PanicHookInfo<'_>) -> &'a str {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The abort of an upload whose write already failed; see the module documentation.
fn is_cleanup_after_failed_write(info: &PanicHookInfo<'_>) -> bool {
    message(info) == "Already shut down"
        && info.location().is_some_and(|l| {
            let file = l.file().replace('\\', "/");
            file.contains("/object_store-") && file.ends_with("/src/buffered.rs")
        })
}
