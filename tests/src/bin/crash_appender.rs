//! Test helper for tests/tests/crash_safety.rs: appends batches to a store
//! forever, printing `durable <size>` after each append returns. Every other
//! batch of four or more entries is written as a witness far behind writes
//! it: its first half staged (`staged <size>` once that returns), then the
//! rest appended with the checkpoint. Each append records the publication
//! key `at-<size>` in its transaction, as an owner's does. The test kills
//! it with SIGKILL at random instants.

use std::io::Write as _;
use std::path::PathBuf;

use cbm_log::store::Store;
use cbm_tests::logs::LogWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(std::env::args().nth(1).ok_or("usage: crash_appender STORE")?);
    let mut store = Store::open(&path)?;
    let mut writer = LogWriter::new("AT", 1);
    let last = store.latest_checkpoint(&writer.log)?.map(|c| c.body.timestamp).unwrap_or_default();
    writer.resume(store.size(&writer.log)?, last);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready {}", writer.size())?;
    stdout.flush()?;
    let mut batch = 1;
    loop {
        let (entries, checkpoint) = writer.batch(batch);
        let split = if batch >= 4 && batch % 2 == 0 { batch as usize / 2 } else { 0 };
        if split > 0 {
            store.stage(&writer.log, &entries[..split], &checkpoint)?;
            writeln!(stdout, "staged {}", writer.size() - (batch - split as u64))?;
            stdout.flush()?;
        }
        let key = format!("at-{}", checkpoint.body.size);
        let draft = cbm_wire::Digest([0; 32]);
        store.append_authored(&writer.log, &entries[split..], &checkpoint, &[], Some((&key, &draft)))?;
        writeln!(stdout, "durable {}", writer.size())?;
        stdout.flush()?;
        batch = batch % 37 + 1;
    }
}
