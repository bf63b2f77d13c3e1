//! What is seen of G and D during training: [`Snapshot`]s, taken by
//! [`crate::Trainer::snapshot`] at chosen steps. Plain data, drawn by the
//! figure code of `minimax-io`.

use crate::coverage::Coverage;

/// Cells per side of the grid D is evaluated on for the heat map.
pub const HEAT_CELLS: usize = 40;
/// Real samples drawn in each picture (for reference; the same in all).
pub const REAL_POINTS: usize = 500;

/// A look at G and D during training: Figure 1's curves for 1-D data, or
/// G's points over D's decision surface for 2-D data.
#[derive(Clone, Debug, PartialEq)]
pub enum Snapshot {
    /// 1-D data.
    Line(LineSnapshot),
    /// 2-D data.
    Plane(PlaneSnapshot),
}

impl Snapshot {
    /// Steps done when it was taken.
    pub fn step(&self) -> u64 {
        match self {
            Snapshot::Line(s) => s.step,
            Snapshot::Plane(s) => s.step,
        }
    }

    /// The 1-D snapshot, if this is one.
    pub fn line(&self) -> Option<&LineSnapshot> {
        match self {
            Snapshot::Line(s) => Some(s),
            Snapshot::Plane(_) => None,
        }
    }

    /// The 2-D snapshot, if this is one.
    pub fn plane(&self) -> Option<&PlaneSnapshot> {
        match self {
            Snapshot::Line(_) => None,
            Snapshot::Plane(s) => Some(s),
        }
    }
}

/// One panel of the Figure-1 plot: the data density, G's density and D.
#[derive(Clone, Debug, PartialEq)]
pub struct LineSnapshot {
    /// Steps done when it was taken.
    pub step: u64,
    /// Bin centres over `mean ± 4 std` of the data.
    pub xs: Vec<f64>,
    /// `p_data(x)` at each x.
    pub data_density: Vec<f64>,
    /// G's density at each x (a histogram of 20 000 samples).
    pub gen_density: Vec<f64>,
    /// D's output at each x (when D sees samples).
    pub d_of_x: Option<Vec<f64>>,
    /// D's output on one real and one fake batch (when D sees moments).
    pub d_on_batches: Option<(f64, f64)>,
}

/// G and D at one moment of training on 2-D data.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaneSnapshot {
    /// Steps done when it was taken.
    pub step: u64,
    /// [`crate::coverage::SAMPLES`] points from G, row-major `[n, 2]`.
    pub generated: Vec<f64>,
    /// Their coverage of the data's modes.
    pub coverage: Coverage,
    /// D's output (see [`crate::GanLoss::d_output`]) at the centres of a
    /// [`HEAT_CELLS`]² grid over the data's window, row by row from the
    /// bottom (`y` = lo), each row from left to right. A packing D
    /// ([`crate::config::DiscriminatorConfig::pack`]) is shown packs of
    /// copies of each point.
    pub d_grid: Vec<f64>,
}
