//! The PII scan end to end: a file with planted personal data of every kind,
//! in dedicated columns, inside free text and in duplicated rows. The report
//! counts each kind per column, and nothing that leaves the machine (the
//! JSON report, the comparison report, the CLI summary) holds a planted
//! value unmasked.

use preflight::report::{CompareThresholds, Report};
use preflight::{Backend, Options, Profiler};

mod common;

/// Base rows; two more are copies (one exact, one with its label flipped).
const ROWS: usize = 60;

/// The check digit that makes `digits` + it pass Luhn.
fn luhn_complete(digits: &str) -> String {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let v = u32::from(c - b'0') * if i % 2 == 0 { 2 } else { 1 };
            if v > 9 {
                v - 9
            } else {
                v
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// A valid GB IBAN for bank code WEST and account `account` (14 digits).
fn gb_iban(account: &str) -> String {
    let rearranged = format!("WEST{account}GB00");
    let remainder = rearranged.bytes().fold(0u64, |r, c| match c {
        b'0'..=b'9' => (r * 10 + u64::from(c - b'0')) % 97,
        _ => (r * 100 + u64::from(c - b'A') + 10) % 97,
    });
    format!("GB{:02}WEST{account}", 98 - remainder)
}

/// One planted row's personal values.
struct Planted {
    name: String,
    email: String,
    phone: String,
    card: String,
    card_digits: String,
    iban: String,
    ssn: String,
    ip: String,
    ipv6: String,
}

fn planted(i: usize) -> Planted {
    const FIRST: [&str; 6] = ["Alice", "Bruno", "Chiara", "Dmitri", "Esther", "Farid"];
    const LAST: [&str; 5] = ["Quackenbush", "Villanueva", "Okonkwo", "Lindqvist", "Papadopoulos"];
    let card_digits = luhn_complete(&format!("411111111111{i:03}"));
    let card = if i.is_multiple_of(2) {
        card_digits.clone()
    } else {
        card_digits.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
    };
    Planted {
        name: format!("{} {}", FIRST[i % 6], LAST[i % 5]),
        email: format!("user{i}.qx@example{}.com", i % 3),
        phone: format!("+44 20 7946 0{i:03}"),
        card,
        card_digits,
        iban: gb_iban(&format!("{:014}", 60_161_331_926_819u64 + i as u64)),
        ssn: format!("123-45-{:04}", 6000 + i),
        ip: format!("192.168.{i}.{}", i + 1),
        ipv6: format!("2001:db8::{i:x}:1"),
    }
}

/// The file: personal data in dedicated columns and inside a free-text
/// note (the kinds the value detectors find: a person's name in free text
/// is not one of them), decoys that are not personal (order ids failing Luhn mostly, dates,
/// versions, product names), row 60 a copy of row 5 and row 61 a copy of
/// row 7 with the other label.
fn planted_csv() -> String {
    let mut out = String::from(
        "id,full_name,email,phone,card,iban,ssn,ip,ipv6,note,order_id,joined,version,product_name,amount,label\n",
    );
    let row = |i: usize, label: &str| {
        let p = planted(i);
        format!(
            "{i},{},{},{},{},{},{},{},{},\"Customer {i} wrote from {} about order {i}, asking us to call back on {} before the \
             delivery window closes; notes mention a {} parcel\",{},2023-01-{:02},1.2.3.{},widget-{},{}.{:02},{label}\n",
            p.name,
            p.email,
            p.phone,
            p.card,
            p.iban,
            p.ssn,
            p.ip,
            p.ipv6,
            p.email,
            p.phone,
            ["small", "large", "fragile", "heavy", "round", "flat", "tall"][i % 7],
            4_000_000_000_000_000u64 + 7_919 * i as u64,
            1 + i % 28,
            1 + i % 3,
            i % 4,
            10 + i * 7 % 90,
            i * 13 % 100,
        )
    };
    for i in 0..ROWS {
        out.push_str(&row(i, if i.is_multiple_of(2) { "a" } else { "b" }));
    }
    out.push_str(&row(5, "b"));
    out.push_str(&row(7, "a"));
    out
}

fn options() -> Options {
    Options { backend: Backend::Cpu, ..Options::default() }
}

fn analyse(name: &str, csv: &str) -> preflight::Analysis {
    let mut profiler = Profiler::new(name, options());
    profiler.push(csv.as_bytes()).unwrap();
    pollster::block_on(profiler.finish(&mut |_, _| {})).unwrap()
}

/// Every planted value, as written in the file (and cards as bare digits).
fn raw_values() -> Vec<String> {
    (0..ROWS)
        .flat_map(|i| {
            let p = planted(i);
            [p.name, p.email, p.phone, p.card, p.card_digits, p.iban, p.ssn, p.ip, p.ipv6]
        })
        .collect()
}

fn assert_no_raw_value(what: &str, text: &str) {
    for raw in raw_values() {
        assert!(!text.contains(&raw), "{what} holds the planted value {raw:?}");
    }
}

fn finding<'a>(report: &'a Report, column: &str, kind: &str) -> Option<&'a preflight::report::PiiFinding> {
    report.pii.columns.iter().find(|f| f.column == column && f.kind == kind)
}

#[test]
fn planted_values_are_counted_per_column_and_kind() {
    let analysis = analyse("planted.csv", &planted_csv());
    let r = &analysis.report;
    let total = ROWS as u64 + 2;
    assert_eq!(r.source.rows, total);
    for (column, kind) in [
        ("email", "email"),
        ("phone", "phone"),
        ("card", "card"),
        ("iban", "iban"),
        ("ssn", "ssn"),
        ("ip", "ipv4"),
        ("ipv6", "ipv6"),
        ("note", "email"),
        ("note", "phone"),
    ] {
        let f = finding(r, column, kind).unwrap_or_else(|| panic!("no {kind} in {column}: {:?}", r.pii.columns));
        assert_eq!((f.count, f.rows), (total, total), "{column} {kind}");
        assert!((f.share - 1.0).abs() < 1e-12);
        assert!(!f.examples.is_empty() && f.examples.len() <= 3);
    }
    // One kind per column besides the note; nothing in the decoys.
    assert_eq!(r.pii.columns.len(), 9, "{:?}", r.pii.columns);
    assert_eq!(finding(r, "email", "email").unwrap().examples[0], "u***@e***.com");
    assert_eq!(finding(r, "card", "card").unwrap().examples[0], "**** **** **** 0006");
    assert_eq!(r.pii.kinds["email"], 2 * total);
    assert_eq!(r.pii.kinds["phone"], 2 * total);
    assert_eq!(r.pii.kinds["card"], total);
    assert_eq!(r.pii.values_scanned, 16 * total);
    let hints: Vec<(&str, &str)> = r.pii.name_hints.iter().map(|h| (h.column.as_str(), h.kind.as_str())).collect();
    assert_eq!(
        hints,
        [
            ("full_name", "name"),
            ("email", "email"),
            ("phone", "phone"),
            ("iban", "iban"),
            ("ssn", "ssn"),
            ("ip", "ip_address"),
            ("ipv6", "ip_address")
        ]
    );
    assert!(r.compute.timings_ms.contains_key("pii"));

    // Per row: the kinds of every column together.
    let csv = analysis.rows.to_csv().unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",pii_kinds"));
    for line in lines {
        assert!(line.ends_with(",email;phone;card;iban;ssn;ipv4;ipv6"), "{line}");
    }
}

#[test]
fn report_quotes_no_planted_value() {
    let analysis = analyse("planted.csv", &planted_csv());
    let r = &analysis.report;
    let json = serde_json::to_string(r).unwrap();
    assert_no_raw_value("the JSON report", &json);

    // The sections that quote values still quote them, masked.
    let column = |name: &str| r.columns.iter().find(|c| c.name == name).unwrap();
    assert!(column("full_name").top_values.iter().all(|v| v.value.ends_with("***")));
    assert!(column("full_name").alerts.iter().any(|a| a.kind == "pii"));
    // A card column's numeric statistics would be card numbers: withheld.
    assert!(column("card").numeric.is_none());
    // Columns without personal data keep their values.
    assert!(column("product_name").top_values.iter().any(|v| v.value == "widget-0"));
    assert!(column("amount").numeric.is_some());
    let outliers = r.outliers.as_ref().unwrap();
    assert!(!outliers.top.is_empty());
    let email_at = r.columns.iter().position(|c| c.name == "email").unwrap();
    assert!(outliers.top.iter().all(|row| row.values[email_at].contains("***@")));
    let exact = &r.duplicates.exact;
    assert_eq!(exact.group_count, 1);
    let conflicts = r.conflicting_labels.as_ref().unwrap();
    assert_eq!(conflicts.group_count, 1);
    assert!(conflicts.groups[0].values[email_at].starts_with("u***@"));
    let texts: Vec<&str> = r
        .text_duplicates
        .iter()
        .filter(|t| t.column == "note")
        .flat_map(|t| t.exact.groups.iter().flat_map(|g| g.texts.iter().map(|t| t.text.as_str())))
        .collect();
    assert!(!texts.is_empty(), "the duplicated notes form a group");
    for text in texts {
        // Free text keeps its words; its personal data is masked.
        assert!(
            text.starts_with("Customer ") && text.contains("***@e***.com") && text.contains("+** ** **** **"),
            "{text}"
        );
    }
}

#[test]
fn comparison_quotes_no_planted_value() {
    let csv = planted_csv();
    let lines: Vec<&str> = csv.lines().collect();
    let (header, rows) = (lines[0], &lines[1..]);
    let part = |rows: &[&str]| format!("{header}\n{}\n", rows.join("\n"));
    let mut reference = Profiler::new("reference.csv", options());
    reference.push(part(&rows[..40]).as_bytes()).unwrap();
    let mut candidate = Profiler::new("candidate.csv", options());
    candidate.push(part(&rows[30..]).as_bytes()).unwrap();
    let compared = pollster::block_on(preflight::compare(
        &mut reference,
        &mut candidate,
        &CompareThresholds::default(),
        &mut |_, _| {},
    ))
    .unwrap();
    let leakage = &compared.report.comparison.leakage;
    assert!(leakage.exact_rows >= 10 && !leakage.pairs.is_empty(), "{leakage:?}");
    assert_no_raw_value("the comparison report", &serde_json::to_string(&compared.report).unwrap());
}

#[test]
fn command_line_summary_lists_findings_masked() {
    let temp = |name: &str| common::temp("pii", name);
    let (path, json, rows) = (temp("planted.csv"), temp("planted.json"), temp("rows.csv"));
    std::fs::write(&path, planted_csv()).unwrap();
    let out = common::bin()
        .arg("profile")
        .arg(&path)
        .args(["--backend", "cpu", "--json"])
        .arg(&json)
        .arg("--rows")
        .arg(&rows)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("email in \"email\": 62 values (100.0%), e.g. u***@e***.com"), "{stdout}");
    assert!(stdout.contains("phone in \"note\": 62 values"), "{stdout}");
    assert!(stdout.contains("column \"full_name\" is named like name data"), "{stdout}");
    assert_no_raw_value("the summary", &stdout);
    assert_no_raw_value("the JSON file", &std::fs::read_to_string(&json).unwrap());
    assert!(std::fs::read_to_string(&rows).unwrap().lines().nth(1).unwrap().ends_with("ipv4;ipv6"));
}

/// Scan throughput on about 50 MB of synthetic text (free text with some
/// personal data, ids, dates, amounts, categories): prints MB/s, asserts
/// nothing about time. Run optimised:
/// `cargo test --profile ci --test pii -- --ignored --nocapture`.
#[test]
#[ignore]
fn scan_throughput() {
    const WORDS: [&str; 16] = [
        "the",
        "parcel",
        "arrived",
        "late",
        "and",
        "customer",
        "asked",
        "for",
        "refund",
        "order",
        "version",
        "2.1.0",
        "on",
        "2023-04-05",
        "12.5",
        "kg",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut csv = String::from("id,note,amount,joined,city,contact\n");
    let mut i = 0u64;
    while csv.len() < 50 * 1024 * 1024 {
        let words = 12 + next() % 30;
        let mut note = String::new();
        for w in 0..words {
            if w > 0 {
                note.push(' ');
            }
            match next() % 200 {
                0 => note.push_str(&format!("mail{i}@example.com")),
                1 => note.push_str(&format!("+44 20 7946 {:04}", i % 10_000)),
                2 => note.push_str("4111 1111 1111 1111"),
                3 => note.push_str(&format!("10.0.{}.{}", i % 256, (i / 256) % 256)),
                _ => note.push_str(WORDS[(next() % WORDS.len() as u64) as usize]),
            }
        }
        let contact = if i.is_multiple_of(3) {
            format!("user{i}@example.org")
        } else {
            format!("+1 555 {:03} {:04}", i % 1000, i % 10_000)
        };
        csv.push_str(&format!(
            "{i},\"{note}\",{}.{:02},2023-{:02}-{:02},{},{contact}\n",
            next() % 10_000,
            next() % 100,
            1 + next() % 12,
            1 + next() % 28,
            ["Lisbon", "Oslo", "Lyon", "Porto"][(next() % 4) as usize]
        ));
        i += 1;
    }
    let mut ingestor = preflight::ingest::Ingestor::new("synthetic.csv");
    ingestor.push(csv.as_bytes()).unwrap();
    ingestor.finish().unwrap();
    let table = &ingestor.table;
    let bytes: usize = table.columns.iter().flat_map(|c| c.cells()).map(|cell| cell.text().len()).sum();
    let start = std::time::Instant::now();
    let scan = preflight::checks::pii::scan_table(table);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "scanned {} values, {:.1} MB of text in {:.3} s: {:.0} MB/s; kinds {:?}",
        scan.section.values_scanned,
        bytes as f64 / 1e6,
        seconds,
        bytes as f64 / 1e6 / seconds,
        scan.section.kinds
    );
    assert!(scan.section.kinds["email"] > 0 && scan.section.kinds["phone"] > 0);
}
