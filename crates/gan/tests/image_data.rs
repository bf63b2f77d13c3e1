//! [`ImageData`]'s batches, made from bytes a batch at a time, hold exactly
//! the values the whole set converted to `f32` at once held (the way sets
//! were kept before: `v / 127.5 − 1` for IDX bytes, `v / 8 − 1` for the 8×8
//! digits), bit for bit, with their one-hot classes; and an epoch of a
//! chunk shows each of its images once.

use minimax_autodiff::{Backend, Tape};
use minimax_cpu::Cpu;
use minimax_gan::image::{ImageConfig, ImageData, ImagePreset, Pixels};

fn check(max: u8, old: impl Fn(u8) -> f32) {
    let (n, p, k) = (7, 5, 3);
    let bytes: Vec<u8> = (0..n * p).map(|i| (i * 37 % (max as usize + 1)) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % k) as u8).collect();
    // The old path: every value at once, in f32.
    let values: Vec<f32> = bytes.iter().map(|&v| old(v)).collect();
    let mut c = ImageConfig::preset(ImagePreset::Digits, p, k);
    (c.batch, c.seed) = (2, 5);
    let be = Cpu::<f32>::new();
    // Chunks of 4 rows: rows 0..4 and 4..7 (whose tail of one is left out).
    let mut data = ImageData::upload(&be, &c, &Pixels::new(bytes, max), &labels, 4).unwrap();
    assert_eq!(data.len(), 7);
    let mut seen = [vec![], vec![]];
    for b in 0..8u64 {
        let tape = Tape::new(be);
        let batch = data.batch(&tape, b).unwrap();
        let (x, hot) = (batch.images.to_vec().unwrap(), batch.onehot.to_vec().unwrap());
        assert_eq!((x.len(), hot.len()), (2 * p, 2 * k));
        for r in 0..2 {
            let row = &x[r * p..(r + 1) * p];
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let i = (0..n)
                .find(|&i| bits(&values[i * p..(i + 1) * p]) == bits(row))
                .unwrap_or_else(|| panic!("batch {b} row {r}: {row:?} is no image of the set"));
            let mut want = vec![0.0; k];
            want[labels[i] as usize] = 1.0;
            assert_eq!(&hot[r * k..(r + 1) * k], &want[..], "batch {b} row {r}: image {i}'s class");
            seen[(b % 2) as usize].push(i);
        }
    }
    // Chunk 0 (batches 0, 2, 4, 6): two epochs of rows 0..4, each row once
    // an epoch; chunk 1 (rows 4..7, one batch an epoch): rows 4..7 only.
    for epoch in seen[0].chunks(4) {
        let mut e = epoch.to_vec();
        e.sort();
        assert_eq!(e, [0, 1, 2, 3], "an epoch of chunk 0: {:?}", seen[0]);
    }
    assert!(seen[1].iter().all(|i| (4..7).contains(i)), "chunk 1: {:?}", seen[1]);
    let _ = be.flush();
}

#[test]
fn batches_hold_the_bits_of_the_set_converted_at_once() {
    check(255, |v| v as f32 / 127.5 - 1.0);
    check(16, |v| v as f32 / (16.0 / 2.0) - 1.0);
}

#[test]
fn pixels_value_every_byte_as_the_old_conversion_did() {
    let idx = Pixels::new((0..=255).collect(), 255);
    let old: Vec<u32> = (0..=255u8).map(|v| (v as f32 / 127.5 - 1.0).to_bits()).collect();
    assert_eq!(idx.to_f32().iter().map(|v| v.to_bits()).collect::<Vec<_>>(), old);
    assert_eq!((idx.value(0), idx.value(255)), (-1.0, 1.0));
}
