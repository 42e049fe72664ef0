//! The audit as a page, looked at in a real headless Chromium (Debian's
//! `chromium`; `.ci/run` installs it). The test fails, saying so, when no
//! Chromium is installed: it never skips.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cbm, ok, said};

/// The Chromium binary: `$CBM_CHROMIUM`, or `chromium` on the path.
fn chromium() -> PathBuf {
    let named = std::env::var_os("CBM_CHROMIUM").map(PathBuf::from);
    let found = named.or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|candidate| candidate.is_file())
        })
    });
    found.unwrap_or_else(|| {
        panic!(
            "this test looks at the audit's page in a headless Chromium, and none is installed: \
             install Debian's chromium (apt-get install chromium) or set CBM_CHROMIUM (.ci/run installs it)"
        )
    })
}

/// Runs headless Chromium on `page` with `args`; returns its standard
/// output and its log (standard error), console messages included.
fn look(page: &Path, profile: &Path, args: &[&str]) -> (String, String) {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The value of attribute `name` in the tag `tag`.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].split('"').next()
}

/// Every opening tag of `element` with class `class` in `dom`, as
/// (attributes) strings.
fn tags<'a>(dom: &'a str, element: &str, class: &str) -> Vec<&'a str> {
    let open = format!("<{element} class=\"{class}");
    dom.match_indices(&open).filter_map(|(at, _)| dom[at..].split('>').next()).collect()
}

/// The state of every cell of the period grid: (signatory, period, state).
fn grid(dom: &str) -> Vec<(String, String, String)> {
    tags(dom, "td", "cell")
        .iter()
        .filter_map(|tag| {
            Some((
                attribute(tag, "data-signatory")?.to_owned(),
                attribute(tag, "data-period")?.to_owned(),
                attribute(tag, "data-state")?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn the_audit_page_of_the_demo_shows_each_period_each_acknowledgement_and_the_split_view_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    ok(&["demo", "--dir", run.to_str().expect("utf-8")], dir.path());
    assert!(run.join("report.html").is_file(), "the demo writes its page beside its bundle");
    let page = dir.path().join("report.html");
    let bundle = run.join("bundle.cbor");
    let roster = run.join("roster.cbm");
    let args = ["audit", "--at", "2026-04-01T00:00:00Z", "--roster", roster.to_str().expect("utf-8")];
    let audit = cbm(
        &[&args[..], &["--html", page.to_str().expect("utf-8"), bundle.to_str().expect("utf-8")]].concat(),
        dir.path(),
    );
    assert_eq!(audit.status.code(), Some(1), "findings: {}", said(&audit));
    assert!(said(&audit).contains("the report as a page"), "{}", said(&audit));
    // Never written over: refused before anything is read.
    let again = cbm(
        &[&args[..], &["--html", page.to_str().expect("utf-8"), bundle.to_str().expect("utf-8")]].concat(),
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(2), "{}", said(&again));
    assert!(said(&again).contains("exists"), "{}", said(&again));

    // Self-contained: it names nothing to load, and forbids loading anything.
    let html = std::fs::read_to_string(&page).expect("page");
    for external in ["src=", "href=", "url(", "@import", "<link", "<script", "http://", "https://"] {
        let referenced = html.replace("http://www.w3.org/2000/svg", "");
        assert!(!referenced.contains(external), "the page refers to something outside it: {external}");
    }
    assert!(html.contains("default-src 'none'"), "a content security policy forbids loading anything");

    // Loaded in Chromium: no console message (a load the policy blocked,
    // an error), a screenshot, and the rendered document. First, the
    // detector itself: a page under the same policy that tries to load an
    // image must show up as a console message.
    let profile = dir.path().join("chromium-profile");
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
         </head><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .expect("control page");
    let (_, log) = look(&control, &profile, &["--dump-dom"]);
    assert!(
        log.contains(":CONSOLE"),
        "a blocked load must be seen as a console message, or this test proves nothing:\n{log}"
    );
    let shot = dir.path().join("report.png");
    let (_, log) = look(&page, &profile, &["--window-size=1100,2300", &format!("--screenshot={}", shot.display())]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "the page made console messages: {console:#?}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "a screenshot of the page ({} bytes)", png.len());
    let (dom, log) = look(&page, &profile, &["--dump-dom"]);
    assert!(!log.contains(":CONSOLE"), "{log}");

    // What it shows, for the demo's story as of 1 April 2026.
    assert!(dom.contains("data-verdict=\"findings\""), "the verdict");
    assert!(dom.contains("(pinned: this is the agreement the auditor expected)"), "the pin");
    let mut expected = Vec::new();
    for who in ["AR", "BO", "CA", "DO"] {
        for (period, state) in
            [("2026-01", "on-time"), ("2026-02", "on-time"), ("2026-03", "on-time"), ("2026-04", "pending")]
        {
            let state = if (who, period) == ("DO", "2026-02") { "late" } else { state };
            expected.push((who.to_owned(), period.to_owned(), state.to_owned()));
        }
    }
    assert_eq!(grid(&dom), expected, "the signatory × period grid");
    // Who acknowledged whom: CA, down in March, missed every March declaration.
    let acks: Vec<(String, String, String)> = tags(&dom, "td", "ack")
        .iter()
        .filter_map(|tag| {
            let state = attribute(tag, "data-state")?;
            (state != "none").then(|| {
                (
                    attribute(tag, "data-author").unwrap_or("?").to_owned(),
                    attribute(tag, "data-recipient").unwrap_or("?").to_owned(),
                    state.to_owned(),
                )
            })
        })
        .collect();
    assert_eq!(acks.len(), 12, "every author × every other recipient: {acks:?}");
    for (author, recipient, state) in &acks {
        let want = if recipient == "CA" { "missing" } else { "in-time" };
        assert_eq!(state, want, "{recipient} acknowledging {author}");
    }
    // Who answered AR's communication check and BO's request for
    // assistance, and how.
    let answered: Vec<String> = tags(&dom, "tr", "answer")
        .iter()
        .filter_map(|tag| {
            let (from, to, state) =
                (attribute(tag, "data-requester")?, attribute(tag, "data-party")?, attribute(tag, "data-state")?);
            Some(format!("{to} answering {from}: {state}"))
        })
        .collect();
    let expected = [
        "BO answering AR: in-time",
        "CA answering AR: unanswered",
        "DO answering AR: in-time",
        "AR answering BO: in-time",
        "DO answering BO: late",
    ];
    assert_eq!(answered, expected, "answers");
    // A timeline row per period of each signatory, and DO's late one drawn late.
    assert_eq!(tags(&dom, "g", "entry").len(), 16, "the timeline");
    assert!(
        dom.contains("<g class=\"entry late\" data-signatory=\"DO\" data-period=\"2026-02\">"),
        "DO's late February"
    );
    // The split view as a fork: DO's log, two checkpoints of size 5, one
    // cosigned by those who were shown it.
    let fork = dom.split("<svg class=\"fork\" data-owner=\"DO\"").nth(1).expect("DO's split view is drawn");
    let sides = fork.matches("<g class=\"side\" data-size=\"5\"").count();
    assert_eq!(sides, 2, "two branches of size 5");
    assert!(fork.contains("cosigned by AR, BO"), "who saw the honest branch");
    assert_eq!(dom.matches("<svg class=\"fork\"").count(), 1, "one split view, drawn once");
    // The findings in words.
    assert!(dom.contains("DO's points-of-contact declaration for 2026-02 (period 1) was 4 days 16 h late"));
    assert!(dom.contains("DO showed different views of its log to different parties"));
}
