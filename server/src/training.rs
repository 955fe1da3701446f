//! Where detector trainings run: one at a time for the whole process, on a thread of
//! their own at a lower CPU priority (nice 10).
//!
//! A hub reaches the training time of many hosts at once (they all started together).
//! Run side by side on tokio's blocking pool, 198 trainings took both cores from the
//! request handlers and ingest's p99 rose from 17 ms to 84 ms. Queued on one thread
//! that the kernel serves after the handlers, they take only what the handlers leave,
//! and a single host's server loses nothing: its one training runs as before.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The niceness of the training thread: under the handlers (0), above idle (19).
pub const TRAINING_NICE: i32 = 10;

fn queue() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("lookout-train".into())
            .spawn(move || {
                lower_priority();
                for job in rx {
                    job();
                }
            })
            .expect("cannot start the training thread");
        Mutex::new(tx)
    })
}

/// Lowers this thread's CPU priority. On Linux a niceness belongs to a thread, so
/// the rest of the process keeps its own. Best-effort: a refusal is logged.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions and only returns this thread's id.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
        // SAFETY: setpriority reads its three integer arguments and changes the
        // niceness of the thread `tid`, which is this one; no memory is touched.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, TRAINING_NICE) };
        if rc != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "cannot lower the training thread's priority; trainings compete with requests"
            );
        }
    }
}

/// Runs `job` on the training thread after the trainings queued before it. Err when
/// it panicked (with the panic's message).
pub async fn run<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = oneshot::channel();
    let wrapped: Job = Box::new(move || {
        let out = catch_unwind(AssertUnwindSafe(job)).map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into())
        });
        let _ = tx.send(out);
    });
    queue()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(wrapped)
        .map_err(|_| "the training thread is gone".to_string())?;
    rx.await
        .map_err(|_| "the training thread dropped the job".to_string())?
        .map_err(|m| format!("training panicked: {m}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The niceness of the thread running this.
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // Field 19 (nice), counted after the ")" that ends the command name.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn jobs_run_one_at_a_time_at_a_lower_priority_and_survive_a_panic() {
        let mine = own_nice();
        let inside = run(own_nice).await.unwrap();
        // Lowered to 10; or left where it was when it already ran lower than that
        // and the process may not raise it (not root).
        assert!(
            inside == TRAINING_NICE || (inside == mine && mine > TRAINING_NICE),
            "training thread at {inside}, the handlers' at {mine}"
        );
        assert_eq!(own_nice(), mine, "only the training thread is lowered");
        // Queued jobs do not overlap.
        let busy = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let jobs = (0..4).map(|_| {
            let busy = busy.clone();
            run(move || {
                let before = busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                before
            })
        });
        for r in futures::future::join_all(jobs).await {
            assert_eq!(r.unwrap(), 0, "a job started while another ran");
        }
        // A panicking job is an error, and the thread goes on.
        let e = run(|| -> u8 { panic!("no rows") }).await.unwrap_err();
        assert!(e.contains("no rows"), "{e}");
        assert_eq!(run(|| 7).await.unwrap(), 7);
    }
}
