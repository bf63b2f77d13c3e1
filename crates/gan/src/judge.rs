//! Judging an image generator by a classifier trained on the real data.
//!
//! Pure arithmetic on what the classifier said, in f64 (no I/O, no
//! tensors): its softmax probabilities `p(y|x)`, `[n, k]` row-major, for `n`
//! of G's samples and `k` classes; and, for the Fréchet distance (see
//! [`crate::frechet`]), its penultimate-layer features.
//!
//! - **Predicted-class histogram**: how many samples the classifier puts in
//!   each class (the arg-max of each row; ties go to the lower class).
//! - **Classes covered**: classes given at least [`MIN_SHARE_OF_UNIFORM`] of
//!   their fair share `n / k` of samples, i.e. `0.2 · n / k`: for ten
//!   classes, 2% of the samples (200 of 10,000). A generator that has lost a
//!   class lands few samples there by the classifier's mistakes; the bar is
//!   well above that and far below what a class it really draws gets.
//! - **Class KL**: `KL(q ‖ p) = Σ_y q_y ln(q_y / p_y)` in nats, `q` the
//!   predicted-class frequencies of G's samples and `p` the real class
//!   frequencies (the same direction as PacGAN's and VEEGAN's reverse KL
//!   over modes). 0 when G's class mix is the data's; `ln(k/(k−m))` when G
//!   splits its samples evenly over all but `m` of `k` balanced classes;
//!   infinite if G makes a class the real data never has.
//! - **Inception Score, with this classifier** (Salimans et al. 2016):
//!   `IS = exp(E_x KL(p(y|x) ‖ p(y)))`, `p(y) = E_x p(y|x)` over the same
//!   samples. From 1 (every sample gets the same class distribution) to `k`
//!   (each sample confidently one class, the classes equally often). The
//!   original uses Inception-v3's ImageNet classes and splits the samples in
//!   ten; this one uses the whole set at once with our own classifier, so
//!   compare it only with itself (and with the real test images' score).
//! - **Conditional accuracy**: for a conditional GAN asked for class `c`,
//!   the share of its samples the classifier puts in `c`, per class and
//!   overall.

use std::fmt;

/// A class is covered when it gets at least this share of `n / k` samples.
pub const MIN_SHARE_OF_UNIFORM: f64 = 0.2;
/// How far a probability row's sum may be from 1 (f32 softmax is off by
/// about 1e-7; logits instead of probabilities are off by far more).
pub const ROW_SUM_TOLERANCE: f64 = 1e-3;

/// Why a judgement could not be made.
#[derive(Clone, Debug, PartialEq)]
pub enum JudgeError {
    /// The inputs' lengths do not fit together: what was wrong.
    Shape(String),
    /// A probability row is not a distribution: which row and why.
    NotProbabilities(String),
}

impl fmt::Display for JudgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(m) => write!(f, "judge: {m}"),
            Self::NotProbabilities(m) => write!(f, "judge: {m}"),
        }
    }
}

impl std::error::Error for JudgeError {}

/// What the classifier says about a set of samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassReport {
    /// Samples judged.
    pub samples: usize,
    /// Samples predicted in each class, `[k]`.
    pub histogram: Vec<usize>,
    /// Classes with at least [`MIN_SHARE_OF_UNIFORM`]` · n / k` samples.
    pub classes_covered: usize,
    /// Classes in all, `k`.
    pub classes: usize,
    /// `KL(predicted ‖ real)` over class frequencies, in nats (infinite if a
    /// class absent from the real data is predicted: JSON `null`).
    pub class_kl: f64,
    /// `exp(E_x KL(p(y|x) ‖ p(y)))`, from 1 to `k`.
    pub inception_score: f64,
}

/// Judges `probs` (`[n, k]` softmax rows) against the real class
/// frequencies `real_frequencies` (`[k]`, summing to 1).
pub fn class_report(
    probs: &[f64],
    classes: usize,
    real_frequencies: &[f64],
) -> Result<ClassReport, JudgeError> {
    let predicted = predicted_classes(probs, classes)?;
    if real_frequencies.len() != classes {
        let m = format!("{} real frequencies for {classes} classes", real_frequencies.len());
        return Err(JudgeError::Shape(m));
    }
    let histogram = class_histogram(&predicted, classes)?;
    let n = predicted.len() as f64;
    let frequencies: Vec<f64> = histogram.iter().map(|&c| c as f64 / n).collect();
    Ok(ClassReport {
        samples: predicted.len(),
        classes_covered: classes_covered(&histogram),
        classes,
        class_kl: kl_divergence(&frequencies, real_frequencies)?,
        inception_score: inception_score(probs, classes)?,
        histogram,
    })
}

/// Checks that `probs` is `[n, k]` with `n, k ≥ 1` and every row a
/// distribution (finite, non-negative, summing to 1 within
/// [`ROW_SUM_TOLERANCE`]); returns `n`.
fn check_probabilities(probs: &[f64], k: usize) -> Result<usize, JudgeError> {
    if k == 0 || probs.is_empty() || !probs.len().is_multiple_of(k) {
        let m = format!("{} probabilities are not [n, {k}] with n ≥ 1 and k ≥ 1", probs.len());
        return Err(JudgeError::Shape(m));
    }
    for (i, row) in probs.chunks_exact(k).enumerate() {
        if let Some(j) = row.iter().position(|&p| !(p.is_finite() && p >= 0.0)) {
            let m = format!("row {i}: p[{j}] = {} is not a probability", row[j]);
            return Err(JudgeError::NotProbabilities(m));
        }
        let sum: f64 = row.iter().sum();
        if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
            let m = format!("row {i} sums to {sum}, not 1: logits rather than softmax?");
            return Err(JudgeError::NotProbabilities(m));
        }
    }
    Ok(probs.len() / k)
}

/// The arg-max class of each row of `probs` (`[n, k]`); ties go to the
/// lower class.
pub fn predicted_classes(probs: &[f64], k: usize) -> Result<Vec<usize>, JudgeError> {
    check_probabilities(probs, k)?;
    Ok(probs
        .chunks_exact(k)
        .map(|row| {
            row.iter().enumerate().fold(0, |best, (j, &p)| if p > row[best] { j } else { best })
        })
        .collect())
}

/// How many of `labels` fall in each of `k` classes.
pub fn class_histogram(labels: &[usize], k: usize) -> Result<Vec<usize>, JudgeError> {
    let mut counts = vec![0; k];
    for (i, &l) in labels.iter().enumerate() {
        let Some(c) = counts.get_mut(l) else {
            return Err(JudgeError::Shape(format!("label {i} is class {l}, but there are {k}")));
        };
        *c += 1;
    }
    Ok(counts)
}

/// Classes whose count is at least [`MIN_SHARE_OF_UNIFORM`] of the fair
/// share `n / k` (`n` the histogram's total); 0 for an empty histogram.
pub fn classes_covered(histogram: &[usize]) -> usize {
    let n: usize = histogram.iter().sum();
    if n == 0 {
        return 0;
    }
    let bar = MIN_SHARE_OF_UNIFORM * n as f64 / histogram.len() as f64;
    histogram.iter().filter(|&&c| c as f64 >= bar).count()
}

/// `KL(q ‖ p) = Σ_i q_i ln(q_i / p_i)` in nats, with `0 · ln(0 / p) = 0`,
/// and `+∞` where `q_i > 0 = p_i`. Both must be equally long, finite and
/// non-negative (they are not renormalised).
pub fn kl_divergence(q: &[f64], p: &[f64]) -> Result<f64, JudgeError> {
    if q.len() != p.len() {
        return Err(JudgeError::Shape(format!("KL of {} against {} values", q.len(), p.len())));
    }
    if let Some(x) = q.iter().chain(p).find(|x| !(x.is_finite() && **x >= 0.0)) {
        return Err(JudgeError::NotProbabilities(format!("KL of a distribution holding {x}")));
    }
    Ok(q.iter()
        .zip(p)
        .map(|(&qi, &pi)| {
            if qi == 0.0 {
                0.0
            } else if pi == 0.0 {
                f64::INFINITY
            } else {
                qi * (qi / pi).ln()
            }
        })
        .sum())
}

/// The Inception Score with this classifier:
/// `exp((1/n) Σ_x Σ_y p(y|x) (ln p(y|x) − ln p(y)))`, `p(y)` the mean row.
pub fn inception_score(probs: &[f64], k: usize) -> Result<f64, JudgeError> {
    let n = check_probabilities(probs, k)?;
    let mut marginal = vec![0.0; k]; // p(y), [k]
    for row in probs.chunks_exact(k) {
        marginal.iter_mut().zip(row).for_each(|(m, &p)| *m += p);
    }
    marginal.iter_mut().for_each(|m| *m /= n as f64);
    let mut total = 0.0;
    for row in probs.chunks_exact(k) {
        // p(y) ≥ p(y|x) / n > 0 wherever p(y|x) > 0: no infinity here.
        total += kl_divergence(row, &marginal)?;
    }
    Ok((total / n as f64).exp())
}

/// A conditional generator's accuracy: how often the classifier agrees
/// with the class it was asked for.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConditionalAccuracy {
    /// For each class, the share of the samples requested in it that the
    /// classifier puts in it; `None` (JSON `null`) if none was requested.
    pub per_class: Vec<Option<f64>>,
    /// Samples requested in each class.
    pub requested: Vec<usize>,
    /// Over all samples: correct / n.
    pub overall: f64,
}

/// Compares the `requested` class of each sample with the classifier's
/// `predicted` class (both `[n]`, below `k`, `n ≥ 1`).
pub fn conditional_accuracy(
    requested: &[usize],
    predicted: &[usize],
    k: usize,
) -> Result<ConditionalAccuracy, JudgeError> {
    if requested.len() != predicted.len() || requested.is_empty() {
        let (r, p) = (requested.len(), predicted.len());
        return Err(JudgeError::Shape(format!("{r} requested classes for {p} predictions")));
    }
    let asked = class_histogram(requested, k)?;
    class_histogram(predicted, k)?; // checks the range
    let mut right = vec![0usize; k];
    for (&r, &p) in requested.iter().zip(predicted) {
        if r == p {
            right[r] += 1;
        }
    }
    let per_class =
        asked.iter().zip(&right).map(|(&a, &r)| (a > 0).then(|| r as f64 / a as f64)).collect();
    let correct: usize = right.iter().sum();
    Ok(ConditionalAccuracy {
        per_class,
        requested: asked,
        overall: correct as f64 / requested.len() as f64,
    })
}
