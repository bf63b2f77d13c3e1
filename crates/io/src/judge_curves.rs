//! The judged figures of a run against the training step (`--judge-every`),
//! as one SVG of two plots: the Fréchet distance (lower is better; the
//! real-vs-real floor dashed grey; the best G ringed) and the classes
//! covered (out of all of them, dashed grey), each for the raw G (blue) and
//! its EMA (orange).
//!
//! Built from the same pieces as `loss_curves.rs` (ticks, labels,
//! escaping). A non-finite value breaks its line instead of stretching the
//! axis to infinity.

use crate::fsutil;
use crate::svg::{escape, line, nice_ticks, open_document, span, text, tick_label, tick_step};
use minimax_gan::image::judging::CurvePoint;
use minimax_gan::image::GChoice;
use std::fmt::Write;
use std::path::Path;

// Layout, in SVG user units (pixels).
const PLOT_W: f64 = 560.0;
const PLOT_H: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 64.0; // title and legend
const GAP: f64 = 56.0; // between the plots: the first's axis label
const BOTTOM: f64 = 48.0;
const RAW_COLOUR: &str = "#2166ac";
const EMA_COLOUR: &str = "#e66101";
const GREY: &str = "#888";

/// A run's judged figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JudgeCurves {
    /// Shown above the plots.
    pub title: String,
    /// Every judgement, in step order (raw and EMA interleaved).
    pub points: Vec<CurvePoint>,
    /// The real-vs-real Fréchet distance, the floor a perfect G reaches.
    pub floor: f64,
    /// Classes in the data.
    pub classes: usize,
    /// The best G's step and which G it was, ringed on the Fréchet plot.
    pub best: Option<(u64, GChoice)>,
}

impl JudgeCurves {
    /// The two plots as an SVG document.
    pub fn svg(&self) -> String {
        let (width, height) = (LEFT + PLOT_W + RIGHT, TOP + 2.0 * PLOT_H + GAP + BOTTOM);
        let mut svg = open_document(width, height, &self.title);
        for (i, (label, colour)) in
            [("raw G", RAW_COLOUR), ("EMA of G", EMA_COLOUR)].iter().enumerate()
        {
            let x = width / 2.0 - 110.0 + 130.0 * i as f64;
            line(&mut svg, (x, 44.0), (x + 30.0, 44.0), colour, r#"stroke-width="2""#);
            text(&mut svg, (x + 36.0, 48.0), "", label);
        }
        let steps: Vec<f64> = self.points.iter().map(|p| p.step as f64).collect();
        let fd: Vec<f64> = self.points.iter().map(|p| p.frechet_distance).collect();
        let covered: Vec<f64> = self.points.iter().map(|p| p.classes_covered as f64).collect();
        let best = self.best.and_then(|(step, g)| {
            self.points
                .iter()
                .find(|p| p.step == step && p.g == g)
                .map(|p| (step as f64, p.frechet_distance))
        });
        let plots = [
            ("Fréchet distance (lower is better)", &fd, self.floor, "real vs real", best),
            ("classes covered", &covered, self.classes as f64, "all", None),
        ];
        for (k, (label, ys, reference, reference_label, ring)) in plots.into_iter().enumerate() {
            let top = TOP + k as f64 * (PLOT_H + GAP);
            self.plot(&mut svg, top, &steps, ys, (reference, reference_label), ring, label);
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// One plot at `top`: `ys` against `steps` per G, a dashed reference
    /// line, and a ring at `ring`.
    #[allow(clippy::too_many_arguments)]
    fn plot(
        &self,
        svg: &mut String,
        top: f64,
        steps: &[f64],
        ys: &[f64],
        (reference, reference_label): (f64, &str),
        ring: Option<(f64, f64)>,
        label: &str,
    ) {
        let finite = |v: &[f64]| v.iter().copied().filter(|x| x.is_finite()).collect::<Vec<_>>();
        let mut all_y = finite(ys);
        if reference.is_finite() {
            all_y.push(reference);
        }
        let (x_lo, x_hi) = span(finite(steps));
        let (y_lo, y_hi) = span(all_y.iter().copied());
        let x_ticks = nice_ticks(x_lo, x_hi, 6, false);
        let y_ticks = nice_ticks(y_lo, y_hi, 5, false);
        let px = |x: f64| (x - x_lo) / (x_hi - x_lo) * PLOT_W;
        let py = |y: f64| PLOT_H - (y - y_lo) / (y_hi - y_lo) * PLOT_H;
        let _ = writeln!(svg, r#"<g transform="translate({LEFT},{top})">"#);
        let _ = writeln!(
            svg,
            r#"<rect width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="{GREY}"/>"#
        );
        let middle = r#"text-anchor="middle""#;
        for &x in &x_ticks {
            line(svg, (px(x), PLOT_H), (px(x), PLOT_H + 4.0), GREY, "");
            text(svg, (px(x), PLOT_H + 16.0), middle, &tick_label(x, tick_step(&x_ticks)));
        }
        text(svg, (PLOT_W / 2.0, PLOT_H + 36.0), middle, "step");
        for &y in &y_ticks {
            line(svg, (-4.0, py(y)), (0.0, py(y)), GREY, "");
            let l = tick_label(y, tick_step(&y_ticks));
            text(svg, (-7.0, py(y) + 4.0), r#"text-anchor="end""#, &l);
        }
        text(svg, (8.0, 14.0), "", label);
        if reference.is_finite() {
            let y = py(reference);
            line(svg, (0.0, y), (PLOT_W, y), GREY, r#"stroke-dasharray="4 3""#);
            text(
                svg,
                (PLOT_W - 4.0, y - 4.0),
                r##"text-anchor="end" fill="#888""##,
                reference_label,
            );
        }
        for (g, colour) in [(GChoice::Raw, RAW_COLOUR), (GChoice::Ema, EMA_COLOUR)] {
            let mut d = String::new();
            let mut pen_down = false;
            for ((p, &x), &y) in self.points.iter().zip(steps).zip(ys) {
                if p.g != g {
                    continue;
                }
                if !(x.is_finite() && y.is_finite()) {
                    pen_down = false;
                    continue;
                }
                let command = if pen_down { 'L' } else { 'M' };
                let _ = write!(d, "{command}{:.2},{:.2} ", px(x), py(y));
                pen_down = true;
            }
            if d.is_empty() {
                continue;
            }
            let _ = writeln!(
                svg,
                r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="1.5"><title>{}</title></path>"#,
                d.trim_end(),
                escape(g.name())
            );
        }
        if let Some((x, y)) = ring.filter(|(x, y)| x.is_finite() && y.is_finite()) {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.2}" cy="{:.2}" r="5" fill="none" stroke="black"><title>best G</title></circle>"#,
                px(x),
                py(y)
            );
        }
        svg.push_str("</g>\n");
    }

    /// Writes [`Self::svg`] to `path` atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        fsutil::write_atomic(path, self.svg().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: u64, g: GChoice, fd: f64, covered: usize) -> CurvePoint {
        CurvePoint {
            step,
            g,
            classes_covered: covered,
            class_kl: 0.1,
            inception_score: 5.0,
            frechet_distance: fd,
            conditional_accuracy: None,
        }
    }

    /// Both Gs get a line on each plot, the best is ringed, the floor
    /// drawn; a NaN breaks the line rather than the axis.
    #[test]
    fn the_svg_has_a_line_per_g_and_plot_and_rings_the_best() {
        let curves = JudgeCurves {
            title: "digits <judged>".into(),
            points: vec![
                point(1000, GChoice::Raw, 80.0, 9),
                point(1000, GChoice::Ema, 120.0, 7),
                point(2000, GChoice::Raw, f64::NAN, 10),
                point(2000, GChoice::Ema, 40.0, 10),
                point(3000, GChoice::Raw, 60.0, 10),
                point(3000, GChoice::Ema, 45.0, 10),
            ],
            floor: 23.0,
            classes: 10,
            best: Some((2000, GChoice::Ema)),
        };
        let svg = curves.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<title>raw</title>").count(), 2, "{svg}");
        assert_eq!(svg.matches("<title>ema</title>").count(), 2, "{svg}");
        assert_eq!(svg.matches("<title>best G</title>").count(), 1);
        assert!(svg.contains("real vs real") && svg.contains("&lt;judged&gt;"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        // The raw G's Fréchet line restarts after the NaN: two M commands.
        let raw_fd = svg.split("<path d=\"").nth(1).unwrap();
        assert_eq!(raw_fd.split('"').next().unwrap().matches('M').count(), 2);
    }
}
