//! Mergeable sketches for streaming column profiles (issue 7).
//!
//! Every sketch here is `Clone + Debug + Serialize + Deserialize`, merges
//! with `merge(&mut self, other: &Self)`, and is deterministic: the same
//! values in the same order (and the same merge order) give the same sketch
//! and the same answers. No random number crate: where an algorithm needs
//! coins (KLL compaction) they come from an internal seeded xorshift.
//!
//! - [`Hll`]: HyperLogLog distinct count of 64-bit hashes.
//! - [`Distinct`]: exact set of value hashes up to [`EXACT_DISTINCT_LIMIT`],
//!   then an [`Hll`] of precision [`DISTINCT_HLL_PRECISION`].
//! - [`Kll`]: KLL quantile sketch over `f64`, exact (all raw values kept)
//!   up to [`EXACT_VALUES`] values.
//! - [`TopValues`]: exact string counts up to [`TOP_EXACT_LIMIT`] distinct
//!   strings, then a bounded frequent-items summary of [`TOP_CAPACITY`]
//!   counters.

mod hll;
mod kll;
mod top;

pub use hll::{Distinct, Hll, DISTINCT_HLL_PRECISION, EXACT_DISTINCT_LIMIT};
pub use kll::{Kll, DEFAULT_K, EXACT_VALUES};
pub use top::{TopValues, TOP_CAPACITY, TOP_EXACT_LIMIT};

use std::hash::{BuildHasherDefault, Hasher};

/// A fast, deterministic hasher for the sketches' hash maps: xxh3 over
/// written bytes, a multiply-xorshift mix over written integers. Not
/// DoS-resistant, which is fine for a user's own file on their own machine,
/// and deterministic (no per-process random seed), so iteration order and
/// serialized output do not change from run to run.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = mix64(self.0 ^ u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.0 = mix64(self.0 ^ u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = mix64(self.0 ^ i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0 = mix64(self.0 ^ i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` of [`FastHasher`], for `HashMap`/`HashSet` type parameters.
pub type FastBuild = BuildHasherDefault<FastHasher>;

/// The splitmix64 finaliser: a bijective 64-bit mix.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Serde forms that are exact in every format and compact in binary ones.
///
/// Human-readable formats (JSON) get f64 values as their u64 bit patterns
/// (serde_json parses floats inexactly without its `float_roundtrip`
/// feature, and a merged sketch must not depend on how its parts travelled)
/// and u64 lists as number lists. Binary formats (postcard) get f64 as
/// themselves (8 bytes) and u64 lists as one byte string of little-endian
/// words (8 bytes each instead of up to 10 as varints).
pub(crate) mod compact {
    /// One f64.
    pub mod f64_exact {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
            if s.is_human_readable() {
                s.serialize_u64(v.to_bits())
            } else {
                s.serialize_f64(*v)
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
            if d.is_human_readable() {
                u64::deserialize(d).map(f64::from_bits)
            } else {
                f64::deserialize(d)
            }
        }
    }

    /// A KLL sketch's levels: a list of f64 lists, at least one.
    pub mod levels_exact {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(levels: &[Vec<f64>], s: S) -> Result<S::Ok, S::Error> {
            let human = s.is_human_readable();
            let mut seq = s.serialize_seq(Some(levels.len()))?;
            for level in levels {
                if human {
                    let bits: Vec<u64> = level.iter().map(|v| v.to_bits()).collect();
                    seq.serialize_element(&bits)?;
                } else {
                    seq.serialize_element(level)?;
                }
            }
            seq.end()
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
            let levels: Vec<Vec<f64>> = if d.is_human_readable() {
                let bits = Vec::<Vec<u64>>::deserialize(d)?;
                bits.into_iter().map(|l| l.into_iter().map(f64::from_bits).collect()).collect()
            } else {
                Vec::<Vec<f64>>::deserialize(d)?
            };
            if levels.is_empty() {
                return Err(serde::de::Error::custom("a KLL sketch has at least one level"));
            }
            Ok(levels)
        }
    }

    /// A list of u64.
    pub mod u64s {
        use serde::de::{Error, SeqAccess, Visitor};
        use serde::{Deserializer, Serialize, Serializer};
        use std::fmt;

        pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
            if s.is_human_readable() {
                v.serialize(s)
            } else {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                s.serialize_bytes(&bytes)
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
            struct Words;
            impl<'de> Visitor<'de> for Words {
                type Value = Vec<u64>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of u64 or a byte string of little-endian u64 words")
                }
                fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Vec<u64>, E> {
                    if !bytes.len().is_multiple_of(8) {
                        return Err(E::custom(format!("{} bytes is not a whole number of u64 words", bytes.len())));
                    }
                    Ok(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect())
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
                    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                    while let Some(x) = seq.next_element::<u64>()? {
                        out.push(x);
                    }
                    Ok(out)
                }
            }
            if d.is_human_readable() {
                d.deserialize_seq(Words)
            } else {
                d.deserialize_bytes(Words)
            }
        }
    }
}

/// Seeded data for the sketches' tests.
#[cfg(test)]
pub(crate) mod testdata {
    /// splitmix64 stream.
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            super::mix64(self.0)
        }
        /// Uniform in [0, 1).
        pub fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Standard normal (Box-Muller).
        pub fn normal(&mut self) -> f64 {
            let u = 1.0 - self.uniform();
            let v = self.uniform();
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
        /// Zipf-like integer >= 1: P(x) roughly proportional to x^-(1 + 1/a).
        pub fn zipfish(&mut self, a: f64) -> u64 {
            (1.0 / (1.0 - self.uniform()).powf(a)).floor().min(1e12) as u64
        }
    }

    /// The test distributions for quantile sketches, `n` values each.
    pub fn distributions(n: usize, seed: u64) -> Vec<(&'static str, Vec<f64>)> {
        let mut r = Rng(seed);
        let uniform: Vec<f64> = (0..n).map(|_| r.uniform() * 1000.0 - 500.0).collect();
        let normal: Vec<f64> = (0..n).map(|_| 50.0 + 10.0 * r.normal()).collect();
        let zipf: Vec<f64> = (0..n).map(|_| r.zipfish(1.2) as f64).collect();
        let mut sorted = uniform.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let reverse: Vec<f64> = sorted.iter().rev().copied().collect();
        let duplicates: Vec<f64> = (0..n)
            .map(|_| match r.next_u64() % 100 {
                0..=59 => 0.0,
                60..=84 => 1.0,
                85..=94 => 2.5,
                95..=98 => -7.0,
                _ => r.uniform(),
            })
            .collect();
        vec![
            ("uniform", uniform),
            ("normal", normal),
            ("zipf", zipf),
            ("sorted", sorted),
            ("reverse", reverse),
            ("duplicates", duplicates),
        ]
    }
}
