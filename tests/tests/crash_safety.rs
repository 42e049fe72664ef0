//! Durability under `kill -9`: a child process appends in a loop (staging
//! half of some batches first, spec/log.md §9.3) and is killed with SIGKILL
//! at random instants. After every kill the store opens, holds every append
//! and staged segment the child saw return, passes a full `fsck`, holds the
//! publication key of its latest checkpoint and none beyond it, and takes
//! further appends.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cbm_log::store::Store;
use cbm_tests::logs::LogWriter;

const KILLS: usize = 60;

/// A small deterministic generator for kill instants (xorshift64*).
struct Instants(u64);

impl Instants {
    fn next_millis(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % 120
    }
}

#[test]
fn every_acknowledged_append_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.sqlite");
    // CBM_CRASH_SEED=<n> replays a run's kill instants.
    let seed = std::env::var("CBM_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    eprintln!("kill-instant seed: {seed} (set CBM_CRASH_SEED to replay)");
    let mut instants = Instants(seed);
    let log = LogWriter::new("AT", 1).log;
    let mut acknowledged = 0;
    let mut kills_after_progress = 0;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_appender"))
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the appender");
        let stdout = child.stdout.take().expect("piped stdout");
        // Read the child's acknowledgements on a thread; the main thread
        // picks the kill instant: in even rounds counted from the spawn (so
        // some kills land while the store opens), in odd rounds from the
        // moment the child reports it is ready (so most land mid-append).
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("ready ") {
                    let _ = ready_tx.send(());
                } else if let Some(size) = line.strip_prefix("durable ").or_else(|| line.strip_prefix("staged ")) {
                    last = Some(size.parse::<u64>().expect("size"));
                }
            }
            last
        });
        if round % 2 == 1 {
            ready_rx.recv_timeout(Duration::from_secs(60)).expect("the appender reports ready");
        }
        std::thread::sleep(Duration::from_millis(instants.next_millis()));
        if let Some(status) = child.try_wait().expect("poll the appender") {
            panic!("round {round}: the appender stopped by itself ({status}) before it was killed");
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        if let Some(size) = reader.join().expect("reader thread") {
            assert!(size >= acknowledged, "round {round}: acknowledgements went backwards");
            if size > acknowledged {
                kills_after_progress += 1;
            }
            acknowledged = size;
        }

        let store = Store::open(&path).unwrap_or_else(|e| panic!("round {round}: store does not open: {e}"));
        let size = store.size(&log).expect("size");
        assert!(size >= acknowledged, "round {round}: {acknowledged} entries were acknowledged, {size} survived");
        let checkpointed = store.latest_checkpoint(&log).expect("read").map_or(0, |c| c.body.size);
        match store.staged(&log).expect("staged") {
            None => assert_eq!(checkpointed, size, "round {round}: latest checkpoint does not cover the log"),
            Some(target) => assert!(
                checkpointed < size && size < target.body.size,
                "round {round}: {size} entries staged between checkpoints {checkpointed} and {}",
                target.body.size
            ),
        }
        // The key is stored with its append, or neither is.
        if checkpointed > 0 {
            let publication = store.published_under(&format!("at-{checkpointed}")).expect("read");
            assert_eq!(publication.map(|p| p.size), Some(checkpointed), "round {round}: the latest append's key");
        }
        for beyond in checkpointed + 1..=checkpointed + 37 {
            let key = format!("at-{beyond}");
            assert_eq!(store.published_under(&key).expect("read"), None, "round {round}: a key without its append");
        }
        let report = store.fsck(|_| {}).expect("fsck");
        assert!(report.is_ok(), "round {round}: {report:?}");
    }
    assert!(
        kills_after_progress >= KILLS / 4,
        "too few kills landed mid-run ({kills_after_progress}); the test is not exercising anything"
    );
    eprintln!("{KILLS} kills, {acknowledged} entries acknowledged, {kills_after_progress} kills after progress");
}
