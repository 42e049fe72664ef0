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
            let _ = done.send(store.read(work));
        });
        self.jobs.send(job).map_err(|_| StoreError::Corrupt("the store readers have stopped".into()))?;
        outcome.await.map_err(|_| StoreError::Corrupt("a store read panicked".into()))?
    }
}

/// Runs jobs from `queue` on `store` until the queue is dropped. A job
/// that panics is dropped (its caller hears of it) and the thread goes on.
fn serve(store: &Store, queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(store)));
    }
}
