//! Judging a generator on 2-D data: mode coverage on fresh samples
//! ([`Trainer::coverage`]) and snapshots of G's points over D's decision
//! surface ([`Trainer::plane_snapshot`]).

use crate::coverage::{coverage, Coverage, SAMPLES};
use crate::error::TrainError;
use crate::eval::{generate, host};
use crate::purpose;
use crate::snapshot::{PlaneSnapshot, HEAT_CELLS};
use crate::train::Trainer;
use minimax_autodiff::{Backend, Real, Shape, Tape};

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
