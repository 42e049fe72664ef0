//! The audit report as people read it: one table row per signatory, then
//! every finding and every problem spelled out.

use std::fmt::Write as _;

use cbm_log::audit::{AuditReport, SignatoryReport, Verdict};
use cbm_log::schedule::PeriodStatus;
use cbm_log::words::span_words;

/// What the table's columns mean, printed under it.
const LEGEND: &str = "\n  entries: in the signatory's log; settled: of them, cosigned by the quorum\n  \
on time / late / missing: scheduled declarations, judged on the quorum's receipts; pending: not yet due\n  \
amended: its entries that amend an earlier one; objected: entries others objected to\n  \
acks short: its declarations, status changes and timed notifications whose acknowledgement by another signatory came \
late or not at all; equivocated: it showed two views of its log";

/// How each state answered the communication checks, one line each: the
/// table the directories' "pings" produce.
pub(crate) fn checks_table(checks: &[cbm_log::answers::AnswerSummary]) -> String {
    let mut out = format!(
        "  {:<10} {:>8} {:>5} {:>7} {:>8}  {:<14} {}\n",
        "state", "in time", "late", "missed", "pending", "median answer", "worst"
    );
    for c in checks {
        let time = |t: Option<cbm_wire::TimeSpan>| t.map_or_else(|| "-".to_owned(), span_words);
        let _ = writeln!(
            out,
            "  {:<10} {:>8} {:>5} {:>7} {:>8}  {:<14} {}",
            c.party.to_string(),
            c.in_time,
            c.late,
            c.unanswered,
            c.pending,
            time(c.median_answer_time),
            time(c.longest_answer_time)
        );
    }
    out
}

/// The verdict as a word.
pub(crate) fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "OK",
        Verdict::Findings => "FINDINGS",
        Verdict::Invalid => "INVALID",
    }
}

/// Renders `report` as a table and a list of findings.
pub(crate) fn render(report: &AuditReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "verdict     {}", verdict_word(report.verdict));
    if let Some(agreement) = &report.agreement {
        let _ = writeln!(out, "agreement   {agreement}");
    }
    if let Some(hash) = &report.agreement_hash {
        let _ = writeln!(out, "agreement hash {hash} ({})", crate::pin::report_pin(report));
    }
    let _ = writeln!(out, "judged as of {}", report.now);
    let _ = writeln!(out, "records     {}", report.records);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:>9} {:>8} {:>5} {:>8} {:>8} {:>8} {:>9} {:>10} {:>12}",
        "signatory",
        "entries",
        "settled",
        "on time",
        "late",
        "missing",
        "pending",
        "amended",
        "objected",
        "acks short",
        "equivocated"
    );
    let (mut acknowledgements, mut answers) = (Vec::new(), Vec::new());
    let judged = report.verdict != Verdict::Invalid;
    for s in &report.signatories {
        let who = s.signatory.as_ref().map_or_else(|| "?".to_owned(), ToString::to_string);
        let _ = writeln!(out, "{}", table_row(&who, s, judged));
        for ack in &s.judged.acknowledgements {
            let delays = match (ack.mean_delay, ack.longest_delay) {
                (Some(mean), Some(longest)) => {
                    format!(", mean delay {}, longest {}", span_words(mean), span_words(longest))
                }
                _ => String::new(),
            };
            acknowledgements.push(format!(
                "{who} -> {}: {} in time, {} late, {} missing, {} pending{delays}",
                ack.recipient, ack.in_time, ack.late, ack.missing, ack.pending
            ));
        }
        for answer in &s.judged.answers {
            let delays = match (answer.median_answer_time, answer.longest_answer_time) {
                (Some(median), Some(longest)) => {
                    format!(", median answer time {}, longest {}", span_words(median), span_words(longest))
                }
                _ => String::new(),
            };
            answers.push(format!(
                "{} answering {who}: {} in time, {} late, {} unanswered, {} pending{delays}",
                answer.party, answer.in_time, answer.late, answer.unanswered, answer.pending
            ));
        }
    }
    let _ = writeln!(out, "{LEGEND}");
    if !acknowledgements.is_empty() {
        let _ = writeln!(out, "\nacknowledgements of scheduled entries and notifications (on receipts):");
        for line in acknowledgements {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !answers.is_empty() {
        let _ = writeln!(out, "\nrequests answered by their reply-by time (on receipts):");
        for line in answers {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !report.checks.is_empty() {
        let _ = write!(out, "\ncommunication checks, per state asked:\n{}", checks_table(&report.checks));
    }
    let objections: Vec<String> = report
        .signatories
        .iter()
        .filter_map(|s| s.signatory.as_ref().map(|who| (who, &s.objected)))
        .flat_map(|(who, objected)| {
            objected.iter().map(move |o| format!("{} objected to {who}'s entry {}", o.by, o.entry))
        })
        .collect();
    if !objections.is_empty() {
        let _ = writeln!(out, "\nobjections:");
        for line in objections {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\nfindings:");
        for finding in &report.findings {
            let _ = writeln!(out, "  - {}", finding.text);
        }
    }
    if !report.problems.is_empty() {
        let _ = writeln!(out, "\nproblems (the bundle cannot be trusted):");
        for problem in &report.problems {
            let _ = writeln!(out, "  - {problem}");
        }
    }
    if !judged {
        let _ = writeln!(
            out,
            "\nobligations not judged: the bundle is invalid, so what it shows about deadlines, \
             acknowledgements and equivocation is not established, and no one is accused on it."
        );
    }
    out
}

/// One signatory's row of the table; its judgement columns are `-` when
/// they are not `judged` (the bundle is invalid).
fn table_row(who: &str, s: &SignatoryReport, judged: bool) -> String {
    let count = |status: PeriodStatus| s.judged.periods.iter().filter(|p| p.status == status).count();
    let judgement = |value: String| if judged { value } else { "-".to_owned() };
    format!(
        "{:<10} {:>7} {:>9} {:>8} {:>5} {:>8} {:>8} {:>8} {:>9} {:>10} {:>12}",
        who,
        s.entries,
        format!("{}/{}", s.settled_size, s.entries),
        judgement(count(PeriodStatus::OnTime).to_string()),
        judgement(count(PeriodStatus::Late).to_string()),
        judgement(count(PeriodStatus::Missing).to_string()),
        judgement(count(PeriodStatus::Pending).to_string()),
        s.amendments,
        s.objected.len(),
        judgement(s.judged.ack_problems.len().to_string()),
        judgement(if s.judged.equivocated { "YES" } else { "no" }.to_owned()),
    )
}
