//! Connection threads: each accepted connection lives its whole life on one
//! thread, with the upstream connections it uses.
//!
//! A small sync call crosses the daemon four times (client in, upstream
//! out, upstream in, client out). On one work-stealing runtime each of
//! those wake-ups may land on another thread, and every hand-over between
//! threads is a futex call and an inter-processor interrupt — measured,
//! more of a kept-alive call's cost than parsing and judging it (nginx,
//! one single-threaded event loop per worker process, pays none). So the
//! daemon runs one runtime per CPU, each driven by a single thread: the
//! accept loop hands a new connection to the least busy of them, and from
//! then on its requests, its upstream connections (pooled per thread, see
//! [`super::upstream::Pool`]) and its answers are all served there.
//!
//! Each is a multi-thread runtime with one worker rather than a
//! current-thread one, for `block_in_place`: a large body is judged with
//! the thread's other connections moved to a helper thread meanwhile, so
//! small calls do not wait behind a 100 MB event.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::{Builder, Handle, Runtime};

/// The connection threads.
pub struct Workers {
    workers: Vec<Worker>,
}

struct Worker {
    runtime: Runtime,
    /// Connections this thread is serving now.
    open: Arc<AtomicUsize>,
}

impl Workers {
    /// `n` threads (at least one), named `misp-warden-N`.
    pub fn start(n: usize) -> std::io::Result<Workers> {
        let workers = (0..n.max(1))
            .map(|i| {
                let runtime = Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name(format!("misp-warden-{i}"))
                    .enable_all()
                    .build()?;
                Ok(Worker {
                    runtime,
                    open: Arc::new(AtomicUsize::new(0)),
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Workers { workers })
    }

    /// One per CPU the process may use.
    pub fn per_cpu() -> std::io::Result<Workers> {
        Workers::start(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Runs `connection` on the thread serving the fewest connections,
    /// counted there until it ends.
    pub fn spawn<F>(&self, connection: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.open.load(Ordering::Relaxed))
            .expect("at least one worker");
        let open = OpenHere::new(worker.open.clone());
        worker.runtime.spawn(async move {
            let _open = open;
            connection.await;
        });
    }

    /// The runtimes' handles, for tests.
    pub fn handles(&self) -> Vec<Handle> {
        self.workers
            .iter()
            .map(|w| w.runtime.handle().clone())
            .collect()
    }

    /// Stops every thread, dropping whatever still runs there (the daemon
    /// calls this once connections drained or their time ran out).
    pub fn shutdown(self) {
        for w in self.workers {
            w.runtime.shutdown_background();
        }
    }
}

/// One connection counted on a worker while it lives.
struct OpenHere(Arc<AtomicUsize>);

impl OpenHere {
    fn new(open: Arc<AtomicUsize>) -> OpenHere {
        open.fetch_add(1, Ordering::Relaxed);
        OpenHere(open)
    }
}

impl Drop for OpenHere {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection runs wholly on one thread, and each goes to the least
    /// busy worker: two long ones end up on two threads.
    #[test]
    fn connections_go_to_the_least_busy_thread_and_stay_there() {
        let workers = Workers::start(2).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let (release, hold) = tokio::sync::watch::channel(false);
        for _ in 0..2 {
            let tx = tx.clone();
            let mut hold = hold.clone();
            workers.spawn(async move {
                let first = std::thread::current().id();
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                let _ = hold.wait_for(|go| *go).await;
                tx.send((first, std::thread::current().id())).unwrap();
            });
        }
        // Both are counted before either ends: the second went elsewhere.
        release.send(true).unwrap();
        let a = rx.recv().unwrap();
        let b = rx.recv().unwrap();
        assert_eq!(a.0, a.1, "a connection moved threads");
        assert_eq!(b.0, b.1, "a connection moved threads");
        assert_ne!(a.0, b.0, "two open connections on one thread");
        workers.shutdown();
    }
}
