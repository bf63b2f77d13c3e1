//! Learning-rate schedules: a factor, step by step, that an
//! [`crate::Optimizer`]'s base rate is multiplied by
//! (see [`crate::Optimizer::set_lr`]).

/// A linear learning-rate decay over the end of a run: the rate is
/// multiplied by 1 until step `start · steps`, then by a factor that falls
/// linearly to `to` at the last step.
///
/// Adam moves every parameter by about `lr` per step whatever the gradient's
/// size, so at a constant rate G's samples keep jittering around where they
/// belong. For the 1-D Gaussian that jitter is small against the data's
/// spread; for the ring's modes, 0.02 wide, it is not: letting the rates
/// fall sharpens G's clusters (measured in `examples/ring_gan.rs`).
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrDecay {
    /// Fraction of the run's steps before the decay begins, in [0, 1).
    pub start: f64,
    /// The factor reached at the last step, in (0, 1].
    pub to: f64,
}

impl LrDecay {
    /// Checks `start` in [0, 1) and `to` in (0, 1], naming both if not.
    pub fn validate(&self) -> Result<(), String> {
        let LrDecay { start, to } = *self;
        if (0.0..1.0).contains(&start) && to > 0.0 && to <= 1.0 {
            Ok(())
        } else {
            Err(format!(
                "learning-rate decay needs start in [0, 1) and to in (0, 1], got {start} and {to}"
            ))
        }
    }

    /// The factor the learning rates are multiplied by in step `step`
    /// (counted from 0) of a run of `steps` steps.
    ///
    /// With `s₀ = ⌊start · steps⌋`: 1 for `step < s₀`, then
    /// `1 - (1 - to) · (step - s₀) / (steps - 1 - s₀)`, which is `to` at the
    /// last step, `steps - 1` (and stays `to` after it, for a run extended
    /// past its planned end).
    pub fn factor(&self, step: u64, steps: u64) -> f64 {
        let s0 = (self.start * steps as f64).floor() as u64;
        if step < s0 {
            return 1.0;
        }
        let span = steps.saturating_sub(1).saturating_sub(s0).max(1) as f64;
        let progress = ((step - s0) as f64 / span).min(1.0);
        1.0 - (1.0 - self.to) * progress
    }
}

/// Cosine annealing (Loshchilov & Hutter, 2017) from 1 down to `to` over a
/// run of `steps` steps: `to + (1 − to)·(1 + cos(π·step/(steps−1)))/2`.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosineDecay {
    /// The factor reached at the last step, in [0, 1].
    pub to: f64,
}

impl CosineDecay {
    /// The factor for step `step` (from 0) of a run of `steps` steps; `to`
    /// from the last step on.
    pub fn factor(&self, step: u64, steps: u64) -> f64 {
        let span = steps.saturating_sub(1).max(1) as f64;
        let progress = (step as f64 / span).min(1.0);
        self.to + (1.0 - self.to) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_decay_holds_then_falls_to_its_end_value() {
        let d = LrDecay { start: 0.5, to: 0.1 };
        // 11 steps: s₀ = 5; steps 0..5 keep 1, step 10 reaches 0.1,
        // step 8 is 3/5 of the way: 1 - 0.9·0.6 = 0.46.
        assert_eq!(d.factor(4, 11), 1.0);
        assert_eq!(d.factor(5, 11), 1.0);
        assert!((d.factor(8, 11) - 0.46).abs() < 1e-12);
        assert!((d.factor(10, 11) - 0.1).abs() < 1e-12);
        assert!((d.factor(50, 11) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn cosine_decay_starts_at_one_and_ends_at_to() {
        let c = CosineDecay { to: 0.0 };
        assert_eq!(c.factor(0, 101), 1.0);
        // Half way: (1 + cos(π/2))/2 = ½.
        assert!((c.factor(50, 101) - 0.5).abs() < 1e-12);
        assert!(c.factor(100, 101).abs() < 1e-12);
    }
}
