//! Rules files (`checks::rules`): every rule kind held and broken, default
//! rules replaced or turned off, invalid files and their messages, the
//! schema in `www/rules.schema.json` against the parser, and the command
//! line's exit statuses with `--rules`.

use preflight::checks::rules::{RuleSet, PII_KINDS, RULE_KINDS, TYPE_NAMES};
use preflight::report::{CompareReport, CompareThresholds, Report, RuleOutcome};
use preflight::{Backend, Options, Profiler};
use serde_json::Value;

mod common;
use common::bin;

fn root(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn rules(json: &str) -> RuleSet {
    RuleSet::from_json(json, "test.json").unwrap_or_else(|e| panic!("{e}"))
}

fn options(rules: Option<RuleSet>) -> Options {
    Options {
        backend: Backend::Cpu,
        rules,
        ..Options::default()
    }
}

fn profile_with(name: &str, data: &str, options: Options) -> Report {
    let mut p = Profiler::new(name, options);
    p.push(data.as_bytes()).unwrap();
    pollster::block_on(p.finish(&mut |_, _| {})).unwrap().report
}

fn profile(data: &str, rule_set: &str) -> Report {
    profile_with("data.csv", data, options(Some(rules(rule_set))))
}

/// The outcomes of rule `name`.
fn outcomes<'a>(report: &'a Report, name: &str) -> Vec<&'a RuleOutcome> {
    report
        .verdict
        .rules
        .iter()
        .filter(|r| r.rule == name)
        .collect()
}

/// The one outcome of rule `name`.
fn one<'a>(report: &'a Report, name: &str) -> &'a RuleOutcome {
    let found = outcomes(report, name);
    assert_eq!(found.len(), 1, "{name}: {:#?}", report.verdict.rules);
    found[0]
}

/// 20 rows: `age` has 2 missing values, `label` one "bird" among cats and
/// dogs, `contact` 3 email addresses, `code` 15 distinct values.
fn pets() -> String {
    let mut out = String::from("id,age,label,contact,code\n");
    for i in 0..20 {
        let age = if i == 3 || i == 11 {
            String::new()
        } else {
            (20 + i).to_string()
        };
        let label = if i == 7 {
            "bird"
        } else if i % 2 == 0 {
            "cat"
        } else {
            "dog"
        };
        let contact = if i < 3 {
            format!("person{i}@example.com")
        } else {
            String::new()
        };
        out.push_str(&format!("{i},{age},{label},{contact},c{}\n", i % 15));
    }
    out
}

fn ruleset_of(rule: &str) -> String {
    format!(r#"{{"rules": [{rule}]}}"#)
}

#[test]
fn required_columns_hold_and_fail_with_the_columns_named() {
    let report = profile(
        &pets(),
        &ruleset_of(
            r#"{"rule": "required_columns", "columns": {"age": "integer", "label": "any", "code": "string"}, "severity": "error"}"#,
        ),
    );
    let r = one(&report, "required_columns");
    assert!(r.passed, "{r:?}");
    assert_eq!(
        (r.value, r.limit, r.source.as_str()),
        (0.0, 0.0, "rules file")
    );
    assert!(report.verdict.passed);

    let report = profile(
        &pets(),
        &ruleset_of(
            r#"{"rule": "required_columns", "columns": {"age": "text", "weight": "float", "label": "string"}, "severity": "error"}"#,
        ),
    );
    let r = one(&report, "required_columns");
    assert!(!r.passed);
    assert_eq!(r.value, 2.0);
    assert!(
        r.message.contains(r#""age" is integer, not text"#),
        "{}",
        r.message
    );
    assert!(
        r.message.contains(r#""weight" is missing"#),
        "{}",
        r.message
    );
    assert!(!report.verdict.passed);
    assert!(
        report
            .verdict
            .failures
            .iter()
            .any(|f| f.starts_with("required_columns: 2 of 3")),
        "{:?}",
        report.verdict.failures
    );
}

#[test]
fn row_count_bounds() {
    let check = |rule: &str| {
        let report = profile(&pets(), &ruleset_of(rule));
        one(&report, "row_count").clone()
    };
    let held = check(r#"{"rule": "row_count", "min": 20, "max": 20, "severity": "error"}"#);
    assert!(held.passed && held.value == 20.0, "{held:?}");
    let few = check(r#"{"rule": "row_count", "min": 21, "severity": "error"}"#);
    assert!(!few.passed && few.limit == 21.0, "{few:?}");
    assert!(
        few.message
            .contains("20 data rows, too few (allowed: at least 21)"),
        "{}",
        few.message
    );
    let many = check(r#"{"rule": "row_count", "min": 1, "max": 19, "severity": "warning"}"#);
    assert!(!many.passed && many.limit == 19.0, "{many:?}");
    assert!(
        many.message.contains("too many (allowed: from 1 to 19)"),
        "{}",
        many.message
    );
}

#[test]
fn missing_share_per_column_and_overall_and_an_unknown_column() {
    let report = profile(
        &pets(),
        r#"{"rules": [
            {"rule": "max_missing_share", "column": "age", "max": 0.1, "severity": "error"},
            {"rule": "max_missing_share", "column": "age", "max": 0.05, "severity": "warning"},
            {"rule": "max_missing_share", "max": 0.1, "severity": "warning"},
            {"rule": "max_missing_share", "column": "agee", "max": 0.5, "severity": "error"}
        ]}"#,
    );
    let found = outcomes(&report, "max_missing_share");
    assert_eq!(found.len(), 4);
    assert!(
        found[0].passed && (found[0].value - 0.1).abs() < 1e-12,
        "{:?}",
        found[0]
    );
    assert_eq!(found[0].column.as_deref(), Some("age"));
    assert!(!found[1].passed && found[1].severity == "warning");
    assert!(
        found[1]
            .message
            .contains("2 of 20 values of \"age\" are missing (10.00%; allowed: 5.00%)"),
        "{}",
        found[1].message
    );
    // Overall: 2 + 17 missing cells of 100.
    assert!(
        !found[2].passed && (found[2].value - 0.19).abs() < 1e-12,
        "{:?}",
        found[2]
    );
    assert!(found[2].column.is_none());
    assert!(!found[3].passed);
    assert!(
        found[3]
            .message
            .starts_with("column \"agee\" is not in the file; its columns are: id, age, label"),
        "{}",
        found[3].message
    );
    // The unknown column is an error-level failure; the run still made its report.
    assert!(!report.verdict.passed);
    assert_eq!(
        report.verdict.failures.len(),
        1,
        "{:?}",
        report.verdict.failures
    );
}

#[test]
fn duplicate_share_replaces_the_default_rule() {
    let mut data = pets();
    data.push_str("0,20,cat,person0@example.com,c0\n"); // row 0 again
    let report = profile(
        &data,
        &ruleset_of(r#"{"rule": "max_duplicate_share", "max": 0.01, "severity": "error"}"#),
    );
    let r = one(&report, "max_duplicate_share");
    assert!(!r.passed);
    assert!((r.value - 1.0 / 21.0).abs() < 1e-12, "{r:?}");
    assert!(
        r.message
            .contains("1 of 21 rows are redundant exact duplicates"),
        "{}",
        r.message
    );
    assert!(
        outcomes(&report, "duplicate_share").is_empty(),
        "the default rule is replaced"
    );
    // Without the rules file, the default rule is there (and holds: 4.8% <= 5%).
    let plain = profile_with("data.csv", &data, options(None));
    assert!(one(&plain, "duplicate_share").passed);
    assert!(outcomes(&plain, "max_duplicate_share").is_empty());
    let loose = profile(
        &data,
        &ruleset_of(r#"{"rule": "max_duplicate_share", "max": 0.05, "severity": "error"}"#),
    );
    assert!(one(&loose, "max_duplicate_share").passed);
}

/// A report of 200 rows labelled `Adelie` and `Gentoo` but for 2 labelled
/// `rare`, and its `minority_classes` warning.
fn minority_warning(rare: &str) -> (Report, String) {
    let mut csv = String::from("x,label\n");
    for i in 0..200 {
        let label = match i {
            7 | 91 => rare,
            _ => ["Adelie", "Gentoo"][i % 2],
        };
        csv.push_str(&format!("{},{label}\n", i % 17));
    }
    let o = Options { label: Some("label".into()), ..options(None) };
    let report = profile_with("data.csv", &csv, o);
    let r = outcomes(&report, "minority_classes");
    assert_eq!(r.len(), 1);
    let message = r[0].message.clone();
    (report, message)
}

/// The default warning names a small class that is a bigger one written
/// in other case as a spelling of it.
#[test]
fn minority_class_written_as_another_is_named_as_a_spelling() {
    let (_, message) = minority_warning("adelie");
    assert!(message.ends_with(": adelie (a spelling of \"Adelie\")"), "{message}");
}

/// ... and one a letter off as perhaps that one misspelled; the label
/// column's profile has the `misspellings` alert.
#[test]
fn minority_class_a_letter_off_another_is_named_as_a_misspelling() {
    let (report, message) = minority_warning("Adelei");
    assert!(message.ends_with(": Adelei (perhaps \"Adelie\" misspelled)"), "{message}");
    let label = report.columns.iter().find(|c| c.name == "label").unwrap();
    let alert = label.alerts.iter().find(|a| a.kind == "misspellings").expect("misspellings alert");
    assert_eq!(alert.message, "1 value may be misspelled: \"Adelei\" (2 rows) beside \"Adelie\" (100 rows)");
}

#[test]
fn min_class_share_with_and_without_a_label() {
    let with_label = |rule: &str| {
        let o = Options {
            label: Some("label".into()),
            ..options(Some(rules(&ruleset_of(rule))))
        };
        profile_with("data.csv", &pets(), o)
    };
    let report = with_label(r#"{"rule": "min_class_share", "min": 0.05, "severity": "error"}"#);
    let r = one(&report, "min_class_share");
    assert!(r.passed, "{r:?}");
    assert!((r.value - 0.05).abs() < 1e-12, "the bird is 1 of 20: {r:?}");
    assert_eq!(r.column.as_deref(), Some("label"));
    assert!(
        outcomes(&report, "minority_classes").is_empty(),
        "the default rule is replaced"
    );
    let report = with_label(r#"{"rule": "min_class_share", "min": 0.1, "severity": "error"}"#);
    let r = one(&report, "min_class_share");
    assert!(!r.passed);
    assert!(r.message.contains("1 of 3 classes of \"label\" have less than 10.00% of the labelled rows: \"bird\" (5.00%, 1 rows)"), "{}", r.message);

    // No label column: the rule cannot be measured, and fails saying why.
    let numbers = "a,b\n1,2\n3,4\n5,6\n7,8.5\n";
    let report = profile(
        numbers,
        &ruleset_of(r#"{"rule": "min_class_share", "min": 0.1, "severity": "warning"}"#),
    );
    assert!(report.class_balance.is_none());
    let r = one(&report, "min_class_share");
    assert!(!r.passed && r.severity == "warning");
    assert!(
        r.message.contains("no label column was chosen or detected"),
        "{}",
        r.message
    );
    assert!(report.verdict.passed, "a warning does not fail the verdict");
}

#[test]
fn no_pii_of_any_kind_or_of_given_kinds() {
    let report = profile(
        &pets(),
        &ruleset_of(r#"{"rule": "no_pii", "severity": "error"}"#),
    );
    let r = one(&report, "no_pii");
    assert!(!r.passed);
    assert_eq!(r.value, 3.0, "{r:?}");
    assert!(
        r.message.contains("email in \"contact\" (3 values"),
        "{}",
        r.message
    );
    assert!(
        outcomes(&report, "pii").is_empty(),
        "the default pii rule is replaced"
    );
    assert!(!report.verdict.passed);

    let report = profile(
        &pets(),
        &ruleset_of(r#"{"rule": "no_pii", "kinds": ["card", "iban"], "severity": "error"}"#),
    );
    let r = one(&report, "no_pii");
    assert!(r.passed && r.value == 0.0, "{r:?}");
    assert!(
        r.message.contains("no PII of kind card, iban found"),
        "{}",
        r.message
    );

    // The default rule is a warning.
    let plain = profile_with("data.csv", &pets(), options(None));
    let pii = one(&plain, "pii");
    assert!(
        !pii.passed && pii.severity == "warning" && pii.source == "default",
        "{pii:?}"
    );
    let clean = profile_with("data.csv", "a,b\n1,x\n2,y\n", options(None));
    assert!(one(&clean, "pii").passed);
}

#[test]
fn allowed_values_counts_every_value_exactly() {
    let report = profile(
        &pets(),
        &ruleset_of(
            r#"{"rule": "allowed_values", "column": "label", "values": ["cat", "dog"], "severity": "error"}"#,
        ),
    );
    let r = one(&report, "allowed_values");
    assert!(!r.passed);
    assert_eq!(r.value, 1.0);
    assert_eq!(r.column.as_deref(), Some("label"));
    assert!(r.message.contains("1 of 20 non-missing values of \"label\" are not allowed (5.00%): \"bird\" x1 (first on line 9)"), "{}", r.message);

    // More distinct values than the profile lists: counts come from the table.
    let mut data = String::from("n\n");
    for i in 0..5000 {
        data.push_str(&format!("{}\n", i % 1000));
    }
    let allowed: Vec<String> = (0..700).map(|i| i.to_string()).collect();
    let rule = format!(
        r#"{{"rule": "allowed_values", "column": "n", "values": {}, "severity": "warning"}}"#,
        serde_json::to_string(&allowed).unwrap()
    );
    let report = profile(&data, &ruleset_of(&rule));
    let r = one(&report, "allowed_values");
    assert!(
        report.columns[0].top_values.len() < 300,
        "the profile does not list every value"
    );
    assert_eq!(r.value, 1500.0, "300 values x 5 rows: {}", r.message);
    assert!(
        r.message.contains("; 295 more distinct values not allowed"),
        "{}",
        r.message
    );

    // Numbers in the list match the values as written; missing values are not checked.
    let report = profile(
        &pets(),
        &ruleset_of(
            r#"{"rule": "allowed_values", "column": "age", "values": [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39], "severity": "error"}"#,
        ),
    );
    let r = one(&report, "allowed_values");
    assert!(r.passed, "{r:?}");
    assert!(
        r.message
            .starts_with("all 18 non-missing values of \"age\" are allowed"),
        "{}",
        r.message
    );

    // A column holding personal data: its values are counted, not quoted.
    let report = profile(
        &pets(),
        &ruleset_of(
            r#"{"rule": "allowed_values", "column": "contact", "values": ["x"], "severity": "error"}"#,
        ),
    );
    let r = one(&report, "allowed_values");
    assert_eq!(r.value, 3.0);
    assert!(!r.message.contains("example.com") && !r.message.contains("person0"), "{}", r.message);
    assert!(r.message.contains("value #1 x1 (first on line 2)"), "{}", r.message);
    assert!(r.message.ends_with("(values not quoted: the column holds personal data)"), "{}", r.message);

    let report = profile(
        &pets(),
        &ruleset_of(
            r#"{"rule": "allowed_values", "column": "Label", "values": ["cat"], "severity": "error"}"#,
        ),
    );
    assert!(one(&report, "allowed_values")
        .message
        .starts_with("column \"Label\" is not in the file"));
}

#[test]
fn defaults_false_keeps_only_the_file_rules_and_outcomes_say_where_they_came_from() {
    let report = profile(
        &pets(),
        r#"{"defaults": false, "rules": [{"rule": "row_count", "min": 1, "severity": "error"}]}"#,
    );
    let names: Vec<&str> = report
        .verdict
        .rules
        .iter()
        .map(|r| r.rule.as_str())
        .collect();
    assert_eq!(names, ["row_count"]);
    assert_eq!(report.verdict.rules[0].source, "rules file");

    let report = profile(
        &pets(),
        &ruleset_of(
            r#"{"rule": "max_missing_share", "column": "age", "max": 0.5, "severity": "error"}"#,
        ),
    );
    // A rule on one column does not replace the default rule on all cells.
    assert_eq!(one(&report, "missing_share").source, "default");
    for name in [
        "has_rows",
        "unusable_rows",
        "duplicate_share",
        "missing_share",
        "pii",
    ] {
        assert_eq!(one(&report, name).source, "default", "{name}");
    }
    // row_count replaces has_rows.
    let report = profile(
        &pets(),
        &ruleset_of(r#"{"rule": "row_count", "max": 5, "severity": "warning"}"#),
    );
    assert!(outcomes(&report, "has_rows").is_empty());
    assert!(!one(&report, "row_count").passed);
    assert!(report.verdict.passed, "only a warning failed");
    assert_eq!(
        report
            .verdict
            .warnings
            .iter()
            .filter(|w| w.starts_with("row_count: "))
            .count(),
        1
    );

    // The report's JSON carries the new fields, and old reports without them still read.
    let json = serde_json::to_value(&report.verdict.rules[0]).unwrap();
    assert_eq!(json["source"], "default");
    let old: RuleOutcome = serde_json::from_value(serde_json::json!({
        "rule": "has_rows", "severity": "error", "value": 1.0, "limit": 1.0, "passed": true, "message": "1 data rows"
    }))
    .unwrap();
    assert_eq!((old.column, old.source.as_str()), (None, "default"));
}

#[test]
fn without_a_rules_file_the_default_rules_apply() {
    let report = profile_with(
        "penguins.csv",
        &std::fs::read_to_string(root("tests/fixtures/penguins.csv")).unwrap(),
        options(None),
    );
    let names: Vec<&str> = report
        .verdict
        .rules
        .iter()
        .map(|r| r.rule.as_str())
        .collect();
    for name in [
        "has_rows",
        "unusable_rows",
        "duplicate_share",
        "minority_classes",
        "outlier_share",
        "missing_share",
        "pii",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(report.verdict.rules.iter().all(|r| r.source == "default"));
    // The README's table lists every default rule.
    let readme = std::fs::read_to_string(root("README.md")).unwrap();
    let section = readme
        .split("\n## Rules")
        .nth(1)
        .expect("README has a ## Rules section");
    let section = section.split("\n## ").next().unwrap();
    for name in [
        "has_rows",
        "unusable_rows",
        "damaged_rows",
        "duplicate_share",
        "minority_classes",
        "conflicting_labels",
        "text_duplicate_share",
        "outlier_share",
        "missing_share",
        "pii",
    ] {
        assert!(
            section.contains(&format!("| `{name}` |")),
            "README ## Rules lists {name}"
        );
    }
    for kind in RULE_KINDS {
        assert!(
            section.contains(&format!("| `{kind}` |")),
            "README ## Rules describes {kind}"
        );
    }
    // The example shown is the example file, byte for byte.
    let example = std::fs::read_to_string(root("www/samples/rules.example.json")).unwrap();
    assert!(
        section.contains(&format!("```json\n{}\n```", example.trim_end())),
        "README shows www/samples/rules.example.json"
    );
}

#[test]
fn max_drift_is_not_evaluated_on_one_file() {
    let report = profile(
        &pets(),
        &ruleset_of(r#"{"rule": "max_drift", "max": 0.1, "severity": "error"}"#),
    );
    let r = one(&report, "max_drift");
    assert!(r.passed);
    assert!(
        r.message
            .starts_with("not evaluated: max_drift compares two files"),
        "{}",
        r.message
    );
}

fn penguin_rows() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(root("tests/fixtures/penguins.csv")).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.filter(|l| !l.is_empty()).collect())
}

/// The penguins in a seeded random order (xorshift Fisher-Yates, as
/// tests/compare.rs), halved: the first half the reference, the second the
/// candidate with body_mass_g (column 5) shifted by `shift` grams.
fn penguin_halves(shift: f64) -> (String, String) {
    let (header, mut rows) = penguin_rows();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..rows.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        rows.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let half = rows.len() / 2;
    let mut reference = format!("{header}\n");
    let mut candidate = format!("{header}\n");
    for (i, row) in rows.iter().enumerate() {
        if i < half {
            reference.push_str(&format!("{row}\n"));
        } else {
            let mut fields: Vec<String> = row.split(',').map(str::to_string).collect();
            if let Ok(v) = fields[5].parse::<f64>() {
                fields[5] = format!("{}", v + shift);
            }
            candidate.push_str(&format!("{}\n", fields.join(",")));
        }
    }
    (reference, candidate)
}

fn compare_with(reference: &str, candidate: &str, rule_set: Option<RuleSet>) -> CompareReport {
    let mut r = Profiler::new("reference.csv", options(rule_set.clone()));
    r.push(reference.as_bytes()).unwrap();
    let mut c = Profiler::new("candidate.csv", options(rule_set));
    c.push(candidate.as_bytes()).unwrap();
    pollster::block_on(preflight::compare(
        &mut r,
        &mut c,
        &CompareThresholds::default(),
        &mut |_, _| {},
    ))
    .unwrap()
    .report
}

#[test]
fn max_drift_in_compare_per_column_and_on_any_column() {
    let (reference, candidate) = penguin_halves(800.0);
    let plain = compare_with(&reference, &candidate, None);
    let body = plain
        .comparison
        .drift
        .iter()
        .find(|d| d.column == "body_mass_g")
        .unwrap();
    let ks = body.ks.unwrap();
    assert!(body.flagged && ks > 0.3, "{body:?}");
    let column_drift = plain
        .verdict
        .rules
        .iter()
        .find(|r| r.rule == "column_drift")
        .unwrap();
    assert!(!column_drift.passed);

    // A per-column rule with a generous limit: held, and the column is left
    // out of the default column_drift rule.
    let set = rules(
        r#"{"rules": [{"rule": "max_drift", "column": "body_mass_g", "max": 0.9, "severity": "error"},
                      {"rule": "max_drift", "column": "species", "max": 0.5, "severity": "error"},
                      {"rule": "max_drift", "column": "wingspan", "max": 0.5, "severity": "warning"}]}"#,
    );
    let report = compare_with(&reference, &candidate, Some(set));
    let drift: Vec<&RuleOutcome> = report
        .verdict
        .rules
        .iter()
        .filter(|r| r.rule == "max_drift")
        .collect();
    assert_eq!(drift.len(), 3, "{:#?}", report.verdict.rules);
    assert!(
        drift[0].passed && (drift[0].value - ks).abs() < 1e-12,
        "{:?}",
        drift[0]
    );
    assert!(
        drift[0]
            .message
            .contains("\"body_mass_g\" (numeric column): KS"),
        "{}",
        drift[0].message
    );
    assert!(
        drift[1].passed && drift[1].message.contains("(categorical column): JS"),
        "{}",
        drift[1].message
    );
    assert!(
        !drift[2].passed
            && drift[2]
                .message
                .contains("column \"wingspan\" is in neither file"),
        "{}",
        drift[2].message
    );
    let column_drift = report
        .verdict
        .rules
        .iter()
        .find(|r| r.rule == "column_drift")
        .unwrap();
    assert!(column_drift.passed, "{column_drift:?}");
    assert!(
        column_drift
            .message
            .contains("left to their own max_drift rule"),
        "{}",
        column_drift.message
    );
    // The files' own max_drift outcomes ("not evaluated") are not copied in.
    assert!(!report
        .verdict
        .rules
        .iter()
        .any(|r| r.rule.ends_with(".max_drift")));
    assert!(report.verdict.passed, "{:?}", report.verdict.failures);

    // Any column: replaces column_drift; fails on the shifted column.
    let set = rules(r#"{"rules": [{"rule": "max_drift", "max": 0.3, "severity": "error"}]}"#);
    let report = compare_with(&reference, &candidate, Some(set));
    assert!(!report
        .verdict
        .rules
        .iter()
        .any(|r| r.rule == "column_drift"));
    let r = report
        .verdict
        .rules
        .iter()
        .find(|r| r.rule == "max_drift")
        .unwrap();
    assert!(!r.passed && (r.value - ks).abs() < 1e-12, "{r:?}");
    assert!(
        r.message
            .contains("drifted beyond 0.3: \"body_mass_g\" (KS"),
        "{}",
        r.message
    );
    assert!(!report.verdict.passed);

    // Unshifted halves hold the same rule.
    let (reference, candidate) = penguin_halves(0.0);
    let set = rules(r#"{"rules": [{"rule": "max_drift", "max": 0.3, "severity": "error"}]}"#);
    let report = compare_with(&reference, &candidate, Some(set));
    let r = report
        .verdict
        .rules
        .iter()
        .find(|r| r.rule == "max_drift")
        .unwrap();
    assert!(r.passed, "{r:?}");
}

#[test]
fn file_rules_of_each_file_count_in_compare() {
    let (reference, candidate) = penguin_halves(0.0);
    let set = rules(r#"{"rules": [{"rule": "row_count", "min": 173, "severity": "error"}]}"#);
    let report = compare_with(&reference, &candidate, Some(set));
    // 172 rows each: both files fail their own rule, prefixed by the file.
    let failed: Vec<&str> = report
        .verdict
        .rules
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.rule.as_str())
        .collect();
    assert!(
        failed.contains(&"reference.row_count") && failed.contains(&"candidate.row_count"),
        "{failed:?}"
    );
    assert!(!report.verdict.passed);
}

// ------------------------------------------------------------- the schema

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root("www/rules.schema.json")).unwrap()).unwrap()
}

/// A validator for the JSON Schema keywords `www/rules.schema.json` uses
/// (draft 2020-12): enough to check the schema and the parser agree.
fn validate(schema: &Value, root: &Value, value: &Value) -> Result<(), String> {
    let object = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return Err(format!("{value} is not allowed")),
        Value::Object(o) => o,
        other => panic!("not a schema: {other}"),
    };
    for (keyword, arg) in object {
        match keyword.as_str() {
            "$schema" | "title" | "description" | "default" | "$defs" => {}
            "$ref" => {
                let path = arg
                    .as_str()
                    .unwrap()
                    .strip_prefix("#/")
                    .expect("local refs only");
                let target = path.split('/').fold(root, |node, key| &node[key]);
                assert!(!target.is_null(), "dangling $ref {path}");
                validate(target, root, value)?;
            }
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().map(|t| t.as_str().unwrap()).collect(),
                    _ => panic!("bad type"),
                };
                let ok = types.iter().any(|t| match *t {
                    "object" => value.is_object(),
                    "array" => value.is_array(),
                    "string" => value.is_string(),
                    "boolean" => value.is_boolean(),
                    "number" => value.is_number(),
                    "integer" => value.as_f64().is_some_and(|v| v.fract() == 0.0),
                    "null" => value.is_null(),
                    other => panic!("type {other}"),
                });
                if !ok {
                    return Err(format!("{value} is not of type {types:?}"));
                }
            }
            "enum" => {
                if !arg.as_array().unwrap().contains(value) {
                    return Err(format!("{value} is not one of {arg}"));
                }
            }
            "const" => {
                if arg != value {
                    return Err(format!("{value} is not {arg}"));
                }
            }
            "minimum" => {
                if value.as_f64().is_some_and(|v| v < arg.as_f64().unwrap()) {
                    return Err(format!("{value} is below {arg}"));
                }
            }
            "maximum" => {
                if value.as_f64().is_some_and(|v| v > arg.as_f64().unwrap()) {
                    return Err(format!("{value} is above {arg}"));
                }
            }
            "minLength" => {
                if value
                    .as_str()
                    .is_some_and(|s| (s.chars().count() as u64) < arg.as_u64().unwrap())
                {
                    return Err(format!("{value} is too short"));
                }
            }
            "minItems" => {
                if value
                    .as_array()
                    .is_some_and(|a| (a.len() as u64) < arg.as_u64().unwrap())
                {
                    return Err(format!("{value} has too few items"));
                }
            }
            "minProperties" => {
                if value
                    .as_object()
                    .is_some_and(|o| (o.len() as u64) < arg.as_u64().unwrap())
                {
                    return Err(format!("{value} has too few properties"));
                }
            }
            "items" => {
                for item in value.as_array().into_iter().flatten() {
                    validate(arg, root, item)?;
                }
            }
            "required" => {
                if let Some(o) = value.as_object() {
                    for key in arg.as_array().unwrap() {
                        if !o.contains_key(key.as_str().unwrap()) {
                            return Err(format!("{key} is required"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(o) = value.as_object() {
                    for (key, sub) in arg.as_object().unwrap() {
                        if let Some(v) = o.get(key) {
                            validate(sub, root, v)?;
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(o) = value.as_object() {
                    let declared = object.get("properties").and_then(Value::as_object);
                    for (key, v) in o {
                        if !declared.is_some_and(|d| d.contains_key(key)) {
                            validate(arg, root, v).map_err(|e| format!("property {key:?}: {e}"))?;
                        }
                    }
                }
            }
            "allOf" => {
                for sub in arg.as_array().unwrap() {
                    validate(sub, root, value)?;
                }
            }
            "anyOf" => {
                if !arg
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|sub| validate(sub, root, value).is_ok())
                {
                    return Err(format!("{value} matches none of anyOf"));
                }
            }
            "if" => {
                if validate(arg, root, value).is_ok() {
                    if let Some(then) = object.get("then") {
                        validate(then, root, value)?;
                    }
                }
            }
            "then" => {}
            other => panic!("the test validator does not know the keyword {other:?}: teach it"),
        }
    }
    Ok(())
}

fn schema_accepts(value: &Value) -> Result<(), String> {
    let s = schema();
    validate(&s, &s, value)
}

#[test]
fn the_schema_names_the_same_rules_types_and_kinds_as_the_parser() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        strings(&s["$defs"]["rule"]["properties"]["rule"]["enum"]),
        RULE_KINDS
    );
    assert_eq!(strings(&s["$defs"]["type"]["enum"]), TYPE_NAMES);
    assert_eq!(strings(&s["$defs"]["pii_kind"]["enum"]), PII_KINDS);
    assert_eq!(
        strings(&s["$defs"]["severity"]["enum"]),
        ["error", "warning"]
    );
    // Every kind has its own definition, chosen by an if/then on the rule name.
    let branches = s["$defs"]["rule"]["allOf"].as_array().unwrap();
    assert_eq!(branches.len(), RULE_KINDS.len());
    for (kind, branch) in RULE_KINDS.iter().zip(branches) {
        assert_eq!(branch["if"]["properties"]["rule"]["const"], *kind);
        assert_eq!(branch["then"]["$ref"], format!("#/$defs/{kind}"));
        assert!(s["$defs"][kind].is_object(), "$defs.{kind}");
    }
}

/// One minimal valid rule of each kind.
fn minimal_rules() -> Vec<Value> {
    use serde_json::json;
    vec![
        json!({"rule": "required_columns", "columns": {"a": "any"}, "severity": "error"}),
        json!({"rule": "row_count", "max": 3, "severity": "warning"}),
        json!({"rule": "max_missing_share", "max": 0, "severity": "error"}),
        json!({"rule": "max_duplicate_share", "max": 1, "severity": "error"}),
        json!({"rule": "min_class_share", "min": 0.5, "severity": "error"}),
        json!({"rule": "no_pii", "severity": "error"}),
        json!({"rule": "allowed_values", "column": "a", "values": ["x", 1, true], "severity": "error"}),
        json!({"rule": "max_drift", "column": "a", "max": 0.2, "severity": "warning"}),
    ]
}

#[test]
fn the_schema_and_the_parser_accept_and_refuse_the_same_files() {
    let example_text = std::fs::read_to_string(root("www/samples/rules.example.json")).unwrap();
    let example: Value = serde_json::from_str(&example_text).unwrap();
    schema_accepts(&example).unwrap();
    let parsed = RuleSet::from_json(&example_text, "rules.example.json").unwrap();
    let kinds: Vec<&str> = parsed.rules.iter().map(|r| r.check.kind()).collect();
    for kind in RULE_KINDS {
        assert!(kinds.contains(&kind), "the example shows {kind}");
    }

    let mut good: Vec<Value> = minimal_rules()
        .into_iter()
        .map(|r| serde_json::json!({"rules": [r]}))
        .collect();
    good.push(serde_json::json!({"rules": [], "defaults": false, "description": "x", "$schema": "rules.schema.json"}));
    for doc in &good {
        schema_accepts(doc).unwrap_or_else(|e| panic!("schema refuses {doc}: {e}"));
        RuleSet::from_value(doc, "good.json")
            .unwrap_or_else(|e| panic!("parser refuses {doc}: {e}"));
    }

    // Each minimal rule broken in the ways a user might: an unknown field,
    // no severity, another severity, and the kind's own field broken.
    let mut bad: Vec<Value> = vec![
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!({"rules": {}}),
        serde_json::json!({"rules": [], "defaults": 1}),
        serde_json::json!({"rules": [], "extra": 1}),
        serde_json::json!({"rules": [{"rule": "max_nulls", "max": 0.1, "severity": "error"}]}),
        serde_json::json!({"rules": [{"max": 0.1, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "required_columns", "columns": {}, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "required_columns", "columns": {"a": "int"}, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "row_count", "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "row_count", "min": -1, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "row_count", "min": 2.5, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "max_missing_share", "max": 1.5, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "max_missing_share", "column": "", "max": 0.5, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "max_missing_share", "column": 3, "max": 0.5, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "max_duplicate_share", "max": "0.1", "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "min_class_share", "max": 0.1, "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "no_pii", "kinds": [], "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "no_pii", "kinds": ["mail"], "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "allowed_values", "column": "a", "values": [null], "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "allowed_values", "values": ["a"], "severity": "error"}]}),
        serde_json::json!({"rules": [{"rule": "max_drift", "severity": "error"}]}),
    ];
    for rule in minimal_rules() {
        let mut extra = rule.clone();
        extra["colour"] = Value::from("red");
        let mut no_severity = rule.clone();
        no_severity.as_object_mut().unwrap().remove("severity");
        let mut fatal = rule.clone();
        fatal["severity"] = Value::from("fatal");
        for broken in [extra, no_severity, fatal] {
            bad.push(serde_json::json!({"rules": [broken]}));
        }
    }
    for doc in &bad {
        assert!(schema_accepts(doc).is_err(), "the schema accepts {doc}");
        assert!(
            RuleSet::from_value(doc, "bad.json").is_err(),
            "the parser accepts {doc}"
        );
    }
}

// ---------------------------------------------------------------- the CLI

/// Writes `text` to a temporary file `name`; its path.
fn temp(name: &str, text: &str) -> String {
    let path = common::temp("rules", name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs the command line with `args`: its exit status, stdout and stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_exit_statuses_with_rules() {
    let penguins = root("tests/fixtures/penguins.csv");
    // The README's example passes on the sample.
    let (code, stdout, stderr) = run(&[
        "profile",
        &penguins,
        "--backend",
        "cpu",
        "-q",
        "--rules",
        &root("www/samples/rules.example.json"),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("verdict: passed"), "{stdout}");

    // An error-level rule fails: exit 1, and the summary names every failed rule.
    let failing = temp(
        "failing.json",
        r#"{"rules": [{"rule": "allowed_values", "column": "island", "values": ["Biscoe", "Dream"], "severity": "error"},
                      {"rule": "max_missing_share", "column": "sex", "max": 0.01, "severity": "warning"},
                      {"rule": "required_columns", "columns": {"wingspan": "number"}, "severity": "error"}]}"#,
    );
    let json = temp("failing-report.json", "");
    let (code, stdout, _) = run(&[
        "profile", &penguins, "--backend", "cpu", "-q", "--rules", &failing, "--json", &json,
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("verdict: FAILED"), "{stdout}");
    assert!(
        stdout.contains(
            "  error: allowed_values: 52 of 344 non-missing values of \"island\" are not allowed"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"Torgersen\" x52 (first on line 2)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  error: required_columns: 1 of 1 required columns fail: \"wingspan\" is missing"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("  warning: max_missing_share: 11 of 344 values of \"sex\" are missing"),
        "{stdout}"
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rules = report["verdict"]["rules"].as_array().unwrap();
    let island = rules
        .iter()
        .find(|r| r["rule"] == "allowed_values")
        .unwrap();
    assert_eq!(island["value"], 52.0);
    assert_eq!(island["column"], "island");
    assert_eq!(island["source"], "rules file");

    // A warning alone: exit 0.
    let warning = temp(
        "warning.json",
        r#"{"rules": [{"rule": "row_count", "min": 1000, "severity": "warning"}]}"#,
    );
    let (code, stdout, _) = run(&["profile", &penguins, "--backend", "cpu", "-q", "--rules", &warning]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("  warning: row_count: 344 data rows, too few (allowed: at least 1000)"));

    // Invalid or unreadable rules files: exit 2, the message names the file, the rule and the field; no report.
    let invalid = temp(
        "invalid.json",
        r#"{"rules": [{"rule": "row_count", "min": 1, "severity": "error"}, {"rule": "max_drift", "max": 2, "severity": "error"}]}"#,
    );
    let (code, stdout, stderr) = run(&["profile", &penguins, "-q", "--rules", &invalid]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{invalid}: rules[1] (max_drift): field \"max\": must be a share from 0 to 1, not 2"
        )),
        "{stderr}"
    );
    assert!(stdout.is_empty());
    let broken = temp(
        "broken.json",
        "{\"rules\": [\n  {\"rule\": \"row_count\",}\n]}",
    );
    let (code, _, stderr) = run(&["profile", &penguins, "-q", "--rules", &broken]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{broken}: line 2, column 24: not valid JSON")),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["profile", &penguins, "-q", "--rules", "/nonexistent/rules.json"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/rules.json: cannot read the rules file"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["profile", &penguins, "-q", "--rules"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--rules needs a value"));
}

#[test]
fn cli_compare_with_rules() {
    let (reference, candidate) = penguin_halves(800.0);
    let (r, c) = (temp("ref.csv", &reference), temp("cand.csv", &candidate));
    let strict = temp(
        "drift.json",
        r#"{"rules": [{"rule": "max_drift", "column": "body_mass_g", "max": 0.2, "severity": "error"}]}"#,
    );
    let (code, stdout, _) = run(&["compare", &r, &c, "--backend", "cpu", "-q", "--rules", &strict]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("  error: max_drift: \"body_mass_g\" (numeric column): KS"),
        "{stdout}"
    );
    let loose = temp(
        "loose.json",
        r#"{"rules": [{"rule": "max_drift", "max": 0.95, "severity": "error"}]}"#,
    );
    let (code, stdout, _) = run(&["compare", &r, &c, "--backend", "cpu", "-q", "--rules", &loose]);
    assert_eq!(code, Some(0), "{stdout}");
    let bad = temp(
        "bad-compare.json",
        r#"{"rules": [{"rule": "max_drift", "colum": "x", "max": 0.1, "severity": "error"}]}"#,
    );
    let (code, _, stderr) = run(&["compare", &r, &c, "-q", "--rules", &bad]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("rules[0] (max_drift): field \"colum\": unknown field"));
}

/// An unclosed quote skips one record but every line after it: it fails
/// `unusable_rows` by the lines lost, not the records. A stray quote that
/// closes further down joins lines into one value: `damaged_rows` warns.
#[test]
fn unusable_rows_counts_the_lines_a_quote_swallowed() {
    let mut clean = String::from("id,name,score\n");
    for i in 0..200 {
        clean.push_str(&format!("{i},p{i},{}\n", i % 7));
    }
    let options = || options(None);
    let report = profile_with("clean.csv", &clean, options());
    assert!(one(&report, "unusable_rows").passed);

    // Line 102 (row 100) opens a quote that never closes: 1 of 101 records
    // is skipped (0.99%, under the limit), but 100 of 200 lines are lost.
    let unclosed = clean.replacen("100,p100", "100,\"p100", 1);
    let report = profile_with("unclosed.csv", &unclosed, options());
    assert_eq!((report.ingest.rows_skipped, report.ingest.lines_skipped), (1, 100));
    let rule = one(&report, "unusable_rows");
    assert!(!rule.passed, "{rule:?}");
    assert!(rule.message.contains("they span 100 of about 200 lines"), "{}", rule.message);

    // A quote opened on line 52 and closed on line 152: the record is kept,
    // 99 whole lines inside it look like rows.
    let stray = clean.replacen("50,p50", "50,\"p50", 1).replacen("150,p150", "150,p150\"", 1);
    let report = profile_with("stray.csv", &stray, options());
    assert_eq!((report.ingest.rows_skipped, report.ingest.lines_joined), (0, 99));
    assert_eq!(report.source.rows, 100);
    assert!(one(&report, "unusable_rows").passed, "kept, not skipped: an error only for lines surely lost");
    let rule = one(&report, "damaged_rows");
    assert!(!rule.passed && rule.message.contains("99 lines that look like rows"), "{}", rule.message);
    assert!(report.ingest.issues.iter().any(|i| i.kind == "quoted_lines" && i.line == 52 && i.row == Some(50) && i.column == Some(2)));
}

/// Rows kept but damaged (padded, or with bytes that are not UTF-8) warn
/// past 1%: a file with binary bytes after its data passed before.
#[test]
fn damaged_rows_warn_past_one_percent() {
    let mut csv = String::from("id,name,score\n");
    for i in 0..200 {
        csv.push_str(&format!("{i},p{i},{}\n", i % 7));
    }
    let report = profile_with("clean.csv", &csv, options(None));
    assert!(one(&report, "damaged_rows").passed);
    csv.push_str("200,short\n201,also short\n202,late\n");
    let report = profile_with("short.csv", &csv, options(None));
    let rule = one(&report, "damaged_rows");
    assert!(!rule.passed && rule.severity == "warning", "{rule:?}");
    assert!(rule.message.starts_with("3 rows padded with missing values and 0 with bytes that are not UTF-8, of 203 rows"), "{}", rule.message);
    assert!(report.verdict.passed, "a warning");
}
