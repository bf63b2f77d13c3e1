//! A small SVG plotter for "Figure 1" of the GAN paper.
//!
//! Goodfellow et al. (2014) explain GAN training with a row of 1-D snapshots:
//! the data density (black, dotted), the generator's density (green, solid)
//! and the discriminator's output `D(x)` (blue, dashed). [`figure`] draws the
//! same picture from our own training run, one [`Panel`] per snapshot:
//!
//! - all panels share the x range and the density scale, so they compare at
//!   a glance; densities use the left axis, `D(x)` the right axis on `[0, 1]`;
//! - the density axis stops at three times the data's peak: a collapsed
//!   generator's spike runs off the top (clipped), rather than flattening
//!   every other curve;
//! - a series whose length differs from `xs` is drawn over the common part,
//!   and the panel says so in red, so a bug is visible rather than silent.
//!
//! The output is plain SVG 1.1 text: open it in a browser, or convert it with
//! `rsvg-convert -o fig.png fig.svg`.

use crate::fsutil;
use std::fmt::Write;
use std::path::Path;

/// One snapshot of training.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Shown above the panel, such as `"step 1000"`.
    pub title: String,
    /// The x positions every series below is sampled at, increasing.
    pub xs: Vec<f64>,
    /// The data density `p_data(x)` at each x (from a known pdf).
    pub data_density: Vec<f64>,
    /// The generator's density `p_g(x)` at each x (a normalised histogram).
    pub gen_density: Vec<f64>,
    /// The discriminator's output `D(x)` in `[0, 1]`, if there is one.
    pub d_of_x: Option<Vec<f64>>,
}

// Layout, in SVG user units (pixels).
const PLOT_W: f64 = 300.0; // plot area of one panel
const PLOT_H: f64 = 190.0;
const MARGIN_LEFT: f64 = 58.0; // room for density ticks and label
const MARGIN_RIGHT: f64 = 46.0; // room for D(x) ticks and label
const MARGIN_TOP: f64 = 28.0; // room for the panel title
const MARGIN_BOTTOM: f64 = 44.0; // room for x ticks and label
const CELL_W: f64 = MARGIN_LEFT + PLOT_W + MARGIN_RIGHT;
const CELL_H: f64 = MARGIN_TOP + PLOT_H + MARGIN_BOTTOM;
const HEADER_H: f64 = 62.0; // figure title and legend
const MAX_COLUMNS: usize = 4;

/// How one series is drawn.
struct Style {
    label: &'static str,
    color: &'static str,
    dash: Option<&'static str>,
}

const DATA: Style = Style { label: "data density", color: "black", dash: Some("2,3") };
const GEN: Style = Style { label: "generator density", color: "#1a9850", dash: None };
const DISC: Style = Style { label: "discriminator D(x)", color: "#2166ac", dash: Some("7,4") };

/// Renders `panels` (up to four per row) under `title` as an SVG document.
pub fn figure(panels: &[Panel], title: &str) -> String {
    let columns = panels.len().clamp(1, MAX_COLUMNS);
    let rows = panels.len().div_ceil(columns).max(1);
    let width = columns as f64 * CELL_W;
    let height = HEADER_H + rows as f64 * CELL_H;

    // Shared scales: x over every panel's xs, density from 0 to a nice top.
    let all = |f: fn(&Panel) -> &[f64]| panels.iter().flat_map(move |p| finite(f(p)));
    let (x_lo, x_hi) = span(all(|p| &p.xs));
    let data_peak = all(|p| &p.data_density).fold(0.0, f64::max);
    let mut y_top = all(|p| &p.gen_density).fold(data_peak, f64::max);
    if data_peak > 0.0 {
        y_top = y_top.min(3.0 * data_peak);
    }
    let density_ticks = nice_ticks(0.0, if y_top > 0.0 { y_top } else { 1.0 }, 5, true);
    let y_top = *density_ticks.last().unwrap();
    let scales = Scales { x_lo, x_hi, y_top };

    let mut svg = open_document(width, height, title);
    legend(&mut svg, width / 2.0, 44.0, panels.iter().any(|p| p.d_of_x.is_some()));

    for (i, panel) in panels.iter().enumerate() {
        let (row, col) = (i / columns, i % columns);
        let left = col as f64 * CELL_W + MARGIN_LEFT;
        let top = HEADER_H + row as f64 * CELL_H + MARGIN_TOP;
        let _ = writeln!(svg, r#"<g transform="translate({left},{top})">"#);
        draw_panel(&mut svg, i, panel, &scales, &density_ticks);
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

/// Renders with [`figure`] and writes the file atomically.
pub fn save(path: impl AsRef<Path>, panels: &[Panel], title: &str) -> std::io::Result<()> {
    fsutil::write_atomic(path, figure(panels, title).as_bytes())
}

/// The finite values of `v`.
fn finite(v: &[f64]) -> impl Iterator<Item = f64> + '_ {
    v.iter().copied().filter(|x| x.is_finite())
}

/// The data-to-pixel mapping shared by all panels.
struct Scales {
    x_lo: f64,
    x_hi: f64,
    y_top: f64,
}

impl Scales {
    fn px(&self, x: f64) -> f64 {
        (x - self.x_lo) / (self.x_hi - self.x_lo) * PLOT_W
    }
    /// `top` is the value at the top edge: `y_top` for densities, 1 for D(x).
    fn py(&self, y: f64, top: f64) -> f64 {
        PLOT_H - y / top * PLOT_H
    }
}

/// One panel, drawn in its own coordinates: the plot area is
/// `[0, PLOT_W] × [0, PLOT_H]` with y growing downwards.
fn draw_panel(svg: &mut String, index: usize, panel: &Panel, s: &Scales, density_ticks: &[f64]) {
    const GREY: &str = "#888";
    const MIDDLE: &str = r#"text-anchor="middle""#;
    text(svg, (PLOT_W / 2.0, -10.0), r#"text-anchor="middle" font-size="13""#, &panel.title);
    let _ =
        writeln!(svg, r#"<rect width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="{GREY}"/>"#);

    // The x axis along the bottom.
    let x_ticks = nice_ticks(s.x_lo, s.x_hi, 6, false);
    for &x in &x_ticks {
        let px = s.px(x);
        line(svg, (px, PLOT_H), (px, PLOT_H + 4.0), GREY, "");
        text(svg, (px, PLOT_H + 16.0), MIDDLE, &tick_label(x, tick_step(&x_ticks)));
    }
    text(svg, (PLOT_W / 2.0, PLOT_H + 34.0), MIDDLE, "x");

    // The density axis on the left.
    for &y in density_ticks {
        let py = s.py(y, s.y_top);
        line(svg, (-4.0, py), (0.0, py), GREY, "");
        text(
            svg,
            (-7.0, py + 4.0),
            r#"text-anchor="end""#,
            &tick_label(y, tick_step(density_ticks)),
        );
    }
    let rotated = format!(r#"transform="rotate(-90 -42 {0})" {MIDDLE}"#, PLOT_H / 2.0);
    text(svg, (-42.0, PLOT_H / 2.0), &rotated, "density");

    // The D(x) axis on the right, in the discriminator's colour.
    if panel.d_of_x.is_some() {
        let colour = format!(r#"fill="{}""#, DISC.color);
        for d in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let py = s.py(d, 1.0);
            line(svg, (PLOT_W, py), (PLOT_W + 4.0, py), DISC.color, "");
            text(svg, (PLOT_W + 7.0, py + 4.0), &colour, &d.to_string());
        }
        let (cx, cy) = (PLOT_W + 36.0, PLOT_H / 2.0);
        let rotated = format!(r#"transform="rotate(90 {cx} {cy})" {MIDDLE} {colour}"#);
        text(svg, (cx, cy), &rotated, "D(x)");
    }

    // The curves, clipped to the plot area.
    let _ = writeln!(
        svg,
        r#"<clipPath id="plot{index}"><rect width="{PLOT_W}" height="{PLOT_H}"/></clipPath>"#
    );
    let _ = writeln!(svg, r#"<g clip-path="url(#plot{index})">"#);
    let mut problems = Vec::new();
    series(svg, &mut problems, "data_density", &DATA, &panel.xs, &panel.data_density, s, s.y_top);
    series(svg, &mut problems, "gen_density", &GEN, &panel.xs, &panel.gen_density, s, s.y_top);
    if let Some(d) = &panel.d_of_x {
        series(svg, &mut problems, "d_of_x", &DISC, &panel.xs, d, s, 1.0);
    }
    svg.push_str("</g>\n");

    for (k, problem) in problems.iter().enumerate() {
        text(svg, (4.0, 14.0 + 13.0 * k as f64), r#"fill="red""#, problem);
    }
}

/// One `<path>` through `(xs[i], ys[i])`. A non-finite point breaks the line;
/// a length mismatch is recorded in `problems` for the panel to show.
fn series(
    svg: &mut String,
    problems: &mut Vec<String>,
    name: &str,
    style: &Style,
    xs: &[f64],
    ys: &[f64],
    s: &Scales,
    top: f64,
) {
    if xs.len() != ys.len() {
        problems.push(format!("{name}: {} values for {} xs", ys.len(), xs.len()));
    }
    let mut d = String::new();
    let mut pen_down = false;
    for (&x, &y) in xs.iter().zip(ys) {
        if !(x.is_finite() && y.is_finite()) {
            pen_down = false;
            continue;
        }
        let command = if pen_down { 'L' } else { 'M' };
        let _ = write!(d, "{command}{:.2},{:.2} ", s.px(x), s.py(y, top));
        pen_down = true;
    }
    let _ = writeln!(
        svg,
        r#"<path d="{}" fill="none" stroke="{}" stroke-width="2"{}><title>{}</title></path>"#,
        d.trim_end(),
        style.color,
        dash_attr(style),
        style.label
    );
}

/// The legend: a short line of each style and its label, centred at `cx`.
fn legend(svg: &mut String, cx: f64, y: f64, with_d: bool) {
    let styles: &[&Style] = if with_d { &[&DATA, &GEN, &DISC] } else { &[&DATA, &GEN] };
    let entry_w = 170.0;
    let mut x = cx - entry_w * styles.len() as f64 / 2.0;
    for style in styles {
        let attrs = format!(r#"stroke-width="2"{}"#, dash_attr(style));
        line(svg, (x, y), (x + 30.0, y), style.color, &attrs);
        text(svg, (x + 36.0, y + 4.0), "", style.label);
        x += entry_w;
    }
}

/// ` stroke-dasharray="..."` for a dashed style, nothing for a solid one.
fn dash_attr(style: &Style) -> String {
    style.dash.map_or(String::new(), |p| format!(r#" stroke-dasharray="{p}""#))
}

/// Appends `<line>` from `a` to `b`; `attrs` adds attributes.
pub(crate) fn line(svg: &mut String, a: (f64, f64), b: (f64, f64), stroke: &str, attrs: &str) {
    let ((x1, y1), (x2, y2)) = (a, b);
    let _ = writeln!(
        svg,
        r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="{stroke}" {attrs}/>"#
    );
}

/// A new SVG document of `width` × `height`: the root element (11-px
/// sans-serif), a white background and `title` centred on top, as every
/// figure of this crate begins. The caller closes it with `</svg>`.
pub(crate) fn open_document(width: f64, height: f64, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let title_attrs = r#"text-anchor="middle" font-size="15" font-weight="bold""#;
    text(&mut svg, (width / 2.0, 22.0), title_attrs, title);
    svg
}

/// `(min, max)` of `values`, widened to a non-empty interval: `x ± 1` for
/// a single value (centred on it), `(0, 1)` for none.
pub(crate) fn span(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo < hi {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    }
}

/// Appends `<text>` at `at` with `content` escaped; `attrs` adds attributes.
pub(crate) fn text(svg: &mut String, at: (f64, f64), attrs: &str, content: &str) {
    let (x, y) = at;
    let content = escape(content);
    let _ = writeln!(svg, r#"<text x="{x:.2}" y="{y:.2}" {attrs}>{content}</text>"#);
}

/// Round tick values (multiples of 1, 2 or 5 × 10^k) covering `[lo, hi]`
/// with about `target` intervals. With `cover_top`, the last tick is the
/// first multiple at or above `hi` (so an axis can end on a labelled tick);
/// otherwise all ticks lie inside `[lo, hi]`.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize, cover_top: bool) -> Vec<f64> {
    let raw_step = (hi - lo) / target as f64;
    if !(raw_step > 0.0 && raw_step.is_finite()) {
        return vec![lo];
    }
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw_step * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil();
    let last = if cover_top { (hi / step - 1e-9).ceil() } else { (hi / step + 1e-9).floor() };
    // Multiply integers by the step (rather than adding it up) to avoid drift.
    (first as i64..=last as i64).map(|k| k as f64 * step).collect()
}

/// The spacing of evenly spaced ticks (1 if there are fewer than two).
pub(crate) fn tick_step(ticks: &[f64]) -> f64 {
    if ticks.len() < 2 {
        1.0
    } else {
        ticks[1] - ticks[0]
    }
}

/// `value` with as many decimals as `step` needs: 0.25 → "0.25", 2 → "2".
pub(crate) fn tick_label(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let text = format!("{value:.decimals$}");
    // "-0" and "-0.0" read oddly on an axis.
    if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// Escapes text for use inside an SVG element.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use minimax_gan::stats::normal_pdf;

    /// Four snapshots of a 1-D GAN, made up but shaped like a real run.
    fn sample_panels() -> Vec<Panel> {
        let xs: Vec<f64> = (0..=120).map(|i| -3.0 + 10.0 * i as f64 / 120.0).collect();
        [(0, 0.0, 0.5), (1000, 1.5, 0.8), (3000, 3.0, 1.0), (5000, 4.0, 1.0)]
            .iter()
            .map(|&(step, mean, std)| Panel {
                title: format!("step {step}"),
                xs: xs.clone(),
                data_density: xs.iter().map(|&x| normal_pdf(x, 4.0, 1.0)).collect(),
                gen_density: xs.iter().map(|&x| normal_pdf(x, mean, std)).collect(),
                d_of_x: Some(xs.iter().map(|&x| 1.0 / (1.0 + (-(x - mean)).exp())).collect()),
            })
            .collect()
    }

    /// Names of opening and closing tags, checking they nest properly.
    fn check_balanced(svg: &str) -> Vec<String> {
        let mut stack: Vec<String> = Vec::new();
        let mut opened = Vec::new();
        for piece in svg.split('<').skip(1) {
            let tag = &piece[..piece.find('>').expect("unclosed '<'")];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let body = tag.trim_end_matches('/');
                let (name, attrs) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                check_attributes(attrs);
                opened.push(name.to_string());
                if !tag.ends_with('/') {
                    stack.push(name.to_string());
                }
            }
        }
        assert!(stack.is_empty(), "unclosed tags: {stack:?}");
        opened
    }

    /// `attrs` is whitespace-separated `key="value"` pairs and nothing else.
    fn check_attributes(attrs: &str) {
        let mut rest = attrs.trim_start();
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").expect("attribute without =\"");
            let key_ok = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':');
            assert!(!key.is_empty() && key_ok, "bad attribute name {key:?} in {attrs:?}");
            let (value, after) = after.split_once('"').expect("unterminated attribute");
            assert!(!value.contains('<'), "'<' in attribute {key}");
            rest = after.trim_start();
        }
    }

    /// Every number in every path's `d` attribute.
    fn path_coordinates(svg: &str) -> Vec<f64> {
        svg.split("<path d=\"")
            .skip(1)
            .flat_map(|rest| {
                let d = &rest[..rest.find('"').unwrap()];
                d.split(['M', 'L', ',', ' '])
                    .filter(|t| !t.is_empty())
                    .map(|t| t.parse::<f64>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn figure_is_well_formed_with_one_path_per_series() {
        let panels = sample_panels();
        let svg = figure(&panels, "A & B <test>");
        let tags = check_balanced(&svg);
        assert_eq!(tags.iter().filter(|t| *t == "path").count(), 3 * panels.len());
        assert!(svg.contains("A &amp; B &lt;test&gt;"));
        for p in &panels {
            assert!(svg.contains(&format!(">{}</text>", p.title)));
        }
        let coords = path_coordinates(&svg);
        assert_eq!(coords.len(), 3 * panels.len() * 2 * panels[0].xs.len());
        assert!(coords.iter().all(|c| c.is_finite()));
        // x pixels span the plot exactly; D(x) stays within the plot height.
        assert!(coords.iter().step_by(2).all(|&x| (0.0..=PLOT_W).contains(&x)));
        assert!(!svg.contains("fill=\"red\""), "no problems to report");
    }

    #[test]
    fn non_finite_points_break_the_line_and_mismatches_are_shown() {
        let mut panels = sample_panels();
        panels[0].gen_density[10] = f64::NAN;
        panels[1].data_density.pop();
        panels[2].d_of_x = None;
        let svg = figure(&panels, "t");
        check_balanced(&svg);
        assert_eq!(svg.matches("<path").count(), 3 * 4 - 1);
        assert!(path_coordinates(&svg).iter().all(|c| c.is_finite()));
        // The NaN point starts a second sub-path: two 'M's in that path.
        let gen_paths: Vec<&str> =
            svg.split("<path").skip(1).filter(|p| p.contains("#1a9850")).collect();
        assert_eq!(gen_paths[0].matches('M').count(), 2);
        assert!(svg.contains("data_density: 120 values for 121 xs"));
    }

    #[test]
    fn empty_and_degenerate_inputs_still_render() {
        check_balanced(&figure(&[], "nothing"));
        let flat = Panel {
            title: "one point".into(),
            xs: vec![1.0],
            data_density: vec![0.0],
            gen_density: vec![0.0],
            d_of_x: None,
        };
        let svg = figure(&[flat], "flat");
        check_balanced(&svg);
        assert!(path_coordinates(&svg).iter().all(|c| c.is_finite()));
    }

    #[test]
    fn ticks_are_round_and_labels_tidy() {
        let labels: Vec<String> =
            nice_ticks(0.0, 1.0, 5, false).iter().map(|&t| tick_label(t, 0.2)).collect();
        assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(nice_ticks(-3.0, 7.0, 6, false), vec![-2.0, 0.0, 2.0, 4.0, 6.0]);
        assert_eq!(nice_ticks(0.0, 0.37, 5, true).last(), Some(&0.4));
        assert_eq!(tick_label(0.6000000000000001, 0.2), "0.6");
        assert_eq!(tick_label(-0.0, 0.5), "0.0");
        assert_eq!(tick_label(-1e-17, 1.0), "0");
        assert_eq!(tick_label(4.0, 2.0), "4");
    }

    #[test]
    fn save_writes_the_figure() {
        let dir = tempfile::Builder::new().prefix("minimax-svg-").tempdir().unwrap();
        let path = dir.path().join("figure.svg");
        save(&path, &sample_panels(), "saved").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), figure(&sample_panels(), "saved"));
    }
}
