//! Sample grids written as PNG and decoded back; the loss-curve SVG.

use minimax_io::loss_curves::LossCurves;
use minimax_io::png_grid::{
    encode_png, pixel_rgb, render_grid, save_grid, GridError, GridSpec, GAP_RGB, NON_FINITE_RGB,
};

/// Decodes PNG bytes: (width, height, RGB bytes).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn pixels_map_to_greys_and_non_finite_to_red() {
    assert_eq!(pixel_rgb(-1.0), [0, 0, 0]);
    assert_eq!(pixel_rgb(1.0), [255, 255, 255]);
    // (0 + 1) · 127.5 = 127.5, rounded away from zero: 128.
    assert_eq!(pixel_rgb(0.0), [128, 128, 128]);
    assert_eq!(pixel_rgb(-7.0), [0, 0, 0], "clamped");
    assert_eq!(pixel_rgb(3.0), [255, 255, 255], "clamped");
    assert_eq!(pixel_rgb(f32::NAN), NON_FINITE_RGB);
    assert_eq!(pixel_rgb(f32::INFINITY), NON_FINITE_RGB);
}

#[test]
fn a_grid_written_to_disk_decodes_to_the_same_layout_and_pixels() {
    // Five 2×3 images, three a line, scale 4: the small grid is
    // (3·4 − 1) × (2·3 − 1) = 11 × 5, the PNG 44 × 20.
    let spec = GridSpec { rows: 2, cols: 3, per_row: 3, scale: 4 };
    let n = 5;
    // Image k is all −1 except pixel (r = 1, c = 2), which is 1, and image
    // 3's pixel (0, 0), which is NaN.
    let mut images = vec![-1.0f32; n * 6];
    for k in 0..n {
        images[k * 6 + 5] = 1.0;
    }
    images[3 * 6] = f32::NAN;
    let dir = tempfile::Builder::new().prefix("minimax-png-grid-").tempdir().unwrap();
    let path = dir.path().join("grid.png");
    save_grid(&path, &images, &spec).unwrap();
    let (w, h, rgb) = decode(&std::fs::read(&path).unwrap());
    assert_eq!((w, h), (44, 20));
    let at = |x: usize, y: usize| -> [u8; 3] {
        let i = 3 * (y * 44 + x);
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    // The small grid's colour at (sx, sy), as the test expects it.
    let expected = |sx: usize, sy: usize| -> [u8; 3] {
        let (cell_x, cx) = (sx / 4, sx % 4); // cols + 1 = 4
        let (cell_y, cy) = (sy / 3, sy % 3); // rows + 1 = 3
        let k = cell_y * 3 + cell_x;
        if cx == 3 || cy == 2 || k >= n {
            return GAP_RGB;
        }
        match (k, cy, cx) {
            (3, 0, 0) => NON_FINITE_RGB,
            (_, 1, 2) => [255, 255, 255],
            _ => [0, 0, 0],
        }
    };
    for y in 0..20 {
        for x in 0..44 {
            assert_eq!(at(x, y), expected(x / 4, y / 4), "pixel ({x}, {y})");
        }
    }
    // Spot checks by hand: image 0's white pixel covers x 8..12, y 4..8;
    // the gap column after image 0 is x 12..16; cell 5 (empty) is slate.
    assert_eq!(at(8, 4), [255, 255, 255]);
    assert_eq!(at(11, 7), [255, 255, 255]);
    assert_eq!(at(12, 0), GAP_RGB);
    assert_eq!(at(7, 3), [0, 0, 0]);
    assert_eq!(at(0, 12), NON_FINITE_RGB, "image 3 starts the second line");
    assert_eq!(at(43, 19), GAP_RGB);
    // The in-memory picture is what was encoded.
    let picture = render_grid(&images, &spec).unwrap();
    assert_eq!(picture.pixels, rgb);
    assert_eq!(picture.at(8, 4), [255, 255, 255]);
    assert_eq!(decode(&encode_png(&picture).unwrap()).2, rgb);
}

#[test]
fn one_image_at_scale_one_is_the_image_itself() {
    let spec = GridSpec { rows: 2, cols: 2, per_row: 8, scale: 1 };
    // per_row larger than n: the line is still 8 cells wide.
    let p = render_grid(&[-1.0, 1.0, 0.0, -1.0], &spec).unwrap();
    assert_eq!((p.width, p.height), (8 * 3 - 1, 2));
    assert_eq!(p.at(0, 0), [0, 0, 0]);
    assert_eq!(p.at(1, 0), [255, 255, 255]);
    assert_eq!(p.at(0, 1), [128, 128, 128]);
    assert_eq!(p.at(2, 0), GAP_RGB);
}

#[test]
fn layouts_that_make_no_grid_are_refused() {
    let ok = GridSpec { rows: 2, cols: 2, per_row: 2, scale: 1 };
    let cases = [
        (vec![0.0; 8], GridSpec { scale: 0, ..ok }, "must be positive"),
        (vec![0.0; 8], GridSpec { per_row: 0, ..ok }, "must be positive"),
        (vec![0.0; 7], ok, "7 values are not a whole number (≥ 1) of 2×2 images"),
        (vec![], ok, "0 values"),
        (vec![0.0; 8], GridSpec { scale: 1 << 20, ..ok }, "over 67108864 pixels"),
        (vec![0.0; 8], GridSpec { scale: usize::MAX, ..ok }, "over 67108864 pixels"),
    ];
    for (images, spec, says) in cases {
        let err = render_grid(&images, &spec).unwrap_err();
        assert!(matches!(err, GridError::Invalid(_)), "{err}");
        assert!(err.to_string().contains(says), "{spec:?}: {err}");
    }
}

#[test]
fn loss_curves_draw_both_series_and_show_problems() {
    let mut curves = LossCurves::new("losses <digits>");
    for step in 0..50u64 {
        let t = step as f64;
        curves.push(step * 10, 1.4 - 0.01 * t, 0.7 + 0.02 * t);
    }
    let svg = curves.svg();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("losses &lt;digits&gt;"), "title escaped");
    assert_eq!(svg.matches("<path").count(), 2);
    // Every path point lies inside the 560 × 280 plot.
    let coords: Vec<f64> = svg
        .split("<path d=\"")
        .skip(1)
        .flat_map(|rest| {
            let d = &rest[..rest.find('"').unwrap()];
            d.split(['M', 'L', ',', ' '])
                .filter(|t| !t.is_empty())
                .map(|t| t.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(coords.len(), 2 * 50 * 2);
    assert!(coords
        .chunks(2)
        .all(|p| (0.0..=560.0).contains(&p[0]) && (0.0..=280.0).contains(&p[1])));
    assert!(!svg.contains("fill=\"red\""));

    // A NaN breaks G's line in two; a missing D value is reported in red.
    curves.g_loss[20] = f64::NAN;
    curves.d_loss.pop();
    let svg = curves.svg();
    let g_path = svg.split("<path").skip(1).find(|p| p.contains("#1a9850")).unwrap();
    assert_eq!(g_path.matches('M').count(), 2);
    assert!(svg.contains("D loss: 49 values for 50 steps"), "{svg}");

    let dir = tempfile::Builder::new().prefix("minimax-loss-curves-").tempdir().unwrap();
    curves.save(dir.path().join("losses.svg")).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("losses.svg")).unwrap(), svg);
    // No points at all still renders.
    assert!(LossCurves::new("empty").svg().contains("</svg>"));
}
