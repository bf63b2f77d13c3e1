//! The safetensors checkpoint format, end to end through real files.
//!
//! Round trips of `F32` and `F64` tensors with metadata, the byte layout the
//! format specifies (checked independently of the loader), every way a file
//! can be cut short, files that are not checkpoints at all, and the atomic
//! write that must never leave a temporary file behind.
//!
//! Interoperability with Python's `safetensors.numpy` was checked by hand
//! (files written here load there and the reverse); it is not run in CI,
//! which has no Python.

use minimax::autodiff::rng;
use minimax::gan::json::JsonValue;
use minimax::gan::safetensors::{self, CheckpointError, NamedTensor, TensorData};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minimax-ckpt-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Deterministic pseudo-random values in [-1, 1) from the engine's RNG.
fn values(seed: u64, n: usize) -> Vec<f64> {
    let key = rng::seed_key(seed);
    (0..n as u32).map(|i| 2.0 * rng::uniform(key, i) - 1.0).collect()
}

/// A small model's worth of tensors: both dtypes, 2-D, 1-D, scalar, empty,
/// and the awkward float values (NaN, ±inf, -0, subnormal, extremes).
fn sample_tensors() -> Vec<NamedTensor> {
    let w: Vec<f32> = values(1, 12).iter().map(|&x| x as f32).collect();
    let mut odd = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324, f64::MAX];
    odd.extend(values(2, 2));
    vec![
        NamedTensor::f32("generator.layer0.weight", vec![3, 4], w),
        NamedTensor::f32(
            "generator.layer0.bias",
            vec![4],
            vec![f32::MIN_POSITIVE, -1.5, 0.0, f32::NAN],
        ),
        NamedTensor::f64("discriminator.layer0.weight", vec![2, 4], odd),
        NamedTensor::f64("step_scale", vec![], vec![0.1]),
        NamedTensor::f32("empty", vec![0, 3], vec![]),
    ]
}

fn sample_metadata() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("step".to_string(), "1500".to_string()),
        ("loss".to_string(), "non-saturating".to_string()),
        ("note".to_string(), "quotes \" backslash \\ newline \n unicode é".to_string()),
    ])
}

/// Bitwise equality, so NaN == NaN and -0.0 != 0.0.
fn same_bits(a: &TensorData, b: &TensorData) -> bool {
    match (a, b) {
        (TensorData::F32(x), TensorData::F32(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        (TensorData::F64(x), TensorData::F64(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        _ => false,
    }
}

#[test]
fn round_trip_f32_and_f64_with_metadata() {
    let dir = scratch("roundtrip");
    let path = dir.join("model.safetensors");
    let tensors = sample_tensors();
    safetensors::save(&path, &tensors, &sample_metadata()).unwrap();
    let (back, meta) = safetensors::load(&path).unwrap();

    assert_eq!(meta, sample_metadata());
    assert_eq!(back.len(), tensors.len());
    for (a, b) in tensors.iter().zip(&back) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.shape, b.shape);
        assert!(same_bits(&a.data, &b.data), "{}: {:?} != {:?}", a.name, a.data, b.data);
    }

    // No metadata at all is also a valid file.
    safetensors::save(&path, &tensors[..1], &BTreeMap::new()).unwrap();
    let (back, meta) = safetensors::load(&path).unwrap();
    assert!(meta.is_empty());
    assert_eq!(back, tensors[..1]);
    fs::remove_dir_all(&dir).unwrap();
}

/// Reads the layout straight from the bytes, without the loader: the length
/// prefix, the padded JSON header, and each tensor's little-endian data.
#[test]
fn bytes_follow_the_specification() {
    let dir = scratch("layout");
    let path = dir.join("model.safetensors");
    let tensors = sample_tensors();
    safetensors::save(&path, &tensors, &sample_metadata()).unwrap();
    let bytes = fs::read(&path).unwrap();

    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header padded to a multiple of 8");
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    assert!(header.starts_with('{'));
    let header = JsonValue::parse(header).unwrap();
    let data = &bytes[8 + n..];

    let meta = header.get("__metadata__").unwrap();
    assert_eq!(meta.get("step").and_then(JsonValue::as_str), Some("1500"));

    let mut offset = 0;
    for t in &tensors {
        let entry = header.get(&t.name).unwrap();
        assert_eq!(entry.get("dtype").and_then(JsonValue::as_str), Some(t.data.dtype()));
        let shape: Vec<usize> = entry
            .get("shape")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_f64().unwrap() as usize)
            .collect();
        assert_eq!(shape, t.shape);
        let expected: Vec<u8> = match &t.data {
            TensorData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            TensorData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        };
        let end = offset + expected.len();
        let offsets = entry.get("data_offsets").unwrap().as_array().unwrap();
        assert_eq!(offsets, [JsonValue::Number(offset as f64), JsonValue::Number(end as f64)]);
        assert_eq!(&data[offset..end], &expected[..], "{}", t.name);
        offset = end;
    }
    assert_eq!(offset, data.len(), "no bytes after the last tensor");
    fs::remove_dir_all(&dir).unwrap();
}

/// Every prefix of a valid file is refused, and says it is short.
#[test]
fn every_truncation_is_reported() {
    let dir = scratch("truncated");
    let whole = dir.join("whole.safetensors");
    safetensors::save(&whole, &sample_tensors(), &sample_metadata()).unwrap();
    let bytes = fs::read(&whole).unwrap();
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;

    let cut = dir.join("cut.safetensors");
    for len in 0..bytes.len() {
        fs::write(&cut, &bytes[..len]).unwrap();
        let err = safetensors::load(&cut).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with(&cut.display().to_string()), "{message}");
        match err {
            CheckpointError::TooShort { len: l, .. } => assert!(len < 8 && l == len, "{len}"),
            CheckpointError::Truncated { .. } => assert!((8..header_end).contains(&len), "{len}"),
            CheckpointError::TruncatedData { .. } => assert!(len >= header_end, "{len}"),
            other => panic!("cut at {len} of {}: unexpected {other}", bytes.len()),
        }
        assert!(message.contains("truncated") || message.contains("shorter"), "{message}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn foreign_files_are_refused_clearly() {
    let dir = scratch("foreign");
    let random: Vec<u8> = (0..256).map(|i| rng::bits(rng::seed_key(7), i) as u8).collect();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let header = r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#;
    let mut bad_offsets = (header.len() as u64).to_le_bytes().to_vec();
    bad_offsets.extend(header.as_bytes());
    bad_offsets.extend([0u8; 16]);
    let mut not_json = 16u64.to_le_bytes().to_vec();
    not_json.extend(b"hello, world!!!!");

    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("empty", vec![], "not a safetensors file: 0 bytes is shorter than the 8-byte"),
        ("random", random, "not a safetensors file: header length"),
        ("png", png, "not a safetensors file: header length"),
        ("bad_offsets", bad_offsets, "tensor \"w\": shape [2, 2] of F32 needs 16 bytes"),
        ("not_json", not_json, "not a safetensors file: header: invalid JSON at byte 0"),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        let message = safetensors::load(&path).unwrap_err().to_string();
        assert!(message.starts_with(&path.display().to_string()), "{message}");
        assert!(message.contains(needle), "{name}: expected {needle:?} in {message:?}");
    }

    let missing = dir.join("missing.safetensors");
    let err = safetensors::load(&missing).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }));
    assert!(err.to_string().starts_with(&missing.display().to_string()));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saving_is_atomic_and_leaves_no_temporary_files() {
    let dir = scratch("atomic");
    let path = dir.join("ckpt/model.safetensors");
    let tensors = sample_tensors();
    safetensors::save(&path, &tensors, &sample_metadata()).unwrap();
    safetensors::save(&path, &tensors[3..], &BTreeMap::new()).unwrap(); // overwrite
    assert_eq!(listing(&dir.join("ckpt")), ["model.safetensors"]);
    assert_eq!(safetensors::load(&path).unwrap().0, tensors[3..]);

    // A save that fails at the rename (a non-empty directory is in the way)
    // leaves neither a file nor a temporary behind.
    let blocked = dir.join("blocked");
    fs::create_dir_all(blocked.join("inside")).unwrap();
    let err = safetensors::save(&blocked, &tensors, &BTreeMap::new()).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    assert_eq!(listing(&dir), ["blocked", "ckpt"]);
    assert_eq!(listing(&blocked), ["inside"]);
    fs::remove_dir_all(&dir).unwrap();
}
