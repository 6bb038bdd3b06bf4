//! MinHash signatures: the GPU kernel (`shaders/minhash.wgsl`) against the
//! CPU reference (`checks::text_dups::signatures_cpu`), bit for bit.
//!
//! As in `gpu_knn.rs`, the GPU tests need an adapter (natively:
//! `WGPU_BACKEND=vulkan` finds lavapipe's "llvmpipe" where Mesa is
//! installed). Without one they print "SKIPPED: no GPU adapter" and pass,
//! unless `PREFLIGHT_REQUIRE_GPU=1`.

use preflight::checks::text_dups::{fold32, normalize, shingle_hashes, signatures_cpu, Permutations, PERMUTATIONS};

mod common;
use common::XorShift;

/// `lengths.len()` texts of random 32-bit shingles: (shingles, offsets).
fn random_texts(lengths: &[usize], seed: u64) -> (Vec<u32>, Vec<u32>) {
    let mut rng = XorShift::new(seed);
    let mut shingles = Vec::new();
    let mut offsets = vec![0u32];
    for &len in lengths {
        for _ in 0..len {
            // Some extreme values: 0 and u32::MAX are shingles like any other.
            let x = match rng.below(50) {
                0 => 0,
                1 => u32::MAX,
                _ => rng.next() as u32,
            };
            shingles.push(x);
        }
        offsets.push(shingles.len() as u32);
    }
    (shingles, offsets)
}

/// Texts as the check shingles them.
fn text_shingles(texts: &[String]) -> (Vec<u32>, Vec<u32>) {
    let mut shingles = Vec::new();
    let mut offsets = vec![0u32];
    let mut hashes = Vec::new();
    for text in texts {
        hashes.clear();
        shingle_hashes(&normalize(text), &mut hashes);
        shingles.extend(hashes.iter().map(|&h| fold32(h)));
        offsets.push(shingles.len() as u32);
    }
    (shingles, offsets)
}

#[test]
fn cpu_reference_is_deterministic_and_not_degenerate() {
    let (shingles, offsets) = random_texts(&[0, 1, 5, 300], 3);
    let p = Permutations::new();
    let a = signatures_cpu(&shingles, &offsets, &p);
    assert_eq!(a, signatures_cpu(&shingles, &offsets, &p));
    assert!(a[..PERMUTATIONS].iter().all(|&v| v == u32::MAX), "no shingle: all u32::MAX");
    let long = &a[3 * PERMUTATIONS..];
    let distinct: std::collections::HashSet<u32> = long.iter().copied().collect();
    assert!(distinct.len() > PERMUTATIONS / 2, "values vary across permutations");
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::*;
    use preflight::error::ErrorKind;
    use preflight::gpu::{minhash, GpuContext};

    /// The GPU context, or `None` after a loud skip notice when there is no
    /// adapter (a failure instead when `PREFLIGHT_REQUIRE_GPU=1`).
    fn context() -> Option<GpuContext> {
        common::gpu_context()
    }

    fn check(label: &str, context: &GpuContext, shingles: &[u32], offsets: &[u32]) {
        let p = Permutations::new();
        let gpu = pollster::block_on(minhash::signatures(context, shingles, offsets, &p))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let cpu = signatures_cpu(shingles, offsets, &p);
        assert_eq!(gpu.len(), cpu.len(), "{label}: length");
        let texts = offsets.len() - 1;
        for t in 0..texts {
            let range = t * PERMUTATIONS..(t + 1) * PERMUTATIONS;
            assert_eq!(gpu[range.clone()], cpu[range], "{label}: text {t} ({} shingles)", offsets[t + 1] - offsets[t]);
        }
        // Not all zeros (a dropped dispatch), not all u32::MAX (never written).
        let with_shingles = (0..texts).filter(|&t| offsets[t + 1] > offsets[t]).count();
        if with_shingles > 0 {
            assert!(gpu.iter().any(|&v| v != 0), "{label}: all zeros");
            assert!(gpu.iter().filter(|&&v| v == u32::MAX).count() < texts * PERMUTATIONS, "{label}: never written");
        }
    }

    #[test]
    fn minhash_gpu_matches_reference() {
        let Some(context) = context() else { return };
        let mut rng = XorShift::new(11);
        let lengths: Vec<usize> = (0..3000).map(|i| if i % 97 == 0 { 0 } else { rng.below(400) as usize + 1 }).collect();
        let (shingles, offsets) = random_texts(&lengths, 12);
        check("random texts", &context, &shingles, &offsets);
        check("one text of one shingle", &context, &[7], &[0, 1]);
        check("one empty text", &context, &[], &[0, 0]);
    }

    #[test]
    fn minhash_gpu_matches_reference_on_real_texts() {
        let Some(context) = context() else { return };
        let base = [
            "The quick brown fox jumps over the lazy dog.",
            "Ünïcödé têxt, with ACCENTS and émojis 🦀🦀 in it",
            "ok",
            "",
            "   spaced    out\ttext\nacross lines   ",
        ];
        let mut texts: Vec<String> = Vec::new();
        for i in 0..200 {
            texts.push(format!("{} #{i}", base[i % base.len()]));
            texts.push(base[i % base.len()].to_string());
        }
        let (shingles, offsets) = text_shingles(&texts);
        check("real texts", &context, &shingles, &offsets);
    }

    /// A text longer than lavapipe's 65535 loop iterations per invocation is
    /// walked in several windows; texts beyond one dispatch's 65535
    /// workgroups go to a second range.
    #[test]
    fn minhash_gpu_long_texts_and_many_texts() {
        let Some(context) = context() else { return };
        let (shingles, offsets) = random_texts(&[5, 150_000, 3, 70_000, 0, 65_536], 21);
        check("long texts", &context, &shingles, &offsets);
        let lengths: Vec<usize> = (0..70_000).map(|i| 1 + i % 7).collect();
        let (shingles, offsets) = random_texts(&lengths, 22);
        check("70,000 texts", &context, &shingles, &offsets);
    }

    #[test]
    fn minhash_gpu_refuses_malformed_input_and_stays_usable() {
        let Some(context) = context() else { return };
        let p = Permutations::new();
        for (shingles, offsets) in [(vec![1u32, 2, 3], vec![0u32, 2]), (vec![1, 2], vec![1, 2]), (vec![1, 2], vec![0, 2, 1, 2]), (vec![], vec![])] {
            let result = pollster::block_on(minhash::signatures(&context, &shingles, &offsets, &p));
            assert_eq!(result.unwrap_err().kind(), &ErrorKind::InvalidOption, "{offsets:?}");
        }
        check("after refusals", &context, &[1, 2, 3], &[0, 3]);
    }

    #[test]
    fn minhash_gpu_after_device_loss_is_an_error() {
        let Some(context) = context() else { return };
        check("before loss", &context, &[1, 2, 3], &[0, 3]);
        context.device().destroy();
        let _ = context.device().poll(wgpu::PollType::Poll);
        let result = pollster::block_on(minhash::signatures(&context, &[1, 2, 3], &[0, 3], &Permutations::new()));
        assert_eq!(result.unwrap_err().kind(), &ErrorKind::Gpu);
    }

    /// The whole check with MinHash on the GPU gives the CPU's report.
    #[test]
    fn text_duplicates_on_gpu_equal_cpu() {
        if context().is_none() {
            return;
        }
        let mut csv = String::from("id,review\n");
        let mut rng = XorShift::new(5);
        let words = ["battery", "screen", "great", "slow", "refund", "love", "broken", "fast", "price", "quality"];
        for i in 0..400 {
            let mut text: Vec<&str> = (0..12).map(|_| words[rng.below(words.len() as u64) as usize]).collect();
            if i % 10 == 3 {
                text[4] = "CHANGED"; // a near duplicate of the row before (same seed state below)
            }
            csv.push_str(&format!("{i},\"{}\"\n", text.join(" ")));
            if i % 25 == 0 {
                csv.push_str(&format!("{i}b,\"{}\"\n", text.join(" ")));
            }
        }
        let run = |backend| {
            let options = preflight::Options {
                backend,
                text_columns: vec!["review".into()],
                ..preflight::Options::default()
            };
            let mut profiler = preflight::Profiler::new("reviews.csv", options);
            profiler.push(csv.as_bytes()).unwrap();
            pollster::block_on(profiler.finish(&mut |_, _| {})).unwrap()
        };
        let gpu = run(preflight::Backend::Gpu);
        let cpu = run(preflight::Backend::Cpu);
        let (mut g, c) = (gpu.report.text_duplicates.clone(), cpu.report.text_duplicates.clone());
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].engine, "gpu");
        assert_eq!(c[0].engine, "cpu");
        g[0].engine = "cpu".into();
        assert_eq!(g, c);
        assert_eq!(gpu.rows.text_dup_group, cpu.rows.text_dup_group);
        assert!(c[0].exact.group_count >= 16, "{}", c[0].exact.group_count);
    }
}
