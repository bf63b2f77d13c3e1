//! Figures from snapshots: Figure 1's panels for 1-D data, scatter panels
//! over D's decision surface for 2-D data. D's output is drawn on `[0, 1]`:
//! as is for the games where it is a probability, min–max rescaled for the
//! Wasserstein critic (whose level means nothing).

use crate::scatter::{HeatMap, ScatterPanel};
use crate::svg::Panel;
use minimax_gan::coverage::HQ_RADIUS;
use minimax_gan::snapshot::{LineSnapshot, PlaneSnapshot, HEAT_CELLS};
use minimax_gan::{GanLoss, Target};

/// Rescales a critic's outputs to `[0, 1]` (min–max), for drawing.
fn rescale(values: &mut [f64]) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    values.iter_mut().for_each(|v| *v = (*v - lo) / span);
}

/// A 1-D snapshot as a Figure-1 panel.
pub fn line_panel(s: &LineSnapshot, loss: GanLoss) -> Panel {
    let mut title = format!("step {}", s.step);
    let mut d_of_x = s.d_of_x.clone();
    if let (GanLoss::Wasserstein, Some(d)) = (loss, &mut d_of_x) {
        rescale(d);
        title.push_str(" (critic, rescaled)");
    }
    if let Some((real, fake)) = s.d_on_batches {
        title.push_str(&format!(": D(real batch) {real:.2}, D(fake batch) {fake:.2}"));
    }
    Panel {
        title,
        xs: s.xs.clone(),
        data_density: s.data_density.clone(),
        gen_density: s.gen_density.clone(),
        d_of_x,
    }
}

/// A 2-D snapshot as a panel for [`crate::scatter::figure`], with `real`
/// points (row-major `[n, 2]`) for reference.
pub fn plane_panel(
    s: &PlaneSnapshot,
    target: &Target,
    loss: GanLoss,
    real: &[f64],
) -> ScatterPanel {
    let mut values = s.d_grid.clone();
    let c = &s.coverage;
    let title = if c.modes_total == 0 {
        format!("step {}: {:.0}% near the curve", s.step, 100.0 * c.high_quality_fraction)
    } else {
        format!(
            "step {}: {}/{} modes, {:.0}% HQ",
            s.step,
            c.modes_covered,
            c.modes_total,
            100.0 * c.high_quality_fraction
        )
    };
    if loss == GanLoss::Wasserstein {
        rescale(&mut values);
    }
    let pairs = |v: &[f64]| v.chunks_exact(2).map(|p| [p[0], p[1]]).collect::<Vec<_>>();
    ScatterPanel {
        title,
        window: target.window(),
        heat: Some(HeatMap { cells: HEAT_CELLS, values }),
        real: pairs(real),
        generated: pairs(&s.generated),
        centres: target.mode_centres(),
        hq_radius: HQ_RADIUS * target.std,
    }
}
