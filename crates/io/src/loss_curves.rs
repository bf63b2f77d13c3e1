//! D's and G's losses against the training step, as one SVG plot.
//!
//! Built from the same pieces as `svg.rs` (ticks, labels, escaping), in the
//! same colours: D blue, G green. Both curves share one loss axis, from the
//! smallest to the largest finite loss. A non-finite loss (a diverged step)
//! breaks its line rather than dragging the axis to infinity, and a series
//! whose length differs from `steps` is drawn over the common part with the
//! mismatch written in red, so a bug shows rather than hides.

use crate::fsutil;
use crate::svg::{escape, line, nice_ticks, open_document, span, text, tick_label, tick_step};
use std::fmt::Write;
use std::path::Path;

// Layout, in SVG user units (pixels).
const PLOT_W: f64 = 560.0;
const PLOT_H: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 64.0; // title and legend
const BOTTOM: f64 = 48.0;
const D_COLOUR: &str = "#2166ac";
const G_COLOUR: &str = "#1a9850";

/// The loss curves of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LossCurves {
    /// Shown above the plot.
    pub title: String,
    /// The step of each point, increasing.
    pub steps: Vec<f64>,
    /// D's loss at each step.
    pub d_loss: Vec<f64>,
    /// G's loss at each step.
    pub g_loss: Vec<f64>,
}

impl LossCurves {
    /// No points yet.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), ..Self::default() }
    }

    /// Adds one point.
    pub fn push(&mut self, step: u64, d_loss: f64, g_loss: f64) {
        self.steps.push(step as f64);
        self.d_loss.push(d_loss);
        self.g_loss.push(g_loss);
    }

    /// The plot as an SVG document.
    pub fn svg(&self) -> String {
        let (width, height) = (LEFT + PLOT_W + RIGHT, TOP + PLOT_H + BOTTOM);
        let finite = |v: &[f64]| v.iter().copied().filter(|x| x.is_finite()).collect::<Vec<_>>();
        let steps = finite(&self.steps);
        let losses: Vec<f64> =
            finite(&self.d_loss).into_iter().chain(finite(&self.g_loss)).collect();
        let (x_lo, x_hi) = span(steps.iter().copied());
        let (y_lo, y_hi) = span(losses.iter().copied());
        let x_ticks = nice_ticks(x_lo, x_hi, 6, false);
        let y_ticks = nice_ticks(y_lo, y_hi, 5, false);
        let px = |x: f64| (x - x_lo) / (x_hi - x_lo) * PLOT_W;
        let py = |y: f64| PLOT_H - (y - y_lo) / (y_hi - y_lo) * PLOT_H;

        let mut svg = open_document(width, height, &self.title);
        for (i, (label, colour)) in [("D loss", D_COLOUR), ("G loss", G_COLOUR)].iter().enumerate()
        {
            let x = width / 2.0 - 110.0 + 130.0 * i as f64;
            line(&mut svg, (x, 44.0), (x + 30.0, 44.0), colour, r#"stroke-width="2""#);
            text(&mut svg, (x + 36.0, 48.0), "", label);
        }

        let _ = writeln!(svg, r#"<g transform="translate({LEFT},{TOP})">"#);
        let grey = "#888";
        let _ = writeln!(
            svg,
            r#"<rect width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="{grey}"/>"#
        );
        let middle = r#"text-anchor="middle""#;
        for &x in &x_ticks {
            line(&mut svg, (px(x), PLOT_H), (px(x), PLOT_H + 4.0), grey, "");
            text(&mut svg, (px(x), PLOT_H + 16.0), middle, &tick_label(x, tick_step(&x_ticks)));
        }
        text(&mut svg, (PLOT_W / 2.0, PLOT_H + 36.0), middle, "step");
        for &y in &y_ticks {
            line(&mut svg, (-4.0, py(y)), (0.0, py(y)), grey, "");
            let label = tick_label(y, tick_step(&y_ticks));
            text(&mut svg, (-7.0, py(y) + 4.0), r#"text-anchor="end""#, &label);
        }
        let rotated = format!(r#"transform="rotate(-90 -46 {0})" {middle}"#, PLOT_H / 2.0);
        text(&mut svg, (-46.0, PLOT_H / 2.0), &rotated, "loss");

        let mut problems = Vec::new();
        for (name, ys, colour) in
            [("D loss", &self.d_loss, D_COLOUR), ("G loss", &self.g_loss, G_COLOUR)]
        {
            if ys.len() != self.steps.len() {
                problems.push(format!(
                    "{name}: {} values for {} steps",
                    ys.len(),
                    self.steps.len()
                ));
            }
            let mut d = String::new();
            let mut pen_down = false;
            for (&x, &y) in self.steps.iter().zip(ys.iter()) {
                if !(x.is_finite() && y.is_finite()) {
                    pen_down = false;
                    continue;
                }
                let command = if pen_down { 'L' } else { 'M' };
                let _ = write!(d, "{command}{:.2},{:.2} ", px(x), py(y));
                pen_down = true;
            }
            let _ = writeln!(
                svg,
                r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="1.5"><title>{}</title></path>"#,
                d.trim_end(),
                escape(name)
            );
        }
        for (i, p) in problems.iter().enumerate() {
            text(&mut svg, (8.0, 16.0 + 14.0 * i as f64), r#"fill="red""#, p);
        }
        svg.push_str("</g>\n</svg>\n");
        svg
    }

    /// Writes [`Self::svg`] to `path` atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        fsutil::write_atomic(path, self.svg().as_bytes())
    }
}
