//! Progress drawn on stderr: a bar for steps of known size, a spinner for the others; nothing
//! when stderr is not a terminal.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

use crate::progress::{Progress, ProgressRef, silent};

/// Progress for a command: drawn when stderr is a terminal, silent otherwise.
pub fn for_terminal() -> ProgressRef {
    if std::io::stderr().is_terminal() {
        Arc::new(Drawn::default())
    } else {
        silent()
    }
}

#[derive(Debug, Default)]
struct Drawn {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Drawn {
    fn step(&self, name: &str, total: Option<u64>) {
        let mut current = self.bar.lock().expect("not poisoned");
        if let Some(bar) = current.take() {
            bar.finish_and_clear();
        }
        // Cleared when dropped too (an error), so the error message stands alone.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr())
            .with_finish(ProgressFinish::AndClear);
        let style = match total {
            Some(_) => ProgressStyle::with_template(
                "{msg:>12} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
            )
            .expect("template")
            .progress_chars("=> "),
            None => ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("template"),
        };
        bar.set_style(style);
        bar.set_message(name.to_string());
        if total.is_none() {
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
        }
        *current = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.bar.lock().expect("not poisoned").as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("not poisoned").take() {
            bar.finish_and_clear();
        }
    }
}
