//! The audit as one self-contained HTML page (`cbm audit --html`): the
//! verdict and findings in words, a signatory × period grid, who
//! acknowledged whom and how fast, a timeline per declaration, and each
//! equivocation drawn as a fork with who cosigned which branch. No script,
//! no external asset: a content security policy forbids loading anything.
//! The page draws the latest [`DRAWN_PERIODS`] periods of each schedule,
//! so its size does not grow with the agreement's age.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::Read;

use anyhow::{Context, Result};
use cbm_log::answers::AnswerSummary;
use cbm_log::audit::{AuditReport, SplitView, Verdict};
use cbm_log::bundle::BundleReader;
use cbm_log::calendar::{due_at, period_label, period_start};
use cbm_log::schedule::{AckSummary, PeriodReport, PeriodStatus};
use cbm_log::words::span_words;
use cbm_wire::{BundleRecord, EntryKind, LogId, Roster, Schedule, SignatoryId, Timestamp, Topic};

/// Periods of each schedule the page draws, the latest.
pub(crate) const DRAWN_PERIODS: u64 = 36;

/// When a drawn declaration was issued (its own claim) and published (the
/// time of the first checkpoint of its log that covers it, from which its
/// acknowledgement window runs).
#[derive(Clone, Copy, Debug)]
struct Moments {
    issued: Timestamp,
    published: Option<Timestamp>,
}

/// What the page draws beyond the report, read from the bundle again: its
/// roster, and when each drawn declaration was issued and published.
#[derive(Debug, Default)]
pub(crate) struct Drawn {
    roster: Option<Roster>,
    moments: HashMap<Declared, Moments>,
}

/// A declaration by who made it, for which topic and period.
type Declared = (SignatoryId, Topic, u64);

impl Drawn {
    /// Reads what the page draws of `report` from `input`, the bundle it is
    /// the audit of.
    ///
    /// # Errors
    /// If the bundle cannot be read to its end, or is not the one audited
    /// (another roster).
    pub(crate) fn read(input: impl Read, report: &AuditReport) -> Result<Self> {
        let first_drawn = first_drawn_periods(report);
        let mut drawn = Self::default();
        let mut pending: HashMap<LogId, VecDeque<(u64, Declared)>> = HashMap::new();
        for record in BundleReader::new(input) {
            match record.context("the bundle no longer reads as it did")? {
                BundleRecord::Roster { roster } => {
                    let hash = roster.roster.agreement_hash();
                    if report.agreement_hash != Some(hash) {
                        anyhow::bail!("the bundle's roster is not the one audited: it changed meanwhile");
                    }
                    drawn.roster = Some(roster.roster);
                }
                BundleRecord::Entry { entry } => {
                    let body = &entry.body;
                    let (EntryKind::Declaration { topic, period } | EntryKind::NoChange { topic, period }) = &body.kind
                    else {
                        continue;
                    };
                    if first_drawn.get(topic).is_none_or(|first| period < first) {
                        continue;
                    }
                    let key = (body.signatory.clone(), topic.clone(), *period);
                    if !drawn.moments.contains_key(&key) {
                        drawn.moments.insert(key.clone(), Moments { issued: body.issued_at, published: None });
                        let log = LogId::derive(&entry.body.agreement, &body.signatory);
                        pending.entry(log).or_default().push_back((body.index, key));
                    }
                }
                BundleRecord::Checkpoint { checkpoint } => {
                    let waiting = pending.entry(checkpoint.body.log).or_default();
                    while waiting.front().is_some_and(|(index, _)| *index < checkpoint.body.size) {
                        let Some((_, key)) = waiting.pop_front() else { break };
                        if let Some(moments) = drawn.moments.get_mut(&key) {
                            moments.published = Some(checkpoint.body.timestamp);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(drawn)
    }
}

/// The first period of each topic the page draws: the latest
/// [`DRAWN_PERIODS`] the report judged.
fn first_drawn_periods(report: &AuditReport) -> HashMap<Topic, u64> {
    let mut last: HashMap<Topic, u64> = HashMap::new();
    for period in report.signatories.iter().flat_map(|s| &s.judged.periods) {
        let latest = last.entry(period.topic.clone()).or_default();
        *latest = (*latest).max(period.period);
    }
    last.into_iter().map(|(topic, last)| (topic, last.saturating_sub(DRAWN_PERIODS - 1))).collect()
}

/// The page for `report`, with what `drawn` read of its bundle.
pub(crate) fn render(report: &AuditReport, drawn: &Drawn) -> String {
    let mut page = String::with_capacity(64 << 10);
    let title = match (&report.agreement, &report.agreement_hash) {
        (Some(agreement), _) => agreement.as_str(),
        (None, Some(_)) => "a bundle whose roster was refused",
        (None, None) => "an unreadable bundle",
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Audit of {}</title><style>{STYLE}</style></head>\
         <body data-verdict=\"{}\">",
        escape(title),
        verdict_name(report.verdict)
    );
    header(&mut page, report, title);
    if report.verdict == Verdict::Invalid {
        let _ = write!(page, "<section id=\"problems\"><h2>Why the bundle cannot be trusted</h2><ul>");
        for problem in &report.problems {
            let _ = write!(page, "<li>{}</li>", escape(problem));
        }
        let _ = write!(
            page,
            "</ul><p>Obligations are not judged on a bundle that cannot be trusted: nobody is accused on it.</p></section>"
        );
    }
    findings(&mut page, report);
    if let Some(roster) = &drawn.roster
        && report.verdict != Verdict::Invalid
    {
        for schedule in &roster.schedules {
            grid(&mut page, report, roster, schedule);
        }
        matrix(&mut page, report, roster);
        answers(&mut page, report);
        for schedule in &roster.schedules {
            timeline(&mut page, report, roster, schedule, &drawn.moments);
        }
    }
    fork_section(&mut page, report);
    let _ = writeln!(page, "</body></html>");
    page
}

fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "ok",
        Verdict::Findings => "findings",
        Verdict::Invalid => "invalid",
    }
}

fn header(page: &mut String, report: &AuditReport, title: &str) {
    let verdict = crate::report::verdict_word(report.verdict);
    let _ = write!(
        page,
        "<header><h1>Audit of {}</h1><p class=\"verdict {}\" id=\"verdict\">{verdict}</p>",
        escape(title),
        verdict_name(report.verdict)
    );
    if let Some(hash) = &report.agreement_hash {
        let pin = crate::pin::report_pin(report);
        let _ = write!(page, "<p id=\"agreement\">agreement hash <code>{hash}</code> ({pin})</p>");
    }
    let _ = write!(page, "<p>judged as of {} · {} records read</p></header>", report.now, report.records);
}

fn findings(page: &mut String, report: &AuditReport) {
    let _ = write!(page, "<section id=\"findings\"><h2>Findings</h2>");
    if report.findings.is_empty() {
        let _ = write!(page, "<p>None: every obligation was met.</p>");
    } else {
        let _ = write!(page, "<ul>");
        for finding in &report.findings {
            let _ = write!(
                page,
                "<li data-kind=\"{}\" data-party=\"{}\">{}</li>",
                escape(
                    &serde_json::to_value(finding.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
                finding.party,
                escape(&finding.text)
            );
        }
        let _ = write!(page, "</ul>");
    }
    let _ = write!(page, "</section>");
}

/// A period's state as a class name, a symbol (colour is not the only
/// cue) and a word.
fn state(status: PeriodStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        PeriodStatus::OnTime => ("on-time", "✓", "on time"),
        PeriodStatus::Late => ("late", "!", "late"),
        PeriodStatus::Missing => ("missing", "✗", "missing"),
        PeriodStatus::Pending => ("pending", "…", "pending: not yet due"),
        PeriodStatus::Suspended => ("suspended", "S", "suspended"),
        PeriodStatus::Withdrawn => ("withdrawn", "W", "withdrawn"),
        PeriodStatus::Early => ("early", "E", "delivered before the period began"),
    }
}

/// The signatory × period grid of one schedule.
fn grid(page: &mut String, report: &AuditReport, roster: &Roster, schedule: &Schedule) {
    let topic = schedule.topic.as_str();
    let periods = periods_of(report, topic);
    let Some(last) = periods.values().flat_map(|p| p.keys()).max().copied() else { return };
    let first = last.saturating_sub(DRAWN_PERIODS - 1);
    let _ = write!(
        page,
        "<section class=\"grid\" data-topic=\"{}\"><h2>{} declarations, period by period</h2><table class=\"grid\"><thead><tr><th>signatory</th>",
        escape(topic),
        escape(topic)
    );
    for period in first..=last {
        let _ = write!(page, "<th>{}</th>", escape(&label(schedule, period)));
    }
    let _ = write!(page, "</tr></thead><tbody>");
    for signatory in &roster.signatories {
        let _ = write!(page, "<tr><th>{}</th>", signatory.id);
        for period in first..=last {
            match periods.get(&signatory.id).and_then(|p| p.get(&period)) {
                Some(report) => {
                    let (class, symbol, word) = state(report.status);
                    let mut tip =
                        format!("{} {}: {word}; due {}", signatory.id, label(schedule, period), words(report.due));
                    if let Some(delivered) = report.delivered {
                        let _ = write!(tip, "; received by the quorum {}", words(delivered));
                    }
                    let _ = write!(
                        page,
                        "<td class=\"cell {class}\" data-signatory=\"{}\" data-period=\"{}\" data-state=\"{class}\" title=\"{}\">{symbol}</td>",
                        signatory.id,
                        escape(&label(schedule, period)),
                        escape(&tip)
                    );
                }
                None => {
                    let _ = write!(
                        page,
                        "<td class=\"cell none\" data-signatory=\"{}\" data-period=\"{}\" data-state=\"none\"></td>",
                        signatory.id,
                        escape(&label(schedule, period))
                    );
                }
            }
        }
        let _ = write!(page, "</tr>");
    }
    let _ = write!(page, "</tbody></table>");
    if first > 0 {
        let _ = write!(
            page,
            "<p class=\"earlier\">The {first} earlier periods are not drawn; the findings above cover them all.</p>"
        );
    }
    let _ = write!(page, "<p class=\"legend\">");
    for status in [
        PeriodStatus::OnTime,
        PeriodStatus::Late,
        PeriodStatus::Missing,
        PeriodStatus::Pending,
        PeriodStatus::Suspended,
        PeriodStatus::Withdrawn,
        PeriodStatus::Early,
    ] {
        let (class, symbol, word) = state(status);
        let _ = write!(page, "<span class=\"cell {class}\">{symbol}</span> {} ", escape(word));
    }
    let _ = write!(page, "<span class=\"cell none\"></span> no obligation (the schedule does not bind it then) ");
    let _ = write!(
        page,
        "— judged on the date the quorum received each declaration, not on the sender's clock.</p></section>"
    );
}

/// Per signatory, per period, the report of `topic`.
fn periods_of<'a>(report: &'a AuditReport, topic: &str) -> BTreeMap<SignatoryId, BTreeMap<u64, &'a PeriodReport>> {
    let mut all: BTreeMap<SignatoryId, BTreeMap<u64, &PeriodReport>> = BTreeMap::new();
    for s in &report.signatories {
        let Some(who) = &s.signatory else { continue };
        for p in s.judged.periods.iter().filter(|p| p.topic.as_str() == topic) {
            all.entry(who.clone()).or_default().insert(p.period, p);
        }
    }
    all
}

/// Who acknowledged whom, and how fast: authors down, recipients across.
fn matrix(page: &mut String, report: &AuditReport, roster: &Roster) {
    let windows = roster.schedules.iter().map(|s| s.ack_window.0).chain(roster.notices.iter().map(|n| n.ack_window.0));
    let longest_window = windows.max().unwrap_or(0).max(1);
    let _ = write!(
        page,
        "<section id=\"acknowledgements\"><h2>Who acknowledged whom</h2><p>Each cell: how the recipient (across) \
         acknowledged the author's (down) scheduled entries and timed notifications, and its mean delay from publication to receipt; the \
         darker, the slower, against the acknowledgement window.</p><table class=\"matrix\"><thead><tr><th>author \\ recipient</th>"
    );
    for signatory in &roster.signatories {
        let _ = write!(page, "<th>{}</th>", signatory.id);
    }
    let _ = write!(page, "</tr></thead><tbody>");
    for author in &report.signatories {
        let Some(id) = &author.signatory else { continue };
        let _ = write!(page, "<tr><th>{id}</th>");
        for recipient in &roster.signatories {
            let summary = author.judged.acknowledgements.iter().find(|a| a.recipient == recipient.id);
            match summary {
                None => {
                    let _ = write!(
                        page,
                        "<td class=\"ack none\" data-author=\"{id}\" data-recipient=\"{}\" data-state=\"none\"></td>",
                        recipient.id
                    );
                }
                Some(summary) => {
                    let (class, text) = ack_cell(summary);
                    let ratio = summary.mean_delay.map_or(0.0, |d| (d.0 as f64 / longest_window as f64).min(1.0));
                    let lightness = 92.0 - 45.0 * ratio;
                    let _ = write!(
                        page,
                        "<td class=\"ack {class}\" data-author=\"{id}\" data-recipient=\"{}\" data-state=\"{class}\" \
                         style=\"background:hsl({} 60% {lightness:.0}%)\" title=\"{} in time, {} late, {} missing, {} pending\">{}</td>",
                        recipient.id,
                        match class {
                            "in-time" => 140,
                            "pending" => 210,
                            "late" => 40,
                            _ => 0,
                        },
                        summary.in_time,
                        summary.late,
                        summary.missing,
                        summary.pending,
                        escape(&text)
                    );
                }
            }
        }
        let _ = write!(page, "</tr>");
    }
    let _ = write!(page, "</tbody></table></section>");
}

/// How each asked party answered each requester's requests, if any were
/// judged: counts, the median and longest answer time, the worst state.
fn answers(page: &mut String, report: &AuditReport) {
    let rows: Vec<(&SignatoryId, &AnswerSummary)> = report
        .signatories
        .iter()
        .filter_map(|s| Some((s.signatory.as_ref()?, &s.judged.answers)))
        .flat_map(|(requester, answers)| answers.iter().map(move |a| (requester, a)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<section id=\"answers\"><h2>Requests answered</h2><p>Each row: how a party answered a requester's requests, \
         judged on when its response was first received against each request's reply-by time.</p>\
         <table class=\"answers\"><thead><tr><th>requester</th><th>asked</th><th>in time</th><th>late</th>\
         <th>unanswered</th><th>pending</th><th>median answer time</th><th>longest</th></tr></thead><tbody>"
    );
    for (requester, a) in rows {
        let state = if a.unanswered > 0 {
            "unanswered"
        } else if a.late > 0 {
            "late"
        } else if a.pending > 0 {
            "pending"
        } else {
            "in-time"
        };
        let time = |t: Option<cbm_wire::TimeSpan>| t.map(span_words).unwrap_or_else(|| "–".to_owned());
        let _ = write!(
            page,
            "<tr class=\"answer {state}\" data-requester=\"{requester}\" data-party=\"{}\" data-state=\"{state}\">\
             <td>{requester}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.party,
            a.party,
            a.in_time,
            a.late,
            a.unanswered,
            a.pending,
            escape(&time(a.median_answer_time)),
            escape(&time(a.longest_answer_time))
        );
    }
    let _ = write!(page, "</tbody></table></section>");
}

/// A recipient's acknowledgements of one author: the worst state, and what
/// to show.
fn ack_cell(summary: &AckSummary) -> (&'static str, String) {
    let class = if summary.missing > 0 {
        "missing"
    } else if summary.late > 0 {
        "late"
    } else if summary.in_time > 0 {
        "in-time"
    } else {
        "pending"
    };
    let counts: Vec<String> = [
        (summary.in_time, "in time"),
        (summary.late, "late"),
        (summary.missing, "missing"),
        (summary.pending, "pending"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, word)| format!("{n} {word}"))
    .collect();
    let text = match summary.mean_delay {
        Some(mean) => format!("{} · mean {}", counts.join(", "), span_words(mean)),
        None => counts.join(", "),
    };
    (class, text)
}

/// One declaration per row: the period from its start to its due date;
/// when it was issued (its author's claim) and published (the first
/// checkpoint covering it), and the acknowledgement window that runs from
/// publication; and when the quorum received it.
fn timeline(
    page: &mut String,
    report: &AuditReport,
    roster: &Roster,
    schedule: &Schedule,
    moments: &HashMap<Declared, Moments>,
) {
    let topic = schedule.topic.as_str();
    let periods = periods_of(report, topic);
    let Some(last) = periods.values().flat_map(|p| p.keys()).max().copied() else { return };
    let first_period = last.saturating_sub(DRAWN_PERIODS - 1);
    let rows: Vec<(&SignatoryId, &PeriodReport)> = roster
        .signatories
        .iter()
        .flat_map(|s| {
            periods.get(&s.id).into_iter().flat_map(move |p| p.range(first_period..).map(move |(_, r)| (&s.id, *r)))
        })
        .collect();
    let Some(first) = rows.iter().filter_map(|(_, r)| period_start(schedule, r.period)).min() else { return };
    let end = rows
        .iter()
        .map(|(_, r)| r.delivered.unwrap_or(r.due).max(r.due).0.saturating_add(schedule.ack_window.0))
        .max()
        .unwrap_or(first.0);
    let span = (end.saturating_sub(first.0)).max(1) as f64;
    let (width, row, left) = (900.0, 22.0, 130.0);
    let x =
        |t: Timestamp| left + (t.0.clamp(first.0, end)).saturating_sub(first.0) as f64 / span * (width - left - 10.0);
    let height = row * rows.len() as f64 + 40.0;
    let _ = write!(
        page,
        "<section class=\"timeline\" data-topic=\"{}\"><h2>{} declarations in time</h2><p>Grey: the period, from its start \
         to its due date. Tick: when its author says it was issued. Pale band: the acknowledgement window, from its \
         publication (the first checkpoint covering it). Dot: when the quorum received it (its colour is the period's \
         state).</p><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-label=\"timeline\">",
        escape(topic),
        escape(topic)
    );
    // An axis: each drawn period's start, labelled, above the rows.
    for period in first_period..=last {
        let Some(start) = period_start(schedule, period) else { continue };
        let _ = write!(
            page,
            "<line class=\"tick\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"14\" y2=\"{1:.0}\"/><text class=\"tick\" x=\"{0:.1}\" y=\"11\">{2}</text>",
            x(start),
            height,
            escape(&label(schedule, period))
        );
    }
    for (n, (who, report)) in rows.iter().enumerate() {
        let y = 20.0 + row * n as f64;
        let (class, _, word) = state(report.status);
        let name = label(schedule, report.period);
        let start = period_start(schedule, report.period).unwrap_or(first);
        let due = due_at(schedule, report.period).unwrap_or(report.due);
        let _ = write!(
            page,
            "<g class=\"entry {class}\" data-signatory=\"{who}\" data-period=\"{}\"><text x=\"4\" y=\"{:.0}\">{who} {}</text>\
             <line class=\"period\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.0}\" y2=\"{:.0}\"/>",
            escape(&name),
            y + 12.0,
            escape(&name),
            x(start),
            x(due),
            y + 8.0,
            y + 8.0
        );
        let moment = moments.get(&((*who).clone(), schedule.topic.clone(), report.period));
        if let Some(published) = moment.and_then(|m| m.published) {
            let window_end = Timestamp(published.0.saturating_add(schedule.ack_window.0));
            let _ = write!(
                page,
                "<rect class=\"window\" x=\"{:.1}\" y=\"{:.0}\" width=\"{:.1}\" height=\"10\"><title>acknowledgement window: published {}, closes {}</title></rect>",
                x(published),
                y + 3.0,
                (x(window_end) - x(published)).max(1.0),
                escape(&words(published)),
                escape(&words(window_end))
            );
        }
        if let Some(issued) = moment.map(|m| m.issued) {
            let _ = write!(
                page,
                "<line class=\"issued\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.0}\" y2=\"{2:.0}\"><title>issued {3}</title></line>",
                x(issued),
                y + 1.0,
                y + 15.0,
                escape(&words(issued))
            );
        }
        if let Some(delivered) = report.delivered {
            let _ = write!(
                page,
                "<circle class=\"{class}\" cx=\"{:.1}\" cy=\"{:.0}\" r=\"5\"><title>{}: {word}, received by the quorum {}</title></circle>",
                x(delivered),
                y + 8.0,
                escape(&format!("{who} {name}")),
                escape(&words(delivered))
            );
        }
        let _ = write!(page, "</g>");
    }
    let _ = write!(page, "</svg></section>");
}

/// Each equivocation as a fork: one log, two checkpoints that cannot both
/// be honest, each branch with who the bundle shows was shown it (the
/// report's split views). A bundle holds the log its exporter held, so only
/// the branch its entries follow can carry cosignatures in it; the other is
/// known from the evidence alone.
fn fork_section(page: &mut String, report: &AuditReport) {
    let forks: Vec<(&SignatoryId, &SplitView)> = report
        .signatories
        .iter()
        .filter_map(|s| Some((s.signatory.as_ref()?, &s.judged.split_views)))
        .flat_map(|(owner, views)| views.iter().map(move |v| (owner, v)))
        .collect();
    if forks.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<section id=\"equivocation\"><h2>Split views</h2><p>Each signatory below signed two checkpoints of its one log that \
         cannot both be honest: it showed different parties different records. A branch names who cosigned it in this \
         bundle. A bundle holds the record its exporter held, so the other branch, known from the evidence, carries no \
         cosignature here; another party's bundle would show who was shown it.</p>"
    );
    for (owner, split) in forks {
        let _ = write!(
            page,
            "<svg class=\"fork\" data-owner=\"{owner}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"140\" role=\"img\" aria-label=\"fork\">\
             <text x=\"4\" y=\"64\">{owner}'s log</text><line class=\"trunk\" x1=\"90\" y1=\"60\" x2=\"200\" y2=\"60\"/>"
        );
        for (n, view) in split.views.iter().enumerate() {
            let y = if n == 0 { 25.0 } else { 105.0 };
            let cosigners = view.cosigned_by.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let seen = match (view.in_bundle, cosigners.is_empty()) {
                (true, false) => format!("this bundle's branch, cosigned by {cosigners}"),
                (true, true) => "this bundle's branch; no cosignature of it here".to_owned(),
                (false, false) => format!("cosigned by {cosigners}"),
                (false, true) => "known from the evidence; no cosignature of it in this bundle".to_owned(),
            };
            let root = view.root.to_string();
            let _ = write!(
                page,
                "<line class=\"branch\" x1=\"200\" y1=\"60\" x2=\"300\" y2=\"{y}\"/><g class=\"side\" data-size=\"{}\" data-root=\"{root}\">\
                 <text x=\"310\" y=\"{:.0}\">size {} · root {}… · signed {}</text><text class=\"seen\" x=\"310\" y=\"{:.0}\">{}</text></g>",
                view.size,
                y - 2.0,
                view.size,
                &root[..12],
                words(view.timestamp),
                y + 14.0,
                escape(&seen)
            );
        }
        let _ = write!(page, "</svg>");
    }
    let _ = write!(page, "</section>");
}

fn label(schedule: &Schedule, period: u64) -> String {
    period_label(schedule, period).unwrap_or_else(|| format!("period {period}"))
}

/// A time to the minute, in UTC.
fn words(at: Timestamp) -> String {
    cbm_log::words::time_words(at)
}

/// Text made safe for HTML content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1c1c1c;padding:0 1em}\
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.8em}code{font-size:.85em;word-break:break-all}\
.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;font-weight:700;color:#fff}\
.verdict.ok{background:#2e7d32}.verdict.findings{background:#b26a00}.verdict.invalid{background:#b71c1c}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:center}\
th{background:#f4f4f4;font-weight:600}.cell{min-width:3em;font-weight:700}\
.on-time{background:#c8e6c9;color:#1b5e20}.late{background:#ffe0b2;color:#8a4b00}.missing{background:#ffcdd2;color:#8e0000}\
.pending{background:#e3f2fd;color:#0d47a1}.suspended{background:#eeeeee;color:#424242}.withdrawn{background:#e0e0e0;color:#212121}\
.early{background:#f8bbd0;color:#880e4f}.unanswered{background:#ffcdd2;color:#8e0000}.in-time{background:#c8e6c9;color:#1b5e20}.none{background:#fff}.legend .cell{display:inline-block;padding:0 .4em;border:1px solid #ccc}\
.ack{min-width:7em;font-size:.9em}svg text{font-size:12px;fill:#1c1c1c}line.period{stroke:#9e9e9e;stroke-width:4}\
rect.window{fill:#fff3c4;stroke:#e0c060}circle.on-time{fill:#2e7d32}circle.late{fill:#ef6c00}circle.missing{fill:#c62828}\
circle.early{fill:#ad1457}circle.pending{fill:#1565c0}circle.suspended,circle.withdrawn{fill:#616161}\
line.trunk,line.branch{stroke:#555;stroke-width:3}svg.fork{display:block;margin:.5em 0}\
line.tick{stroke:#e0e0e0}text.tick{fill:#757575;font-size:11px}text.seen{fill:#555;font-style:italic}\
line.issued{stroke:#37474f;stroke-width:2}.earlier{color:#555;font-style:italic}";

#[cfg(test)]
mod tests {
    use cbm_log::audit::{AuditReport, REPORT_VERSION, Verdict};
    use cbm_wire::Timestamp;

    use super::{Drawn, render};

    fn report(verdict: Verdict, agreement: &str, problems: Vec<String>) -> AuditReport {
        AuditReport {
            report_version: REPORT_VERSION,
            verdict,
            agreement: Some(agreement.to_owned()),
            agreement_hash: None,
            pinned: false,
            now: Timestamp(1_767_225_600_000),
            records: 3,
            signatories: vec![],
            problems,
            findings: vec![],
            checks: vec![],
            unestablished: vec![],
        }
    }

    #[test]
    fn text_from_the_bundle_is_escaped_in_the_page() {
        let page = render(&report(Verdict::Ok, "<script>alert('x')</script> & co", vec![]), &Drawn::default());
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
    }

    /// A roster of AT and DE with a daily schedule.
    fn daily_roster() -> cbm_wire::Roster {
        use cbm_wire::{
            Cadence, KeyId, PublicKey, Schedule, Signatory, SignatoryId, SigningKey, SigningKeyInfo, Text, TimeSpan,
            Topic,
        };
        let signatory = |id: &str, seed: u8| Signatory {
            id: SignatoryId::new(id).expect("id"),
            name: Text::new(id).expect("name"),
            signing_keys: vec![SigningKeyInfo {
                id: KeyId(0),
                key: PublicKey::of(&SigningKey::from_bytes(&[seed; 32])),
                valid_from: Timestamp(0),
                valid_until: None,
            }],
            transport_key: PublicKey::of(&SigningKey::from_bytes(&[seed + 1; 32])),
            addresses: vec![],
        };
        cbm_wire::Roster {
            agreement: cbm_wire::AgreementId::new("long").expect("id"),
            version: 1,
            title: Text::new("A long agreement").expect("title"),
            signatories: vec![signatory("AT", 1), signatory("DE", 3)],
            schedules: vec![Schedule {
                topic: Topic::new("daily").expect("topic"),
                cadence: Cadence::Every { span: TimeSpan(86_400_000) },
                start: Timestamp(1_767_225_600_000),
                due_offset: TimeSpan(86_400_000),
                ack_window: TimeSpan::from_hours(48),
                applies_to: None,
            }],
            quorum: cbm_wire::QuorumPolicy { threshold: 1 },
            limits: cbm_wire::RosterLimits::default(),
            previous: None,
            notices: vec![],
        }
    }

    /// An agreement of years of daily periods is drawn as its latest
    /// periods: the page's size does not grow with its age.
    #[test]
    fn a_long_agreement_draws_its_latest_periods_only() {
        use cbm_log::audit::{Judgements, SignatoryReport};
        use cbm_log::schedule::{PeriodReport, PeriodStatus};
        let roster = daily_roster();
        let schedule = &roster.schedules[0];
        let periods = (0..1000)
            .map(|period| PeriodReport {
                topic: schedule.topic.clone(),
                period,
                due: cbm_log::calendar::due_at(schedule, period).expect("due"),
                status: PeriodStatus::OnTime,
                entry: Some(period),
                no_change: false,
                delivered: None,
                amendments: vec![],
            })
            .collect();
        let mut long = report(Verdict::Ok, "long", vec![]);
        long.signatories = vec![SignatoryReport {
            signatory: Some(roster.signatories[0].id.clone()),
            judged: Judgements { periods, ..Judgements::default() },
            ..SignatoryReport::default()
        }];
        let drawn = Drawn { roster: Some(roster), ..Drawn::default() };
        let page = render(&long, &drawn);
        let cells = page.matches("<td class=\"cell on-time\"").count();
        assert_eq!(cells as u64, super::DRAWN_PERIODS, "the latest periods only");
        assert!(page.contains("The 964 earlier periods are not drawn"), "and it says so");
        assert!(page.len() < 200_000, "{} bytes", page.len());
    }

    #[test]
    fn the_page_of_an_invalid_bundle_says_why_and_judges_no_one() {
        let why = "unreadable bundle: record 7 is truncated".to_owned();
        let page = render(&report(Verdict::Invalid, "demo", vec![why.clone()]), &Drawn::default());
        assert!(page.contains("data-verdict=\"invalid\"") && page.contains(&why));
        assert!(page.contains("nobody is accused on it"));
        assert!(!page.contains("class=\"cell") && !page.contains("class=\"ack"), "no obligation is drawn");
    }
}
