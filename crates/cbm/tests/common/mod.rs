//! Helpers shared by the tests that drive the `cbm` binary.
#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// Runs `cbm` with `args` in `dir`.
pub fn cbm(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cbm")).args(args).current_dir(dir).output().expect("cbm runs")
}

/// Everything a run printed.
pub fn said(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Runs `cbm` and insists that it succeeds; returns what it printed.
pub fn ok(args: &[&str], dir: &Path) -> String {
    let output = cbm(args, dir);
    assert!(output.status.success(), "cbm {args:?} failed:\n{}", said(&output));
    said(&output)
}

/// A loopback UDP port free at the time of the call.
pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// Node processes that are killed when dropped, so that a failing test
/// leaves none running.
pub struct Nodes(pub Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in &mut self.0 {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

/// Starts `cbm node --config <name>.toml` in `dir`.
pub fn start_node(dir: &Path, name: &str) -> Child {
    node_command(dir, name).stderr(Stdio::null()).spawn().expect("node starts")
}

/// Starts `cbm node --config <name>.toml` in `dir`, its log (stderr) going
/// to the file `log`, with the default log level.
pub fn start_node_logging(dir: &Path, name: &str, log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    node_command(dir, name).env_remove("RUST_LOG").stderr(file).spawn().expect("node starts")
}

fn node_command(dir: &Path, name: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cbm"));
    command
        .args(["node", "--config", &format!("{name}.toml")])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// Keys, a roster with one monthly schedule starting 2026-01-01, and a node
/// configuration per party, in `dir`; signed by the first `signers` parties.
/// Returns the parties as (id, data directory name).
pub fn agreement(dir: &Path, ids: &[&str], quorum: u32, signers: usize) -> Vec<(String, String)> {
    ok(
        &[
            "roster",
            "new",
            "roster.cbm",
            "--agreement",
            "test",
            "--title",
            "Test",
            "--quorum",
            &quorum.to_string(),
            "--start",
            "2026-01-01T00:00:00Z",
            "--schedule",
            "points-of-contact:monthly:7d:48h",
        ],
        dir,
    );
    let mut parties = Vec::new();
    for id in ids {
        let name = id.to_lowercase();
        let address = format!("127.0.0.1:{}", free_port());
        ok(&["keygen", "--id", id, "--dir", "keys"], dir);
        ok(&["roster", "add", "roster.cbm", "--id", id, "--name", id, "--keys", "keys", "--address", &address], dir);
        let config = format!(
            "signatory = \"{id}\"\nroster = \"roster.cbm\"\nsigning_key = \"keys/{id}.signing.key\"\n\
             transport_key = \"keys/{id}.transport.key\"\ndata_dir = \"{name}\"\nlisten = \"{address}\"\n\
             gossip_interval = \"300ms\"\n"
        );
        std::fs::write(dir.join(format!("{name}.toml")), config).expect("config");
        parties.push((id.to_string(), name));
    }
    for id in ids.iter().take(signers) {
        ok(&["roster", "sign", "roster.cbm", "--id", id, "--key", &format!("keys/{id}.signing.key")], dir);
    }
    parties
}

/// Starts AR's and BO's nodes in `dir` (set up by [`agreement`]), waits
/// until both serve, and has AR declare a plain field and a field
/// committed to BO, received by the quorum. Returns the running nodes.
pub fn two_nodes_with_a_committed_declaration(dir: &Path) -> Nodes {
    let nodes = Nodes(vec![start_node(dir, "ar"), start_node(dir, "bo")]);
    ok(&["status", "--data-dir", "ar", "--wait", "30"], dir);
    ok(&["status", "--data-dir", "bo", "--wait", "30"], dir);
    let declare = [
        "declare",
        "--data-dir",
        "ar",
        "--topic",
        "points-of-contact",
        "--field",
        "contact=1",
        "--commit",
        "annex=secret",
        "--commit-to",
        "BO",
        "--wait",
        "30",
    ];
    ok(&declare, dir);
    nodes
}
