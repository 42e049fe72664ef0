//! `cbm demo`: a whole agreement on one machine. Four states run real nodes
//! on loopback QUIC, each with its own store; they live through three
//! months of an agreement on a manual clock — declarations, an amendment,
//! an objection and its response, a late declaration, a committed annex, a
//! node that goes down, and a state that tells two stories — then one
//! node's record is exported and audited offline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cbm_log::answers::CHECK_LABEL;
use cbm_log::audit::{Verdict, audit};
use cbm_log::author::{Draft, DraftField};
use cbm_log::calendar::period_start;
use cbm_net::local::{LocalAgreement, Terms};
use cbm_net::{Clock as _, ManualClock, Node};
use cbm_wire::{
    AgreementHash, AgreementId, EntryKind, EntryRef, Label, MediaType, Notice, Schedule, SignatoryId, Text, TimeSpan,
    Timestamp, Topic, Wire as _,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::report::render;

/// The parties: fictional states.
const PARTIES: [(&str, &str); 4] =
    [("AR", "Republic of Arcadia"), ("BO", "Kingdom of Borduria"), ("CA", "Carpathia"), ("DO", "Dorado")];
const AR: usize = 0;
const BO: usize = 1;
const CA: usize = 2;
const DO: usize = 3;

/// 2026-01-01T00:00:00Z, when the agreement starts.
const START: Timestamp = Timestamp(1_767_225_600_000);

/// How long the demo waits for the network to reach each state.
const PATIENCE: Duration = Duration::from_secs(20);

/// Steps of the story, for the progress bar.
const STEPS: u64 = 15;

fn id(s: &str) -> SignatoryId {
    SignatoryId::new(s).unwrap_or_else(|_| unreachable!("the demo's ids are valid"))
}

fn topic() -> Topic {
    Topic::new("points-of-contact").unwrap_or_else(|_| unreachable!("valid topic"))
}

fn text_field(label: &str, value: &str) -> DraftField {
    DraftField::Plain {
        label: Label::new(label).unwrap_or_else(|_| unreachable!("valid label")),
        media_type: MediaType::new("text/plain").unwrap_or_else(|_| unreachable!("valid media type")),
        value: value.as_bytes().to_vec(),
    }
}

fn declaration(period: u64, contact: &str) -> Draft {
    Draft { kind: EntryKind::Declaration { topic: topic(), period }, fields: vec![text_field("contact", contact)] }
}

fn incident() -> Topic {
    Topic::new("incident").unwrap_or_else(|_| unreachable!("valid topic"))
}

/// Incident notifications: every other state acknowledges within an hour.
fn notice() -> Notice {
    Notice { topic: incident(), ack_window: TimeSpan::from_hours(1) }
}

/// Points of contact, monthly, due a week into the month, acknowledged within 48 h.
fn schedule() -> Schedule {
    Schedule::monthly(topic(), START, TimeSpan::from_hours(24 * 7), TimeSpan::from_hours(48))
}

/// `days` days and `hours` hours into `period`.
fn at(period: u64, days: u64, hours: u64) -> Timestamp {
    let start = period_start(&schedule(), period).unwrap_or(START);
    Timestamp(start.0 + TimeSpan::from_hours(24 * days + hours).0)
}

fn day(t: Timestamp) -> String {
    t.to_string().chars().take(10).collect()
}

/// The story, told as it happens.
struct Story {
    bar: ProgressBar,
}

impl Story {
    fn new() -> Self {
        let bar = ProgressBar::new(STEPS);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:24}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        Self { bar }
    }

    fn heading(&self, text: &str) {
        self.bar.suspend(|| println!("\n{text}"));
    }

    fn say(&self, mark: &str, text: &str) {
        self.bar.suspend(|| println!("  {mark} {text}"));
    }

    fn step(&self, message: &str) {
        self.bar.set_message(message.to_owned());
        self.bar.inc(1);
    }
}

/// The running agreement.
struct Demo {
    agreement: LocalAgreement,
    clock: Arc<ManualClock>,
    nodes: Vec<Option<Node>>,
    dir: PathBuf,
    /// Where the audit's page goes.
    page: PathBuf,
}

impl Demo {
    fn node(&self, index: usize) -> Result<&Node> {
        self.nodes[index].as_ref().context("that node is down")
    }

    /// Waits until every running node holds every log up to its latest
    /// checkpoint, settled at quorum.
    async fn settle(&self, what: &str, sizes: &[(usize, u64)]) -> Result<()> {
        for node in self.nodes.iter().flatten() {
            node.wait_until(what, PATIENCE, |status| {
                sizes.iter().all(|(party, size)| {
                    status.log(&id(PARTIES[*party].0)).is_some_and(|l| l.size >= *size && l.settled_size >= *size)
                })
            })
            .await?;
        }
        Ok(())
    }

    async fn entry_ref(&self, reader: usize, owner: usize, index: u64) -> Result<EntryRef> {
        let owner = id(PARTIES[owner].0);
        let entry = self.node(reader)?.entry(&owner, index).await?;
        Ok(EntryRef { signatory: owner, index, hash: entry.hash() })
    }

    async fn shutdown(self) {
        for node in self.nodes.into_iter().flatten() {
            node.shutdown().await;
        }
    }
}

/// Runs the demo in `dir` (a fresh temporary directory if `None`), printing
/// the story and the audit report. Returns the audit's verdict.
pub(crate) async fn run(dir: Option<PathBuf>) -> Result<Verdict> {
    let started = Instant::now();
    let temp;
    let kept = dir.is_some();
    let dir = match dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            if std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?.next().is_some() {
                anyhow::bail!("{} is not empty; the demo writes its stores into an empty directory", dir.display());
            }
            dir
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    println!("cbm demo: four states, one agreement, three months, real nodes on loopback QUIC");
    let story = Story::new();
    let terms = Terms {
        agreement: AgreementId::new("demo-cyber-cbm")?,
        title: Text::new("Demonstration agreement on cyber confidence-building measures")?,
        schedules: vec![schedule()],
        notices: vec![notice()],
        quorum: 2,
        start: START,
    };
    let mut agreement = LocalAgreement::new(&PARTIES, terms)?;
    // The roster beside the stores, to audit them again with it.
    std::fs::write(dir.join("roster.cbm"), agreement.roster.encode()).context("writing the roster")?;
    let clock = Arc::new(ManualClock::new(at(0, 1, 9)));
    let mut nodes = Vec::new();
    for (index, (code, _)) in PARTIES.iter().enumerate() {
        let store = dir.join(format!("{code}.db"));
        let config = agreement.node_config(index, store, Arc::clone(&clock) as _, None)?;
        nodes.push(Some(Node::start(config).await?));
    }
    // The page outlives a temporary directory: it goes to the system's
    // temporary directory then, under a name of its own.
    let page = if kept {
        dir.join("report.html")
    } else {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
        std::env::temp_dir().join(format!("cbm-demo-report-{stamp}-{}.html", std::process::id()))
    };
    let mut demo = Demo { agreement, clock, nodes, dir, page };
    let result = tell(&mut demo, &story).await;
    story.bar.finish_and_clear();
    let dir = demo.dir.clone();
    demo.shutdown().await;
    let verdict = result?;
    let elapsed = started.elapsed().as_secs_f64();
    if kept {
        println!(
            "\nfinished in {elapsed:.1} s; the stores, the roster and the bundle are in {} \
             (audit again: cbm audit {} --roster {})",
            dir.display(),
            dir.join("bundle.cbor").display(),
            dir.join("roster.cbm").display()
        );
    } else {
        println!("\nfinished in {elapsed:.1} s; the temporary stores were removed (keep them with --dir)");
    }
    Ok(verdict)
}

async fn tell(demo: &mut Demo, story: &Story) -> Result<Verdict> {
    let hash = demo.node(AR)?.agreement().hash().to_string();
    story.heading("The agreement");
    for (code, name) in PARTIES {
        story.say("·", &format!("{name} ({code}) runs a node with its own store and keys"));
    }
    story.say(
        "·",
        &format!(
            "every state signed the roster; agreement hash {}…; each must declare its points of contact monthly, \
             due 7 days into the month; peers must acknowledge (cosign) within 48 h, and an incident notification \
             within 1 h; 2 cosignatures settle a checkpoint",
            &hash[..16]
        ),
    );
    story.step("agreement adopted");

    // January: everyone declares on time.
    story.heading("January");
    for (index, (code, _)) in PARTIES.iter().enumerate() {
        demo.node(index)?.publish(vec![declaration(0, &format!("cert@{}.example", code.to_lowercase()))]).await?;
    }
    demo.settle("January declarations settled", &[(AR, 1), (BO, 1), (CA, 1), (DO, 1)]).await?;
    story.say("✓", "all four declare on 2 January; every node mirrors, verifies and cosigns every other log");
    story.step("January settled");

    // February.
    story.heading("February");
    demo.clock.set(at(1, 1, 9));
    let annex = DraftField::Committed {
        label: Label::new("incident-annex")?,
        media_type: MediaType::new("text/plain")?,
        value: b"24/7 duty officer: +00 555 0100 (restricted)".to_vec(),
        recipients: vec![id("AR")],
    };
    let mut february = declaration(1, "cert@bo.example");
    february.fields.push(annex);
    demo.node(BO)?.publish(vec![february]).await?;
    demo.node(AR)?.publish(vec![declaration(1, "cert@ar.example")]).await?;
    demo.node(CA)?.publish(vec![declaration(1, "cert@ca.example")]).await?;
    demo.settle("February declarations settled", &[(AR, 2), (BO, 2), (CA, 2)]).await?;
    demo.node(AR)?.wait_until("the annex opening reaches AR", PATIENCE, |s| s.openings > 0).await?;
    let elsewhere = demo.node(CA)?.status().await?.openings;
    story.say(
        "✓",
        &format!(
            "BO declares with a committed annex: the log holds only its commitment; the opening went to AR alone \
             (AR holds 1 and checked it against the log, CA holds {elsewhere})"
        ),
    );
    story.step("committed annex opened to AR");

    demo.clock.set(at(1, 2, 10));
    let original = demo.entry_ref(AR, AR, 0).await?;
    let amendment = Draft {
        kind: EntryKind::Amendment { amends: original, reason: Text::new("new e-mail address for the CERT")? },
        fields: vec![text_field("contact", "incident@ar.example")],
    };
    demo.node(AR)?.publish(vec![amendment]).await?;
    demo.settle("AR's amendment settled", &[(AR, 3)]).await?;
    story.say("✓", "AR amends its January declaration; the original stays in the log, and both are cosigned");
    story.step("amendment");

    demo.clock.set(at(1, 3, 11));
    let disputed = demo.entry_ref(CA, BO, 1).await?;
    let objection = Draft {
        kind: EntryKind::Objection {
            cites: disputed,
            reason: Text::new("cannot confirm: the declared address does not answer")?,
        },
        fields: vec![],
    };
    demo.node(CA)?.publish(vec![objection]).await?;
    demo.settle("CA's objection settled", &[(CA, 3)]).await?;
    let cited = demo.entry_ref(BO, CA, 2).await?;
    demo.clock.set(at(1, 4, 9));
    let response = Draft {
        kind: EntryKind::Response { cites: cited },
        fields: vec![text_field("answer", "the address was migrated on 3 February; it answers now")],
    };
    demo.node(BO)?.publish(vec![response]).await?;
    demo.settle("BO's response settled", &[(BO, 3)]).await?;
    story.say("✓", "CA objects to BO's declaration (\"cannot confirm\"); BO responds; both stay on the record");
    story.step("objection and response");

    demo.clock.set(at(1, 11, 16));
    demo.node(DO)?.publish(vec![declaration(1, "cert@do.example")]).await?;
    demo.settle("DO's late declaration settled", &[(DO, 2)]).await?;
    story.say(
        "!",
        &format!(
            "DO declares on {}, four days after it was due ({}); its peers' cosignatures date the receipt",
            day(at(1, 11, 16)),
            day(at(1, 7, 0))
        ),
    );
    story.step("late declaration");

    // March.
    story.heading("March");
    demo.clock.set(at(2, 1, 9));
    demo.node(CA)?.publish(vec![declaration(2, "cert@ca.example")]).await?;
    demo.settle("CA's March declaration settled", &[(CA, 4)]).await?;
    if let Some(node) = demo.nodes[CA].take() {
        node.shutdown().await;
    }
    story.say("✓", "CA declares for March, then its node goes down for the rest of the month");
    story.step("CA goes down");

    demo.clock.set(at(2, 1, 12));
    demo.node(AR)?.publish(vec![declaration(2, "incident@ar.example")]).await?;
    demo.node(BO)?.publish(vec![declaration(2, "cert@bo.example")]).await?;
    demo.settle("AR and BO settle without CA", &[(AR, 4), (BO, 4)]).await?;
    story.say("!", "AR and BO declare; AR, BO and DO cosign, so both settle at quorum, but CA never acknowledges");
    story.step("acknowledgements missing");

    // The hotline: an incident, and a request for assistance.
    demo.clock.set(at(2, 1, 13));
    let notification = Draft {
        kind: EntryKind::Notification { topic: incident() },
        fields: vec![text_field("summary", "scanning of our CERT's mail servers from addresses in BO's space")],
    };
    demo.node(AR)?.publish(vec![notification]).await?;
    demo.settle("AR's incident notification settled", &[(AR, 5)]).await?;
    story.say("!", "AR notifies an incident; BO and DO acknowledge within the hour, CA (down) never does");
    story.step("incident notified");
    let reply_by = at(2, 1, 18);
    let request = Draft {
        kind: EntryKind::Request { to: vec![id("AR"), id("DO")], reply_by },
        fields: vec![text_field("question", "did you see this traffic too? please send your indicators")],
    };
    demo.node(BO)?.publish(vec![request]).await?;
    demo.settle("BO's request settled", &[(BO, 5)]).await?;
    let asked = demo.entry_ref(AR, BO, 4).await?;
    demo.clock.set(at(2, 1, 15));
    let answer = |text: &str| Draft {
        kind: EntryKind::Response { cites: asked.clone() },
        fields: vec![text_field("answer", text)],
    };
    demo.node(AR)?.publish(vec![answer("yes: indicators attached to our CERT's ticket 2026-031")]).await?;
    demo.settle("AR's answer settled", &[(AR, 6)]).await?;
    story.say("!", &format!("BO asks AR and DO for assistance by {reply_by}; AR answers in two hours"));

    // A communication check: AR asks everyone to answer within two hours;
    // BO and DO do, CA (down) cannot.
    demo.clock.set(at(2, 1, 16));
    let check = Draft {
        kind: EntryKind::Request { to: vec![], reply_by: at(2, 1, 18) },
        fields: vec![text_field(CHECK_LABEL, "monthly communication check: please answer within two hours")],
    };
    demo.node(AR)?.publish(vec![check]).await?;
    demo.settle("AR's check settled", &[(AR, 7)]).await?;
    let pinged = demo.entry_ref(BO, AR, 6).await?;
    let here = |text: &str| Draft {
        kind: EntryKind::Response { cites: pinged.clone() },
        fields: vec![text_field("answer", text)],
    };
    demo.clock.set(at(2, 1, 16).saturating_add(TimeSpan::from_secs(4 * 60)));
    demo.node(BO)?.publish(vec![here("BO's duty officer here")]).await?;
    demo.settle("BO's answer to the check settled", &[(BO, 6)]).await?;
    demo.clock.set(at(2, 1, 17));
    demo.node(DO)?.publish(vec![here("DO's duty officer here")]).await?;
    demo.settle("DO's answer to the check settled", &[(DO, 3)]).await?;
    story.say("!", "AR checks its lines to everyone: BO answers in 4 minutes, DO in an hour, CA (down) not at all");
    story.step("communication check");

    demo.clock.set(at(2, 2, 8));
    demo.node(DO)?.publish(vec![answer("nothing seen here")]).await?;
    demo.settle("DO's answer settled", &[(DO, 4)]).await?;
    story.say("!", "DO answers BO's request the next morning, late");
    story.step("request answered");

    // DO equivocates: a second node under DO's keys, started from a copy of
    // its store taken before its March declaration, shows AR a different
    // one. The first settles before the second is signed, so what AR holds
    // first (and so the audit's verdict on DO's March) never depends on
    // which of two racing messages arrives first.
    let twin_store = demo.dir.join("DO-twin.db");
    demo.node(DO)?.snapshot(twin_store.clone()).await?;
    demo.clock.set(at(2, 2, 9));
    demo.node(DO)?.publish(vec![declaration(2, "cert@do.example")]).await?;
    demo.settle("DO's March declaration settled", &[(DO, 5)]).await?;
    let twin_config = demo.agreement.node_config(DO, twin_store, Arc::clone(&demo.clock) as _, Some(vec![id("AR")]))?;
    let twin = Node::start(twin_config).await?;
    twin.publish(vec![declaration(2, "nobody@do.example — a different story, for AR only")]).await?;
    for index in [AR, BO] {
        demo.node(index)?
            .wait_until("the split view is caught", PATIENCE, |s| s.equivocators.contains(&id("DO")))
            .await?;
    }
    twin.shutdown().await;
    story.say(
        "✗",
        "DO signs a second, different March declaration and shows it to AR alone: AR holds both signed \
         checkpoints of the same size, gossips them to BO, and both hold evidence anyone can check with the \
         roster alone",
    );
    story.step("equivocation caught");

    // Export and audit.
    story.heading("Export and offline audit");
    demo.clock.set(at(3, 0, 0));
    let bundle = demo.dir.join("bundle.cbor");
    let summary = demo.node(BO)?.export(bundle.clone(), true).await?;
    story.say(
        "·",
        &format!(
            "BO exports its record as a public bundle ({} entries, {} checkpoints, {} cosignatures, {} evidence; \
             committed fields as commitments only): {}",
            summary.entries,
            summary.checkpoints,
            summary.cosignatures,
            summary.evidence,
            bundle.display()
        ),
    );
    story.step("bundle exported");
    let expected = *demo.node(BO)?.agreement().hash();
    let report = audit_file(&bundle, &expected, demo.clock.now())?;
    story.step("audited");
    story.bar.finish_and_clear();
    println!("\nAudit of the bundle, offline, as of {} (the same check `cbm audit` runs):\n", demo.clock.now());
    println!("{}", render(&report));
    println!(
        "What this shows: nobody can deny what they declared (every entry is signed and mirrored), revise it \
         silently (amendments keep the original), claim it was never received (cosignatures are dated receipts), \
         or tell different parties different things (the split view became evidence); and the hotline runs on \
         clocks anyone can check (who acknowledged the incident within the hour, who answered by the deadline). \
         A verifier with only the bundle and the roster reaches the same verdict."
    );
    as_the_story_expects(&report)?;
    crate::audit_cmd::write_page(&bundle, &report, &demo.page)?;
    println!(
        "\nThe same report as a page, with the grid of periods, who acknowledged whom, the timelines and \
              the split view drawn: {} (open it in a browser)",
        demo.page.display()
    );
    Ok(report.verdict)
}

/// Fails unless the audit found what the story staged: a valid bundle with
/// findings, DO's split view among them, and no one else equivocating.
fn as_the_story_expects(report: &cbm_log::audit::AuditReport) -> Result<()> {
    let equivocators: Vec<_> =
        report.signatories.iter().filter(|s| s.judged.equivocated).filter_map(|s| s.signatory.clone()).collect();
    if report.verdict != Verdict::Findings || equivocators != [SignatoryId::new(PARTIES[DO].0)?] {
        anyhow::bail!(
            "the demo's audit is not what its story expects (findings, with DO's split view): verdict {:?}, \
             equivocating {equivocators:?}, problems {:?}",
            report.verdict,
            report.problems
        );
    }
    Ok(())
}

fn audit_file(path: &Path, expected: &AgreementHash, now: Timestamp) -> Result<cbm_log::audit::AuditReport> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(audit(std::io::BufReader::new(file), Some(expected), now, |_| {}))
}
