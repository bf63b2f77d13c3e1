//! A small SVG plotter for 2-D GANs: real and generated points over a heat
//! map of the discriminator's output D(x), one [`ScatterPanel`] per moment
//! of training.
//!
//! - the heat map is D on a grid of cells: blue where D says "fake" (0),
//!   white where it cannot tell (½), red where it says "real" (1). Mode
//!   collapse shows as G's points (green) crowding one red-turning-blue
//!   island while D glows red over the modes G left;
//! - real points are black, the modes' high-quality discs (3σ, see
//!   [`minimax_gan::coverage`]) grey circles;
//! - all panels share the window, so they compare at a glance.
//!
//! Plain SVG 1.1, like [`crate::svg`], whose helpers it shares.

use crate::fsutil;
use crate::svg::{escape, line, nice_ticks, open_document, text, tick_label, tick_step};
use std::fmt::Write;
use std::path::Path;

/// D's output on a grid of square cells over the panel's window.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    /// Cells per side.
    pub cells: usize,
    /// `cells²` values in `[0, 1]`, row by row from the bottom (y = lo),
    /// each row left to right.
    pub values: Vec<f64>,
}

/// One moment of training on 2-D data.
#[derive(Clone, Debug, PartialEq)]
pub struct ScatterPanel {
    /// Shown above the panel.
    pub title: String,
    /// The square window `[lo, hi]²` shown.
    pub window: (f64, f64),
    /// D's output over the window, if there is one.
    pub heat: Option<HeatMap>,
    /// Real samples.
    pub real: Vec<[f64; 2]>,
    /// G's samples.
    pub generated: Vec<[f64; 2]>,
    /// The modes' centres, each drawn as a circle of radius `hq_radius`.
    pub centres: Vec<[f64; 2]>,
    /// The high-quality radius around each centre (3σ).
    pub hq_radius: f64,
}

// Layout, in SVG user units (pixels).
const PLOT: f64 = 280.0; // the square plot area of one panel (40 cells of 7 px)
const MARGIN_LEFT: f64 = 40.0;
const MARGIN_RIGHT: f64 = 16.0;
const MARGIN_TOP: f64 = 28.0;
const MARGIN_BOTTOM: f64 = 36.0;
const CELL_W: f64 = MARGIN_LEFT + PLOT + MARGIN_RIGHT;
const CELL_H: f64 = MARGIN_TOP + PLOT + MARGIN_BOTTOM;
const HEADER_H: f64 = 62.0;
const MAX_COLUMNS: usize = 4;
const GENERATED: &str = "#1a9850";
const GREY: &str = "#888";

/// Renders `panels` (up to four per row) under `title` as an SVG document.
pub fn figure(panels: &[ScatterPanel], title: &str) -> String {
    let columns = panels.len().clamp(1, MAX_COLUMNS);
    let rows = panels.len().div_ceil(columns).max(1);
    let (width, height) = (columns as f64 * CELL_W, HEADER_H + rows as f64 * CELL_H);
    let mut svg = open_document(width, height, title);
    let circles = panels.iter().any(|p| !p.centres.is_empty());
    let legend = format!(
        "black: real data · green: generated{} · background: D(x), blue = \"fake\" 0, \
         white = ½, red = \"real\" 1",
        if circles { " · grey circles: 3σ around each mode" } else { "" }
    );
    text(&mut svg, (width / 2.0, 44.0), r#"text-anchor="middle""#, &legend);
    for (i, panel) in panels.iter().enumerate() {
        let (row, col) = (i / columns, i % columns);
        let left = col as f64 * CELL_W + MARGIN_LEFT;
        let top = HEADER_H + row as f64 * CELL_H + MARGIN_TOP;
        let _ = writeln!(svg, r#"<g transform="translate({left},{top})">"#);
        draw_panel(&mut svg, i, panel);
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

/// Renders with [`figure`] and writes the file atomically.
pub fn save(path: impl AsRef<Path>, panels: &[ScatterPanel], title: &str) -> std::io::Result<()> {
    fsutil::write_atomic(path, figure(panels, title).as_bytes())
}

/// The colour of D's output `d ∈ [0, 1]`: blue (0) → white (½) → red (1).
/// NaN is drawn grey.
pub fn heat_colour(d: f64) -> String {
    if !d.is_finite() {
        return "#bbbbbb".into();
    }
    const BLUE: [f64; 3] = [67.0, 147.0, 195.0];
    const WHITE: [f64; 3] = [255.0, 255.0, 255.0];
    const RED: [f64; 3] = [214.0, 96.0, 77.0];
    let d = d.clamp(0.0, 1.0);
    let (from, to, t) = if d < 0.5 { (BLUE, WHITE, 2.0 * d) } else { (WHITE, RED, 2.0 * d - 1.0) };
    let c = |k: usize| (from[k] + (to[k] - from[k]) * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", c(0), c(1), c(2))
}

/// One panel in its own coordinates: the plot is `[0, PLOT]²`, y downwards.
fn draw_panel(svg: &mut String, index: usize, p: &ScatterPanel) {
    const MIDDLE: &str = r#"text-anchor="middle""#;
    let (lo, hi) = if p.window.0 < p.window.1 { p.window } else { (-1.0, 1.0) };
    let px = |x: f64| (x - lo) / (hi - lo) * PLOT;
    let py = |y: f64| PLOT - (y - lo) / (hi - lo) * PLOT;
    text(svg, (PLOT / 2.0, -10.0), r#"text-anchor="middle" font-size="13""#, &p.title);
    let _ = writeln!(
        svg,
        r#"<clipPath id="scatter{index}"><rect width="{PLOT}" height="{PLOT}"/></clipPath>"#
    );
    let _ = writeln!(svg, r#"<g clip-path="url(#scatter{index})">"#);
    if let Some(heat) = &p.heat {
        let n = heat.cells.max(1);
        let size = PLOT / n as f64;
        // crispEdges: no anti-aliased seams between neighbouring cells.
        svg.push_str("<g shape-rendering=\"crispEdges\">\n");
        for (k, &d) in heat.values.iter().enumerate().take(n * n) {
            let (row, col) = (k / n, k % n);
            // Row 0 is the bottom row: its top edge is one cell above the plot's bottom.
            let (x, y) = (col as f64 * size, PLOT - (row + 1) as f64 * size);
            let colour = heat_colour(d);
            let _ = writeln!(
                svg,
                r#"<path d="M{x:.1} {y:.1}h{size:.2}v{size:.2}h-{size:.2}z" fill="{colour}"/>"#
            );
        }
        svg.push_str("</g>\n");
    }
    let radius = (p.hq_radius / (hi - lo) * PLOT).max(3.0);
    for c in &p.centres {
        let _ = writeln!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{radius:.1}" fill="none" stroke="{GREY}"/>"#,
            px(c[0]),
            py(c[1])
        );
    }
    // Real points last, so G's never hide them.
    points(svg, &p.generated, GENERATED, 2.8, 0.6, &px, &py);
    points(svg, &p.real, "black", 2.4, 0.6, &px, &py);
    svg.push_str("</g>\n");
    let _ = writeln!(svg, r#"<rect width="{PLOT}" height="{PLOT}" fill="none" stroke="{GREY}"/>"#);

    // Axes: the same ticks on x (bottom) and y (left).
    let ticks = nice_ticks(lo, hi, 5, false);
    for &t in &ticks {
        let label = tick_label(t, tick_step(&ticks));
        line(svg, (px(t), PLOT), (px(t), PLOT + 4.0), GREY, "");
        text(svg, (px(t), PLOT + 16.0), MIDDLE, &label);
        line(svg, (-4.0, py(t)), (0.0, py(t)), GREY, "");
        text(svg, (-7.0, py(t) + 4.0), r#"text-anchor="end""#, &label);
    }
    text(svg, (PLOT / 2.0, PLOT + 30.0), MIDDLE, "x₁");
    let rotated = format!(r#"transform="rotate(-90 -30 {0})" {MIDDLE}"#, PLOT / 2.0);
    text(svg, (-30.0, PLOT / 2.0), &rotated, "x₂");
}

/// Small discs at `pts` (non-finite points skipped), as one path of
/// zero-length segments with round caps: `M x y h0` is a dot of diameter
/// `stroke-width`, and 14 bytes a point instead of a `<circle>`'s 40.
fn points(
    svg: &mut String,
    pts: &[[f64; 2]],
    colour: &str,
    diameter: f64,
    opacity: f64,
    px: &dyn Fn(f64) -> f64,
    py: &dyn Fn(f64) -> f64,
) {
    let mut d = String::new();
    for &[x, y] in pts.iter().filter(|p| p[0].is_finite() && p[1].is_finite()) {
        let _ = write!(d, "M{:.1} {:.1}h0", px(x), py(y));
    }
    let _ = writeln!(
        svg,
        r#"<path d="{d}" stroke="{}" stroke-width="{diameter}" stroke-linecap="round" {}/>"#,
        escape(colour),
        format_args!(r#"stroke-opacity="{opacity}""#)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> ScatterPanel {
        ScatterPanel {
            title: "step 0 <test>".into(),
            window: (-3.0, 3.0),
            heat: Some(HeatMap { cells: 4, values: (0..16).map(|k| k as f64 / 15.0).collect() }),
            real: vec![[2.0, 0.0], [0.0, 2.0]],
            generated: vec![[0.1, 0.2], [f64::NAN, 0.0], [9.0, 9.0]],
            centres: vec![[2.0, 0.0], [0.0, 2.0]],
            hq_radius: 0.06,
        }
    }

    #[test]
    fn colours_run_from_blue_through_white_to_red() {
        assert_eq!(heat_colour(0.0), "#4393c3");
        assert_eq!(heat_colour(0.5), "#ffffff");
        assert_eq!(heat_colour(1.0), "#d6604d");
        assert_eq!(heat_colour(7.0), "#d6604d"); // clamped
        assert_eq!(heat_colour(f64::NAN), "#bbbbbb");
    }

    #[test]
    fn figure_has_a_cell_per_value_and_a_dot_per_finite_point() {
        let svg = figure(&[panel(), panel()], "two");
        // Per panel: 16 cells, 2 mode circles, a path of 2 real and a path
        // of 2 finite generated points.
        assert_eq!(svg.matches("<circle").count(), 2 * 2);
        assert_eq!(svg.matches("<path").count(), 2 * (16 + 2));
        assert_eq!(svg.matches("h0").count(), 2 * (2 + 2));
        assert_eq!(svg.matches(r##"fill="#4393c3""##).count(), 2);
        assert!(svg.contains("step 0 &lt;test&gt;"));
        assert!(!svg.contains("NaN"));
        // Point (2, 0) of the window [-3, 3]²: x = 5/6 of 280, y = half way.
        assert!(svg.contains("M233.3 140.0h0"));
    }
}
