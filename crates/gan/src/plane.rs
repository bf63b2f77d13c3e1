//! Judging a generator on 2-D data: mode coverage on fresh samples
//! ([`Trainer::coverage`]) and snapshots of G's points over D's decision
//! surface ([`Trainer::plane_snapshot`]), drawn by [`crate::scatter`].

use crate::coverage::{coverage, Coverage, HQ_RADIUS, SAMPLES};
use crate::data::Target;
use crate::loss::GanLoss;
use crate::report::{generate, host};
use crate::scatter::{HeatMap, ScatterPanel};
use crate::train::{purpose, TrainError, Trainer};
use minimax_autodiff::{Backend, Real, Shape, Tape};

/// Cells per side of the grid D is evaluated on for the heat map.
pub const HEAT_CELLS: usize = 40;
/// Real samples drawn in each picture (for reference; the same in all).
pub const REAL_POINTS: usize = 500;

/// G and D at one moment of training on 2-D data.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaneSnapshot {
    /// Steps done when it was taken.
    pub step: u64,
    /// [`SAMPLES`] points from G, row-major `[n, 2]`.
    pub generated: Vec<f64>,
    /// Their coverage of the data's modes.
    pub coverage: Coverage,
    /// D's output (see [`GanLoss::d_output`]) at the centres of a
    /// [`HEAT_CELLS`]² grid over the data's window, row by row from the
    /// bottom (`y` = lo), each row from left to right. A packing D
    /// ([`crate::config::DiscriminatorConfig::pack`]) is shown packs of
    /// copies of each point.
    pub d_grid: Vec<f64>,
}

impl<B: Backend> Trainer<B> {
    /// Draws [`SAMPLES`] fresh samples from G and measures their coverage of
    /// the data's modes (2-D data only).
    pub fn coverage(&self) -> Result<Coverage, TrainError> {
        let points = self.generate_2d(self.stream(purpose::EVAL, 0, 1))?;
        Ok(coverage(&self.config().target, &points))
    }

    /// A snapshot of G's samples, their coverage, and D over the window.
    pub fn plane_snapshot(&self) -> Result<PlaneSnapshot, TrainError> {
        let c = self.config();
        let generated = self.generate_2d(self.stream(purpose::SNAPSHOT, self.step(), 0))?;
        let (lo, hi) = c.target.window();
        let cell = (hi - lo) / HEAT_CELLS as f64;
        // [cells², 2]: the centre of every cell, bottom row first.
        let mut grid = Vec::with_capacity(2 * HEAT_CELLS * HEAT_CELLS);
        for row in 0..HEAT_CELLS {
            for col in 0..HEAT_CELLS {
                grid.push(lo + (col as f64 + 0.5) * cell);
                grid.push(lo + (row as f64 + 0.5) * cell);
            }
        }
        // A packing D judges packs: ask it about packs of copies of each
        // point, [x, x, …], by stacking the grid `pack` times (see `pack`).
        let pack = self.discriminator().pack;
        let grid: Vec<B::Elem> =
            grid.iter().cycle().take(pack * grid.len()).map(|&v| B::Elem::from_f64(v)).collect();
        let tape = Tape::new(self.backend().clone());
        let x = self.backend().upload(Shape::new(pack * HEAT_CELLS * HEAT_CELLS, 2), &grid)?;
        let d_vars = self.d_params().constants(&tape);
        let logits = self.discriminator().forward(&d_vars, &tape.constant(x), None)?;
        let d_grid = host(&c.loss.d_output(&logits))?; // [cells², 1]
        Ok(PlaneSnapshot {
            step: self.step(),
            coverage: coverage(&c.target, &generated),
            generated,
            d_grid,
        })
    }

    /// [`SAMPLES`] samples from G on the host, `[n, 2]` row-major.
    fn generate_2d(&self, seed: u64) -> Result<Vec<f64>, TrainError> {
        let target = &self.config().target;
        if target.dim() != 2 {
            return Err(TrainError::Config(format!(
                "mode coverage is measured on 2-D data, and the data is {}: use Trainer::evaluate",
                target.name()
            )));
        }
        let tape = Tape::new(self.backend().clone());
        host(&generate(self, &tape, SAMPLES, seed)?)
    }
}

impl PlaneSnapshot {
    /// The snapshot as a panel for [`crate::scatter::figure`], with `real`
    /// points (row-major `[n, 2]`) for reference. D's output is drawn on
    /// `[0, 1]`: as is for the games where it is a probability, min–max
    /// rescaled for the Wasserstein critic.
    pub fn panel(&self, target: &Target, loss: GanLoss, real: &[f64]) -> ScatterPanel {
        let mut values = self.d_grid.clone();
        let mut title = format!(
            "step {}: {}/{} modes, {:.0}% HQ",
            self.step,
            self.coverage.modes_covered,
            self.coverage.modes_total,
            100.0 * self.coverage.high_quality_fraction
        );
        if self.coverage.modes_total == 0 {
            title = format!(
                "step {}: {:.0}% near the curve",
                self.step,
                100.0 * self.coverage.high_quality_fraction
            );
        }
        if loss == GanLoss::Wasserstein {
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let span = if hi > lo { hi - lo } else { 1.0 };
            values.iter_mut().for_each(|v| *v = (*v - lo) / span);
        }
        let pairs = |v: &[f64]| v.chunks_exact(2).map(|p| [p[0], p[1]]).collect::<Vec<_>>();
        ScatterPanel {
            title,
            window: target.window(),
            heat: Some(HeatMap { cells: HEAT_CELLS, values }),
            real: pairs(real),
            generated: pairs(&self.generated),
            centres: target.mode_centres(),
            hq_radius: HQ_RADIUS * target.std,
        }
    }
}
