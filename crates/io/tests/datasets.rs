//! The data-set readers: each error on a small file crafted here, the
//! shipped 8×8 digits read for real, and Fashion-MNIST when it is installed
//! (required when `MINIMAX_REQUIRE_DATA=1`, as in CI).

use flate2::write::GzEncoder;
use flate2::Compression;
use minimax_io::datasets::{
    digits, fashion_mnist, fnv1a64, parse_digits_csv_gz, read_idx_dir, read_idx_images,
    read_idx_labels, DataSource, DatasetError, DIGITS_COUNT, DIGITS_TEST, FASHION_MNIST_DIR,
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, MAX_BYTES,
};
use std::io::Write;
use std::path::Path;

/// A fresh, empty directory for one test, removed when dropped (even when
/// the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("minimax-datasets-{name}-")).tempdir().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An IDX file's bytes: magic, big-endian sizes, body.
fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// `count` images `rows × cols` whose pixels count up from `start` (mod 256).
fn images(count: u32, rows: u32, cols: u32, start: u8) -> Vec<u8> {
    let body: Vec<u8> = (0..count * rows * cols).map(|i| start.wrapping_add(i as u8)).collect();
    idx(IDX_IMAGES_MAGIC, &[count, rows, cols], &body)
}

fn labels(values: &[u8]) -> Vec<u8> {
    idx(IDX_LABELS_MAGIC, &[values.len() as u32], values)
}

/// Writes a valid four-file IDX set into `dir`: 3 training and 2 test
/// images of 2×3, labels up to 4, training files gzipped, test files not.
fn write_valid_set(dir: &Path) {
    let mut train = images(3, 2, 3, 0);
    // Pixel 0 is 0 (→ −1) and pixel 1 is 255 (→ 1).
    train[16 + 1] = 255;
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gzip(&train)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), gzip(&labels(&[4, 0, 2]))).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images(2, 2, 3, 100)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels(&[1, 3])).unwrap();
}

#[test]
fn a_valid_idx_set_reads_with_pixels_in_minus_one_to_one() {
    let tmp = scratch("valid");
    let dir = tmp.path();
    write_valid_set(dir);
    let s = read_idx_dir(dir).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (3, 2));
    assert_eq!((s.train.rows, s.train.cols, s.test.rows, s.test.cols), (2, 3, 2, 3));
    assert_eq!((s.train.classes, s.test.classes), (5, 5), "largest label 4, plus one");
    assert_eq!(s.class_names, ["0", "1", "2", "3", "4"]);
    assert_eq!(s.train.labels, [4, 0, 2]);
    assert_eq!(s.test.labels, [1, 3]);
    // Held as the file's bytes; v / 127.5 − 1: 0 → −1, 255 → 1, 2 → 2/127.5 − 1.
    assert_eq!(&s.train.images.bytes()[..3], [0, 255, 2]);
    let values = s.train.images.to_f32();
    assert_eq!(values[0], -1.0);
    assert_eq!(values[1], 1.0);
    assert_eq!(values[2], 2.0 / 127.5 - 1.0);
    assert_eq!(s.test.image(1)[0], 106.0 / 127.5 - 1.0);
    assert_eq!(s.test.image_bytes(1)[0], 106);
    assert_eq!(s.train.images.len(), 3 * 6);
    assert_eq!(s.train.class_counts(), [1, 0, 1, 0, 1]);
    assert_eq!(s.train.empty_classes(), [1, 3], "classes without a training image, to warn");
    assert_eq!(s.test.class_frequencies(), [0.0, 0.5, 0.0, 0.5, 0.0]);
    // The raw readers agree.
    let raw = read_idx_images(&dir.join("t10k-images-idx3-ubyte")).unwrap();
    assert_eq!((raw.count, raw.rows, raw.cols), (2, 2, 3));
    assert_eq!(raw.pixels, (100..112).collect::<Vec<u8>>());
    assert_eq!(read_idx_labels(&dir.join("train-labels-idx1-ubyte.gz")).unwrap(), [4, 0, 2]);
}

#[test]
fn a_missing_file_is_named_with_how_to_get_the_data() {
    let tmp = scratch("missing");
    let dir = tmp.path();
    write_valid_set(dir);
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let err = read_idx_dir(dir).unwrap_err();
    let DatasetError::Missing { ref path, .. } = err else { panic!("{err}") };
    assert_eq!(path, &dir.join("t10k-labels-idx1-ubyte.gz"));
    let text = err.to_string();
    assert!(text.contains("t10k-labels-idx1-ubyte.gz: no such file"), "{text}");
    assert!(text.contains("apt-get install dataset-fashion-mnist"), "{text}");
    assert!(text.contains("--data DIR"), "{text}");
    // A folder that does not exist names its first file.
    let err = read_idx_dir(&dir.join("nope")).unwrap_err();
    assert!(
        matches!(err, DatasetError::Missing { ref path, .. }
        if path.ends_with("nope/train-images-idx3-ubyte.gz")),
        "{err}"
    );
    // So do the single-file readers.
    let err = read_idx_labels(&dir.join("absent.gz")).unwrap_err();
    assert!(matches!(err, DatasetError::Missing { .. }), "{err}");
}

#[test]
fn a_wrong_magic_number_is_refused_and_says_what_the_file_is() {
    let tmp = scratch("magic");
    let dir = tmp.path();
    let path = dir.join("swapped.gz");
    std::fs::write(&path, gzip(&labels(&[1, 2, 3]))).unwrap();
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DatasetError::BadMagic { expected: 0x803, found: 0x801, .. }), "{err}");
    assert!(err.to_string().contains("(this is a label file)"), "{err}");
    // Two bytes are too few for a magic number: truncated.
    std::fs::write(&path, b"hi").unwrap();
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DatasetError::Truncated { expected: 8, found: 2, .. }), "{err}");
    // Text, not IDX, uncompressed: a bad magic number.
    std::fs::write(&path, b"hello, world").unwrap();
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DatasetError::BadMagic { expected: 0x801, .. }), "{err}");
}

#[test]
fn truncated_files_are_refused_with_both_lengths() {
    let tmp = scratch("truncated");
    let dir = tmp.path();
    let path = dir.join("short.gz");
    // The header promises 3 images of 2×3 = 18 bytes; only 12 follow.
    let mut file = images(3, 2, 3, 0);
    file.truncate(16 + 12);
    std::fs::write(&path, gzip(&file)).unwrap();
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DatasetError::Truncated { expected: 18, found: 12, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("claims sizes [3, 2, 3], 18 bytes of data"), "{err}");
    assert!(text.contains("the file holds 12"), "{err}");
    // A header cut short: 10 of the 16 bytes.
    std::fs::write(&path, &images(3, 2, 3, 0)[..10]).unwrap();
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DatasetError::Truncated { expected: 16, found: 10, .. }), "{err}");
    // A huge (but allowed) claim with no body is refused, and quickly: the
    // reader does not reserve the 784 MB the header asks for.
    std::fs::write(&path, idx(IDX_IMAGES_MAGIC, &[1_000_000, 28, 28], &[])).unwrap();
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DatasetError::Truncated { expected: 784_000_000, found: 0, .. }));
}

#[test]
fn a_gzip_stream_cut_short_is_a_gzip_error() {
    let tmp = scratch("gzip");
    let dir = tmp.path();
    let path = dir.join("cut.gz");
    let whole = gzip(&images(50, 8, 8, 7));
    std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DatasetError::Gzip { .. }), "{err}");
    assert!(err.to_string().contains("cut.gz: corrupt or cut-short gzip stream"), "{err}");
}

#[test]
fn bytes_past_what_the_header_promises_are_refused() {
    let tmp = scratch("trailing");
    let dir = tmp.path();
    let path = dir.join("long");
    let mut file = labels(&[1, 2, 3]);
    file.push(9);
    std::fs::write(&path, &file).unwrap();
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DatasetError::TrailingBytes { expected: 3, .. }), "{err}");
}

#[test]
fn absurd_dimensions_are_refused_before_reading_the_body() {
    let tmp = scratch("dims");
    let dir = tmp.path();
    let path = dir.join("absurd");
    let cases: [(&[u32], &str); 4] = [
        (&[3, 0, 28], "rows = 0"),
        (&[3, 28, 70_000], "cols = 70000, expected 1 to 1024"),
        (&[0, 28, 28], "hold no data"),
        // 2^31 images of 28×28 would be 1.6 TB.
        (&[1 << 31, 28, 28], "claim more than"),
    ];
    for (dims, says) in cases {
        std::fs::write(&path, idx(IDX_IMAGES_MAGIC, dims, &[0; 64])).unwrap();
        let err = read_idx_images(&path).unwrap_err();
        assert!(matches!(err, DatasetError::BadDimensions { .. }), "{dims:?}: {err}");
        assert!(err.to_string().contains(says), "{dims:?}: {err}");
    }
    // Labels: more than MAX_BYTES.
    std::fs::write(&path, idx(IDX_LABELS_MAGIC, &[MAX_BYTES as u32 + 1], &[])).unwrap();
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DatasetError::BadDimensions { .. }), "{err}");
}

#[test]
fn image_and_label_counts_that_disagree_are_refused() {
    let tmp = scratch("counts");
    let dir = tmp.path();
    write_valid_set(dir);
    std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), gzip(&labels(&[1, 2]))).unwrap();
    let err = read_idx_dir(dir).unwrap_err();
    let DatasetError::CountMismatch { image_count: 3, label_count: 2, ref images, ref labels } =
        err
    else {
        panic!("{err}")
    };
    assert!(images.ends_with("train-images-idx3-ubyte.gz"));
    assert!(labels.ends_with("train-labels-idx1-ubyte.gz"));
    assert!(err.to_string().contains("holds 3 images but"), "{err}");
}

#[test]
fn training_and_test_images_of_different_shapes_are_refused() {
    let tmp = scratch("shapes");
    let dir = tmp.path();
    write_valid_set(dir);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images(2, 3, 2, 0)).unwrap();
    let err = read_idx_dir(dir).unwrap_err();
    assert!(
        matches!(err, DatasetError::ShapeMismatch { train_shape: (2, 3), test_shape: (3, 2), .. }),
        "{err}"
    );
}

/// One digits CSV line: 64 pixels then the label.
fn csv_line(pixel: u8, label: u8) -> String {
    let mut fields = vec![pixel.to_string(); 64];
    fields.push(label.to_string());
    fields.join(",")
}

#[test]
fn malformed_digits_csv_lines_are_refused_with_their_line_number() {
    let good: Vec<String> = (0..DIGITS_TEST + 3).map(|i| csv_line(16, (i % 10) as u8)).collect();
    let parse = |lines: &[String]| {
        parse_digits_csv_gz(&gzip(lines.join("\n").as_bytes()), Path::new("crafted.csv.gz"))
    };
    let s = parse(&good).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (3, DIGITS_TEST));
    assert!(s.train.images.to_f32().iter().all(|&p| p == 1.0), "16 → 1");

    let mut bad = good.clone();
    bad[4] = csv_line(17, 0);
    let err = parse(&bad).unwrap_err();
    assert!(matches!(err, DatasetError::Csv { line: 5, .. }), "{err}");
    assert!(
        err.to_string().contains("crafted.csv.gz line 5: field 1: pixel 17 is over 16"),
        "{err}"
    );

    let mut bad = good.clone();
    bad[0] = csv_line(0, 10);
    assert!(parse(&bad).unwrap_err().to_string().contains("field 65: label 10 is over 9"));

    let mut bad = good.clone();
    bad[1].push_str(",3");
    assert!(parse(&bad).unwrap_err().to_string().contains("line 2: 66 fields, expected 65"));

    let mut bad = good.clone();
    bad[2] = bad[2].replacen('1', "x", 1);
    assert!(parse(&bad).unwrap_err().to_string().contains("\"x6\" is not a whole number"));

    let err = parse(&good[..DIGITS_TEST]).unwrap_err();
    assert!(err.to_string().contains("the split needs more than 297"), "{err}");

    let err = parse_digits_csv_gz(b"not gzip", Path::new("x")).unwrap_err();
    assert!(matches!(err, DatasetError::Gzip { .. }), "{err}");
}

#[test]
fn the_shipped_digits_read_for_real() {
    let s = digits().unwrap();
    assert_eq!(s.name, "digits");
    assert_eq!(s.train.len() + s.test.len(), DIGITS_COUNT);
    assert_eq!((s.train.len(), s.test.len()), (1500, 297));
    for set in [&s.train, &s.test] {
        assert_eq!((set.rows, set.cols, set.classes), (8, 8, 10));
        assert_eq!(set.images.len(), set.len() * 64);
        assert!(set.images.to_f32().iter().all(|p| (-1.0..=1.0).contains(p)));
    }
    let (train, test) = (s.train.images.to_f32(), s.test.images.to_f32());
    let all = |v: f32| train.iter().chain(&test).any(|&p| p == v);
    assert!(all(-1.0) && all(1.0), "pixels 0 and 16 both occur");
    // Class counts from data/digits/README.md (`awk` over the file).
    let total: Vec<usize> =
        s.train.class_counts().iter().zip(s.test.class_counts()).map(|(a, b)| a + b).collect();
    assert_eq!(total, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert_eq!(s.test.class_counts(), [27, 31, 27, 30, 33, 30, 30, 30, 28, 31]);
    // The file's first line starts 0,0,5,13,9,1 and is a 0; its last is an 8.
    let first = s.train.image(0);
    assert_eq!(
        &first[..6],
        &[-1.0, -1.0, 5.0 / 8.0 - 1.0, 13.0 / 8.0 - 1.0, 9.0 / 8.0 - 1.0, -0.875]
    );
    assert_eq!(s.train.labels[0], 0);
    assert_eq!(s.test.labels[DIGITS_TEST - 1], 8);
    assert_eq!(s.class_names, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert_eq!(DataSource::from_flag("digits").load().unwrap(), s);
}

#[test]
fn fingerprints_tell_data_sets_apart() {
    // FNV-1a's published test vectors.
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    let a = digits().unwrap();
    let b = digits().unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint_hex().len(), 16);
    let mut c = b.clone();
    c.test.images = c.test.images.map_bytes(|b| b[100] = 3);
    assert_ne!(a.fingerprint(), c.fingerprint());
    assert_ne!(a.train.fingerprint(), a.test.fingerprint());
    let mut d = b.clone();
    d.train.labels.swap(0, 1);
    assert_ne!(a.fingerprint(), d.fingerprint());
    let mut e = b;
    e.name = "elsewhere".into();
    assert_eq!(a.fingerprint(), e.fingerprint(), "the name is not the data");
}

#[test]
fn data_flags_name_the_sources() {
    assert_eq!(DataSource::from_flag("digits"), DataSource::Digits);
    assert_eq!(DataSource::from_flag("fashion"), DataSource::FashionMnist);
    assert_eq!(DataSource::from_flag("/data/mnist"), DataSource::IdxDir("/data/mnist".into()));
}

#[test]
fn fashion_mnist_when_installed() {
    let required = std::env::var("MINIMAX_REQUIRE_DATA").is_ok_and(|v| v == "1");
    if !Path::new(FASHION_MNIST_DIR).is_dir() {
        assert!(
            !required,
            "MINIMAX_REQUIRE_DATA=1 but {FASHION_MNIST_DIR} is missing: \
             apt-get install dataset-fashion-mnist"
        );
        println!(
            "skipped: {FASHION_MNIST_DIR} not installed (apt-get install dataset-fashion-mnist)"
        );
        return;
    }
    let s = fashion_mnist().unwrap();
    assert_eq!(s.name, "fashion-mnist");
    assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
    for set in [&s.train, &s.test] {
        assert_eq!((set.rows, set.cols, set.classes), (28, 28, 10));
        assert_eq!(set.images.len(), set.len() * 784);
        assert!(set.images.to_f32().iter().all(|p| (-1.0..=1.0).contains(p)));
    }
    // Balanced: 6,000 and 1,000 of each class.
    assert_eq!(s.train.class_counts(), [6000; 10]);
    assert_eq!(s.test.class_counts(), [1000; 10]);
    assert_eq!(s.class_names[9], "Ankle boot");
    assert!(s.train.images.bytes().contains(&0) && s.train.images.bytes().contains(&255));
}

/// A gzip file may hold several members, one after the other (as `pigz`,
/// `bgzip` or `cat a.gz b.gz` write them), and it stands for the members'
/// contents joined. So a valid file split in two members reads whole, and
/// a file whose second member repeats the first holds bytes past what the
/// header promises: refused, not read as its first half.
#[test]
fn every_gzip_member_is_read() {
    let tmp = scratch("members");
    let dir = tmp.path();
    let file = labels(&[4, 0, 2, 1]);
    let (head, tail) = file.split_at(10); // inside the body
    let path = dir.join("two-members.gz");
    std::fs::write(&path, [gzip(head), gzip(tail)].concat()).unwrap();
    assert_eq!(read_idx_labels(&path).unwrap(), [4, 0, 2, 1]);
    let path = dir.join("twice.gz");
    std::fs::write(&path, [gzip(&file), gzip(&file)].concat()).unwrap();
    let err = read_idx_labels(&path).unwrap_err();
    assert!(matches!(err, DatasetError::TrailingBytes { expected: 4, .. }), "{err}");
}

/// A data set the judges cannot measure is refused before training: the
/// Fréchet distance fits a covariance, so each split needs two images. (A
/// one-image test split failed only after training, with a doubled
/// "Fréchet distance: Fréchet distance:" prefix.)
#[test]
fn a_split_of_one_image_is_refused_before_training() {
    let tmp = scratch("one-test-image");
    let dir = tmp.path();
    write_valid_set(dir);
    let mut s = read_idx_dir(dir).unwrap();
    s.check_judgeable().unwrap();
    let p = s.test.pixels();
    s.test.images = s.test.images.map_bytes(|b| b.truncate(p));
    s.test.labels.truncate(1);
    let err = s.check_judgeable().unwrap_err();
    assert!(err.contains("test split") && err.contains("1 image"), "{err}");
    assert_eq!(err.matches("Fréchet").count(), 1, "{err}");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_named_as_one_not_as_a_missing_file() {
    // t10k-labels-idx1-ubyte.gz -> loop-b -> t10k-labels-idx1-ubyte.gz: the
    // path exists, but no file is behind it.
    let tmp = scratch("symlink-loop");
    let dir = tmp.path();
    write_valid_set(dir);
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let link = dir.join("t10k-labels-idx1-ubyte.gz");
    std::os::unix::fs::symlink(dir.join("loop-b"), &link).unwrap();
    std::os::unix::fs::symlink(&link, dir.join("loop-b")).unwrap();
    let err = read_idx_dir(dir).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("no such file"), "{text}");
    assert!(
        text.contains("t10k-labels-idx1-ubyte.gz") && text.contains("symbolic links"),
        "{text}"
    );
}
