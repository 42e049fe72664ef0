//! Read-only store connections, each on a thread of its own, taking read
//! jobs from one queue. As many reads run at once as there are connections;
//! a burst of requests waits in the queue instead of piling blocking
//! threads onto a few connection locks.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use cbm_log::store::{Store, StoreError};
use tokio::sync::oneshot;

/// A read to run on some reader connection.
type Job = Box<dyn FnOnce(&Store) + Send>;

/// The pool's queue; its threads end when it is dropped.
#[derive(Debug)]
pub(crate) struct Readers {
    jobs: mpsc::Sender<Job>,
}

impl Readers {
    /// Starts one thread per connection of `stores`.
    ///
    /// # Errors
    /// If a thread cannot be started.
    pub(crate) fn start(stores: Vec<Store>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for (n, store) in stores.into_iter().enumerate() {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new().name(format!("cbm-reader-{n}")).spawn(move || serve(&store, &queue))?;
        }
        Ok(Self { jobs })
    }

    /// Runs the read-only `work` on a reader connection, in one read
    /// transaction: it sees one snapshot of the store.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, outcome) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            // A panic ends the read's snapshot (see `Store::read`) and is
            // reported to its caller as a panic; the thread goes on.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| store.read(work)))
                .unwrap_or_else(|payload| Err(StoreError::panicked(&*payload)));
            let _ = done.send(outcome);
        });
        self.jobs.send(job).map_err(|_| StoreError::Panicked("the store readers have stopped".into()))?;
        outcome.await.map_err(|_| StoreError::Panicked("a store reader stopped during a read".into()))?
    }
}

/// Runs jobs from `queue` on `store` until the queue is dropped.
fn serve(store: &Store, queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        job(store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_that_panics_is_reported_as_a_panic_and_the_reader_goes_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("store.sqlite");
        let _writer = Store::open(&path).expect("store");
        let readers = Readers::start(vec![Store::open_reader(&path).expect("reader")]).expect("readers");
        let failed = readers.read(|_| -> Result<(), StoreError> { panic!("a bug in a read") }).await;
        assert!(matches!(&failed, Err(StoreError::Panicked(m)) if m == "a bug in a read"), "got {failed:?}");
        let logs = readers.read(Store::logs).await.expect("the one reader serves the next read");
        assert!(logs.is_empty());
    }
}
