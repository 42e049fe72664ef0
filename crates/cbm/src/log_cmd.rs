//! `cbm log`: what the logs of a bundle hold, entry by entry — kind, topic,
//! period as the calendar names it, claimed time, fields, what an entry
//! amends or cites, and when each other signatory received it — so that an
//! operator or a verifier reads the record without opening a store.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use cbm_log::agreement::Agreement;
use cbm_log::bundle::BundleReader;
use cbm_log::calendar::period_label;
use cbm_log::schedule::Receipts;
use cbm_wire::{
    BundleRecord, Cosignature, EntryKind, Field, Opening, Roster, SignatoryId, SignedEntry, StatusChange, Timestamp,
    Topic,
};
use serde::Serialize;

use crate::cli::LogArgs;

/// `cbm log`: lists the entries of the bundle or data directory `args`
/// names that its filters let through, for a person or as JSON.
pub(crate) fn run(args: LogArgs) -> Result<ExitCode> {
    let LogArgs { source, entry, signatory, kind, topic, period, roster, json } = args;
    let entry = entry
        .map(|e| -> Result<_> {
            let (who, index) = crate::declare_cmd::split_pair(&e, "the entry")?;
            Ok((who.parse()?, index.parse().context("the entry's index")?))
        })
        .transpose()?;
    let kind = kind.map(crate::cli::Kind::name);
    let filter = Filter { signatory, kind, topic, period, entry };
    let shown = if source.is_dir() {
        let roster = roster.context("reading a data directory needs its roster: add --roster FILE")?;
        let bundle = crate::audit_cmd::export_data_dir(&source, &roster, false)?;
        let mut shown = entries(std::io::BufReader::new(bundle.reopen()?), &filter)?;
        let agreement =
            Agreement::adopt(&crate::node_cmd::read_roster(&roster)?).context("the roster is not adopted")?;
        let store = cbm_log::store::Store::open_reader(&source.join("store.db"))
            .with_context(|| format!("opening {}", source.join("store.db").display()))?;
        add_recipients(&store, &agreement, &mut shown)?;
        shown
    } else {
        let file = std::fs::File::open(&source).with_context(|| format!("opening {}", source.display()))?;
        entries(std::io::BufReader::new(file), &filter)?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        print!("{}", render(&shown));
        eprintln!("(the entries as the record holds them: `cbm audit` checks every signature and deadline)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Which entries to show.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    /// Only this signatory's log.
    pub(crate) signatory: Option<SignatoryId>,
    /// Only entries of this kind (as `cbm declare --kind` names them).
    pub(crate) kind: Option<String>,
    /// Only entries on this topic.
    pub(crate) topic: Option<Topic>,
    /// Only entries for this period: its number or its calendar label.
    pub(crate) period: Option<crate::period::PeriodArg>,
    /// Only this one entry.
    pub(crate) entry: Option<(SignatoryId, u64)>,
}

/// One entry as shown.
#[derive(Debug, Serialize)]
pub(crate) struct Shown {
    signatory: SignatoryId,
    index: u64,
    kind: &'static str,
    topic: Option<Topic>,
    period: Option<u64>,
    /// The period as its schedule's calendar names it: `2026-03`.
    period_label: Option<String>,
    issued_at: Timestamp,
    /// What it amends, objects to or responds to: `SIGNATORY:INDEX`.
    cites: Option<String>,
    /// Why (amendments, objections), the change (status entries), or whom
    /// a request asks and by when.
    detail: Option<String>,
    fields: Vec<ShownField>,
    /// When each other signatory first received it (its first cosignature
    /// covering the entry); `null` if it has not.
    receipts: Vec<ShownReceipt>,
}

/// One field as shown: a plain value, or a committed one with its value
/// when the bundle holds the opening.
#[derive(Debug, Serialize)]
struct ShownField {
    label: String,
    media_type: String,
    committed: bool,
    /// The value (as text, lossily); for a committed field, only if opened here.
    value: Option<String>,
    /// For a committed field read from a node's data directory: the
    /// signatories it was opened to, as that node knows (all of them for
    /// the owner's node; itself, for a recipient's). `null` where the
    /// source does not say: a bundle keeps openings, not their addressees.
    #[serde(skip_serializing_if = "Option::is_none")]
    opened_to: Option<Vec<SignatoryId>>,
}

#[derive(Debug, Serialize)]
struct ShownReceipt {
    recipient: SignatoryId,
    at: Option<Timestamp>,
}

/// What a bundle holds, gathered to show it.
struct Read {
    agreement: Agreement,
    entries: Vec<SignedEntry>,
    cosignatures: BTreeMap<SignatoryId, Vec<Cosignature>>,
    openings: BTreeMap<(SignatoryId, u64, u32), Opening>,
}

/// Reads the bundle in `input` and the entries `filter` selects, in bundle
/// order (each log in index order).
///
/// # Errors
/// If the bundle cannot be read or carries no adoptable roster.
pub(crate) fn entries(input: impl std::io::Read, filter: &Filter) -> Result<Vec<Shown>> {
    let read = read(input, filter)?;
    let roster = read.agreement.roster();
    let receipts: BTreeMap<&SignatoryId, Receipts> =
        read.cosignatures.iter().map(|(owner, cosignatures)| (owner, Receipts::new(cosignatures))).collect();
    let shown = read
        .entries
        .iter()
        .map(|entry| {
            let body = &entry.body;
            let opened = |number: u32| read.openings.get(&(body.signatory.clone(), body.index, number));
            statement(roster, entry, receipts.get(&body.signatory), opened)
        })
        .collect();
    Ok(shown)
}

impl Filter {
    /// Whether `entry` is one to show, under `roster`.
    fn wants(&self, roster: &Roster, entry: &SignedEntry) -> bool {
        let body = &entry.body;
        let (kind, topic, period) = kind_topic_period(&body.kind);
        self.signatory.as_ref().is_none_or(|s| *s == body.signatory)
            && self.kind.as_deref().is_none_or(|k| k == kind)
            && self.topic.as_ref().is_none_or(|t| Some(t) == topic)
            && self.period.as_ref().is_none_or(|wanted| {
                let schedule = topic.and_then(|t| roster.schedule(t));
                period.is_some_and(|p| wanted.names(schedule, p))
            })
            && self.entry.as_ref().is_none_or(|(s, i)| *s == body.signatory && *i == body.index)
    }
}

/// `entry` as shown: under `roster`, with the receipts of its log, and the
/// opening of each committed field that `opened` finds.
pub(crate) fn statement<'a>(
    roster: &Roster,
    entry: &SignedEntry,
    receipts: Option<&Receipts>,
    opened: impl Fn(u32) -> Option<&'a Opening>,
) -> Shown {
    let body = &entry.body;
    let (kind, topic, period) = kind_topic_period(&body.kind);
    let schedule = topic.and_then(|t| roster.schedule(t));
    let fields = (0u32..)
        .zip(&body.fields)
        .map(|(number, field)| match field {
            Field::Plain { label, media_type, value } => ShownField {
                label: label.to_string(),
                media_type: media_type.to_string(),
                committed: false,
                value: Some(String::from_utf8_lossy(&value.0).into_owned()),
                opened_to: None,
            },
            Field::Committed { label, media_type, .. } => ShownField {
                label: label.to_string(),
                media_type: media_type.to_string(),
                committed: true,
                value: opened(number).map(|o| String::from_utf8_lossy(&o.value.0).into_owned()),
                opened_to: None,
            },
        })
        .collect();
    Shown {
        signatory: body.signatory.clone(),
        index: body.index,
        kind,
        topic: topic.cloned(),
        period,
        period_label: schedule.zip(period).and_then(|(s, p)| period_label(s, p)),
        issued_at: body.issued_at,
        cites: cited(&body.kind),
        detail: detail(&body.kind),
        fields,
        receipts: roster
            .signatories
            .iter()
            .filter(|s| s.id != body.signatory)
            .map(|s| ShownReceipt { recipient: s.id.clone(), at: receipts.and_then(|r| r.receipt(&s.id, body.index)) })
            .collect(),
    }
}

/// Fills in, for each committed field of `shown`, whom `store` (a node's)
/// knows it was opened to. Each log's openings are read once, a page at a
/// time.
///
/// # Errors
/// On a database failure.
fn add_recipients(store: &cbm_log::store::Store, agreement: &Agreement, shown: &mut [Shown]) -> Result<()> {
    const PAGE_BYTES: usize = 1 << 20;
    let mut opened_to: BTreeMap<(SignatoryId, u64, u32), Vec<SignatoryId>> = BTreeMap::new();
    let owners: std::collections::BTreeSet<SignatoryId> =
        shown.iter().filter(|e| e.fields.iter().any(|f| f.committed)).map(|e| e.signatory.clone()).collect();
    for owner in owners {
        let log = agreement.log_of(&owner);
        let (mut start, mut budget) = (0, PAGE_BYTES);
        loop {
            let page = store.openings(&log, start, None, budget).context("reading the store's openings")?;
            // A page that ends inside one entry's openings is read again
            // from that entry, with room for all of them; rows read twice
            // are deduplicated below.
            let last = page.openings.last().map(|(_, o)| o.entry.index);
            if page.more && last == Some(start) {
                budget = budget.saturating_mul(2);
                continue;
            }
            for (to, opening) in &page.openings {
                let key = (owner.clone(), opening.entry.index, opening.field);
                opened_to.entry(key).or_default().push(to.clone());
            }
            match last {
                Some(last) if page.more => (start, budget) = (last, PAGE_BYTES),
                _ => break,
            }
        }
    }
    for entry in shown {
        for (number, field) in (0u32..).zip(entry.fields.iter_mut()).filter(|(_, f)| f.committed) {
            let mut to = opened_to.get(&(entry.signatory.clone(), entry.index, number)).cloned().unwrap_or_default();
            to.sort();
            to.dedup();
            field.opened_to = Some(to);
        }
    }
    Ok(())
}

/// Reads the bundle, keeping only the entries `filter` wants (and the
/// cosignatures and openings they need), so memory follows what is shown.
fn read(input: impl std::io::Read, filter: &Filter) -> Result<Read> {
    let mut agreement = None;
    let (mut entries, mut cosignatures, mut openings) = (Vec::new(), BTreeMap::new(), BTreeMap::new());
    // The (signatory, index) of each entry kept, for its openings.
    let mut kept = std::collections::HashSet::new();
    for record in BundleReader::new(input) {
        match record.context("reading the bundle")? {
            BundleRecord::Roster { roster } => {
                agreement = Some(Agreement::adopt(&roster).context("the bundle's roster is not adopted")?);
            }
            BundleRecord::Entry { entry } if agreement.as_ref().is_some_and(|a| filter.wants(a.roster(), &entry)) => {
                kept.insert((entry.body.signatory.clone(), entry.body.index));
                entries.push(entry);
            }
            BundleRecord::Cosignature { cosignature } => {
                let Some(agreement) = &agreement else { continue };
                if let Some(owner) = agreement.owner_of(&cosignature.body.checkpoint.log)
                    && filter.signatory.as_ref().is_none_or(|s| *s == owner.id)
                {
                    cosignatures.entry(owner.id.clone()).or_insert_with(Vec::new).push(cosignature);
                }
            }
            BundleRecord::Opening { opening } => {
                let shown = |e: &SignedEntry| {
                    e.body.signatory == opening.entry.signatory && e.body.index == opening.entry.index
                };
                if entries.iter().any(shown) {
                    let key = (opening.entry.signatory.clone(), opening.entry.index, opening.field);
                    openings.insert(key, opening);
                }
            }
            _ => {}
        }
    }
    let Some(agreement) = agreement else { bail!("the bundle carries no roster") };
    Ok(Read { agreement, entries, cosignatures, openings })
}

/// The kind's name (as `cbm declare --kind` has it), topic and period.
fn kind_topic_period(kind: &EntryKind) -> (&'static str, Option<&Topic>, Option<u64>) {
    match kind {
        EntryKind::Declaration { topic, period } => ("declaration", Some(topic), Some(*period)),
        EntryKind::NoChange { topic, period } => ("no-change", Some(topic), Some(*period)),
        EntryKind::Notification { topic } => ("notification", Some(topic), None),
        EntryKind::Amendment { .. } => ("amend", None, None),
        EntryKind::Objection { .. } => ("object", None, None),
        EntryKind::Response { .. } => ("respond", None, None),
        EntryKind::Request { .. } => ("request", None, None),
        EntryKind::Status { topic, .. } => ("status", Some(topic), None),
        EntryKind::KeyRotation { .. } => ("key-rotation", None, None),
    }
}

fn cited(kind: &EntryKind) -> Option<String> {
    match kind {
        EntryKind::Amendment { amends: cited, .. }
        | EntryKind::Objection { cites: cited, .. }
        | EntryKind::Response { cites: cited } => Some(format!("{}:{}", cited.signatory, cited.index)),
        _ => None,
    }
}

fn detail(kind: &EntryKind) -> Option<String> {
    match kind {
        EntryKind::Amendment { reason, .. } | EntryKind::Objection { reason, .. } => Some(reason.to_string()),
        EntryKind::Request { to, reply_by } => {
            let asked = if to.is_empty() {
                "all".to_owned()
            } else {
                to.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            Some(format!("asks {asked}, reply by {reply_by}"))
        }
        EntryKind::Status { change, effective_from, .. } => {
            let change = match change {
                StatusChange::Suspend => "suspend",
                StatusChange::Resume => "resume",
                StatusChange::Withdraw => "withdraw",
            };
            Some(format!("{change} from {effective_from}"))
        }
        EntryKind::KeyRotation { new_key, .. } => Some(format!("new key {} from {}", new_key.id.0, new_key.valid_from)),
        _ => None,
    }
}

/// `shown` as text: one block per entry.
pub(crate) fn render(shown: &[Shown]) -> String {
    let mut out = String::new();
    if shown.is_empty() {
        out.push_str("no entries match\n");
    }
    for entry in shown {
        let mut head = format!("{}:{}  {}", entry.signatory, entry.index, entry.kind);
        if let Some(topic) = &entry.topic {
            let _ = write!(head, "  {topic}");
        }
        match (&entry.period_label, entry.period) {
            (Some(label), Some(period)) => {
                let _ = write!(head, " {label} (period {period})");
            }
            (None, Some(period)) => {
                let _ = write!(head, " period {period}");
            }
            _ => {}
        }
        let _ = writeln!(out, "{head}");
        let _ = writeln!(out, "    issued      {}", entry.issued_at);
        if let Some(cites) = &entry.cites {
            let _ = writeln!(out, "    cites       {cites}");
        }
        if let Some(detail) = &entry.detail {
            let _ = writeln!(out, "    detail      {detail}");
        }
        for field in &entry.fields {
            let to = field.opened_to.as_deref().filter(|to| !to.is_empty()).map(|to| {
                let names: Vec<String> = to.iter().map(ToString::to_string).collect();
                names.join(", ")
            });
            let value = match (&field.value, field.committed, to) {
                (Some(value), false, _) => value.clone(),
                (Some(value), true, Some(to)) => format!("{value}  (committed, opened to {to})"),
                (Some(value), true, None) => format!("{value}  (committed; opened here)"),
                (None, _, Some(to)) => format!("(committed, opened to {to}; not opened here)"),
                (None, _, None) => "(committed; not opened here)".to_owned(),
            };
            let _ = writeln!(out, "    field       {} = {value}", field.label);
        }
        let received: Vec<String> = entry
            .receipts
            .iter()
            .map(|r| match r.at {
                Some(at) => format!("{} {at}", r.recipient),
                None => format!("{} not yet", r.recipient),
            })
            .collect();
        if !received.is_empty() {
            let _ = writeln!(out, "    received    {}", received.join("; "));
        }
    }
    out
}
