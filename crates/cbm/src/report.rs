//! The audit report as people read it: one table row per signatory, then
//! every finding and every problem spelled out.

use std::fmt::Write as _;

use cbm_log::audit::{AuditReport, SignatoryReport, Verdict};
use cbm_log::schedule::PeriodStatus;

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
        let _ = writeln!(out, "{}", crate::pin::agreement_line(hash, report.pinned));
    }
    let _ = writeln!(out, "judged as of {}", report.now);
    let _ = writeln!(out, "records     {}", report.records);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:>9} {:>8} {:>5} {:>8} {:>8} {:>9} {:>10} {:>12}",
        "signatory",
        "entries",
        "settled",
        "on time",
        "late",
        "missing",
        "amended",
        "objected",
        "acks short",
        "equivocated"
    );
    let mut acknowledgements = Vec::new();
    let judged = report.verdict != Verdict::Invalid;
    for s in &report.signatories {
        let who = s.signatory.as_ref().map_or_else(|| "?".to_owned(), ToString::to_string);
        let _ = writeln!(out, "{}", table_row(&who, s, judged));
        for ack in &s.judged.acknowledgements {
            let delays = match (ack.mean_delay, ack.longest_delay) {
                (Some(mean), Some(longest)) => format!(", mean delay {mean}, longest {longest}"),
                _ => String::new(),
            };
            acknowledgements.push(format!(
                "{who} -> {}: {} in time, {} late, {} missing, {} pending{delays}",
                ack.recipient, ack.in_time, ack.late, ack.missing, ack.pending
            ));
        }
    }
    if !acknowledgements.is_empty() {
        let _ = writeln!(out, "\nacknowledgements of scheduled entries (on receipts):");
        for line in acknowledgements {
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
        "{:<10} {:>7} {:>9} {:>8} {:>5} {:>8} {:>8} {:>9} {:>10} {:>12}",
        who,
        s.entries,
        format!("{}/{}", s.settled_size, s.entries),
        judgement(count(PeriodStatus::OnTime).to_string()),
        judgement(count(PeriodStatus::Late).to_string()),
        judgement(count(PeriodStatus::Missing).to_string()),
        s.amendments,
        s.objections,
        judgement(s.judged.ack_problems.len().to_string()),
        judgement(if s.judged.equivocated { "YES" } else { "no" }.to_owned()),
    )
}
