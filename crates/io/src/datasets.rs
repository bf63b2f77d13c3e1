//! Image data sets: the 8×8 digits shipped in the repository, and anything
//! in MNIST's IDX format (Fashion-MNIST, MNIST, …), read into one plain
//! struct, [`ImageSet`], with pixels kept as the file's bytes ([`Pixels`],
//! a quarter of their `f32` size) and scaled to `[-1, 1]`, like G's `tanh`,
//! a batch at a time.
//!
//! Three sources, picked by [`DataSource::from_flag`] from `--data`:
//!
//! - `digits` (the default): [`digits`], 1,797 images 8×8 from the UCI
//!   "Optical Recognition of Handwritten Digits" set as scikit-learn ships
//!   it, compiled into the binary from `data/digits/digits.csv.gz` (see the
//!   README there), so it needs no setup and no download;
//! - `fashion`: [`fashion_mnist`], the four IDX files that Debian's package
//!   `dataset-fashion-mnist` installs in [`FASHION_MNIST_DIR`];
//! - a folder: [`read_idx_dir`], the same four file names in a folder the
//!   user brings (MNIST, or any data set in the same format).
//!
//! ## The IDX format (LeCun et al., "THE MNIST DATABASE")
//!
//! Big-endian throughout. A 4-byte magic number `00 00 TT DD`: two zero
//! bytes, the element type `TT` (`08` = unsigned byte, the only one used
//! here) and the number of dimensions `DD`; then `DD` sizes as `u32`; then
//! the elements, row-major. An image file is `00 00 08 03` and
//! `[count, rows, cols]`; a label file is `00 00 08 01` and `[count]`.
//! Files may be gzipped (recognised by their first two bytes, `1f 8b`,
//! whatever their name).
//!
//! ## Validation before allocation
//!
//! A header is only a claim. Everything is checked before memory is sized
//! from it: the magic number, the sizes against [`MAX_SIDE`] and
//! [`MAX_BYTES`], and the body's length against the header's product. The
//! body is read in blocks into a buffer that grows as bytes actually arrive
//! (by an eighth of what has arrived, at least 1 MiB, never past the
//! claim), never reserving what the header claims, and at most one byte past
//! the claimed length: a corrupt header or a gzip bomb cannot make us
//! allocate more than the file really holds and one growth step. The bytes
//! are kept as they are; nothing is converted to `f32` whole. Then image and
//! label counts must agree, and the training and test images must have one
//! shape.

pub use crate::hash::fnv1a64;
use crate::hash::Fnv1a;
use flate2::read::MultiGzDecoder;
pub use minimax_gan::image::Pixels;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The 8×8 digits, gzipped CSV, compiled in (57 KB): see `data/digits/README.md`.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../../data/digits/digits.csv.gz");
/// The name errors give the built-in digits file.
pub const DIGITS_SOURCE: &str = "data/digits/digits.csv.gz";
/// Images in the digits file.
pub const DIGITS_COUNT: usize = 1797;
/// The digits' test split: the file's **last** 297 lines (the first 1,500
/// are the training split). Fixed rather than shuffled, so it is the same in
/// any language; it holds 27 to 33 images of each digit.
pub const DIGITS_TEST: usize = 297;
/// The largest pixel value in the digits file (a count of set pixels in a
/// 4×4 block).
pub const DIGITS_MAX_VALUE: u8 = 16;

/// Where `apt-get install dataset-fashion-mnist` (Debian, Ubuntu) puts
/// Fashion-MNIST's four IDX files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Fashion-MNIST's ten classes, in label order (Xiao et al. 2017).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The four files of an IDX data set, as MNIST names them: training images,
/// training labels, test images, test labels. Each may also be present
/// without the `.gz` (uncompressed).
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// Magic number of an IDX image file: unsigned bytes, 3 dimensions.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX label file: unsigned bytes, 1 dimension.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// The IDX byte that means full ink: 255 becomes 1, 0 becomes −1.
pub const IDX_MAX_VALUE: u8 = 255;
/// The largest image side accepted (pixels). MNIST's is 28; a larger claim
/// is a corrupt header, not an image this trainer could use.
pub const MAX_SIDE: usize = 1024;
/// The most pixel (or label) bytes one file may claim: 1 GiB, 20 times
/// MNIST's training images.
pub const MAX_BYTES: usize = 1 << 30;

/// What a reader says when a file is missing: how to get the data.
const IDX_HINT: &str = "an IDX data set is four files in one folder: \
train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and \
t10k-labels-idx1-ubyte.gz (or the same names without .gz). For Fashion-MNIST, \
`apt-get install dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist/; \
for MNIST, bring the four files yourself and pass `--data DIR`";

/// Why a data set could not be read. Every variant names the file.
#[derive(Debug)]
pub enum DatasetError {
    /// A file the data set needs is not there.
    Missing {
        /// The file looked for.
        path: PathBuf,
        /// How to get the data set.
        hint: String,
    },
    /// The file exists but could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The gzip stream is corrupt or cut short.
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        source: io::Error,
    },
    /// The first four bytes are not the expected IDX magic number.
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number wanted.
        expected: u32,
        /// The magic number found.
        found: u32,
    },
    /// The header's sizes are impossible or absurd (zero, over
    /// [`MAX_SIDE`], over [`MAX_BYTES`] in all).
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// Which size, and why it is refused.
        message: String,
    },
    /// The file holds fewer bytes than its header says.
    Truncated {
        /// The file.
        path: PathBuf,
        /// The header's sizes (empty when the header itself is cut short).
        dims: Vec<usize>,
        /// Bytes the header promises (after the header, decompressed).
        expected: usize,
        /// Bytes there are.
        found: usize,
    },
    /// The file holds more bytes than its header says.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header promises (after the header, decompressed).
        expected: usize,
    },
    /// An image file and its label file disagree on the count.
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Images in it.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Labels in it.
        label_count: usize,
    },
    /// The training and test images differ in shape.
    ShapeMismatch {
        /// The training images.
        train: PathBuf,
        /// Their `(rows, cols)`.
        train_shape: (usize, usize),
        /// The test images.
        test: PathBuf,
        /// Their `(rows, cols)`.
        test_shape: (usize, usize),
    },
    /// A line of the digits CSV is malformed.
    Csv {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { path, hint } => {
                write!(f, "{}: no such file; {hint}", path.display())
            }
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Gzip { path, source } => {
                write!(f, "{}: corrupt or cut-short gzip stream: {source}", path.display())
            }
            Self::BadMagic { path, expected, found } => write!(
                f,
                "{}: not an IDX {} file: magic number {found:#010x}, expected {expected:#010x}{}",
                path.display(),
                if *expected == IDX_IMAGES_MAGIC { "image" } else { "label" },
                match *found {
                    IDX_IMAGES_MAGIC => " (this is an image file)",
                    IDX_LABELS_MAGIC => " (this is a label file)",
                    _ => "",
                }
            ),
            Self::BadDimensions { path, message } => {
                write!(f, "{}: bad IDX header: {message}", path.display())
            }
            Self::Truncated { path, dims, expected, found } if dims.is_empty() => write!(
                f,
                "{}: truncated: the header needs {expected} bytes, the file holds {found}",
                path.display()
            ),
            Self::Truncated { path, dims, expected, found } => write!(
                f,
                "{}: truncated: the header claims sizes {dims:?}, {expected} bytes of data (the \
                 limit is {MAX_BYTES}), and the file holds {found}",
                path.display()
            ),
            Self::TrailingBytes { path, expected } => write!(
                f,
                "{}: more data than the header promises ({expected} bytes): wrong header or two files joined?",
                path.display()
            ),
            Self::CountMismatch { images, image_count, labels, label_count } => write!(
                f,
                "{} holds {image_count} images but {} holds {label_count} labels",
                images.display(),
                labels.display()
            ),
            Self::ShapeMismatch { train, train_shape, test, test_shape } => write!(
                f,
                "training images {} are {}×{} but test images {} are {}×{}",
                train.display(),
                train_shape.0,
                train_shape.1,
                test.display(),
                test_shape.0,
                test_shape.1
            ),
            Self::Csv { path, line, message } => {
                write!(f, "{} line {line}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for DatasetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } | Self::Gzip { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Images of one shape with their labels: one split of a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub cols: usize,
    /// `[len, rows * cols]` row-major, the file's bytes; a byte's value in
    /// `[-1, 1]` is [`Pixels::value`] (−1 is the background: black in
    /// MNIST's convention of white ink on black).
    pub images: Pixels,
    /// One class per image, each below `classes`.
    pub labels: Vec<u8>,
    /// Classes in the data set (shared by its splits).
    pub classes: usize,
}

impl ImageSet {
    /// Images in the set.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image, `rows * cols`.
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// Image `i`'s bytes, `rows * cols` row-major. Panics if `i >= len()`.
    pub fn image_bytes(&self, i: usize) -> &[u8] {
        let p = self.pixels();
        &self.images.bytes()[i * p..(i + 1) * p]
    }

    /// Image `i`, `rows * cols` values in `[-1, 1]` row-major. Panics if
    /// `i >= len()`.
    pub fn image(&self, i: usize) -> Vec<f32> {
        self.image_bytes(i).iter().map(|&v| self.images.value(v)).collect()
    }

    /// Images of each class, `[classes]`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The classes with no image in this split, in order: a label file
    /// whose largest label is 200 makes a 201-class set, most of it empty,
    /// which a run should warn about.
    pub fn empty_classes(&self) -> Vec<usize> {
        let counts = self.class_counts();
        (0..self.classes).filter(|&c| counts[c] == 0).collect()
    }

    /// The share of images of each class, `[classes]`, summing to 1 (all
    /// zero for an empty set).
    pub fn class_frequencies(&self) -> Vec<f64> {
        let n = self.len().max(1) as f64;
        self.class_counts().iter().map(|&c| c as f64 / n).collect()
    }

    /// FNV-1a (64-bit) of the shape, the class count, every pixel's `f32`
    /// bits (its value in `[-1, 1]`, as when sets were held in `f32`, so a
    /// fingerprint is what it was) and every label: equal sets have equal fingerprints, and any
    /// change to a pixel, a label or the scaling changes it (up to the odds
    /// of a 64-bit collision). For caching what was trained on the set.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv1a::new();
        self.hash_into(&mut h);
        h.finish()
    }

    fn hash_into(&self, h: &mut Fnv1a) {
        h.write(b"minimax ImageSet v1");
        for n in [self.rows, self.cols, self.classes, self.len()] {
            h.write(&(n as u64).to_le_bytes());
        }
        let bits = self.images.table().map(|v| v.to_bits().to_le_bytes());
        for &p in self.images.bytes() {
            h.write(&bits[p as usize]);
        }
        h.write(&self.labels);
    }
}

/// A data set: its training and test splits.
#[derive(Clone, Debug, PartialEq)]
pub struct Splits {
    /// A short name for reports: `digits`, `fashion-mnist`, or the folder.
    pub name: String,
    /// A name for each class, `[classes]`.
    pub class_names: Vec<String>,
    /// The training split.
    pub train: ImageSet,
    /// The test split.
    pub test: ImageSet,
}

impl Splits {
    /// FNV-1a (64-bit) of both splits (see [`ImageSet::fingerprint`]) and
    /// the class names; the name is left out, so the same files read from
    /// two folders have one fingerprint.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv1a::new();
        self.train.hash_into(&mut h);
        self.test.hash_into(&mut h);
        for name in &self.class_names {
            h.write(&(name.len() as u64).to_le_bytes());
            h.write(name.as_bytes());
        }
        h.finish()
    }

    /// That the judges can measure a run on these splits, checked before
    /// training: the Fréchet distance fits a covariance to each split, so
    /// each needs at least two images.
    pub fn check_judgeable(&self) -> Result<(), String> {
        for (split, set) in [("training", &self.train), ("test", &self.test)] {
            if set.len() < 2 {
                let n = set.len();
                return Err(format!(
                    "{}: the {split} split holds {n} image{}, and the Fréchet distance needs \
                     at least 2",
                    self.name,
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        Ok(())
    }

    /// [`Self::fingerprint`] as 16 hex digits, for file names and JSON.
    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint())
    }
}

/// Which data set `--data` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    /// The 8×8 digits compiled in: [`digits`].
    Digits,
    /// Fashion-MNIST from [`FASHION_MNIST_DIR`]: [`fashion_mnist`].
    FashionMnist,
    /// The four IDX files in a folder: [`read_idx_dir`].
    IdxDir(PathBuf),
}

impl DataSource {
    /// `digits` and `fashion` name the two known data sets; anything else is
    /// a folder of IDX files.
    pub fn from_flag(flag: &str) -> Self {
        match flag {
            "digits" => Self::Digits,
            "fashion" | "fashion-mnist" => Self::FashionMnist,
            dir => Self::IdxDir(PathBuf::from(dir)),
        }
    }

    /// The data set's part of a run's name: `digits`, `fashion-mnist`, or
    /// for a folder its path's last two components (for reading) and the
    /// first 8 hex digits of the FNV-1a of its canonical path, so two
    /// folders never give one name: `sets/a/b` and `sets/a_b` both read
    /// `a_b` once [`crate::cli::run_name`] has replaced the `/`, and differ
    /// in the hash.
    pub fn run_label(&self) -> String {
        match self {
            Self::Digits => "digits".into(),
            Self::FashionMnist => "fashion-mnist".into(),
            Self::IdxDir(dir) => {
                let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                let hash = fnv1a64(canonical.as_os_str().as_encoded_bytes()) >> 32;
                let tail: Vec<String> = dir
                    .components()
                    .rev()
                    .filter_map(|c| match c {
                        std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                        _ => None,
                    })
                    .take(2)
                    .collect();
                let tail: Vec<&str> = tail.iter().rev().map(String::as_str).collect();
                format!("{}-{hash:08x}", tail.join("_"))
            }
        }
    }

    /// Reads the data set.
    pub fn load(&self) -> Result<Splits, DatasetError> {
        match self {
            Self::Digits => digits(),
            Self::FashionMnist => fashion_mnist(),
            Self::IdxDir(dir) => read_idx_dir(dir),
        }
    }
}

// ---------------------------------------------------------------------------
// The 8×8 digits (CSV)
// ---------------------------------------------------------------------------

/// The 8×8 digits compiled into the binary, split into the first 1,500
/// images for training and the last [`DIGITS_TEST`] = 297 for testing.
/// Pixels `v` in 0..16 become `v / 8 − 1`.
pub fn digits() -> Result<Splits, DatasetError> {
    parse_digits_csv_gz(DIGITS_CSV_GZ, Path::new(DIGITS_SOURCE))
}

/// Parses gzipped CSV in the digits format (no header; per line 64 pixels
/// 0..16 row-major, then the label 0..9) and splits it like [`digits`]: the
/// last [`DIGITS_TEST`] lines are the test split. `source` names the bytes
/// in errors. The file must hold more than [`DIGITS_TEST`] lines.
pub fn parse_digits_csv_gz(bytes: &[u8], source: &Path) -> Result<Splits, DatasetError> {
    const SIDE: usize = 8;
    const PIXELS: usize = SIDE * SIDE;
    const CLASSES: usize = 10;
    let mut text = String::new();
    MultiGzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| DatasetError::Gzip { path: source.to_path_buf(), source: e })?;
    let csv_error = |line: usize, message: String| DatasetError::Csv {
        path: source.to_path_buf(),
        line,
        message,
    };
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != PIXELS + 1 {
            let n = fields.len();
            return Err(csv_error(line_no, format!("{n} fields, expected {}", PIXELS + 1)));
        }
        for (col, field) in fields.iter().enumerate() {
            let max = if col < PIXELS { DIGITS_MAX_VALUE as usize } else { CLASSES - 1 };
            let what = if col < PIXELS { "pixel" } else { "label" };
            let value: usize = field.parse().map_err(|_| {
                csv_error(
                    line_no,
                    format!("field {}: {what} {field:?} is not a whole number", col + 1),
                )
            })?;
            if value > max {
                let m = format!("field {}: {what} {value} is over {max}", col + 1);
                return Err(csv_error(line_no, m));
            }
            if col < PIXELS {
                images.push(value as u8);
            } else {
                labels.push(value as u8);
            }
        }
    }
    let n = labels.len();
    if n <= DIGITS_TEST {
        let m = format!("{n} images; the split needs more than {DIGITS_TEST}");
        return Err(csv_error(text.lines().count(), m));
    }
    let cut = n - DIGITS_TEST;
    let test_images = images.split_off(cut * PIXELS);
    let test_labels = labels.split_off(cut);
    let set = |images, labels| ImageSet {
        rows: SIDE,
        cols: SIDE,
        images: Pixels::new(images, DIGITS_MAX_VALUE),
        labels,
        classes: CLASSES,
    };
    Ok(Splits {
        name: "digits".into(),
        class_names: (0..CLASSES).map(|c| c.to_string()).collect(),
        train: set(images, labels),
        test: set(test_images, test_labels),
    })
}

// ---------------------------------------------------------------------------
// IDX files
// ---------------------------------------------------------------------------

/// An IDX image file's contents, pixels as stored (0..255).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Images in the file.
    pub count: usize,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
    /// `[count, rows * cols]` bytes, row-major.
    pub pixels: Vec<u8>,
}

/// Fashion-MNIST from [`FASHION_MNIST_DIR`], with its class names.
pub fn fashion_mnist() -> Result<Splits, DatasetError> {
    let mut splits = read_idx_dir(Path::new(FASHION_MNIST_DIR))?;
    splits.name = "fashion-mnist".into();
    if splits.train.classes == FASHION_MNIST_CLASSES.len() {
        splits.class_names = FASHION_MNIST_CLASSES.iter().map(|s| s.to_string()).collect();
    }
    Ok(splits)
}

/// Reads the four [`IDX_FILES`] of `dir` (each gzipped or not) into the
/// training split (`train-*`) and the test split (`t10k-*`). Classes are
/// the largest label of either split plus one; class names are the label
/// numbers. Pixels `v` in 0..255 become `v / 127.5 − 1`.
pub fn read_idx_dir(dir: &Path) -> Result<Splits, DatasetError> {
    let [train_images, train_labels, test_images, test_labels] =
        IDX_FILES.map(|name| find_file(dir, name));
    let (train_images, train_labels) = (train_images?, train_labels?);
    let (test_images, test_labels) = (test_images?, test_labels?);
    let mut train = read_idx_pair(&train_images, &train_labels)?;
    let mut test = read_idx_pair(&test_images, &test_labels)?;
    if (train.rows, train.cols) != (test.rows, test.cols) {
        return Err(DatasetError::ShapeMismatch {
            train: train_images,
            train_shape: (train.rows, train.cols),
            test: test_images,
            test_shape: (test.rows, test.cols),
        });
    }
    let classes = train.classes.max(test.classes);
    train.classes = classes;
    test.classes = classes;
    Ok(Splits {
        name: dir.display().to_string(),
        class_names: (0..classes).map(|c| c.to_string()).collect(),
        train,
        test,
    })
}

/// `dir/name`, or `dir/name` without `.gz` if only that exists; a
/// [`DatasetError::Missing`] naming `dir/name` if neither does. A path that
/// exists but cannot be looked at (a loop of symbolic links, a folder it may
/// not enter) is that error, naming the path, not "no such file".
fn find_file(dir: &Path, name: &str) -> Result<PathBuf, DatasetError> {
    let gz = dir.join(name);
    let plain = dir.join(name.trim_end_matches(".gz"));
    for path in [gz.clone(), plain] {
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => return Ok(path),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(DatasetError::Io { path, source }),
        }
    }
    Err(DatasetError::Missing { path: gz, hint: IDX_HINT.into() })
}

/// Reads an image file and its label file into one [`ImageSet`], checking
/// they hold the same number of items. `classes` is the largest label plus
/// one.
pub fn read_idx_pair(images: &Path, labels: &Path) -> Result<ImageSet, DatasetError> {
    let idx = read_idx_images(images)?;
    let label_bytes = read_idx_labels(labels)?;
    if idx.count != label_bytes.len() {
        return Err(DatasetError::CountMismatch {
            images: images.to_path_buf(),
            image_count: idx.count,
            labels: labels.to_path_buf(),
            label_count: label_bytes.len(),
        });
    }
    let classes = label_bytes.iter().copied().max().map_or(0, |m| m as usize + 1);
    Ok(ImageSet {
        rows: idx.rows,
        cols: idx.cols,
        images: Pixels::new(idx.pixels, IDX_MAX_VALUE),
        labels: label_bytes,
        classes,
    })
}

/// Reads an IDX image file (magic [`IDX_IMAGES_MAGIC`], gzipped or not).
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DatasetError> {
    let mut reader = open(path)?;
    let dims = read_header(&mut reader, path, IDX_IMAGES_MAGIC, 3)?;
    let [count, rows, cols] = [dims[0], dims[1], dims[2]];
    for (name, side) in [("rows", rows), ("cols", cols)] {
        if side == 0 || side > MAX_SIDE {
            let message = format!("{name} = {side}, expected 1 to {MAX_SIDE}");
            return Err(DatasetError::BadDimensions { path: path.into(), message });
        }
    }
    let bytes = claimed_bytes(path, &dims)?;
    let pixels = read_body(&mut reader, path, &dims, bytes)?;
    Ok(IdxImages { count, rows, cols, pixels })
}

/// Reads an IDX label file (magic [`IDX_LABELS_MAGIC`], gzipped or not).
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DatasetError> {
    let mut reader = open(path)?;
    let dims = read_header(&mut reader, path, IDX_LABELS_MAGIC, 1)?;
    let bytes = claimed_bytes(path, &dims)?;
    read_body(&mut reader, path, &dims, bytes)
}

/// Opens `path`, decompressing if it starts with gzip's `1f 8b`.
fn open(path: &Path) -> Result<Box<dyn Read>, DatasetError> {
    let io_error = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            DatasetError::Missing { path: path.into(), hint: IDX_HINT.into() }
        } else {
            DatasetError::Io { path: path.into(), source }
        }
    };
    let mut file = BufReader::new(File::open(path).map_err(io_error)?);
    let gzipped = file.fill_buf().map_err(io_error)?.starts_with(&[0x1f, 0x8b]);
    // Every member of the file, as `gunzip` reads it (pigz, bgzip and `cat`
    // write several).
    Ok(if gzipped { Box::new(MultiGzDecoder::new(file)) } else { Box::new(file) })
}

/// Reads the magic number and `ndim` sizes, checking the magic.
fn read_header(
    reader: &mut dyn Read,
    path: &Path,
    magic: u32,
    ndim: usize,
) -> Result<Vec<usize>, DatasetError> {
    let header_len = 4 * (1 + ndim);
    let mut header = vec![0u8; header_len];
    let got = read_up_to(reader, &mut header, path)?;
    // Check the magic as soon as there are four bytes: a wrong file is
    // named as such even when it is also short.
    if got >= 4 {
        let found = u32::from_be_bytes(header[..4].try_into().unwrap());
        if found != magic {
            return Err(DatasetError::BadMagic { path: path.into(), expected: magic, found });
        }
    }
    if got < header_len {
        // The header itself is cut short.
        return Err(DatasetError::Truncated {
            path: path.into(),
            dims: Vec::new(),
            expected: header_len,
            found: got,
        });
    }
    Ok(header[4..]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes(b.try_into().unwrap()) as usize)
        .collect())
}

/// The body's length, `product(dims)`, refused if zero or over [`MAX_BYTES`].
fn claimed_bytes(path: &Path, dims: &[usize]) -> Result<usize, DatasetError> {
    let total = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    match total {
        Some(0) => Err(DatasetError::BadDimensions {
            path: path.into(),
            message: format!("sizes {dims:?} hold no data"),
        }),
        Some(t) if t <= MAX_BYTES => Ok(t),
        _ => Err(DatasetError::BadDimensions {
            path: path.into(),
            message: format!("sizes {dims:?} claim more than {MAX_BYTES} bytes"),
        }),
    }
}

/// Bytes read at a time.
const BLOCK: usize = 64 << 10;
/// The least a body's buffer grows by.
const MIN_GROWTH: usize = 1 << 20;

/// Reads exactly `expected` bytes (`dims`' product), then checks nothing
/// follows. Read in blocks into a buffer that grows as bytes arrive, by an
/// eighth of what has arrived (at least [`MIN_GROWTH`]) and never past
/// `expected + 1`: nothing is reserved from the header's claim, so a file
/// that claims more than it holds costs what it holds, and one that holds
/// what it claims costs that, not twice it.
fn read_body(
    reader: &mut dyn Read,
    path: &Path,
    dims: &[usize],
    expected: usize,
) -> Result<Vec<u8>, DatasetError> {
    let mut body: Vec<u8> = Vec::new();
    let mut block = vec![0u8; BLOCK];
    let limit = expected + 1; // one byte past the claim shows trailing data
    while body.len() < limit {
        let room = (limit - body.len()).min(BLOCK);
        let n = match reader.read(&mut block[..room]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(path, e)),
        };
        if body.capacity() - body.len() < n {
            let growth = (body.len() / 8).max(MIN_GROWTH).max(n);
            body.reserve_exact(growth.min(limit - body.len()));
        }
        body.extend_from_slice(&block[..n]);
    }
    match body.len() {
        n if n < expected => Err(DatasetError::Truncated {
            path: path.into(),
            dims: dims.to_vec(),
            expected,
            found: n,
        }),
        n if n > expected => Err(DatasetError::TrailingBytes { path: path.into(), expected }),
        _ => Ok(body),
    }
}

/// Fills `buf` as far as the file allows; returns the bytes read.
fn read_up_to(reader: &mut dyn Read, buf: &mut [u8], path: &Path) -> Result<usize, DatasetError> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(path, e)),
        }
    }
    Ok(got)
}

/// A read error: the decoder's (corrupt gzip) or the file system's. flate2
/// reports a bad or cut-short stream as `InvalidInput`, `InvalidData` or
/// `UnexpectedEof`.
fn read_error(path: &Path, source: io::Error) -> DatasetError {
    match source.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            DatasetError::Gzip { path: path.into(), source }
        }
        _ => DatasetError::Io { path: path.into(), source },
    }
}
