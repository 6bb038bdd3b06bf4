//! all-MiniLM-L6-v2 on the GPU (`src/semantic/gpu.rs`, `shaders/minilm_*.wgsl`):
//! each kernel against an f64 reference of its operation written here, on
//! seeded data with sizes that are not multiples of the tiles; then the
//! whole network against the CPU network (`semantic::cpu::embed_cpu`) and
//! against sentence-transformers' own embeddings of the reference sentences.
//!
//! The GPU tests need an adapter (natively: `WGPU_BACKEND=vulkan` finds
//! lavapipe's "llvmpipe" where Mesa is installed). Without one they print
//! "SKIPPED: no GPU adapter" and pass, unless `PREFLIGHT_REQUIRE_GPU=1`.
//! The whole-network tests also need the model file (`scripts/fetch-model`):
//! without it they print "SKIPPED: no model file" and pass, unless
//! `PREFLIGHT_REQUIRE_MODEL=1`.
//!
//! Tolerances: the kernels compute in f32 (weights fp16, exactly as given:
//! the test data are fp16 values), the references in f64. A product is
//! allowed `2e-5` of the sum of the magnitudes of its terms, a layer-norm
//! output `2e-5 (1 + |value|)`, attention and pooled outputs `2e-5`.

mod common;
use common::XorShift;

/// Every `shaders/minilm_*.wgsl` parses and validates with naga.
#[test]
fn minilm_shaders_validate_with_naga() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("minilm") && name.ends_with(".wgsl")
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths.len(),
        3,
        "minilm_matmul, minilm_attention, minilm_rows in {}",
        dir.display()
    );
    for path in paths {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
            panic!(
                "{name} does not parse:\n{}",
                e.emit_to_string_with_path(&source, &name)
            )
        });
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| {
            panic!(
                "{name} does not validate:\n{}",
                e.emit_to_string_with_path(&source, &name)
            )
        });
    }
}

/// A value exactly representable in fp16: a multiple of 2^-13 in
/// [-scale, scale] (scale <= 0.25: 11 significant bits at most).
fn half_value(rng: &mut XorShift, scale: f32) -> f32 {
    let steps = (scale * 8192.0) as u64;
    (rng.below(2 * steps + 1) as f32 - steps as f32) / 8192.0
}

fn halves(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = XorShift::new(seed);
    (0..n).map(|_| half_value(&mut rng, scale)).collect()
}

fn uniform(n: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = XorShift::new(seed);
    (0..n).map(|_| rng.next_f32() * scale).collect()
}

/// erf in f64: 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 .. (2n+1)),
/// a series of positive terms (no cancellation) good to 1e-15 for |x| <= 6.
fn erf(x: f64) -> f64 {
    if x.abs() > 6.0 {
        return x.signum();
    }
    let (mut term, mut sum, mut n) = (x, x, 0.0);
    while term.abs() > 1e-17 * sum.abs() {
        n += 1.0;
        term *= 2.0 * x * x / (2.0 * n + 1.0);
        sum += term;
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

#[test]
fn reference_erf_is_right() {
    // Values from tables (Abramowitz and Stegun 7.1).
    for (x, value) in [
        (0.0, 0.0),
        (0.5, 0.520_499_877_813_047),
        (1.0, 0.842_700_792_949_715),
        (2.0, 0.995_322_265_018_953),
        (3.5, 0.999_999_256_901_628),
    ] {
        assert!((erf(x) - value).abs() < 1e-14, "erf({x}) = {}", erf(x));
        assert!((erf(-x) + value).abs() < 1e-14);
    }
}

/// Fails unless `values` has a non-zero and no NaN or infinity.
fn assert_alive(label: &str, values: &[f32]) {
    assert!(!values.is_empty(), "{label}: empty");
    assert!(
        values.iter().all(|v| v.is_finite()),
        "{label}: NaN or infinity"
    );
    assert!(values.iter().any(|&v| v != 0.0), "{label}: all zeros");
}

#[derive(Clone, Copy, PartialEq)]
enum Epi {
    Bias,
    Gelu,
    Residual,
}

/// `epilogue(x . W^T + b)` in f64, with the sum of the terms' magnitudes.
#[allow(clippy::too_many_arguments)]
fn linear_reference(
    x: &[f32],
    rows: usize,
    w: &[f32],
    b: &[f32],
    out: usize,
    inp: usize,
    epi: Epi,
    residual: &[f32],
) -> Vec<(f64, f64)> {
    let mut result = Vec::with_capacity(rows * out);
    for r in 0..rows {
        for o in 0..out {
            let mut sum = f64::from(b[o]);
            let mut magnitude = f64::from(b[o]).abs();
            for i in 0..inp {
                let term = f64::from(x[r * inp + i]) * f64::from(w[o * inp + i]);
                sum += term;
                magnitude += term.abs();
            }
            let value = match epi {
                Epi::Bias => sum,
                Epi::Gelu => gelu(sum),
                Epi::Residual => {
                    magnitude += f64::from(residual[r * out + o]).abs();
                    sum + f64::from(residual[r * out + o])
                }
            };
            result.push((value, magnitude));
        }
    }
    result
}

fn layer_norm_reference(x: &[f32], gamma: &[f32], beta: &[f32]) -> Vec<f64> {
    let width = gamma.len();
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(width) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
        let variance = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / width as f64;
        let scale = 1.0 / (variance + 1e-12).sqrt();
        for (i, &v) in row.iter().enumerate() {
            out.push((f64::from(v) - mean) * scale * f64::from(gamma[i]) + f64::from(beta[i]));
        }
    }
    out
}

/// Multi-head attention over packed sentences (rows of q | k | v, 1152
/// wide), every query over its own sentence's keys.
fn attention_reference(qkv: &[f32], lengths: &[usize]) -> Vec<f64> {
    let (hidden, heads, dim) = (384, 12, 32);
    let total: usize = lengths.iter().sum();
    let mut out = vec![0.0f64; total * hidden];
    let mut start = 0;
    for &len in lengths {
        for h in 0..heads {
            for i in 0..len {
                let q = |d: usize| f64::from(qkv[(start + i) * 3 * hidden + h * dim + d]);
                let scores: Vec<f64> = (0..len)
                    .map(|j| {
                        (0..dim)
                            .map(|d| {
                                q(d) * f64::from(
                                    qkv[(start + j) * 3 * hidden + hidden + h * dim + d],
                                )
                            })
                            .sum::<f64>()
                            / (dim as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f64 = weights.iter().sum();
                for d in 0..dim {
                    let v: f64 = (0..len)
                        .map(|j| {
                            weights[j]
                                * f64::from(
                                    qkv[(start + j) * 3 * hidden + 2 * hidden + h * dim + d],
                                )
                        })
                        .sum();
                    out[(start + i) * hidden + h * dim + d] = v / sum;
                }
            }
        }
        start += len;
    }
    out
}

fn mean_pool_reference(hidden: &[f32], lengths: &[usize]) -> Vec<f64> {
    let width = 384;
    let mut out = Vec::new();
    let mut start = 0;
    for &len in lengths {
        let mut mean = vec![0.0f64; width];
        for t in start..start + len {
            for (d, m) in mean.iter_mut().enumerate() {
                *m += f64::from(hidden[t * width + d]);
            }
        }
        let mean: Vec<f64> = mean.iter().map(|m| m / (len as f64).max(1e-9)).collect();
        let norm = mean.iter().map(|m| m * m).sum::<f64>().sqrt().max(1e-12);
        out.extend(mean.iter().map(|m| m / norm));
        start += len;
    }
    out
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// The reference sentences: (text, token ids, sentence-transformers'
/// embedding), from `tests/fixtures/semantic/reference.jsonl.gz`.
struct ReferenceSentence {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference_sentences() -> Vec<ReferenceSentence> {
    use std::io::Read;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/semantic/reference.jsonl.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let numbers = |key: &str| -> Vec<f64> {
                value[key]
                    .as_array()
                    .unwrap_or_else(|| panic!("{key} missing in {line:.80}"))
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            ReferenceSentence {
                text: value["text"].as_str().unwrap_or_default().to_string(),
                ids: numbers("ids").into_iter().map(|v| v as u32).collect(),
                embedding: numbers("embedding").into_iter().map(|v| v as f32).collect(),
            }
        })
        .collect()
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::*;
    use preflight::error::ErrorKind;
    use preflight::gpu::GpuContext;
    use preflight::semantic::gpu::{Epilogue, Kernels, MiniLmGpu};
    use preflight::semantic::weights::MiniLm;

    fn context() -> Option<GpuContext> {
        common::gpu_context()
    }

    fn kernels(context: &GpuContext) -> Kernels {
        Kernels::new(context).unwrap()
    }

    /// The model file, decoded once for the whole test binary, or `None`
    /// after a loud skip notice (a failure under `PREFLIGHT_REQUIRE_MODEL=1`).
    fn model() -> Option<&'static MiniLm> {
        static MODEL: std::sync::OnceLock<Option<MiniLm>> = std::sync::OnceLock::new();
        MODEL
            .get_or_init(|| common::model_bytes().map(|bytes| MiniLm::from_bytes(&bytes).unwrap()))
            .as_ref()
    }

    #[allow(clippy::too_many_arguments)]
    fn check_linear(
        label: &str,
        context: &GpuContext,
        kernels: &Kernels,
        rows: usize,
        inp: usize,
        out: usize,
        epi: Epi,
        seed: u64,
    ) {
        let x = uniform(rows * inp, 1.0, seed);
        let w = halves(out * inp, 0.25, seed + 1);
        // Biases spread the pre-activations over GELU's curved range.
        let b = uniform(out, 3.0, seed + 2);
        let residual = uniform(rows * out, 2.0, seed + 3);
        let epilogue = match epi {
            Epi::Bias => Epilogue::Bias,
            Epi::Gelu => Epilogue::Gelu,
            Epi::Residual => Epilogue::Residual(&residual),
        };
        let gpu = pollster::block_on(kernels.linear(context, &x, rows, &w, &b, out, inp, epilogue))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(gpu.len(), rows * out, "{label}");
        assert_alive(label, &gpu);
        let reference = linear_reference(&x, rows, &w, &b, out, inp, epi, &residual);
        for (i, (&g, &(value, magnitude))) in gpu.iter().zip(&reference).enumerate() {
            let tolerance = 2e-5 * magnitude + 1e-6;
            assert!(
                (f64::from(g) - value).abs() <= tolerance,
                "{label}: row {} column {}: GPU {g}, reference {value} (tolerance {tolerance})",
                i / out,
                i % out
            );
        }
    }

    #[test]
    fn linear_matches_reference() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        // rows x inp -> out: partial tiles in rows, columns and depth; the
        // model's own shapes with a partial row tile.
        check_linear("77 x 52 -> 100", &context, &k, 77, 52, 100, Epi::Bias, 1);
        check_linear("1 x 4 -> 1", &context, &k, 1, 4, 1, Epi::Bias, 2);
        check_linear("64 x 64 -> 64", &context, &k, 64, 64, 64, Epi::Bias, 3);
        check_linear(
            "130 x 384 -> 1152 (qkv)",
            &context,
            &k,
            130,
            384,
            1152,
            Epi::Bias,
            4,
        );
    }

    /// Every finite half unpacks exactly (normals, subnormals, signed
    /// zeros, the largest): the weights times the identity.
    #[test]
    fn linear_unpacks_every_half_exactly() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        let (inp, out) = (64usize, 1024usize);
        let weights: Vec<f32> = (0..=u16::MAX)
            .map(|h| {
                let v = preflight::semantic::weights::f16_to_f32(h);
                if v.is_finite() {
                    v
                } else {
                    0.0
                }
            })
            .collect();
        let identity: Vec<f32> = (0..inp * inp)
            .map(|i| if i / inp == i % inp { 1.0 } else { 0.0 })
            .collect();
        let gpu = pollster::block_on(k.linear(
            &context,
            &identity,
            inp,
            &weights,
            &vec![0.0; out],
            out,
            inp,
            Epilogue::Bias,
        ))
        .unwrap();
        for r in 0..inp {
            for o in 0..out {
                let (g, w) = (gpu[r * out + o], weights[o * inp + r]);
                assert!(
                    g == w,
                    "half {:#06x}: GPU {g:e}, expected {w:e}",
                    o * inp + r
                );
            }
        }
    }

    #[test]
    fn linear_gelu_matches_reference() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        check_linear(
            "gelu 70 x 384 -> 1536 (ffn in)",
            &context,
            &k,
            70,
            384,
            1536,
            Epi::Gelu,
            11,
        );
        check_linear("gelu 5 x 20 -> 67", &context, &k, 5, 20, 67, Epi::Gelu, 12);
    }

    #[test]
    fn linear_residual_matches_reference() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        check_linear(
            "residual 65 x 1536 -> 384 (ffn out)",
            &context,
            &k,
            65,
            1536,
            384,
            Epi::Residual,
            21,
        );
        check_linear(
            "residual 3 x 384 -> 384",
            &context,
            &k,
            3,
            384,
            384,
            Epi::Residual,
            22,
        );
    }

    #[test]
    fn linear_refuses_bad_shapes() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        let call = |x: &[f32], rows, w: &[f32], b: &[f32], out, inp| {
            pollster::block_on(k.linear(&context, x, rows, w, b, out, inp, Epilogue::Bias))
        };
        assert_eq!(
            call(&[0.0; 6], 2, &[0.0; 3], &[0.0], 1, 3)
                .unwrap_err()
                .kind(),
            &ErrorKind::InvalidOption,
            "depth not a multiple of 4"
        );
        assert_eq!(
            call(&[0.0; 8], 2, &[0.0; 4], &[0.0; 2], 1, 4)
                .unwrap_err()
                .kind(),
            &ErrorKind::InvalidOption,
            "bias length"
        );
        let residual = [0.0f32; 3];
        let bad = pollster::block_on(k.linear(
            &context,
            &[0.0; 8],
            2,
            &[0.0; 4],
            &[0.0],
            1,
            4,
            Epilogue::Residual(&residual),
        ));
        assert_eq!(
            bad.unwrap_err().kind(),
            &ErrorKind::InvalidOption,
            "residual length"
        );
    }

    #[test]
    fn layer_norm_matches_reference() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        for (rows, offset, seed) in [(1usize, 0.0f32, 1u64), (6, 3.0, 2), (301, -1.5, 3)] {
            let label = format!("layer norm, {rows} rows, offset {offset}");
            let mut x = uniform(rows * 384, 2.0, seed);
            // Rows with a large mean and small spread: the two-pass variance.
            for (i, v) in x.iter_mut().enumerate() {
                *v = *v * if (i / 384) % 2 == 0 { 1.0 } else { 0.25 } + offset;
            }
            let gamma = uniform(384, 1.5, seed + 10);
            let beta = uniform(384, 0.5, seed + 11);
            let gpu = pollster::block_on(k.layer_norm(&context, &x, &gamma, &beta))
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_alive(&label, &gpu);
            let reference = layer_norm_reference(&x, &gamma, &beta);
            for (i, (&g, &r)) in gpu.iter().zip(&reference).enumerate() {
                assert!(
                    (f64::from(g) - r).abs() <= 2e-5 * (1.0 + r.abs()),
                    "{label}: row {} column {}: GPU {g}, reference {r}",
                    i / 384,
                    i % 384
                );
            }
        }
    }

    #[test]
    fn embeddings_match_reference() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        let (vocabulary, positions) = (1000, 512);
        let word = halves(vocabulary * 384, 0.25, 31);
        let position = halves(positions * 384, 0.125, 32);
        let token_type = uniform(384, 0.1, 33);
        let gamma = uniform(384, 1.5, 34);
        let beta = uniform(384, 0.5, 35);
        let mut rng = XorShift::new(36);
        let sentences: Vec<Vec<u32>> = [1usize, 7, 64, 130, 512, 3]
            .iter()
            .map(|&len| {
                (0..len)
                    .map(|_| rng.below(vocabulary as u64) as u32)
                    .collect()
            })
            .collect();
        let gpu = pollster::block_on(k.embeddings(
            &context,
            &sentences,
            &word,
            &position,
            &token_type,
            &gamma,
            &beta,
        ))
        .unwrap();
        assert_alive("embeddings", &gpu);
        // The reference: the sum, then the layer norm.
        let mut sums = Vec::new();
        for sentence in &sentences {
            for (p, &id) in sentence.iter().enumerate() {
                for d in 0..384 {
                    sums.push(word[id as usize * 384 + d] + token_type[d] + position[p * 384 + d]);
                }
            }
        }
        let reference = layer_norm_reference(&sums, &gamma, &beta);
        assert_eq!(gpu.len(), reference.len());
        for (i, (&g, &r)) in gpu.iter().zip(&reference).enumerate() {
            assert!(
                (f64::from(g) - r).abs() <= 2e-5 * (1.0 + r.abs()),
                "token {} column {}: GPU {g}, reference {r}",
                i / 384,
                i % 384
            );
        }
        // Ids and lengths the tables do not have are refused, with the place.
        let bad = pollster::block_on(k.embeddings(
            &context,
            &[vec![1, 2], vec![3, 1000]],
            &word,
            &position,
            &token_type,
            &gamma,
            &beta,
        ));
        let e = bad.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidOption);
        assert!(e.to_string().contains("sentence 1, token 1"), "{e}");
        let long = vec![vec![0u32; 513]];
        let bad = pollster::block_on(k.embeddings(
            &context,
            &long,
            &word,
            &position,
            &token_type,
            &gamma,
            &beta,
        ));
        assert_eq!(bad.unwrap_err().kind(), &ErrorKind::InvalidOption);
    }

    #[test]
    fn attention_matches_reference() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        // Tile edges (31, 32, 33 keys), one token, the longest sentence.
        let lengths = [5usize, 1, 31, 32, 33, 77, 256, 2];
        let total: usize = lengths.iter().sum();
        // Large values make peaked softmaxes (scores up to about 20).
        let qkv = uniform(total * 1152, 2.0, 41);
        let gpu = pollster::block_on(k.attention(&context, &qkv, &lengths)).unwrap();
        assert_alive("attention", &gpu);
        let reference = attention_reference(&qkv, &lengths);
        for (i, (&g, &r)) in gpu.iter().zip(&reference).enumerate() {
            assert!(
                (f64::from(g) - r).abs() <= 2e-5,
                "token {} column {}: GPU {g}, reference {r}",
                i / 384,
                i % 384
            );
        }
        // The mask: changing one sentence changes no other sentence's output.
        let mut changed = qkv.clone();
        let second_start = lengths[0] * 1152;
        for v in &mut changed[second_start..second_start + lengths[1] * 1152] {
            *v = -*v * 3.0;
        }
        let again = pollster::block_on(k.attention(&context, &changed, &lengths)).unwrap();
        let (before, after) = (lengths[0] * 384, (lengths[0] + lengths[1]) * 384);
        assert_eq!(gpu[..before], again[..before]);
        assert_eq!(gpu[after..], again[after..]);
        assert_ne!(gpu[before..after], again[before..after]);
    }

    #[test]
    fn mean_pool_matches_reference() {
        let Some(context) = context() else { return };
        let k = kernels(&context);
        let lengths = [3usize, 0, 1, 200, 17, 256];
        let total: usize = lengths.iter().sum();
        let hidden = uniform(total * 384, 1.0, 51);
        let gpu = pollster::block_on(k.mean_pool(&context, &hidden, &lengths)).unwrap();
        assert_alive("mean pool", &gpu);
        let reference = mean_pool_reference(&hidden, &lengths);
        for (i, (&g, &r)) in gpu.iter().zip(&reference).enumerate() {
            assert!(
                (f64::from(g) - r).abs() <= 2e-5,
                "sentence {} column {}: GPU {g}, reference {r}",
                i / 384,
                i % 384
            );
        }
        assert!(
            gpu[384..768].iter().all(|&v| v == 0.0),
            "an empty sentence pools to zeros"
        );
        for (s, row) in gpu.chunks(384).enumerate().filter(|&(s, _)| lengths[s] > 0) {
            let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "sentence {s}: norm {norm}");
        }
    }

    /// Every few sentences of the reference fixture (a few dozen: lavapipe
    /// is slow), always including the longest.
    fn sample(sentences: &[ReferenceSentence], every: usize) -> Vec<&ReferenceSentence> {
        let longest = sentences
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.ids.len())
            .map(|(i, _)| i)
            .unwrap_or(0);
        sentences
            .iter()
            .enumerate()
            .filter(|&(i, _)| i % every == 0 || i == longest)
            .map(|(_, s)| s)
            .collect()
    }

    /// The GPU network against sentence-transformers (fp32 PyTorch) on a
    /// few dozen fixture sentences, and against the CPU network: on all of
    /// them in optimised builds, on the first few (short ones) in the dev
    /// profile, where the CPU network runs unoptimised.
    #[test]
    fn model_matches_cpu_and_sentence_transformers() {
        let Some(context) = context() else { return };
        let Some(model) = model() else { return };
        let all = reference_sentences();
        assert!(all.len() >= 200, "{} reference sentences", all.len());
        let sentences = sample(&all, 8);
        let batch: Vec<Vec<u32>> = sentences.iter().map(|s| s.ids.clone()).collect();
        let started = std::time::Instant::now();
        let gpu_model = MiniLmGpu::new(&context, model).unwrap();
        let gpu = pollster::block_on(gpu_model.embed(&context, &batch)).unwrap();
        let gpu_time = started.elapsed();
        assert_eq!(gpu.len(), batch.len() * 384);
        assert_alive("model", &gpu);
        let against_cpu = if cfg!(debug_assertions) {
            3
        } else {
            batch.len()
        };
        let cpu = preflight::semantic::cpu::embed_cpu(model, &batch[..against_cpu]);
        let mut worst_cpu = (f64::INFINITY, 0);
        let mut worst_reference = (f64::INFINITY, 0);
        for (i, sentence) in sentences.iter().enumerate() {
            let g = &gpu[i * 384..(i + 1) * 384];
            let versus_reference = cosine(g, &sentence.embedding);
            if versus_reference < worst_reference.0 {
                worst_reference = (versus_reference, i);
            }
            assert!(
                versus_reference >= 0.999,
                "sentence {i} ({} tokens, {:.60}): cos(GPU, sentence-transformers) = {versus_reference}",
                sentence.ids.len(),
                sentence.text
            );
            if i < against_cpu {
                let versus_cpu = cosine(g, &cpu[i * 384..(i + 1) * 384]);
                if versus_cpu < worst_cpu.0 {
                    worst_cpu = (versus_cpu, i);
                }
                assert!(
                    versus_cpu >= 0.9999,
                    "sentence {i} ({} tokens, {:.60}): cos(GPU, CPU) = {versus_cpu}",
                    sentence.ids.len(),
                    sentence.text
                );
            }
        }
        eprintln!(
            "{} sentences ({} tokens) on the GPU in {gpu_time:.2?}: worst cos(GPU, sentence-transformers) = {:.7} (sentence {}); \
             worst cos(GPU, CPU) over {against_cpu} = {:.7} (sentence {})",
            sentences.len(),
            batch.iter().map(Vec::len).sum::<usize>(),
            worst_reference.0,
            worst_reference.1,
            worst_cpu.0,
            worst_cpu.1
        );
    }

    /// The answer does not depend on how sentences are batched or ordered;
    /// empty sentences give zeros, unknown ids count as [UNK], sentences
    /// longer than the position table are cut (as the CPU path does).
    #[test]
    fn model_answer_does_not_depend_on_batching() {
        let Some(context) = context() else { return };
        let Some(model) = model() else { return };
        let mut rng = XorShift::new(61);
        let mut batch: Vec<Vec<u32>> = (0..14)
            .map(|i| {
                let len = [2usize, 9, 40, 17, 33, 5][i % 6];
                let mut ids = vec![101u32];
                ids.extend((2..len).map(|_| 1000 + rng.below(28_000) as u32));
                ids.push(102);
                ids
            })
            .collect();
        batch.insert(3, Vec::new());
        let mut unknown = batch[1].clone();
        unknown[1] = 40_000;
        batch.push(unknown);
        let mut gpu_model = MiniLmGpu::new(&context, model).unwrap();
        let whole = pollster::block_on(gpu_model.embed(&context, &batch)).unwrap();
        assert_alive("batch", &whole);
        assert!(
            whole[3 * 384..4 * 384].iter().all(|&v| v == 0.0),
            "empty sentence"
        );
        let last = batch.len() - 1;
        let mut as_unk = batch[last].clone();
        as_unk[1] = model.unk_id;
        let one = pollster::block_on(gpu_model.embed(&context, &[as_unk])).unwrap();
        for (a, b) in one.iter().zip(&whole[last * 384..]) {
            assert!((a - b).abs() < 1e-5, "unknown id as [UNK]: {a} vs {b}");
        }
        // Tiny batches (one sentence of at most 512 tokens each, several
        // readbacks' worth of batches), in reverse order.
        gpu_model.set_max_batch_tokens(1);
        assert_eq!(gpu_model.max_batch_tokens(), 512);
        let reversed: Vec<Vec<u32>> = batch.iter().rev().cloned().collect();
        let small = pollster::block_on(gpu_model.embed(&context, &reversed)).unwrap();
        for (i, row) in whole.chunks(384).enumerate() {
            let other = &small[(batch.len() - 1 - i) * 384..][..384];
            for (a, b) in row.iter().zip(other) {
                assert!((a - b).abs() < 1e-5, "sentence {i}: {a} vs {b}");
            }
        }
        assert!(pollster::block_on(gpu_model.embed(&context, &[]))
            .unwrap()
            .is_empty());
        // Longer than the 512 positions: cut, as the CPU path does.
        let long: Vec<u32> = (0..600).map(|i| 1000 + i as u32).collect();
        let both =
            pollster::block_on(gpu_model.embed(&context, &[long.clone(), long[..512].to_vec()]))
                .unwrap();
        assert_alive("cut sentence", &both);
        assert_eq!(
            both[..384],
            both[384..],
            "a sentence of 600 tokens is its first 512"
        );
    }

    #[test]
    fn model_after_device_loss_is_an_error() {
        let Some(context) = context() else { return };
        let Some(model) = model() else { return };
        let gpu_model = MiniLmGpu::new(&context, model).unwrap();
        let batch = vec![vec![101u32, 7592, 102]];
        assert_alive(
            "before loss",
            &pollster::block_on(gpu_model.embed(&context, &batch)).unwrap(),
        );
        context.device().destroy();
        let _ = context.device().poll(wgpu::PollType::Poll);
        assert_eq!(
            pollster::block_on(gpu_model.embed(&context, &batch))
                .unwrap_err()
                .kind(),
            &ErrorKind::Gpu
        );
    }
}
