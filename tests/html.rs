//! The shareable HTML report (`preflight::html`, CLI `--html`): one
//! self-contained document that fetches nothing, escapes every user string,
//! quotes row values only when asked to, and, end to end through the CLI,
//! holds no unmasked personal data from its input (nor does the JSON).

use preflight::html::{compare_html, report_html, HtmlOptions, CONTENT_SECURITY_POLICY};
use preflight::report::{CompareReport, CompareThresholds, Report};
use preflight::{Backend, Options, Profiler};
use serde_json::Value;
use std::path::PathBuf;

mod common;
use common::bin;

const ROWS_OFF: HtmlOptions = HtmlOptions { include_rows: false };
const ROWS_ON: HtmlOptions = HtmlOptions { include_rows: true };

fn profile(name: &str, csv: &str, options: Options) -> Report {
    let mut p = Profiler::new(name, options);
    p.push(csv.as_bytes()).unwrap();
    pollster::block_on(p.finish(&mut |_, _| {})).unwrap().report
}

fn cpu() -> Options {
    Options { backend: Backend::Cpu, ..Options::default() }
}

/// Elements HTML writes without a closing tag.
const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link", "col", "wbr"];

/// Checks the document's shape and that it can fetch or run nothing:
/// every tag closed in order, the CSP meta first in the head, no script,
/// no event handler, no URL-bearing attribute, no external address.
fn check_document(html: &str) {
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"),
        "{}",
        &html[..200]
    );
    let csp = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        CONTENT_SECURITY_POLICY.replace('\'', "&#39;")
    );
    assert!(html.contains(&csp), "no CSP meta");
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'"));
    for bad in ["http://", "https://", "url(", "@import", "<script", "<link", "<iframe", "<object", "<embed", "<img"] {
        assert!(!html.to_ascii_lowercase().contains(bad), "the document holds {bad:?}");
    }
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    let mut tags = 0;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("an unterminated tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        tags += 1;
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(!name.is_empty(), "a bare '<' in the document: {tag:?}");
        // Attributes: names only from here on, values are quoted and escaped.
        let mut attrs = tag[name.len()..].to_string();
        while let Some(q) = attrs.find('"') {
            let close = attrs[q + 1..].find('"').expect("an unterminated attribute value") + q + 1;
            attrs.replace_range(q..=close, "");
        }
        for attr in attrs.split_whitespace() {
            let attr = attr.trim_end_matches('=').to_ascii_lowercase();
            assert!(!attr.starts_with("on"), "event handler {attr} on <{name}>");
            assert!(
                !["src", "href", "action", "formaction", "srcset", "poster", "data", "background"]
                    .contains(&attr.as_str()),
                "<{name} {attr}=...>"
            );
        }
        if name == "style" {
            let close = rest.find("</style>").expect("an unclosed style");
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        if !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(tags > 50, "only {tags} tags");
    for main in ["<main>", "</main>", "<body>", "</body>", "</html>"] {
        assert_eq!(html.matches(main).count(), 1, "{main}");
    }
}

#[test]
fn user_strings_are_escaped_and_the_document_fetches_nothing() {
    let csv = "\"<script>alert(1)</script>\",amount,label\n\
               \"<img src=x onerror=alert(2)>\",1,\"<b>cat</b>\"\n\
               \"<img src=x onerror=alert(2)>\",2,\"<b>cat</b>\"\n\
               \"a & b\",3,dog\n\
               \"'quoted' \"\"twice\"\"\",4,dog\n\
               plain,5,dog\n";
    let report = profile("<evil>.csv", csv, Options { label: Some("label".into()), ..cpu() });
    for options in [ROWS_OFF, ROWS_ON] {
        let html = report_html(&report, &options);
        check_document(&html);
        assert!(!html.contains("<b>"), "a label's markup became markup");
        assert!(!html.contains("<evil>"), "the file name's markup became markup");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the column name is shown, escaped");
        assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"), "the value is shown, escaped");
        assert!(html.contains("&lt;b&gt;cat&lt;/b&gt;"), "the class is shown, escaped");
        assert!(html.contains("<title>preflight report: &lt;evil&gt;.csv</title>"));
        assert!(html.contains("a &amp; b"));
        assert!(html.contains("&#39;quoted&#39; &quot;twice&quot;"));
    }
}

/// 60 rows in two clusters with an outlier, a mislabelled row, identical
/// rows with different labels and duplicate texts: every place a report
/// quotes row values is filled.
fn clustered_csv() -> String {
    let mut out = String::from("x,y,colour,note,label\n");
    for i in 0..60u32 {
        let (x, y, colour, label) = if i % 2 == 0 {
            (1.0 + (i % 7) as f64 * 0.1, 1.0 + (i % 5) as f64 * 0.1, "red", "cat")
        } else {
            (10.0 + (i % 7) as f64 * 0.1, 10.0 + (i % 5) as f64 * 0.1, "blue", "dog")
        };
        let label = if i == 10 { "dog" } else { label };
        let note = format!("note number {i} about the {colour} animal seen on day {}", i * 7 % 31);
        out.push_str(&format!("{x},{y},{colour},{note},{label}\n"));
    }
    out.push_str("500,-300,green,a far away row nobody else resembles at all,cat\n");
    out.push_str("3.5,3.5,red,same features different labels,cat\n");
    out.push_str("3.5,3.5,red,same features different labels,dog\n");
    out.push_str("1,1,red,note number 0 about the red animal seen on day 0,cat\n");
    out
}

/// Replaces every string under `key` (at any depth below `value`) by a
/// fresh token; returns the tokens.
fn plant(value: &mut Value, key: &str, tokens: &mut Vec<String>) -> usize {
    let before = tokens.len();
    fn fill(v: &mut Value, tokens: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                *s = format!("PLANTED{:04}ROWVALUE", tokens.len());
                tokens.push(s.clone());
            }
            Value::Array(items) => items.iter_mut().for_each(|i| fill(i, tokens)),
            _ => {}
        }
    }
    fn walk(v: &mut Value, key: &str, tokens: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if k == key {
                        fill(child, tokens);
                    } else {
                        walk(child, key, tokens);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, key, tokens)),
            _ => {}
        }
    }
    walk(value, key, tokens);
    tokens.len() - before
}

#[test]
fn row_values_appear_only_when_included() {
    let options = Options { label: Some("label".into()), text_columns: vec!["note".into()], ..cpu() };
    let report = profile("clusters.csv", &clustered_csv(), options);
    let mut json = serde_json::to_value(&report).unwrap();
    let mut tokens = Vec::new();
    for (section, key) in [
        ("outliers", "values"),
        ("label_issues", "values"),
        ("conflicting_labels", "values"),
        ("text_duplicates", "text"),
    ] {
        let planted = plant(&mut json[section], key, &mut tokens);
        assert!(planted > 0, "the test file gave {section} no row values to plant");
    }
    let neighbours =
        json["outliers"]["top"].as_array().unwrap().iter().filter(|r| r.get("neighbour_rows").is_some()).count();
    assert!(neighbours > 0, "no neighbour rows listed");
    let report: Report = serde_json::from_value(json).unwrap();

    let html = report_html(&report, &ROWS_OFF);
    check_document(&html);
    assert!(html.contains("data-testid=\"row-values\" data-included=\"false\""), "the mode is stated");
    assert!(html.contains("Row values: left out."));
    let shown: Vec<&String> = tokens.iter().filter(|t| html.contains(t.as_str())).collect();
    assert!(shown.is_empty(), "row values in a report without them: {shown:?}");
    // Ids, lines and counts stay.
    for needle in [
        "data-testid=\"outlier-row\"",
        "data-testid=\"conflict-group\"",
        "data-testid=\"text-group\"",
        "row 61 (line 63)",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }

    let html = report_html(&report, &ROWS_ON);
    check_document(&html);
    assert!(html.contains("data-testid=\"row-values\" data-included=\"true\""));
    let missing: Vec<&String> = tokens.iter().filter(|t| !html.contains(t.as_str())).collect();
    assert!(missing.is_empty(), "row values left out of a report with them: {missing:?}");

    // Every section of the page is there.
    for section in [
        "section-verdict",
        "section-overview",
        "section-pii",
        "section-columns",
        "section-duplicates",
        "section-text-duplicates",
        "section-class-balance",
        "section-conflicts",
        "section-embedding",
        "section-outliers",
        "section-label-issues",
        "section-compute",
    ] {
        assert!(html.contains(&format!("id=\"{section}\"")), "{section} missing");
    }
    // Charts: a histogram per numeric column, a bar per class.
    assert_eq!(html.matches("data-testid=\"histogram\"").count(), 2);
    assert_eq!(html.matches("data-testid=\"class-bar\"").count(), 2);
    // Every rule with its value, limit and outcome.
    assert_eq!(html.matches("data-testid=\"rule\"").count(), report.verdict.rules.len());
}

#[test]
fn sections_added_later_are_kept_as_json_without_row_values() {
    // Two annotator columns: the agreement section, which this module renders generically.
    let mut csv = String::from("x,rater_a,rater_b\n");
    for i in 0..30 {
        let a = if i % 2 == 0 { "cat" } else { "dog" };
        let b = if i % 5 == 0 { "bird" } else { a };
        csv.push_str(&format!("{i},{a},{b}\n"));
    }
    let options = Options { annotators: vec!["rater_a".into(), "rater_b".into()], ..cpu() };
    let report = profile("raters.csv", &csv, options);
    let mut json = serde_json::to_value(&report).unwrap();
    assert!(json.get("annotator_agreement").is_some(), "no agreement section to render");
    let mut tokens = Vec::new();
    assert!(plant(&mut json["annotator_agreement"], "values", &mut tokens) > 0);
    let report: Report = serde_json::from_value(json).unwrap();
    let html = report_html(&report, &ROWS_OFF);
    check_document(&html);
    assert!(html.contains("data-section=\"annotator_agreement\""));
    assert!(html.contains("Annotator agreement"));
    assert!(html.contains("&quot;percent_agreement&quot;"), "the section's JSON is shown");
    assert!(tokens.iter().all(|t| !html.contains(t.as_str())), "row values in the generic section");
    let html = report_html(&report, &ROWS_ON);
    assert!(tokens.iter().all(|t| html.contains(t.as_str())), "row values missing with include_rows");
}

fn compare(reference: &str, candidate: &str, options: Options) -> CompareReport {
    let mut r = Profiler::new("reference.csv", options.clone());
    r.push(reference.as_bytes()).unwrap();
    let mut c = Profiler::new("candidate.csv", options);
    c.push(candidate.as_bytes()).unwrap();
    pollster::block_on(preflight::compare(&mut r, &mut c, &CompareThresholds::default(), &mut |_, _| {}))
        .unwrap()
        .report
}

#[test]
fn the_comparison_report_holds_both_files_and_leaks_no_row_values() {
    let mut reference = String::from("x,y,review,label\n");
    let mut candidate = String::from("x,y,review,label\n");
    for i in 0..40 {
        let review = format!(
            "review {i}: the {} arrived {} days late and the box was {}",
            ["lamp", "chair", "desk"][i % 3],
            i % 9,
            ["fine", "torn", "wet"][i % 3]
        );
        reference.push_str(&format!("{},{},{review},{}\n", i, i % 7, ["a", "b"][i % 2]));
        if i < 30 {
            // Shifted x, other reviews; rows 30.. are copies of reference rows.
            candidate.push_str(&format!(
                "{},{},other text {i} written for the candidate file only,{}\n",
                i + 20,
                i % 7,
                ["a", "b"][i % 2]
            ));
        }
    }
    for i in 0..10 {
        let review = format!(
            "review {i}: the {} arrived {} days late and the box was {}",
            ["lamp", "chair", "desk"][i % 3],
            i % 9,
            ["fine", "torn", "wet"][i % 3]
        );
        candidate.push_str(&format!("{},{},{review},{}\n", i, i % 7, ["a", "b"][i % 2]));
    }
    let options = Options { label: Some("label".into()), text_columns: vec!["review".into()], ..cpu() };
    let report = compare(&reference, &candidate, options);
    assert!(report.comparison.leakage.exact_rows > 0);
    let mut json = serde_json::to_value(&report).unwrap();
    let mut tokens = Vec::new();
    assert!(plant(&mut json["comparison"]["leakage"], "values", &mut tokens) > 0, "no leak pairs");
    assert!(plant(&mut json["comparison"]["text_leakage"], "candidate_text", &mut tokens) > 0, "no text leak pairs");
    assert!(plant(&mut json["comparison"]["text_leakage"], "reference_text", &mut tokens) > 0);
    plant(&mut json["reference"]["outliers"], "values", &mut tokens);
    plant(&mut json["candidate"]["outliers"], "values", &mut tokens);
    let report: CompareReport = serde_json::from_value(json).unwrap();

    let html = compare_html(&report, &ROWS_OFF);
    check_document(&html);
    for needle in [
        "id=\"section-schema\"",
        "id=\"section-leakage\"",
        "id=\"section-drift\"",
        "id=\"section-label-shift\"",
        "id=\"section-dataset-drift\"",
        "id=\"reference-report\"",
        "id=\"candidate-report\"",
        "id=\"reference-section-columns\"",
        "id=\"candidate-section-outliers\"",
        "data-testid=\"leak-pair\"",
        "data-testid=\"text-leak-pair\"",
        "data-testid=\"drift-histogram\"",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert_eq!(html.matches("data-testid=\"drift-row\"").count(), report.comparison.drift.len());
    let shown: Vec<&String> = tokens.iter().filter(|t| html.contains(t.as_str())).collect();
    assert!(shown.is_empty(), "row values in a comparison without them: {shown:?}");
    let html = compare_html(&report, &ROWS_ON);
    check_document(&html);
    let missing: Vec<&String> = tokens.iter().filter(|t| !html.contains(t.as_str())).collect();
    assert!(missing.is_empty(), "row values left out with include_rows: {missing:?}");
}

// ---------------------------------------------------------------- personal data, end to end

fn temp(name: &str) -> PathBuf {
    common::temp("html", name)
}

const NAMES: [&str; 4] = ["Alice Smithers", "Bob Jonesworth", "Carol Whitfield", "Dave Pemberton"];
const EMAILS: [&str; 4] =
    ["alice.smith@example.com", "bob.jones@mail.example.org", "carol_w@corp.example.net", "dave+tag@example.co.uk"];
const PHONES: [&str; 4] = ["+1 415-555-0132", "(212) 555-0199", "+44 20 7946 0958", "+1 646 555 0177"];
/// Luhn-valid test card numbers, written three ways.
const CARDS: [&str; 5] =
    ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011111111111117", "4012888888881881"];
const IBANS: [&str; 3] = ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606"];
const SSNS: [&str; 3] = ["536-22-1234", "412-67-8890", "219-55-0142"];
const IPS: [&str; 5] =
    ["192.168.10.77", "203.0.113.45", "10.20.30.40", "2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a"];

/// A customer table with personal data of every kind: in dedicated
/// columns (names only there, under a name that says so), inside a
/// free-text note, and in rows that repeat (exact
/// copies, a conflicting copy, repeated notes), so that duplicate groups,
/// conflict groups, text duplicates and flagged rows all quote them.
fn pii_csv() -> String {
    let mut rows = Vec::new();
    for i in 0..36usize {
        let (name, email, phone, card) = (NAMES[i % 4], EMAILS[i % 4], PHONES[i % 4], CARDS[i % 5]);
        let (iban, ssn, ip) = (IBANS[i % 3], SSNS[i % 3], IPS[i % 5]);
        // Names are found by column name only: the note holds the kinds found in any text.
        let note = format!("Customer wrote from {email}, call {phone}; card {card}, IBAN {iban}, SSN {ssn}, from {ip}");
        let age = 20 + (i * 7) % 50;
        let spend = if i == 17 { 99_999.0 } else { 10.0 + (i * 13 % 40) as f64 };
        let label = if i % 3 == 0 { "churn" } else { "stay" };
        rows.push(format!(
            "{},\"{name}\",{email},\"{phone}\",\"{card}\",\"{iban}\",{ssn},{ip},\"{note}\",{age},{spend},{label}",
            1000 + i
        ));
    }
    // Exact copies of two rows, and a copy of a third with the other label.
    let copy = |row: &str| row.to_string();
    rows.push(copy(&rows[0]));
    rows.push(copy(&rows[5]));
    let flipped = rows[7].replace(",stay", ",churn").replacen(&format!("{}", 1007), "2007", 1);
    rows.push(flipped);
    let mut out = String::from("customer_id,full_name,email,phone,card,iban,ssn,ip,note,age,spend,label\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out
}

/// Every planted value as written, and the digit-only and compact forms a
/// masked rendering must not leave either.
fn planted_values() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    for v in NAMES.iter().chain(&EMAILS).chain(&PHONES).chain(&CARDS).chain(&IBANS).chain(&SSNS).chain(&IPS) {
        out.push(v.to_string());
    }
    for v in CARDS.iter().chain(&PHONES).chain(&SSNS) {
        out.push(digits(v));
    }
    for v in IBANS {
        out.push(v.replace(' ', ""));
    }
    // The local part of each email, and each name's surname.
    for e in EMAILS {
        out.push(e.split('@').next().unwrap().to_string());
    }
    for n in NAMES {
        out.push(n.split(' ').nth(1).unwrap().to_string());
    }
    out.sort();
    out.dedup();
    out
}

fn leaked<'a>(text: &str, values: &'a [String]) -> Vec<&'a String> {
    values.iter().filter(|v| text.contains(v.as_str())).collect()
}

#[test]
fn cli_html_and_json_hold_no_unmasked_personal_data() {
    let input = temp("customers.csv");
    std::fs::write(&input, pii_csv()).unwrap();
    let values = planted_values();
    let raw: Vec<String> = NAMES
        .iter()
        .chain(&EMAILS)
        .chain(&PHONES)
        .chain(&CARDS)
        .chain(&IBANS)
        .chain(&SSNS)
        .chain(&IPS)
        .map(|v| v.to_string())
        .collect();
    assert_eq!(leaked(&pii_csv(), &raw).len(), raw.len(), "every planted value is in the input");
    for include_rows in [false, true] {
        let (html_path, json_path) = (temp(&format!("r{include_rows}.html")), temp(&format!("r{include_rows}.json")));
        let mut cmd = bin();
        cmd.args(["profile"]).arg(&input).args([
            "--backend",
            "cpu",
            "--label",
            "label",
            "--text",
            "note",
            "--quiet",
            "--html",
        ]);
        cmd.arg(&html_path).arg("--json").arg(&json_path);
        if include_rows {
            cmd.arg("--include-rows");
        }
        let out = cmd.output().unwrap();
        assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", String::from_utf8_lossy(&out.stderr));
        let html = std::fs::read_to_string(&html_path).unwrap();
        let json = std::fs::read_to_string(&json_path).unwrap();
        check_document(&html);
        let report: Report = serde_json::from_str(&json).unwrap();
        // The check found the planted kinds: the masking had something to mask.
        for kind in ["email", "phone", "card", "iban", "ssn", "ipv4", "ipv6"] {
            assert!(report.pii.kinds.get(kind).copied().unwrap_or(0) > 0, "no {kind} found: {:?}", report.pii.kinds);
        }
        assert!(html.contains("data-testid=\"pii-finding\""), "the HTML lists the findings");
        // With rows included the report quotes rows: the masks must be what it quotes.
        if include_rows {
            assert!(html.contains("data-testid=\"quoted-row\""), "no row values quoted");
        }
        let in_html = leaked(&html, &values);
        assert!(in_html.is_empty(), "HTML (include_rows {include_rows}) holds raw personal data: {in_html:?}");
        let in_json = leaked(&json, &values);
        assert!(in_json.is_empty(), "JSON holds raw personal data: {in_json:?}");
    }
}

#[test]
fn cli_compare_html_holds_no_unmasked_personal_data() {
    let text = pii_csv();
    let lines: Vec<&str> = text.lines().collect();
    let (reference, candidate) = (temp("ref.csv"), temp("cand.csv"));
    // The candidate shares rows with the reference (leak pairs quote them).
    std::fs::write(&reference, format!("{}\n", lines[..30].join("\n"))).unwrap();
    std::fs::write(&candidate, format!("{}\n{}\n", lines[0], lines[20..].join("\n"))).unwrap();
    let html_path = temp("compare.html");
    let json_path = temp("compare.json");
    let out = bin()
        .arg("compare")
        .arg(&reference)
        .arg(&candidate)
        .args(["--backend", "cpu", "--label", "label", "--text", "note", "--quiet", "--include-rows", "--html"])
        .arg(&html_path)
        .arg("--json")
        .arg(&json_path)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", String::from_utf8_lossy(&out.stderr));
    let html = std::fs::read_to_string(&html_path).unwrap();
    check_document(&html);
    assert!(html.contains("data-testid=\"leak-pair\""), "the comparison lists leak pairs");
    let values = planted_values();
    let in_html = leaked(&html, &values);
    assert!(in_html.is_empty(), "comparison HTML holds raw personal data: {in_html:?}");
    let in_json = leaked(&std::fs::read_to_string(&json_path).unwrap(), &values);
    assert!(in_json.is_empty(), "comparison JSON holds raw personal data: {in_json:?}");
}

#[test]
fn include_rows_needs_html_and_html_is_written_for_profile() {
    let out = bin().args(["profile", "x.csv", "--include-rows"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--include-rows is an option of the HTML report"));
    let html = temp("penguins.html");
    let fixture = format!("{}/tests/fixtures/penguins.csv", env!("CARGO_MANIFEST_DIR"));
    let out = bin().args(["profile", &fixture, "--backend", "cpu", "--quiet", "--html"]).arg(&html).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&html).unwrap();
    check_document(&text);
    assert!(text.contains("data-testid=\"stat-rows\" data-value=\"344\""));
    assert!(text.contains("Verdict: passed"));
}

/// A streamed column's estimated figures are marked "≈" (its `approximate`
/// lists them); exact ones are not.
#[test]
fn estimates_are_marked() {
    let mut csv = String::from("id,code\n");
    for i in 0..200 {
        csv.push_str(&format!("{i},c{}\n", i % 7));
    }
    let mut report = profile("estimates.csv", &csv, cpu());
    let html = report_html(&report, &ROWS_OFF);
    assert!(!html.contains('≈'), "an exact report marks nothing");
    report.columns[0].approximate = vec!["distinct".into(), "top_values".into()];
    let html = report_html(&report, &ROWS_OFF);
    check_document(&html);
    assert!(html.contains(">≈ 200<"), "the id column's distinct count");
    assert_eq!(html.matches(" ≈ 1 (").count(), report.columns[0].top_values.len().min(5), "its top values");
    // Upper bounds with how far above the truth they may be: a range.
    report.columns[1].approximate = vec!["top_values".into()];
    report.columns[1].top_values_overcount = Some(25);
    let code = &report.columns[1].top_values[0];
    let range = format!(" {}–{} (", code.count.saturating_sub(25).max(1), code.count);
    assert!(report_html(&report, &ROWS_OFF).contains(&range), "{range}");
}
