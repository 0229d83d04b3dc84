//! Memory-over-time chart for leakwatch, rendered with `plotters`.
//!
//! * SVG: `SVGBackend` writing into a `String`.
//! * PNG: `BitMapBackend` into an RGB buffer, encoded with the `png` crate.
//!
//! Text layout (and PNG glyph rasterisation) uses `ab_glyph` with DejaVu Sans
//! embedded from the `dejavu` crate, so no system font / freetype / fontconfig
//! is needed. SVG output names the font family `sans-serif`, so viewers use
//! their own sans font.

mod layout;
mod prepare;

use std::sync::Once;

use layout::{
    HEADER_SUB, HEADER_TITLE, LABEL_OFFSET, LEGEND_GAP, LEGEND_ROW, MARGIN, MARK_ROW, MAX_MARK_ROWS, SWATCH,
    SWATCH_GAP, X_LABEL_AREA, Y_LABEL_AREA,
};
use prepare::{tick_fmt, Prepared};

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One post-full-GC sample.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "ChartPoint"))]
pub struct PlotPoint {
    pub t_ms: f64,
    /// bytes
    pub used_heap_size: f64,
    /// bytes
    pub external: f64,
    /// detector's estimated base, bytes
    pub baseline: Option<f64>,
    /// sample came from a GC forced by leakwatch (drawn as a hollow point); absent: not forced
    pub forced: Option<bool>,
}

/// A moment on the time axis with a short label.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "ChartMark"))]
pub struct PlotMark {
    pub t_ms: f64,
    pub label: String,
}

/// What a chart shows (`renderChart`'s input).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "ChartInput"))]
pub struct PlotInput {
    pub title: String,
    /// post-full-GC samples, any order
    pub points: Vec<PlotPoint>,
    /// moments `leak` events fired (red vertical lines)
    pub leaks: Vec<PlotMark>,
    /// moments heap snapshots were written (grey dashed vertical lines)
    pub snapshots: Vec<PlotMark>,
    /// how many samples (and forced ones) there were when `points` is a downsampled view
    /// of them; None: `points` are all of them
    pub sample_count: Option<u32>,
    pub forced_count: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    Svg,
    Png,
}

pub const MIN_WIDTH: u32 = 320;
pub const MIN_HEIGHT: u32 = 200;
pub const MAX_SIDE: u32 = 8192;

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlotError {
    SizeOutOfRange {
        width: u32,
        height: u32,
    },
    /// The drawing or PNG encoding failed (or panicked): a bug, not bad input.
    Render(String),
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlotError::SizeOutOfRange { width, height } => write!(
                f,
                "chart size {width}x{height} out of range ({MIN_WIDTH}x{MIN_HEIGHT} .. {MAX_SIDE}x{MAX_SIDE})"
            ),
            PlotError::Render(message) => write!(f, "plot: {message}"),
        }
    }
}

impl std::error::Error for PlotError {}

/// Render the chart. Returns SVG text (UTF-8) or PNG bytes.
pub fn render(input: &PlotInput, format: PlotFormat, width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    if !(MIN_WIDTH..=MAX_SIDE).contains(&width) || !(MIN_HEIGHT..=MAX_SIDE).contains(&height) {
        return Err(PlotError::SizeOutOfRange { width, height });
    }
    register_fonts();
    let data = Prepared::new(input);
    // plotters is not supposed to panic on sane input, but a chart is never
    // worth taking the host process down for.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match format {
        PlotFormat::Svg => render_svg(&data, width, height),
        PlotFormat::Png => render_png(&data, width, height),
    }))
    .unwrap_or_else(|_| Err("rendering panicked".to_string()))
    .map_err(PlotError::Render)
}

fn render_svg(data: &Prepared, width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(&root, data)?;
        root.present().map_err(err)?;
    }
    Ok(out.into_bytes())
}

fn render_png(data: &Prepared, width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw(&root, data)?;
        root.present().map_err(err)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(err)?;
        w.write_image_data(&rgb).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(out)
}

const FONT: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // DejaVu Sans is a valid TTF; registration cannot fail for it.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const HEAP_COLOR: RGBColor = RGBColor(31, 100, 190);
const EXTERNAL_COLOR: RGBColor = RGBColor(0, 150, 110);
const BASELINE_COLOR: RGBColor = RGBColor(120, 70, 160);
const LEAK_COLOR: RGBColor = RGBColor(215, 25, 28);
const SNAP_COLOR: RGBColor = RGBColor(120, 120, 120);
const TEXT_COLOR: RGBColor = RGBColor(30, 30, 30);
const SUBTLE_COLOR: RGBColor = RGBColor(100, 100, 100);

enum LegendKind {
    LineDot(RGBColor),
    Hollow(RGBColor),
    Line(RGBColor),
    Dashed(RGBColor),
    VLine(RGBColor),
    VDashed(RGBColor),
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Prepared) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);

    let title_font = (FONT, 20).into_font().color(&TEXT_COLOR);
    let sub_font = (FONT, 13).into_font().color(&SUBTLE_COLOR);
    let label_font = (FONT, 13).into_font();
    let label_style = TextStyle::from(label_font.clone());
    let axis_font = (FONT, 13).into_font().color(&TEXT_COLOR);
    let desc_font = (FONT, 14).into_font().color(&TEXT_COLOR);

    // ---- header ----
    let title = fit_text(root, &d.title, &title_font, w - 2 * MARGIN);
    root.draw(&Text::new(title, (w / 2, MARGIN / 2 + 4), title_font.pos(Pos::new(HPos::Center, VPos::Top))))
        .map_err(err)?;
    let mut header = MARGIN / 2 + HEADER_TITLE;
    if !d.subtitle.is_empty() {
        let sub = fit_text(root, &d.subtitle, &sub_font, w - 2 * MARGIN);
        root.draw(&Text::new(sub, (w / 2, header), sub_font.pos(Pos::new(HPos::Center, VPos::Top)))).map_err(err)?;
        header += HEADER_SUB;
    }

    // ---- legend layout (bottom strip) ----
    let legend = legend_items(d);
    let widths: Vec<i32> =
        legend.iter().map(|(_, text)| SWATCH + SWATCH_GAP + text_width(root, text, &label_style)).collect();
    let rows = layout::legend_rows(&widths, w - 2 * MARGIN);
    let legend_h = rows.len() as i32 * LEGEND_ROW + 8;

    // ---- mark labels: rows in the band above the plot ----
    let marks: Vec<(f64, &str, RGBColor)> = d
        .leaks
        .iter()
        .map(|(x, l)| (*x, l.as_str(), LEAK_COLOR))
        .chain(d.snapshots.iter().map(|(x, l)| (*x, l.as_str(), SNAP_COLOR)))
        .collect();
    let (plot_left, plot_right) = (MARGIN + Y_LABEL_AREA, w - MARGIN - 8);
    let columns: Vec<i32> = marks.iter().map(|(x, _, _)| layout::to_px(*x, &d.x, plot_left, plot_right)).collect();
    let sized: Vec<(i32, i32)> =
        marks.iter().zip(&columns).map(|((_, text, _), &x_px)| (x_px, text_width(root, text, &label_style))).collect();
    let slots = layout::place_labels(&sized, w - MARGIN, MAX_MARK_ROWS);
    let band = layout::label_rows_used(&slots) * MARK_ROW;

    // ---- chart ----
    let (chart_area, legend_area) = root.split_vertically(h - legend_h);
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_top(header + band + 6)
        .margin_left(MARGIN)
        .margin_right(MARGIN + 8)
        .margin_bottom(4)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(d.x.clone(), d.y.clone())
        .map_err(err)?;

    // no data: keep the frame, drop the meaningless numbers
    type Fmt = Box<dyn Fn(&f64) -> String>;
    let (x_fmt, y_fmt): (Fmt, Fmt) = if d.has_samples {
        (Box::new(tick_fmt(d.x.end - d.x.start)), Box::new(tick_fmt(d.y.end - d.y.start)))
    } else {
        (Box::new(|_: &f64| String::new()), Box::new(|_: &f64| String::new()))
    };
    chart
        .configure_mesh()
        .max_light_lines(1)
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .axis_style(RGBColor(90, 90, 90))
        .x_labels(((w - 100) / 90).clamp(3, 12) as usize)
        .y_labels(((h - 200) / 50).clamp(3, 10) as usize)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(axis_font.clone())
        .axis_desc_style(desc_font)
        .x_desc("time since first sample (s)")
        .y_desc("MB")
        .draw()
        .map_err(err)?;

    let (_, y_px) = chart.plotting_area().get_pixel_range();
    let plot_top = y_px.start;

    // vertical marks first, so data is drawn over them
    let (y0, y1) = (d.y.start, d.y.end);
    for (x, _) in &d.snapshots {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                vec![(*x, y0), (*x, y1)],
                6,
                4,
                SNAP_COLOR.stroke_width(1),
            )))
            .map_err(err)?;
    }
    for (x, _) in &d.leaks {
        chart
            .draw_series(std::iter::once(PathElement::new(vec![(*x, y0), (*x, y1)], LEAK_COLOR.stroke_width(2))))
            .map_err(err)?;
    }
    // labels in the band above the plot, with a thin connector
    for (((_, text, color), &x_px), slot) in marks.iter().zip(&columns).zip(&slots) {
        let Some(slot) = slot else { continue };
        let ly = plot_top - (slot.row as i32 + 1) * MARK_ROW + MARK_ROW / 2;
        root.draw(&PathElement::new(vec![(x_px, plot_top), (x_px, ly)], color.mix(0.6).stroke_width(1)))
            .map_err(err)?;
        let (pos, tx) = if slot.right_aligned {
            (Pos::new(HPos::Right, VPos::Center), x_px - LABEL_OFFSET)
        } else {
            (Pos::new(HPos::Left, VPos::Center), x_px + LABEL_OFFSET)
        };
        root.draw(&Text::new(*text, (tx, ly), label_font.color(color).pos(pos))).map_err(err)?;
    }

    if !d.has_samples {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        root.draw(&Text::new(
            "no full-GC samples",
            ((xr.start + xr.end) / 2, (yr.start + yr.end) / 2),
            (FONT, 22).into_font().color(&SUBTLE_COLOR).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(err)?;
    }

    draw_data(&mut chart, d)?;

    draw_legend(&legend_area, &legend, &rows, w, &label_font)
}

/// The samples: baseline (dashed), external, then heap on top.
fn draw_data<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    d: &Prepared,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    for run in &d.baseline {
        if run.len() == 1 {
            chart.draw_series(std::iter::once(Cross::new(run[0], 4, BASELINE_COLOR.stroke_width(2)))).map_err(err)?;
        } else {
            chart
                .draw_series(DashedLineSeries::new(run.iter().copied(), 8, 5, BASELINE_COLOR.stroke_width(2)))
                .map_err(err)?;
        }
    }
    chart.draw_series(LineSeries::new(d.external.iter().copied(), EXTERNAL_COLOR.stroke_width(2))).map_err(err)?;
    if d.external.len() == 1 {
        chart.draw_series(std::iter::once(Circle::new(d.external[0], 3, EXTERNAL_COLOR.filled()))).map_err(err)?;
    }
    chart.draw_series(LineSeries::new(d.heap.iter().map(|p| (p.0, p.1)), HEAP_COLOR.stroke_width(2))).map_err(err)?;
    // dots: all samples when not too dense; forced ones always (hollow)
    let dense = d.heap.len() > 150;
    chart
        .draw_series(d.heap.iter().filter(|p| !p.2 && !dense).map(|p| Circle::new((p.0, p.1), 3, HEAP_COLOR.filled())))
        .map_err(err)?;
    chart
        .draw_series(d.heap.iter().filter(|p| p.2).map(|p| Circle::new((p.0, p.1), 4, WHITE.filled())))
        .map_err(err)?;
    chart
        .draw_series(d.heap.iter().filter(|p| p.2).map(|p| Circle::new((p.0, p.1), 4, HEAP_COLOR.stroke_width(2))))
        .map_err(err)?;

    Ok(())
}

/// The legend strip: rows laid out by [`layout::legend_rows`], each centred.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend: &[(LegendKind, &str)],
    rows: &[Vec<(usize, i32)>],
    width: i32,
    font: &FontDesc,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    for (r, row) in rows.iter().enumerate() {
        let mut x = layout::row_start(row, width);
        let y = 4 + r as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        for &(i, iw) in row {
            let (kind, text) = &legend[i];
            draw_swatch(area, kind, x, y)?;
            area.draw(&Text::new(
                *text,
                (x + SWATCH + SWATCH_GAP, y),
                font.color(&TEXT_COLOR).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
            x += iw + LEGEND_GAP;
        }
    }
    Ok(())
}

/// The legend's entries: what the chart shows.
fn legend_items(d: &Prepared) -> Vec<(LegendKind, &'static str)> {
    let mut legend = vec![(LegendKind::LineDot(HEAP_COLOR), "heap used after full GC")];
    if d.heap.iter().any(|p| p.2) {
        legend.push((LegendKind::Hollow(HEAP_COLOR), "forced GC"));
    }
    legend.push((LegendKind::Line(EXTERNAL_COLOR), "external"));
    legend.push((LegendKind::Dashed(BASELINE_COLOR), "baseline trend"));
    if !d.leaks.is_empty() {
        legend.push((LegendKind::VLine(LEAK_COLOR), "leak detected"));
    }
    if !d.snapshots.is_empty() {
        legend.push((LegendKind::VDashed(SNAP_COLOR), "heap snapshot"));
    }
    legend
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    kind: &LegendKind,
    x: i32,
    y: i32,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let (a, b, mid) = (x, x + SWATCH, x + SWATCH / 2);
    match kind {
        LegendKind::LineDot(c) => {
            area.draw(&PathElement::new(vec![(a, y), (b, y)], c.stroke_width(2))).map_err(err)?;
            area.draw(&Circle::new((mid, y), 3, c.filled())).map_err(err)?;
        }
        LegendKind::Hollow(c) => {
            area.draw(&Circle::new((mid, y), 4, WHITE.filled())).map_err(err)?;
            area.draw(&Circle::new((mid, y), 4, c.stroke_width(2))).map_err(err)?;
        }
        LegendKind::Line(c) => {
            area.draw(&PathElement::new(vec![(a, y), (b, y)], c.stroke_width(2))).map_err(err)?;
        }
        LegendKind::Dashed(c) => {
            area.draw(&DashedPathElement::new(vec![(a, y), (b, y)], 8, 5, c.stroke_width(2))).map_err(err)?;
        }
        LegendKind::VLine(c) => {
            area.draw(&PathElement::new(vec![(mid, y - 8), (mid, y + 8)], c.stroke_width(2))).map_err(err)?;
        }
        LegendKind::VDashed(c) => {
            area.draw(&DashedPathElement::new(vec![(mid, y - 9), (mid, y + 9)], 4, 3, c.stroke_width(1)))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, font: &TextStyle) -> i32 {
    area.estimate_text_size(text, font)
        .map(|(w, _)| w as i32)
        // fallback: rough average glyph width
        .unwrap_or_else(|_| (text.chars().count() as f64 * font.font.get_size() * 0.55) as i32)
}

/// `text` cut to fit `max_w` pixels in `font`.
fn fit_text<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, font: &TextStyle, max_w: i32) -> String {
    layout::fit_text(text, max_w, |t| text_width(area, t, font))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    fn pt(t_s: f64, heap_mb: f64, ext_mb: f64, base_mb: Option<f64>, forced: bool) -> PlotPoint {
        PlotPoint {
            t_ms: 1_700_000_000_000.0 + t_s * 1000.0,
            used_heap_size: heap_mb * MIB,
            external: ext_mb * MIB,
            baseline: base_mb.map(|b| b * MIB),
            forced: Some(forced),
        }
    }
    fn mark(t_s: f64, label: &str) -> PlotMark {
        PlotMark { t_ms: 1_700_000_000_000.0 + t_s * 1000.0, label: label.into() }
    }

    fn leaking() -> PlotInput {
        // ~0.6 MB per 10 s growth with some jitter; given in reverse order
        let mut points: Vec<PlotPoint> = (0..40)
            .map(|i| {
                let t = i as f64 * 10.0;
                let jitter = ((i * 7919) % 13) as f64 / 13.0 - 0.5;
                let heap = 22.0 + 0.06 * t + jitter * 1.5;
                let base = if i >= 5 { Some(22.0 + 0.06 * t) } else { None };
                pt(t, heap, 1.2 + 0.002 * t, base, i % 9 == 4)
            })
            .collect();
        points.reverse();
        PlotInput {
            title: "leakwatch: server.js (pid 4242)".into(),
            points,
            leaks: vec![mark(200.0, "leak: +21.6 MB/h"), mark(330.0, "leak: +21.4 MB/h")],
            snapshots: vec![mark(205.0, "S1"), mark(335.0, "S2")],
            ..Default::default()
        }
    }

    fn flat() -> PlotInput {
        let points = (0..40)
            .map(|i| {
                let t = i as f64 * 10.0;
                let jitter = ((i * 7919) % 13) as f64 / 13.0 - 0.5;
                pt(t, 24.0 + jitter * 1.2, 1.1, Some(24.0), i % 9 == 4)
            })
            .collect();
        PlotInput { title: "leakwatch: worker.js (pid 4243)".into(), points, ..Default::default() }
    }

    fn svg(input: &PlotInput) -> String {
        let bytes = render(input, PlotFormat::Svg, 900, 500).expect("render svg");
        String::from_utf8(bytes).expect("utf8")
    }

    fn assert_svgish(s: &str) {
        let t = s.trim();
        assert!(t.starts_with("<svg"), "starts: {}", &t[..t.len().min(80)]);
        assert!(t.ends_with("</svg>"), "ends: {}", &t[t.len().saturating_sub(80)..]);
        assert!(t.contains("<polyline") || t.contains("<path"));
        // crude well-formedness: every opened element is closed (or self-closed)
        let opens = t.matches('<').count();
        let closes = t.matches('>').count();
        assert_eq!(opens, closes);
        assert_eq!(t.matches("<svg").count(), t.matches("</svg>").count());
        assert_eq!(t.matches("<text").count(), t.matches("</text>").count());
    }

    /// `<text ...>label</text>` present (plotters puts the text on its own line).
    fn has_text(svg: &str, label: &str) -> bool {
        svg.split("<text").skip(1).any(|t| {
            t.split_once('>').and_then(|(_, rest)| rest.split_once("</text>")).map(|(body, _)| body.trim())
                == Some(label)
        })
    }

    /// (width, height) from a PNG's IHDR chunk, decoded by hand.
    fn png_dims(b: &[u8]) -> (u32, u32) {
        assert!(b.len() > 33);
        assert_eq!(&b[..8], &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
        assert_eq!(&b[12..16], b"IHDR");
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        (w, h)
    }

    #[test]
    fn svg_leaking_series() {
        let s = svg(&leaking());
        assert_svgish(&s);
        assert!(s.contains("leakwatch: server.js (pid 4242)"));
        for legend in
            ["heap used after full GC", "external", "baseline trend", "forced GC", "leak detected", "heap snapshot"]
        {
            assert!(s.contains(legend), "missing legend {legend}");
        }
        assert!(s.contains("leak: +21.6 MB/h"));
        assert!(has_text(&s, "S1") && has_text(&s, "S2"));
        // leak lines in red
        assert!(s.contains("#D7191C"), "no red leak marker");
        assert!(s.contains("time since first sample (s)"));
    }

    #[test]
    fn svg_flat_series() {
        let s = svg(&flat());
        assert_svgish(&s);
        assert!(s.contains("leakwatch: worker.js (pid 4243)"));
        for legend in ["heap used after full GC", "external", "baseline trend"] {
            assert!(s.contains(legend), "missing legend {legend}");
        }
        assert!(!s.contains("leak detected"));
        assert!(!s.contains("#D7191C"));
    }

    #[test]
    fn svg_empty_input() {
        let s = svg(&PlotInput { title: "nothing yet".into(), ..Default::default() });
        assert_svgish(&s);
        assert!(s.contains("no full-GC samples"));
        assert!(s.contains("nothing yet"));
        // marks but no points: still fine
        let s = svg(&PlotInput {
            title: String::new(),
            leaks: vec![mark(1.0, "x")],
            snapshots: vec![mark(3.0, "")],
            ..Default::default()
        });
        assert_svgish(&s);
        assert!(s.contains("no full-GC samples"));
        assert!(has_text(&s, "S1"));
    }

    #[test]
    fn svg_single_point() {
        let s = svg(&PlotInput {
            title: "one".into(),
            points: vec![pt(0.0, 10.0, 1.0, Some(9.0), true)],
            ..Default::default()
        });
        assert_svgish(&s);
        assert!(!s.contains("no full-GC samples"));
        let png = render(
            &PlotInput { title: "one".into(), points: vec![pt(5.0, 10.0, 1.0, None, false)], ..Default::default() },
            PlotFormat::Png,
            400,
            300,
        )
        .unwrap();
        assert_eq!(png_dims(&png), (400, 300));
    }

    #[test]
    fn nan_and_inf_are_skipped() {
        let mut input = leaking();
        input.points.push(pt(f64::NAN, 10.0, 1.0, None, false));
        input.points.push(PlotPoint { t_ms: f64::INFINITY, ..pt(0.0, 1.0, 1.0, None, false) });
        input.points[3].used_heap_size = f64::NAN;
        input.points[4].external = f64::NEG_INFINITY;
        input.points[5].baseline = Some(f64::NAN);
        input.points[6].used_heap_size = f64::INFINITY;
        input.leaks.push(mark(f64::NAN, "nan leak"));
        input.title = "bad\u{0}title\n<&>".into();
        let s = svg(&input);
        assert_svgish(&s);
        assert!(!s.contains("NaN") && !s.contains("inf"));
        assert!(s.contains("bad title &lt;&amp;&gt;"));
        // all values NaN
        let all_nan = PlotInput {
            title: "nan".into(),
            points: (0..5)
                .map(|i| PlotPoint {
                    t_ms: i as f64,
                    used_heap_size: f64::NAN,
                    external: f64::NAN,
                    baseline: Some(f64::NAN),
                    forced: Some(false),
                })
                .collect(),
            ..Default::default()
        };
        let s = svg(&all_nan);
        assert_svgish(&s);
        assert!(s.contains("no full-GC samples"));
        assert!(render(&all_nan, PlotFormat::Png, 640, 360).is_ok());
    }

    #[test]
    fn png_signature_and_dimensions() {
        for (input, w, h) in [(leaking(), 1000, 520), (flat(), 640, 360), (PlotInput::default(), 320, 200)] {
            let b = render(&input, PlotFormat::Png, w, h).expect("render png");
            assert_eq!(png_dims(&b), (w, h));
            assert_eq!(&b[b.len() - 8..b.len() - 4], b"IEND");
        }
    }

    #[test]
    fn rejects_silly_sizes() {
        assert!(render(&flat(), PlotFormat::Svg, 0, 0).is_err());
        assert!(render(&flat(), PlotFormat::Png, 100_000, 500).is_err());
    }

    fn dense() -> PlotInput {
        let points = (0..2000)
            .map(|i| pt(i as f64, 50.0 + (i as f64) * 0.01, 2.0, Some(50.0 + (i as f64) * 0.0095), i % 100 == 0))
            .collect();
        PlotInput {
            title: "a very long title ".repeat(30),
            points,
            leaks: (0..30).map(|i| mark(i as f64 * 60.0 + 100.0, "leak: +1 MB/min")).collect(),
            snapshots: (0..30).map(|i| mark(i as f64 * 60.0 + 105.0, &format!("S{}", i + 1))).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn subtitle_counts_every_sample_of_a_downsampled_view() {
        let mut input = flat();
        assert!(svg(&input).contains("40 full-GC samples"));
        input.sample_count = Some(300_000);
        input.forced_count = Some(12);
        let s = svg(&input);
        assert!(s.contains("300000 full-GC samples"), "{s}");
        assert!(s.contains("12 forced"));
    }

    #[test]
    fn many_marks_and_dense_points() {
        let input = dense();
        assert_svgish(&svg(&input));
        assert!(render(&input, PlotFormat::Png, 800, 400).is_ok());
    }

    /// Writes example charts for eyeballing, only when asked:
    /// `PLOT_EXAMPLE_DIR=/tmp/x cargo test write_examples`.
    #[test]
    fn write_examples() {
        let Ok(dir) = std::env::var("PLOT_EXAMPLE_DIR") else {
            return;
        };
        let dir = std::path::Path::new(&dir);
        let empty = PlotInput { title: "app.js".into(), ..Default::default() };
        let single = PlotInput {
            title: "one sample".into(),
            points: vec![pt(0.0, 10.0, 1.0, Some(9.5), true)],
            ..Default::default()
        };
        for (name, input, w, h) in [
            ("leak", leaking(), 900, 500),
            ("flat", flat(), 900, 500),
            ("empty", empty, 900, 500),
            ("single", single, 640, 360),
            ("dense", dense(), 520, 320),
        ] {
            std::fs::write(dir.join(format!("{name}.svg")), render(&input, PlotFormat::Svg, w, h).unwrap()).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), render(&input, PlotFormat::Png, w, h).unwrap()).unwrap();
        }
    }
}
