//! Checkpoints in the Hugging Face *safetensors* format, written by hand.
//!
//! A safetensors file is three parts, nothing else:
//!
//! ```text
//! [ N: u64, little-endian ][ header: N bytes of JSON ][ data: raw bytes ]
//! ```
//!
//! The header is one JSON object. The optional key `__metadata__` maps to an
//! object of string → string; every other key is a tensor name mapping to
//!
//! ```json
//! {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
//! ```
//!
//! where the offsets are byte positions *in the data part* (not the file),
//! `end - begin = product(shape) × size(dtype)`, and values are stored
//! little-endian, row-major. The format also demands that the tensors tile
//! the data part exactly: no overlaps, no holes, nothing after the last one
//! (so a file cannot hide a second payload). Writers pad the header with
//! spaces to a multiple of 8 bytes so the data starts aligned.
//!
//! This module handles the two dtypes the engine uses, `F32` and `F64`; a
//! file with any other dtype is refused with [`CheckpointError::UnsupportedDtype`].
//! Files written here load with Python's `safetensors.numpy.load_file`, and
//! files written there load here.
//!
//! ```
//! use minimax_gan::safetensors::{self, NamedTensor};
//! use std::collections::BTreeMap;
//!
//! let path = std::env::temp_dir().join(format!("doc-{}.safetensors", std::process::id()));
//! let w = NamedTensor::f32("w", vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
//! let meta = BTreeMap::from([("step".to_string(), "100".to_string())]);
//! safetensors::save(&path, &[w.clone()], &meta).unwrap();
//! let (tensors, meta_back) = safetensors::load(&path).unwrap();
//! assert_eq!(tensors, vec![w]);
//! assert_eq!(meta_back, meta);
//! # std::fs::remove_file(&path).unwrap();
//! ```

use crate::fsutil;
use crate::json::JsonValue;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The element values of a tensor, in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// Stored as dtype `"F32"`.
    F32(Vec<f32>),
    /// Stored as dtype `"F64"`.
    F64(Vec<f64>),
}

impl TensorData {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The safetensors dtype name: `"F32"` or `"F64"`.
    pub fn dtype(&self) -> &'static str {
        match self {
            TensorData::F32(_) => "F32",
            TensorData::F64(_) => "F64",
        }
    }

    /// The values as `f64` (exact for both dtypes).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::F64(v) => v.clone(),
        }
    }

    /// Little-endian bytes, as stored in the file.
    fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// A tensor with its name and shape, as stored in a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// The key in the header, such as `"generator.layer0.weight"`.
    pub name: String,
    /// Dimensions, outermost first: `[rows, cols]` for a matrix, `[n]` for a
    /// vector, `[]` for a scalar.
    pub shape: Vec<usize>,
    /// The values, `product(shape)` of them.
    pub data: TensorData,
}

impl NamedTensor {
    /// An `F32` tensor.
    pub fn f32(name: impl Into<String>, shape: Vec<usize>, data: Vec<f32>) -> Self {
        NamedTensor { name: name.into(), shape, data: TensorData::F32(data) }
    }

    /// An `F64` tensor.
    pub fn f64(name: impl Into<String>, shape: Vec<usize>, data: Vec<f64>) -> Self {
        NamedTensor { name: name.into(), shape, data: TensorData::F64(data) }
    }

    /// `product(shape)`: 1 for a scalar.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// What can go wrong saving or loading a checkpoint. Every message starts
/// with the file's path.
#[derive(Debug)]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file cannot even hold the 8-byte header length.
    TooShort {
        /// The file.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
    /// The header length points past the end of the file.
    Truncated {
        /// The file.
        path: PathBuf,
        /// The header length the file claims.
        header_len: u64,
        /// How many bytes follow the 8-byte length.
        available: usize,
    },
    /// The header is whole but the tensors it lists run past the end of the
    /// file.
    TruncatedData {
        /// The file.
        path: PathBuf,
        /// The tensor that ends last.
        tensor: String,
        /// Where it ends, in bytes from the start of the data part.
        end: usize,
        /// How many bytes of data follow the header.
        available: usize,
    },
    /// The header is not JSON, or not shaped like a safetensors header.
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// A tensor with a dtype other than `F32` or `F64`.
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The dtype it has.
        dtype: String,
    },
    /// A tensor whose offsets, shape or data do not fit together.
    BadTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// What was wrong.
        why: String,
    },
    /// Two tensors with the same name.
    DuplicateName {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        name: String,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CheckpointError::*;
        match self {
            Io { path, source } => write!(f, "{}: {source}", path.display()),
            TooShort { path, len } => write!(
                f,
                "{}: not a safetensors file: {len} bytes is shorter than the 8-byte header length",
                path.display()
            ),
            Truncated { path, header_len, available } => write!(
                f,
                "{}: truncated: the header claims {header_len} bytes but only {available} follow",
                path.display()
            ),
            TruncatedData { path, tensor, end, available } => write!(
                f,
                "{}: truncated: tensor \"{tensor}\" ends at data byte {end} \
                 but only {available} bytes of data follow the header",
                path.display()
            ),
            NotSafetensors { path, why } => {
                write!(f, "{}: not a safetensors file: {why}", path.display())
            }
            UnsupportedDtype { path, tensor, dtype } => write!(
                f,
                "{}: tensor \"{tensor}\": unsupported dtype \"{dtype}\" (expected F32 or F64)",
                path.display()
            ),
            BadTensor { path, tensor, why } => {
                write!(f, "{}: tensor \"{tensor}\": {why}", path.display())
            }
            DuplicateName { path, name } => {
                write!(f, "{}: duplicate tensor name \"{name}\"", path.display())
            }
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The header key that holds string metadata rather than a tensor.
const METADATA_KEY: &str = "__metadata__";

/// Headers larger than this are refused (the reference implementation's
/// limit), so a corrupt length cannot make us parse gigabytes.
const MAX_HEADER_LEN: u64 = 100_000_000;

/// Writes `tensors` (in the given order) and `metadata` to `path`, atomically
/// (see [`fsutil::write_atomic`]).
///
/// Fails without touching the file if a name repeats or is `__metadata__`,
/// or if a tensor's data length differs from `product(shape)`.
pub fn save(
    path: impl AsRef<Path>,
    tensors: &[NamedTensor],
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let bad = |tensor: &NamedTensor, why: String| CheckpointError::BadTensor {
        path: path.to_path_buf(),
        tensor: tensor.name.clone(),
        why,
    };

    let mut header = Vec::new();
    if !metadata.is_empty() {
        let pairs = metadata.iter().map(|(k, v)| (k.clone(), JsonValue::String(v.clone())));
        header.push((METADATA_KEY.to_string(), JsonValue::Object(pairs.collect())));
    }
    let mut data = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        if t.name == METADATA_KEY {
            return Err(bad(t, format!("the name {METADATA_KEY} is reserved")));
        }
        if tensors[..i].iter().any(|earlier| earlier.name == t.name) {
            let path = path.to_path_buf();
            return Err(CheckpointError::DuplicateName { path, name: t.name.clone() });
        }
        if t.data.len() != t.numel() {
            let why = format!(
                "shape {:?} holds {} values but {} were given",
                t.shape,
                t.numel(),
                t.data.len()
            );
            return Err(bad(t, why));
        }
        let begin = data.len();
        data.extend(t.data.to_le_bytes());
        let numbers = |xs: &[usize]| {
            JsonValue::Array(xs.iter().map(|&x| JsonValue::Number(x as f64)).collect())
        };
        let entry = JsonValue::Object(vec![
            ("dtype".to_string(), JsonValue::String(t.data.dtype().to_string())),
            ("shape".to_string(), numbers(&t.shape)),
            ("data_offsets".to_string(), numbers(&[begin, data.len()])),
        ]);
        header.push((t.name.clone(), entry));
    }

    let mut header = JsonValue::Object(header).to_compact().into_bytes();
    // Pad with spaces (valid JSON whitespace) so the data starts 8-aligned.
    header.resize(header.len().next_multiple_of(8), b' ');

    let mut bytes = Vec::with_capacity(8 + header.len() + data.len());
    bytes.extend((header.len() as u64).to_le_bytes());
    bytes.extend(header);
    bytes.extend(data);
    fsutil::write_atomic(path, &bytes)
        .map_err(|source| CheckpointError::Io { path: path.to_path_buf(), source })
}

/// Reads a checkpoint: its tensors in file order (by data offset) and its
/// metadata (empty if the file has none).
///
/// Every structural rule of the format is checked; see [`CheckpointError`].
pub fn load(
    path: impl AsRef<Path>,
) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>), CheckpointError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|source| CheckpointError::Io { path: path.to_path_buf(), source })?;
    parse(path, &bytes)
}

/// Parses a whole file held in memory; `path` is only for error messages.
fn parse(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>), CheckpointError> {
    let path_buf = || path.to_path_buf();
    let not_st = |why: String| CheckpointError::NotSafetensors { path: path_buf(), why };

    // Part 1: the header length.
    let Some(len_bytes) = bytes.first_chunk::<8>() else {
        return Err(CheckpointError::TooShort { path: path_buf(), len: bytes.len() });
    };
    let header_len = u64::from_le_bytes(*len_bytes);
    let available = bytes.len() - 8;
    if header_len > MAX_HEADER_LEN {
        return Err(not_st(format!("header length {header_len} is implausibly large")));
    }
    if header_len > available as u64 {
        return Err(CheckpointError::Truncated { path: path_buf(), header_len, available });
    }

    // Part 2: the JSON header.
    let (header, data) = bytes[8..].split_at(header_len as usize);
    let header = std::str::from_utf8(header)
        .map_err(|_| not_st("the header is not UTF-8 text".to_string()))?;
    let header = JsonValue::parse(header).map_err(|e| not_st(format!("header: {e}")))?;
    let Some(entries) = header.as_object() else {
        return Err(not_st("the header is not a JSON object".to_string()));
    };

    // Part 3: each entry's dtype, shape and offsets.
    let mut metadata = BTreeMap::new();
    let mut entries_found: Vec<Entry> = Vec::new();
    for (name, value) in entries {
        if name == METADATA_KEY {
            metadata = parse_metadata(value).map_err(not_st)?;
            continue;
        }
        if entries_found.iter().any(|e| &e.name == name) {
            return Err(CheckpointError::DuplicateName { path: path_buf(), name: name.clone() });
        }
        entries_found.push(parse_entry(path, name, value)?);
    }

    // Part 4: the tensors must tile the data part. Sorted by offset, each
    // begins where the previous one ended, and the last ends at end of file.
    entries_found.sort_by_key(|e| e.begin);
    let mut expected_begin = 0;
    for e in &entries_found {
        if e.begin != expected_begin {
            let (begin, end) = (e.begin, e.end);
            let why = if begin < expected_begin {
                format!(
                    "data_offsets [{begin}, {end}] overlap the previous tensor, \
                         which ends at {expected_begin}"
                )
            } else {
                format!("data_offsets [{begin}, {end}] leave a gap after byte {expected_begin}")
            };
            return Err(CheckpointError::BadTensor {
                path: path_buf(),
                tensor: e.name.clone(),
                why,
            });
        }
        expected_begin = e.end;
    }
    if let Some(last) = entries_found.last().filter(|e| e.end > data.len()) {
        return Err(CheckpointError::TruncatedData {
            path: path_buf(),
            tensor: last.name.clone(),
            end: last.end,
            available: data.len(),
        });
    }
    if expected_begin != data.len() {
        return Err(not_st(format!(
            "{} bytes of data after the last tensor, which ends at {expected_begin}",
            data.len() - expected_begin
        )));
    }

    // Part 5: every range is now known to lie inside `data`; decode.
    let tensors = entries_found.into_iter().map(|e| e.decode(data)).collect();
    Ok((tensors, metadata))
}

/// A tensor's header entry, checked for internal consistency.
struct Entry {
    name: String,
    shape: Vec<usize>,
    /// 4 for F32, 8 for F64.
    elem_size: usize,
    /// Byte range in the data part.
    begin: usize,
    end: usize,
}

impl Entry {
    /// Reads the little-endian values; `data[begin..end]` must be in range.
    fn decode(self, data: &[u8]) -> NamedTensor {
        let bytes = &data[self.begin..self.end];
        let values = if self.elem_size == 4 {
            let chunks = bytes.chunks_exact(4);
            TensorData::F32(chunks.map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
        } else {
            let chunks = bytes.chunks_exact(8);
            TensorData::F64(chunks.map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect())
        };
        NamedTensor { name: self.name, shape: self.shape, data: values }
    }
}

/// `{"k": "v", ...}` into a map; every value must be a string.
fn parse_metadata(entry: &JsonValue) -> Result<BTreeMap<String, String>, String> {
    let pairs = entry.as_object().ok_or(format!("{METADATA_KEY} is not an object"))?;
    let mut map = BTreeMap::new();
    for (k, v) in pairs {
        let v = v.as_str().ok_or(format!("{METADATA_KEY} value for \"{k}\" is not a string"))?;
        map.insert(k.clone(), v.to_string());
    }
    Ok(map)
}

/// One tensor's entry: its dtype is one we read, its shape and offsets are
/// lists of integers, and the byte count matches `product(shape) × size`.
fn parse_entry(path: &Path, name: &str, entry: &JsonValue) -> Result<Entry, CheckpointError> {
    let path_buf = || path.to_path_buf();
    let tensor = || name.to_string();
    let not_st = |why: String| CheckpointError::NotSafetensors { path: path_buf(), why };
    let bad = |why: String| CheckpointError::BadTensor { path: path_buf(), tensor: tensor(), why };
    let field = |key: &str| {
        entry.get(key).ok_or_else(|| not_st(format!("tensor \"{name}\" has no \"{key}\"")))
    };

    let dtype = field("dtype")?
        .as_str()
        .ok_or_else(|| not_st(format!("tensor \"{name}\": dtype is not a string")))?;
    let elem_size = match dtype {
        "F32" => 4,
        "F64" => 8,
        other => {
            let dtype = other.to_string();
            return Err(CheckpointError::UnsupportedDtype {
                path: path_buf(),
                tensor: tensor(),
                dtype,
            });
        }
    };
    let shape = usize_list(field("shape")?)
        .ok_or_else(|| not_st(format!("tensor \"{name}\": shape is not a list of integers")))?;
    let offsets = usize_list(field("data_offsets")?)
        .filter(|o| o.len() == 2)
        .ok_or_else(|| not_st(format!("tensor \"{name}\": data_offsets is not [begin, end]")))?;
    let (begin, end) = (offsets[0], offsets[1]);
    if begin > end {
        return Err(bad(format!("data_offsets [{begin}, {end}] end before they begin")));
    }
    // Checked arithmetic: a hostile shape like [2^40, 2^40] must not wrap.
    let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let expected = numel.and_then(|n| n.checked_mul(elem_size));
    if expected != Some(end - begin) {
        let needs = expected.map_or("more than usize::MAX".to_string(), |e| e.to_string());
        return Err(bad(format!(
            "shape {shape:?} of {dtype} needs {needs} bytes \
             but data_offsets [{begin}, {end}] hold {}",
            end - begin
        )));
    }
    Ok(Entry { name: tensor(), shape, elem_size, begin, end })
}

/// A JSON array of non-negative integers, such as a shape.
fn usize_list(value: &JsonValue) -> Option<Vec<usize>> {
    value
        .as_array()?
        .iter()
        .map(|v| {
            let x = v.as_f64()?;
            // 2^53: every integer below it is exact in an f64.
            (x >= 0.0 && x.fract() == 0.0 && x < 9_007_199_254_740_992.0).then_some(x as usize)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses in-memory bytes, naming the "file" `mem`.
    fn parse_mem(bytes: &[u8]) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>), String> {
        parse(Path::new("mem"), bytes).map_err(|e| e.to_string())
    }

    /// A file with `header` as its JSON and `data` after it.
    fn file_with(header: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        bytes
    }

    #[test]
    fn decodes_a_hand_built_file() {
        // Two F32 values 1.0 and -2.0, little-endian, then one F64 0.5.
        let mut data = Vec::new();
        data.extend(1.0f32.to_le_bytes());
        data.extend((-2.0f32).to_le_bytes());
        data.extend(0.5f64.to_le_bytes());
        let header = r#"{"b":{"dtype":"F64","shape":[],"data_offsets":[8,16]},
                         "a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                         "__metadata__":{"format":"np"}}"#;
        let (tensors, meta) = parse_mem(&file_with(header, &data)).unwrap();
        // File order is offset order, not header order.
        assert_eq!(
            tensors,
            vec![
                NamedTensor::f32("a", vec![2], vec![1.0, -2.0]),
                NamedTensor::f64("b", vec![], vec![0.5]),
            ]
        );
        assert_eq!(meta, BTreeMap::from([("format".to_string(), "np".to_string())]));
    }

    #[test]
    fn structural_errors_have_clear_messages() {
        let f32s = |n: usize| vec![0u8; 4 * n];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![1, 2, 3], "mem: not a safetensors file: 3 bytes is shorter"),
            (file_with("[1, 2]", &[]), "the header is not a JSON object"),
            (file_with("{\"a\": ", &[]), "not a safetensors file: header: invalid JSON"),
            (
                file_with(r#"{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#, &[0; 2]),
                "tensor \"a\": unsupported dtype \"F16\"",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &f32s(1)),
                "truncated: tensor \"a\" ends at data byte 8 but only 4 bytes of data follow",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, &[]),
                "data_offsets [8, 0] end before they begin",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[1e20],"data_offsets":[0,4]}}"#, &f32s(1)),
                "shape is not a list of integers",
            ),
            (
                file_with(
                    r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                    &f32s(1),
                ),
                "needs more than usize::MAX bytes",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, &f32s(2)),
                "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8",
            ),
            (
                file_with(
                    r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                          "b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                    &f32s(2),
                ),
                "tensor \"b\": data_offsets [4, 8] overlap",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, &f32s(2)),
                "leave a gap",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, &f32s(2)),
                "4 bytes of data after the last tensor",
            ),
            (
                file_with(
                    r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
                          "a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                    &f32s(2),
                ),
                "duplicate tensor name \"a\"",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, &f32s(1)),
                "shape is not a list of integers",
            ),
            (
                file_with(r#"{"a":{"dtype":"F32","shape":[1]}}"#, &f32s(1)),
                "tensor \"a\" has no \"data_offsets\"",
            ),
            (file_with(r#"{"__metadata__":{"k":1}}"#, &[]), "value for \"k\" is not a string"),
        ];
        for (bytes, needle) in cases {
            let err = parse_mem(&bytes).unwrap_err();
            assert!(err.contains(needle), "expected {needle:?} in {err:?}");
        }
    }

    #[test]
    fn save_refuses_inconsistent_tensors() {
        let path = std::env::temp_dir().join(format!("minimax-st-refuse-{}", std::process::id()));
        let none = BTreeMap::new();
        let short = NamedTensor::f32("w", vec![2, 2], vec![1.0; 3]);
        let err = save(&path, &[short], &none).unwrap_err().to_string();
        assert!(
            err.contains("tensor \"w\": shape [2, 2] holds 4 values but 3 were given"),
            "{err}"
        );
        let a = NamedTensor::f64("a", vec![1], vec![1.0]);
        let err = save(&path, &[a.clone(), a], &none).unwrap_err().to_string();
        assert!(err.contains("duplicate tensor name \"a\""), "{err}");
        let reserved = NamedTensor::f64(METADATA_KEY, vec![1], vec![1.0]);
        assert!(save(&path, &[reserved], &none).unwrap_err().to_string().contains("reserved"));
        assert!(!path.exists(), "a refused save must not create the file");
    }
}
