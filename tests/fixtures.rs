//! Every fixture through the library: the facts tests/fixtures/README.md
//! documents, and reports that do not depend on how the input was chunked.

use preflight::report::{ColumnType, Report};
use preflight::{Analysis, Backend, ErrorKind, Options, Profiler};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run_chunked(name: &str, bytes: &[u8], chunk: usize, options: Options) -> preflight::Result<Analysis> {
    let mut p = Profiler::new(name, options);
    for part in bytes.chunks(chunk.max(1)) {
        p.push(part)?;
    }
    pollster::block_on(p.finish(&mut |_, _| {}))
}

fn cpu() -> Options {
    Options { backend: Backend::Cpu, ..Options::default() }
}

fn analyse(name: &str) -> Analysis {
    let bytes = fixture(name);
    run_chunked(name, &bytes, bytes.len(), cpu()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn column<'a>(r: &'a Report, name: &str) -> &'a preflight::report::ColumnProfile {
    r.columns.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// The report without what legitimately varies between runs.
fn comparable(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v["compute"]["timings_ms"] = serde_json::Value::Null;
    v
}

#[test]
fn penguins_facts() {
    let r = analyse("penguins.csv").report;
    assert_eq!((r.source.rows, r.source.columns), (344, 8));
    let b = r.class_balance.as_ref().expect("species is detected as the label");
    assert_eq!(b.label_column, "species");
    assert_eq!((b.counts["Adelie"], b.counts["Gentoo"], b.counts["Chinstrap"]), (152, 124, 68));
    assert!((b.imbalance_ratio - 152.0 / 68.0).abs() < 1e-12);
    assert!(b.flagged_classes.is_empty());
    for c in ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"] {
        assert_eq!(column(&r, c).missing, 2, "{c}");
    }
    assert_eq!(column(&r, "sex").missing, 11);
    assert_eq!(column(&r, "year").distinct, 3);
    assert_eq!(column(&r, "bill_length_mm").column_type, ColumnType::Float);
    assert_eq!(column(&r, "island").column_type, ColumnType::Categorical);
    assert_eq!(r.duplicates.exact.group_count, 0);
    assert!(r.verdict.passed);
    let o = r.outliers.as_ref().unwrap();
    assert_eq!((o.k, o.rows_scored), (10, 344));
}

#[test]
fn cars_and_iris_facts() {
    let r = analyse("cars.jsonl").report;
    assert_eq!(r.source.format, "jsonl");
    assert_eq!(column(&r, "Miles_per_Gallon").missing, 8);
    assert_eq!(column(&r, "Horsepower").missing, 6);
    assert_eq!(column(&r, "Year").column_type, ColumnType::Datetime);
    assert_eq!(column(&r, "Name").distinct, 311);
    assert_eq!(r.duplicates.exact.group_count, 0);

    let r = analyse("iris.jsonl").report;
    let e = &r.duplicates.exact;
    assert_eq!((e.redundant_rows, e.group_count, e.rows_in_groups), (1, 1, 2));
    assert_eq!(e.groups[0].rows, vec![101, 142]);
    assert!((r.class_balance.as_ref().unwrap().normalized_entropy - 1.0).abs() < 1e-12);
}

#[test]
fn hand_made_fixtures_facts() {
    let r = analyse("small.csv").report;
    let types: Vec<ColumnType> = r.columns.iter().map(|c| c.column_type).collect();
    assert_eq!(types[2..6], [ColumnType::Float, ColumnType::Boolean, ColumnType::Datetime, ColumnType::Categorical]);
    assert_eq!(column(&r, "note").missing, 1);

    let a = analyse("dupes.csv");
    let e = &a.report.duplicates.exact;
    assert_eq!((e.redundant_rows, e.group_count, e.rows_in_groups), (3, 2, 5));
    assert_eq!(e.groups[0].rows, vec![0, 3, 7]);
    assert_eq!(e.groups[1].rows, vec![2, 5]);
    assert_eq!(a.rows.exact_group[7], Some(0));
    assert_eq!(a.rows.exact_group[5], Some(2));
    assert_eq!(a.rows.exact_group[4], None);

    for (name, delimiter) in [("semicolon.csv", ";"), ("tab.tsv", "\t"), ("pipe.txt", "|")] {
        let r = analyse(name).report;
        assert_eq!(r.source.delimiter.as_deref(), Some(delimiter), "{name}");
        assert_eq!((r.source.columns, r.source.rows), (4, 6), "{name}");
    }

    let a = analyse("quoted.csv");
    assert_eq!(a.rows.lines, vec![2, 3, 4, 5, 7, 8]);

    let r = analyse("crlf_bom.csv").report;
    assert_eq!(r.columns[0].name, "id");
    assert!(r.source.bom);
    assert_eq!(r.source.line_ending, "\r\n");
    assert!(r.columns.iter().all(|c| c.top_values.iter().all(|v| !v.value.contains('\r'))));

    let r = analyse("noheader.csv").report;
    assert_eq!((r.source.rows, r.source.header), (20, Some(false)));

    let r = analyse("sample.jsonl").report;
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "user.name", "user.age", "embedding", "label"]);
    assert_eq!(column(&r, "embedding").vector.as_ref().unwrap().dimension, 4);
    assert_eq!(r.embedding.as_ref().unwrap().features[0].encoding, "vector");
}

#[test]
fn bad_inputs_are_counted_with_lines() {
    let r = analyse("bad_json.jsonl").report;
    assert_eq!((r.ingest.rows_skipped, r.source.rows), (2, 3));
    let lines: Vec<(u64, &str)> = r.ingest.issues.iter().map(|i| (i.line, i.kind.as_str())).collect();
    assert_eq!(lines, [(3, "not_json"), (4, "not_object")]);
    assert!(!r.verdict.passed, "2 of 5 records unusable fails the unusable_rows rule");

    let r = analyse("ragged.csv").report;
    let lines: Vec<(u64, &str)> = r.ingest.issues.iter().map(|i| (i.line, i.kind.as_str())).collect();
    assert_eq!(lines, [(3, "ragged_short"), (4, "ragged_long")]);
    assert_eq!((r.ingest.rows_padded, r.ingest.rows_skipped), (1, 1));

    let r = analyse("unbalanced_quote.csv").report;
    assert_eq!(r.ingest.issues[0].kind, "unterminated_quote");
    assert_eq!(r.ingest.issues[0].line, 3);

    let r = analyse("invalid_utf8.csv").report;
    assert_eq!(r.ingest.rows_invalid_utf8, 1);
    assert_eq!((r.ingest.issues[0].line, r.ingest.issues[0].row), (3, Some(1)));

    for (name, kind) in [("empty.csv", ErrorKind::Empty), ("binary.bin", ErrorKind::Binary)] {
        let bytes = fixture(name);
        let err = run_chunked(name, &bytes, 1000, cpu()).unwrap_err();
        assert_eq!(*err.kind(), kind, "{name}: {err}");
    }
}

#[test]
fn planted_outliers_and_label_flips_are_found() {
    let a = analyse("labelled.csv");
    let planted_outliers = [9, 50, 213, 326, 406, 450, 460, 481, 514, 568];
    let flips = [35, 121, 156, 180, 208, 224, 235, 297, 365, 384, 399, 411, 417, 567, 584];
    let o = a.report.outliers.as_ref().unwrap();
    let mut top10: Vec<u64> = o.top[..10].iter().map(|t| t.row).collect();
    top10.sort();
    assert_eq!(top10, planted_outliers);
    for r in planted_outliers {
        assert_eq!(a.rows.is_outlier[r as usize], Some(true), "row {r}");
    }
    // Confident learning on kNN probabilities, as cleanlab Datalab does from
    // features. Datalab (2.9.0, same robust-scaled features) flags 12 of the
    // 15 flips (it misses 121, 208 and 365, whose neighbours agree 9 in 10
    // with the true class, under the class threshold) plus 3 other rows.
    // Hold preflight to at least that.
    let flagged: Vec<usize> = (0..a.rows.lines.len()).filter(|&r| a.rows.is_label_issue[r] == Some(true)).collect();
    let found = flips.iter().filter(|r| flagged.contains(r)).count();
    let extra = flagged.iter().filter(|r| !flips.contains(r)).count();
    assert!(found >= 12 && extra <= 3, "found {found} of 15 flips, {extra} other rows: {flagged:?}");
    let b = a.report.class_balance.as_ref().unwrap();
    assert_eq!(b.flagged_classes, vec!["d".to_string()]);
}

/// A value a thousand times too large is an outlier even where the cosine
/// metric sees only a direction: here a tenth of the rows are large in the
/// same column, so the planted row's neighbours point its way (mean
/// distance 0.01, under the fence) and only the extreme-value rule flags it.
#[test]
fn a_value_far_out_of_its_column_is_an_outlier() {
    let table = |planted: bool| {
        let mut csv = String::from("a,b,kind\n");
        for i in 0..400u64 {
            let mut a = (i * 37) % 101;
            if i % 10 == 0 {
                a = 400 + (i * 7) % 100;
            }
            if planted && i == 155 {
                a = (a + 200) * 200;
            }
            csv.push_str(&format!("{a},{},{}\n", (i * 53) % 97, ["x", "y", "z"][i as usize % 3]));
        }
        run_chunked("far.csv", csv.as_bytes(), csv.len(), cpu()).unwrap()
    };
    let a = table(true);
    let o = a.report.outliers.as_ref().unwrap();
    assert_eq!(o.metric, "cosine");
    assert_eq!(a.rows.is_outlier[155], Some(true));
    // The kNN distance alone is unremarkable; the score is the extreme
    // value's (0.5 at 20 IQRs, above it past).
    assert!(o.top.iter().find(|r| r.row == 155).is_some_and(|r| r.distance < o.distance_threshold));
    assert!(a.rows.outlier_score[155].unwrap() > 0.5);
    assert_eq!(o.extreme_rows, 1, "{:?}", o.extreme_values);
    let x = &o.extreme_values[0];
    assert_eq!((x.row, x.line, x.column.as_str(), x.value.as_str()), (155, 157, "a", "55800"));
    assert!(x.iqrs > 500.0, "{}", x.iqrs);
    assert!(o.top.iter().take_while(|t| t.flagged).count() as u64 >= o.flagged.min(o.top.len() as u64), "flagged rows first");
    // Without the planted value, nothing is extreme.
    assert_eq!(table(false).report.outliers.unwrap().extreme_rows, 0);
}

/// A catalog where most rows share all but their id with another (aircraft
/// of one model): those twins are duplicates ignoring identifiers, not
/// near-duplicate groups; a record entered twice under its id with one
/// number changed is a near copy though its twins lie as close. Where
/// twins are few, a copy given a new id is a near copy.
#[test]
fn twins_of_a_catalog_are_not_near_copies_and_a_repeated_id_is() {
    let catalog = |planted: bool| {
        let mut csv = String::from("tailnum,model,seats,engines,year\n");
        for i in 0..300u64 {
            let model = i % 12;
            let year = 1990 + (i / 12) % 3;
            csv.push_str(&format!("N{:04},M{model}-x,{},{},{year}\n", 1000 + i * 7, 100 + model * 20, 2 + model % 3));
        }
        if planted {
            // Row 5 again, under its own tail number, a year off.
            csv.push_str(&format!("N{:04},M5-x,200,4,1991\n", 1000 + 5 * 7));
        }
        run_chunked("planes.csv", csv.as_bytes(), csv.len(), cpu()).unwrap()
    };
    let a = catalog(false);
    let ignoring = a.report.duplicates.exact.ignoring_identifiers.as_ref().expect("an id column");
    assert!(ignoring.rows_in_groups >= 290, "{}", ignoring.rows_in_groups);
    assert_eq!(a.report.duplicates.near.group_count, 0, "{:?}", a.report.duplicates.near.groups);
    assert!(a.report.duplicates.near.method.contains("nor rows equal but for their identifiers"));
    let b = catalog(true);
    assert_eq!(b.report.duplicates.near.group_count, 1, "{:?}", b.report.duplicates.near.groups);
    assert_eq!((b.rows.near_group[5], b.rows.near_group[300]), (Some(5), Some(5)));
    // Distinct rows, one copied under a new id: twins are few, and it joins.
    let mut csv = String::from("id,a,b,c\n");
    for i in 0..300u64 {
        csv.push_str(&format!("{},{},{},{}\n", 5000 + i, (i * 37) % 101, (i * 53) % 97, ["x", "y", "z"][i as usize % 3]));
    }
    csv.push_str(&format!("9999,{},{},{}\n", (8 * 37) % 101, (8 * 53) % 97, "z"));
    let c = run_chunked("copy.csv", csv.as_bytes(), csv.len(), cpu()).unwrap();
    assert_eq!((c.rows.near_group[8], c.rows.near_group[300]), (Some(8), Some(8)));
}

/// Values written in other units: 6 heights in cm among 300 in m (more
/// than a small table's allowance of extreme values, but alone out there)
/// and 5 masses in kg among masses in g (shrunk: a few IQRs below the
/// median, where only a log scale sees them apart). Each is an outlier,
/// listed with how many times it is apart, and the cm rows, which all point
/// the way of their huge height, are no near-duplicate group.
#[test]
fn values_in_other_units_are_outliers_not_near_duplicates() {
    let table = |planted: bool| {
        let mut csv = String::from("height_m,mass_g,group\n");
        for i in 0..300u64 {
            let mut height = format!("{:.2}", 1.55 + ((i * 37) % 45) as f64 / 100.0);
            let mut mass = format!("{}", 2700 + (i * 53) % 3600);
            if planted && i % 50 == 7 {
                height = format!("{:.0}", height.parse::<f64>().unwrap() * 100.0);
            }
            if planted && i % 61 == 11 {
                mass = format!("{:.3}", mass.parse::<f64>().unwrap() / 1000.0);
            }
            csv.push_str(&format!("{height},{mass},{}\n", ["x", "y", "z"][(i * 7 % 3) as usize]));
        }
        run_chunked("units.csv", csv.as_bytes(), csv.len(), cpu()).unwrap()
    };
    let a = table(true);
    let o = a.report.outliers.as_ref().unwrap();
    let cm: Vec<usize> = (0..300).filter(|i| i % 50 == 7).collect();
    let kg: Vec<usize> = (0..300).filter(|i| i % 61 == 11).collect();
    for &r in cm.iter().chain(&kg) {
        assert_eq!(a.rows.is_outlier[r], Some(true), "row {r}");
        assert!(a.rows.outlier_score[r].unwrap() > 0.8, "row {r}: {:?}", a.rows.outlier_score[r]);
        assert_eq!(a.rows.near_group[r], None, "row {r} is in a near group: {:?}", (0..300).filter(|&j| a.rows.near_group[j] == a.rows.near_group[r]).collect::<Vec<_>>());
    }
    assert_eq!(o.extreme_rows, 11, "{:?}", o.extreme_values);
    for x in &o.extreme_values {
        let times = x.times_apart.expect("apart by a factor");
        if x.column == "mass_g" {
            assert!(kg.contains(&(x.row as usize)) && times > 400.0 && x.iqrs > -5.0, "{x:?}");
        } else {
            assert!(cm.contains(&(x.row as usize)) && times > 50.0 && x.iqrs > 500.0, "{x:?}");
        }
    }
    let b = table(false);
    assert_eq!(b.report.outliers.as_ref().unwrap().extreme_rows, 0);
}

#[test]
fn reports_do_not_depend_on_chunking() {
    for name in [
        "penguins.csv",
        "cars.jsonl",
        "quoted.csv",
        "crlf_bom.csv",
        "ragged.csv",
        "unbalanced_quote.csv",
        "invalid_utf8.csv",
        "bad_json.jsonl",
        "sample.jsonl",
        "dupes.csv",
    ] {
        let bytes = fixture(name);
        let whole = run_chunked(name, &bytes, bytes.len(), cpu()).unwrap();
        for chunk in [1, 2, 3, 7, 64, 1000] {
            let a = run_chunked(name, &bytes, chunk, cpu()).unwrap();
            assert_eq!(comparable(&a.report), comparable(&whole.report), "{name}, chunks of {chunk}");
            assert_eq!(a.rows, whole.rows, "{name}, chunks of {chunk}");
        }
    }
}

#[test]
fn gpu_and_cpu_give_the_same_report() {
    #[cfg(feature = "gpu")]
    {
        if pollster::block_on(preflight::gpu::GpuContext::new()).is_err() {
            assert!(std::env::var("PREFLIGHT_REQUIRE_GPU").is_err(), "PREFLIGHT_REQUIRE_GPU is set but no adapter");
            eprintln!("SKIPPED: no GPU adapter");
            return;
        }
        for name in ["penguins.csv", "labelled.csv", "sample.jsonl", "cars.jsonl"] {
            let bytes = fixture(name);
            let c = run_chunked(name, &bytes, bytes.len(), cpu()).unwrap();
            let gpu = Options { backend: Backend::Gpu, ..Options::default() };
            let g = run_chunked(name, &bytes, bytes.len(), gpu).unwrap();
            assert_eq!(g.report.compute.backend, "gpu");
            for row in 0..c.rows.lines.len() {
                let (a, b) = (c.rows.outlier_score[row], g.rows.outlier_score[row]);
                assert!((a.unwrap() - b.unwrap()).abs() < 1e-4, "{name} row {row}: {a:?} vs {b:?}");
            }
            assert_eq!(c.rows.is_outlier, g.rows.is_outlier, "{name}");
            assert_eq!(c.rows.near_group, g.rows.near_group, "{name}");
            assert_eq!(c.rows.is_label_issue, g.rows.is_label_issue, "{name}");
            assert_eq!(c.report.columns, g.report.columns);
            assert_eq!(c.report.duplicates.exact, g.report.duplicates.exact);
            let (cn, gn) = (&c.report.duplicates.near, &g.report.duplicates.near);
            assert_eq!(cn.groups, gn.groups, "{name}");
            assert!((cn.threshold.unwrap() - gn.threshold.unwrap()).abs() < 1e-5, "{name}");
            // Text duplicates (cars.jsonl's Name): MinHash in the kernel, same groups.
            assert_eq!(c.rows.text_dup_group, g.rows.text_dup_group, "{name}");
            let mut gt = g.report.text_duplicates.clone();
            for t in &mut gt {
                assert_eq!(t.engine, "gpu", "{name}");
                t.engine = "cpu".into();
            }
            assert_eq!(c.report.text_duplicates, gt, "{name}");
        }
    }
}

#[test]
fn label_option_is_checked() {
    let bytes = fixture("penguins.csv");
    let opts = Options { label: Some("nope".into()), ..cpu() };
    let err = run_chunked("penguins.csv", &bytes, bytes.len(), opts).unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::InvalidOption);
    assert!(err.to_string().contains("species"), "{err}");
    let opts = Options { label: Some("island".into()), ..cpu() };
    let a = run_chunked("penguins.csv", &bytes, bytes.len(), opts).unwrap();
    assert_eq!(a.report.class_balance.unwrap().label_column, "island");
}

#[test]
fn sampling_caps_the_neighbour_checks() {
    let bytes = fixture("labelled.csv");
    let opts = Options { max_knn_rows: 100, ..cpu() };
    let a = run_chunked("labelled.csv", &bytes, bytes.len(), opts).unwrap();
    let e = a.report.embedding.as_ref().unwrap();
    assert!(e.sampled);
    assert_eq!(e.rows, 100);
    assert_eq!(a.rows.outlier_score.iter().filter(|s| s.is_some()).count(), 100);
}

#[test]
fn analyse_again_with_another_label_equals_a_fresh_run() {
    // What the page's label select does: the parsed table is kept and only
    // the checks run again.
    let bytes = fixture("penguins.csv");
    let mut p = Profiler::new("penguins.csv", cpu());
    p.push(&bytes).unwrap();
    let first = pollster::block_on(p.analyse(&mut |_, _| {})).unwrap();
    assert_eq!(first.report.class_balance.as_ref().unwrap().label_column, "species");
    p.set_label(Some("island".into()));
    let again = pollster::block_on(p.analyse(&mut |_, _| {})).unwrap();
    assert_eq!(again.report.compute.timings_ms["read"], 0.0, "nothing was read again");
    let fresh = run_chunked("penguins.csv", &bytes, 4096, Options { label: Some("island".into()), ..cpu() }).unwrap();
    assert_eq!(comparable(&again.report), comparable(&fresh.report));
    assert_eq!(again.rows, fresh.rows);
    // A label that is not a column is refused, and the table stays usable.
    p.set_label(Some("nope".into()));
    assert!(pollster::block_on(p.analyse(&mut |_, _| {})).is_err());
    p.set_label(None);
    let back = pollster::block_on(p.analyse(&mut |_, _| {})).unwrap();
    assert_eq!(comparable(&back.report), comparable(&first.report));
}

#[test]
fn normalize_option_is_named_in_the_report() {
    let bytes = fixture("dupes.csv");
    let plain = run_chunked("dupes.csv", &bytes, bytes.len(), cpu()).unwrap();
    assert!(!plain.report.duplicates.exact.normalized);
    let opts = Options { normalize: true, ..cpu() };
    let a = run_chunked("dupes.csv", &bytes, 7, opts).unwrap();
    let e = &a.report.duplicates.exact;
    assert!(e.normalized);
    assert_eq!(e.normalization.len(), preflight::checks::duplicates::NORMALIZATION_STEPS.len());
    // Nothing in dupes.csv differs only in case or spelling: same groups.
    assert_eq!(e.groups, plain.report.duplicates.exact.groups);
    assert!(a.report.conflicting_labels.as_ref().unwrap().normalized);
}
