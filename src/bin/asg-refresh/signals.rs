//! SIGINT, SIGTERM and SIGHUP: what CI systems send to cancel a job. The first one interrupts
//! every group (each reports at once, and makes no API call after it but `--on-interrupt
//! cancel`'s); a second one exits at once.

use tokio::sync::watch;

/// A signal that interrupts the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C; GitHub Actions' first signal.
    Int,
    /// GitLab, Jenkins and Buildkite cancel with it; GitHub Actions' second signal.
    Term,
    /// The terminal went away.
    Hup,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
            Signal::Hup => "SIGHUP",
        }
    }

    /// 128 + the signal's number, as a shell reports a process killed by it.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
            Signal::Hup => 129,
        }
    }
}

/// The signals, listened to from the start of the run (so that none kills it unreported).
pub struct Signals {
    #[cfg(unix)]
    streams: [(Signal, tokio::signal::unix::Signal); 3],
}

impl Signals {
    /// Installs the handlers (inside the runtime).
    pub fn listen() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                streams: [
                    (Signal::Int, signal(SignalKind::interrupt())?),
                    (Signal::Term, signal(SignalKind::terminate())?),
                    (Signal::Hup, signal(SignalKind::hangup())?),
                ],
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// The next signal.
    pub async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            let [(a, sa), (b, sb), (c, sc)] = &mut self.streams;
            tokio::select! {
                _ = sa.recv() => *a,
                _ = sb.recv() => *b,
                _ = sc.recv() => *c,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Int
        }
    }
}

/// The interrupt, as each group's job sees it.
#[derive(Debug, Clone)]
pub struct Interrupt(watch::Receiver<Option<Signal>>);

/// Fires the [`Interrupt`].
#[derive(Debug)]
pub struct Trigger(watch::Sender<Option<Signal>>);

impl Trigger {
    pub fn fire(&self, signal: Signal) {
        self.0.send_if_modified(|s| {
            let first = s.is_none();
            if first {
                *s = Some(signal);
            }
            first
        });
    }
}

impl Interrupt {
    pub fn new() -> (Trigger, Interrupt) {
        let (tx, rx) = watch::channel(None);
        (Trigger(tx), Interrupt(rx))
    }

    /// The signal, once one came (at once if one already has).
    pub async fn fired(&mut self) -> Signal {
        let fired = self.0.wait_for(Option::is_some).await.map(|s| *s);
        match fired {
            Ok(signal) => signal.expect("waited for Some"),
            // No trigger any more: nothing will fire.
            Err(_) => std::future::pending().await,
        }
    }
}
