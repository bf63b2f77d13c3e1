//! The real data: a 1-D Gaussian, or one of the 2-D sets of the
//! mode-collapse literature.
//!
//! Every data set here is a *skeleton* blurred by Gaussian noise:
//!
//! ```text
//! x = mean + c + std · ε,    c drawn uniformly from the skeleton,  ε ~ N(0, I)
//! ```
//!
//! | kind       | dim | skeleton                                                  |
//! |------------|-----|-----------------------------------------------------------|
//! | `gaussian` | 1   | the single point 0, so x ~ N(mean, std²)                  |
//! | `ring`     | 2   | 8 points on a circle of radius 2 (σ 0.02)                 |
//! | `grid`     | 2   | the 5 × 5 points {-4, -2, 0, 2, 4}² (σ 0.05)              |
//! | `moons`    | 2   | two interleaved half circles (scikit-learn's `make_moons`) |
//! | `spiral`   | 2   | one arm of an Archimedean spiral, two and a half turns     |
//! | `line`     | 2   | GAN Lab's segment from (0.8, 0.6) to (0.05, 0.9) (σ 0.01)  |
//! | `gaussians`| 2   | GAN Lab's two Gaussians, one round, one tall (σ 0.1)       |
//! | `ellipse`  | 2   | GAN Lab's "ring": an ellipse, radii 0.3 and 0.25 (σ 0.025) |
//! | `disjoint` | 2   | GAN Lab's three small Gaussians (σ 0.025)                  |
//! | `drawn`    | 2   | points a user drew, each blurred (σ 0.02)                  |
//!
//! The last five are GAN Lab's (Kahng et al. 2018, `demo/ganlab_input_providers.ts`),
//! in its unit square: they sit around `mean = 0.5`, and their window is
//! `[0, 1]²`. One of them, `gaussians`, blurs its two modes unequally
//! (GAN Lab's σ of 0.1, and of 0.05 across and 0.2 along): each mode
//! carries its own scale of the noise ([`Target::noise_scale`]).
//!
//! The ring and the grid are the benchmarks of Metz et al. 2017 (unrolled
//! GAN), Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN): a
//! mixture of well-separated, very narrow Gaussians, so that a generator that
//! drops a mode, or hops from mode to mode, is plain to see and to count (see
//! [`crate::coverage`]). The moons and the spiral have no discrete modes; for
//! them only the share of samples near the skeleton is measured.
//!
//! Where samples are drawn: the 1-D Gaussian on the device, with
//! [`Tape::random`] (no upload per step, which the GPU test checks). The
//! 2-D sets on the **host**, with the same counter-based generator
//! ([`minimax_autodiff::rng`]) from a seed derived from `(run seed, purpose,
//! step, sub-step)`, and then uploaded: a mixture needs a categorical draw
//! and the curves need `cos` and `sin`, none of which the backend has, and a
//! few kilobytes per step is a small price for sampling code that reads like
//! the formulas above.

use minimax_autodiff::rng::{derive_seed, normal, seed_key, uniform};
use minimax_autodiff::{Backend, Dist, Real, Result, Shape, Tape, Var};
use std::f64::consts::PI;
// The data sets' points with libm's cos and sin, not std's: the same bits on every
// target, natively and in the browser (see minimax_autodiff's `real.rs`).
use libm::{cos, sin};
use std::fmt;

/// The shape of the data, without its noise (see the module docs).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DataKind {
    /// 1-D: the single point 0.
    Gaussian,
    /// 2-D: `modes` points evenly spaced on a circle of radius `radius`,
    /// the first at angle 0.
    Ring {
        /// Number of points.
        modes: usize,
        /// The circle's radius.
        radius: f64,
    },
    /// 2-D: a `side × side` grid of points `spacing` apart, centred on 0.
    Grid {
        /// Points per row and per column.
        side: usize,
        /// Distance between neighbouring points.
        spacing: f64,
    },
    /// 2-D: scikit-learn's two moons, the upper half circle
    /// `(cos t, sin t)` and the lower one `(1 - cos t, ½ - sin t)` for
    /// `t ∈ [0, π]`, centred on 0 and scaled by 2: they span `[-3, 3] × [-1.5, 1.5]`.
    Moons,
    /// 2-D: the spiral `r = 3.5 θ / θ_max`, `θ ∈ [1.5π, 4.5π]` (the 2-D
    /// Swiss roll of scikit-learn's `make_swiss_roll`, scaled to radius 3.5).
    Spiral,
    /// 2-D: GAN Lab's line, the segment `(0.8 - 0.75 t, 0.6 + 0.3 t)`, `t ∈ [0, 1]`.
    Line,
    /// 2-D: GAN Lab's two Gaussians, at (0.3, 0.7) and (0.7, 0.4), the
    /// second half as wide and twice as tall as the first.
    Gaussians,
    /// 2-D: GAN Lab's "ring", the ellipse centred on (0.5, 0.45) with radii
    /// 0.3 and 0.25: a curve without discrete modes.
    Ellipse,
    /// 2-D: GAN Lab's three Gaussians at (0.35, 0.75), (0.75, 0.6), (0.45, 0.35).
    Disjoint,
    /// 2-D: a distribution the user drew. Each sample is one of the points
    /// (in the unit square), picked uniformly, plus the noise.
    Drawn {
        /// The drawn points, in `[0, 1]²`.
        points: Vec<[f64; 2]>,
    },
}

/// The real data: a skeleton `kind`, shifted by `mean` on every axis, plus
/// Gaussian noise of standard deviation `std` on every axis.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The skeleton.
    pub kind: DataKind,
    /// A shift on every axis: the 1-D Gaussian's mean (0 for the 2-D sets,
    /// which sit around the origin as the literature has them).
    pub mean: f64,
    /// The noise's standard deviation: the 1-D Gaussian's std, each mode's σ
    /// for the ring and the grid, the blur of the moons and the spiral.
    pub std: f64,
}

/// Every named data set, in the order `--help` lists them.
pub const NAMES: [&str; 10] = [
    "gaussian",
    "ring",
    "grid",
    "moons",
    "spiral",
    "line",
    "gaussians",
    "ellipse",
    "disjoint",
    "drawn",
];

/// The spiral's angles: `θ ∈ [1.5π, 4.5π]`, two and a half turns.
const SPIRAL_THETA: (f64, f64) = (1.5 * PI, 4.5 * PI);
/// The spiral's outer radius.
const SPIRAL_RADIUS: f64 = 3.5;
/// Points per curve when measuring the distance to the moons or the spiral.
const CURVE_POINTS: usize = 2000;

impl Target {
    /// The 1-D Gaussian N(mean, std²).
    pub fn gaussian(mean: f64, std: f64) -> Target {
        Target { kind: DataKind::Gaussian, mean, std }
    }

    /// 8 Gaussians on a circle of radius 2, σ = 0.02 (Metz et al. 2017).
    pub fn ring() -> Target {
        Target { kind: DataKind::Ring { modes: 8, radius: 2.0 }, mean: 0.0, std: 0.02 }
    }

    /// 25 Gaussians on the grid {-4, -2, 0, 2, 4}², σ = 0.05 (VEEGAN, PacGAN).
    pub fn grid() -> Target {
        Target { kind: DataKind::Grid { side: 5, spacing: 2.0 }, mean: 0.0, std: 0.05 }
    }

    /// The two moons with noise σ = 0.1 (scikit-learn's `noise=0.05`
    /// before our scaling by 2).
    pub fn moons() -> Target {
        Target { kind: DataKind::Moons, mean: 0.0, std: 0.1 }
    }

    /// The spiral with noise σ = 0.1 (its arms are 1.56 apart).
    pub fn spiral() -> Target {
        Target { kind: DataKind::Spiral, mean: 0.0, std: 0.1 }
    }

    /// One of GAN Lab's sets in its unit square (`mean` 0.5) with its noise.
    fn gan_lab(kind: DataKind, std: f64) -> Target {
        Target { kind, mean: 0.5, std }
    }

    /// GAN Lab's line, σ 0.01.
    pub fn line() -> Target {
        Target::gan_lab(DataKind::Line, 0.01)
    }

    /// GAN Lab's two Gaussians, σ 0.1 (the second mode 0.05 × 0.2).
    pub fn gaussians() -> Target {
        Target::gan_lab(DataKind::Gaussians, 0.1)
    }

    /// GAN Lab's ellipse ("ring" there), σ 0.025.
    pub fn ellipse() -> Target {
        Target::gan_lab(DataKind::Ellipse, 0.025)
    }

    /// GAN Lab's three disjoint Gaussians, σ 0.025.
    pub fn disjoint() -> Target {
        Target::gan_lab(DataKind::Disjoint, 0.025)
    }

    /// A drawn distribution: `points` in `[0, 1]²`, each blurred by σ 0.02
    /// as GAN Lab blurs a drawing. [`Target::validate`] checks the points.
    pub fn drawn(points: Vec<[f64; 2]>) -> Target {
        Target::gan_lab(DataKind::Drawn { points }, 0.02)
    }

    /// A 2-D data set by name (every one of [`NAMES`] but `gaussian` and
    /// `drawn`), with the literature's settings.
    pub fn named_2d(name: &str) -> std::result::Result<Target, String> {
        match name {
            "ring" => Ok(Target::ring()),
            "grid" => Ok(Target::grid()),
            "moons" => Ok(Target::moons()),
            "spiral" => Ok(Target::spiral()),
            "line" => Ok(Target::line()),
            "gaussians" => Ok(Target::gaussians()),
            "ellipse" => Ok(Target::ellipse()),
            "disjoint" => Ok(Target::disjoint()),
            other => Err(format!(
                "unknown 2-D data set {other:?}: expected ring, grid, moons, spiral, line, \
                 gaussians, ellipse or disjoint"
            )),
        }
    }

    /// The kind's name: one of [`NAMES`].
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Coordinates per sample: 1 for the Gaussian, 2 for the others.
    pub fn dim(&self) -> usize {
        match self.kind {
            DataKind::Gaussian => 1,
            _ => 2,
        }
    }

    /// The centres of the discrete modes (ring and grid); empty for the
    /// Gaussian and for the curves, which have no discrete modes to count.
    pub fn mode_centres(&self) -> Vec<[f64; 2]> {
        let shift = |p| shifted(p, self.mean);
        match self.kind {
            DataKind::Ring { modes, radius } => (0..modes)
                .map(|k| {
                    let angle = 2.0 * PI * k as f64 / modes as f64;
                    shift([radius * cos(angle), radius * sin(angle)])
                })
                .collect(),
            DataKind::Grid { side, spacing } => {
                let offset = 0.5 * (side as f64 - 1.0) * spacing;
                // Row by row, from the bottom left: mode k is (k % side, k / side).
                (0..side * side)
                    .map(|k| {
                        let (i, j) = ((k % side) as f64, (k / side) as f64);
                        shift([i * spacing - offset, j * spacing - offset])
                    })
                    .collect()
            }
            // GAN Lab's modes, in its unit square: around 0, shifted by `mean`.
            DataKind::Gaussians => unit_square(&[[0.3, 0.7], [0.7, 0.4]], self.mean),
            DataKind::Disjoint => {
                unit_square(&[[0.35, 0.75], [0.75, 0.6], [0.45, 0.35]], self.mean)
            }
            DataKind::Gaussian
            | DataKind::Moons
            | DataKind::Spiral
            | DataKind::Line
            | DataKind::Ellipse
            | DataKind::Drawn { .. } => Vec::new(),
        }
    }

    /// The noise's scale on each axis around mode `k`: 1 and 1 but for the
    /// second of GAN Lab's `gaussians`, 0.05 × 0.2 where the first is 0.1 × 0.1.
    pub fn noise_scale(&self, k: usize) -> [f64; 2] {
        match (&self.kind, k) {
            (DataKind::Gaussians, 1) => [0.5, 2.0],
            _ => [1.0, 1.0],
        }
    }

    /// `n` samples on the host, row by row (`[n, dim]`, row-major), from the
    /// counter-based generator: sample `i` depends only on `(seed, i)`.
    /// For the Gaussian these are the numbers [`Backend::random`] draws.
    pub fn sample(&self, n: usize, seed: u64) -> Vec<f64> {
        if self.kind == DataKind::Gaussian {
            let key = seed_key(seed);
            return (0..n as u32).map(|i| self.mean + self.std * normal(key, i)).collect();
        }
        // One stream picks the skeleton point (two uniforms u, v per sample),
        // another draws the noise (two normals per sample).
        let pick = seed_key(derive_seed(&[seed, 0]));
        let noise = seed_key(derive_seed(&[seed, 1]));
        let centres = self.mode_centres();
        // ⌊u·K⌋: each of K points with probability 1/K.
        let pick_of = |u: f64, k: usize| ((u * k as f64) as usize).min(k - 1);
        let mut out = Vec::with_capacity(2 * n);
        for i in 0..n as u32 {
            let (u, v) = (uniform(pick, 2 * i), uniform(pick, 2 * i + 1));
            let mut mode = 0; // which mode's noise scale (see `noise_scale`)
            let [x, y] = match &self.kind {
                DataKind::Ring { .. }
                | DataKind::Grid { .. }
                | DataKind::Gaussians
                | DataKind::Disjoint => {
                    mode = pick_of(u, centres.len());
                    centres[mode]
                }
                // Upper or lower moon by u, the angle by v.
                DataKind::Moons => shifted(moon_point(u < 0.5, PI * v), self.mean),
                DataKind::Spiral => shifted(spiral_point(v), self.mean),
                DataKind::Line => shifted(line_point(u), self.mean),
                DataKind::Ellipse => shifted(ellipse_point(u), self.mean),
                DataKind::Drawn { points } => points[pick_of(u, points.len())],
                DataKind::Gaussian => unreachable!("handled above"),
            };
            let [sx, sy] = self.noise_scale(mode);
            out.push(x + self.std * sx * normal(noise, 2 * i));
            out.push(y + self.std * sy * normal(noise, 2 * i + 1));
        }
        out
    }

    /// A batch of `n` real samples `[n, dim]` as a constant on `tape`.
    ///
    /// The Gaussian is drawn on the device ([`Tape::random`], nothing
    /// uploaded); the 2-D sets on the host ([`Target::sample`]) and uploaded.
    pub fn draw<B: Backend>(&self, tape: &Tape<B>, n: usize, seed: u64) -> Result<Var<B>> {
        if self.kind == DataKind::Gaussian {
            let dist = Dist::Normal { mean: self.mean, std: self.std };
            return Ok(tape.random(Shape::new(n, 1), dist, seed));
        }
        let values: Vec<B::Elem> =
            self.sample(n, seed).into_iter().map(B::Elem::from_f64).collect();
        let tensor = tape.backend().upload(Shape::new(n, self.dim()), &values)?;
        Ok(tape.constant(tensor))
    }

    /// The skeleton of a 2-D set as points (shifted by `mean`): the mode
    /// centres of the ring and the grid, or the moons' or the spiral's curve
    /// sampled at 2000 points per curve (dense enough that the distance to
    /// the nearest of them is the distance to the curve within 0.01). Empty
    /// for the 1-D Gaussian.
    pub fn skeleton(&self) -> Vec<[f64; 2]> {
        let t = |i: usize| i as f64 / (CURVE_POINTS - 1) as f64; // [0, 1]
        match &self.kind {
            DataKind::Ring { .. }
            | DataKind::Grid { .. }
            | DataKind::Gaussians
            | DataKind::Disjoint => self.mode_centres(),
            DataKind::Line => {
                (0..CURVE_POINTS).map(|i| shifted(line_point(t(i)), self.mean)).collect()
            }
            DataKind::Ellipse => {
                (0..CURVE_POINTS).map(|i| shifted(ellipse_point(t(i)), self.mean)).collect()
            }
            DataKind::Drawn { points } => points.clone(),
            DataKind::Moons => (0..CURVE_POINTS)
                .flat_map(|i| [moon_point(true, PI * t(i)), moon_point(false, PI * t(i))])
                .map(|p| shifted(p, self.mean))
                .collect(),
            DataKind::Spiral => {
                (0..CURVE_POINTS).map(|i| shifted(spiral_point(t(i)), self.mean)).collect()
            }
            DataKind::Gaussian => Vec::new(),
        }
    }

    /// How far from `mean` nearly all the data lies, on each axis, with a
    /// margin: `4 std` for the Gaussian. G's tanh output is stretched to
    /// `mean ± reach`.
    pub fn reach(&self) -> f64 {
        match self.kind {
            DataKind::Gaussian => 4.0 * self.std,
            DataKind::Ring { radius, .. } => radius + 0.5 + 4.0 * self.std,
            DataKind::Grid { side, spacing } => {
                0.5 * (side as f64 - 1.0) * spacing + 1.0 + 4.0 * self.std
            }
            DataKind::Moons | DataKind::Spiral => 4.0 + 4.0 * self.std,
            // GAN Lab's unit square, exactly: its data stays inside.
            DataKind::Line
            | DataKind::Gaussians
            | DataKind::Ellipse
            | DataKind::Disjoint
            | DataKind::Drawn { .. } => 0.5,
        }
    }

    /// The window `[mean - reach, mean + reach]` on each axis: for plots.
    pub fn window(&self) -> (f64, f64) {
        (self.mean - self.reach(), self.mean + self.reach())
    }

    /// One line for the terminal, such as `N(4, 1.25²)` or
    /// `ring of 8 Gaussians, radius 2, σ 0.02`.
    pub fn describe(&self) -> String {
        let shift =
            if self.mean != 0.0 { format!(", shifted by {}", self.mean) } else { "".into() };
        match &self.kind {
            DataKind::Gaussian => format!("N({}, {}²)", self.mean, self.std),
            DataKind::Ring { modes, radius } => {
                format!("ring of {modes} Gaussians, radius {radius}, σ {}{shift}", self.std)
            }
            DataKind::Grid { side, spacing } => {
                format!("{side}×{side} grid of Gaussians, spacing {spacing}, σ {}{shift}", self.std)
            }
            DataKind::Moons => format!("two moons, noise σ {}{shift}", self.std),
            DataKind::Spiral => format!("spiral, noise σ {}{shift}", self.std),
            DataKind::Line => format!("GAN Lab's line, σ {}", self.std),
            DataKind::Gaussians => format!("GAN Lab's two Gaussians, σ {}", self.std),
            DataKind::Ellipse => format!("GAN Lab's ellipse, σ {}", self.std),
            DataKind::Disjoint => format!("GAN Lab's three disjoint Gaussians, σ {}", self.std),
            DataKind::Drawn { points } => format!("{} drawn points, σ {}", points.len(), self.std),
        }
    }

    /// Checks the ranges; the error names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(self.std > 0.0 && self.std.is_finite()) {
            return Err(format!("target std must be a positive number, got {}", self.std));
        }
        if !self.mean.is_finite() {
            return Err("target mean must be finite".into());
        }
        // A count of points and a distance: at least 1, and positive.
        let bad = |count: usize, size: f64| count == 0 || !size.is_finite() || size <= 0.0;
        match &self.kind {
            &DataKind::Ring { modes, radius } if bad(modes, radius) => Err(format!(
                "ring needs at least 1 mode and a positive radius, got {modes} and {radius}"
            )),
            &DataKind::Grid { side, spacing } if bad(side, spacing) => Err(format!(
                "grid needs at least 1 point per side and a positive spacing, got {side} and {spacing}"
            )),
            DataKind::Drawn { points } if points.is_empty() => {
                Err("a drawn distribution needs at least one point".into())
            }
            DataKind::Drawn { points } => {
                let outside = |p: &[f64; 2]| !p.iter().all(|v| (0.0..=1.0).contains(v));
                match points.iter().position(outside) {
                    Some(i) => Err(format!(
                        "drawn point {i} is {:?}: drawn points lie in the unit square [0, 1]²",
                        points[i]
                    )),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

/// GAN Lab's points of its unit square, moved around 0 and then by `mean`.
fn unit_square(points: &[[f64; 2]], mean: f64) -> Vec<[f64; 2]> {
    points.iter().map(|&[x, y]| shifted([x - 0.5, y - 0.5], mean)).collect()
}

/// GAN Lab's line at `t ∈ [0, 1]`, around 0.
fn line_point(t: f64) -> [f64; 2] {
    [0.8 - 0.75 * t - 0.5, 0.6 + 0.3 * t - 0.5]
}

/// GAN Lab's ellipse at the fraction `t ∈ [0, 1]` of a turn, around 0.
fn ellipse_point(t: f64) -> [f64; 2] {
    let a = 2.0 * PI * t;
    [0.3 * a.cos(), 0.25 * a.sin() - 0.05]
}

/// `p` moved by `by` on both axes.
fn shifted([x, y]: [f64; 2], by: f64) -> [f64; 2] {
    [x + by, y + by]
}

/// A point of the upper (`upper`) or lower moon at angle `t ∈ [0, π]`,
/// centred on 0 and scaled by 2.
fn moon_point(upper: bool, t: f64) -> [f64; 2] {
    let (x, y) = if upper { (cos(t), sin(t)) } else { (1.0 - cos(t), 0.5 - sin(t)) };
    // scikit-learn's moons span [-1, 2] × [-0.5, 1]: centre them on 0.
    [2.0 * (x - 0.5), 2.0 * (y - 0.25)]
}

/// The spiral's point at fraction `v ∈ [0, 1]` of its angle range.
fn spiral_point(v: f64) -> [f64; 2] {
    let (lo, hi) = SPIRAL_THETA;
    let theta = lo + (hi - lo) * v;
    let r = SPIRAL_RADIUS * theta / hi;
    [r * cos(theta), r * sin(theta)]
}

impl DataKind {
    /// The name used on the command line and in JSON: one of [`NAMES`].
    pub fn name(&self) -> &'static str {
        match self {
            DataKind::Gaussian => "gaussian",
            DataKind::Ring { .. } => "ring",
            DataKind::Grid { .. } => "grid",
            DataKind::Moons => "moons",
            DataKind::Spiral => "spiral",
            DataKind::Line => "line",
            DataKind::Gaussians => "gaussians",
            DataKind::Ellipse => "ellipse",
            DataKind::Disjoint => "disjoint",
            DataKind::Drawn { .. } => "drawn",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}
