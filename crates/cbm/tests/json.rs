//! Every command that reports speaks JSON when asked (`--json`): what a
//! script driving cbm reads instead of scraping sentences.

mod common;

use common::ok;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn declare_export_prove_reveal_and_roster_sign_report_as_json_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    common::agreement(d, &["AR", "BO"], 1, 1);
    let signed =
        json(&ok(&["roster", "sign", "roster.cbm", "--id", "BO", "--key", "keys/BO.signing.key", "--json"], d));
    assert_eq!(signed["signed_by"], "BO", "{signed}");
    assert_eq!(signed["still_to_sign"], serde_json::json!([]), "{signed}");
    assert!(signed["agreement_hash"].as_str().is_some_and(|h| h.len() == 64), "{signed}");

    let _nodes = common::two_nodes_with_a_committed_declaration(d);
    let args = ["declare", "--data-dir", "ar", "--kind", "notification", "--topic", "contact", "--field", "a=1"];
    let declared = json(&ok(&[&args[..], &["--json", "--wait", "30"]].concat(), d));
    assert_eq!((declared["index"].as_u64(), declared["size"].as_u64()), (Some(1), Some(2)), "{declared}");
    assert_eq!((declared["earlier"].as_bool(), declared["received"].as_bool()), (Some(false), Some(true)));
    // The same declaration again is the retry of it: found, not published.
    let again = json(&ok(&[&args[..], &["--json"]].concat(), d));
    assert_eq!((again["index"].as_u64(), again["earlier"].as_bool()), (Some(1), Some(true)), "{again}");

    let exported = json(&ok(&["export", "--data-dir", "ar", "--out", "record.cbm", "--json"], d));
    assert_eq!((exported["public"].as_bool(), exported["entries"].as_u64()), (Some(true), Some(2)), "{exported}");
    assert!(exported["path"].as_str().is_some_and(|p| p.ends_with("record.cbm")), "{exported}");
    let proof = ["prove", "--data-dir", "bo", "--signatory", "AR", "--index", "0", "--out", "ar-0.proof", "--json"];
    let proved = json(&ok(&proof, d));
    assert_eq!((proved["signatory"].as_str(), proved["index"].as_u64()), (Some("AR"), Some(0)), "{proved}");
    let reveal = [
        "reveal",
        "--data-dir",
        "bo",
        "--signatory",
        "AR",
        "--index",
        "0",
        "--field",
        "1",
        "--out",
        "annex.opening",
        "--json",
    ];
    let revealed = json(&ok(&reveal, d));
    assert_eq!((revealed["label"].as_str(), revealed["value"].as_str()), (Some("annex"), Some("secret")), "{revealed}");
}
