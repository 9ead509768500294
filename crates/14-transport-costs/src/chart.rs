//! The chart: one panel per request size, a bar per transport for its
//! median round trip and a thin line out to its 99th percentile; and the
//! bulk throughput. Drawn with `plotters` into an SVG file.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::stats::{Figures, median, size_name};

/// The bars' colour, and the percentile lines'.
const BAR: RGBColor = RGBColor(74, 120, 184);
const TAIL: RGBColor = RGBColor(60, 60, 60);

/// Draws `figures` and `bulk` into an SVG at `path`, captioned `machine`.
/// A transport whose median is more than ten times the panel's next slowest
/// (Nagle meeting delayed ACKs) is named in the panel's title instead of
/// being drawn, so that it does not flatten the others.
pub fn draw(
    path: &Path,
    figures: &[Figures],
    bulk: &[(&str, Vec<f64>)],
    machine: &str,
) -> anyhow::Result<()> {
    let sizes: Vec<usize> = {
        let mut sizes: Vec<usize> = figures.iter().map(|f| f.size).collect();
        sizes.dedup();
        sizes
    };
    let root = SVGBackend::new(path, (1000, 260 * sizes.len() as u32 + 100)).into_drawing_area();
    let failed = |err: &dyn std::fmt::Display| anyhow!("cannot draw the chart: {err}");
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let (top, rest) = root.split_vertically(40);
    top.draw(&Text::new(
        format!("Round trip on loopback, one request at a time ({machine})"),
        (10, 12),
        ("sans-serif", 18).into_font(),
    ))
    .map_err(|e| failed(&e))?;
    let (panels, bottom) = rest.split_vertically(260 * sizes.len() as u32);
    let areas = panels.split_evenly((sizes.len().max(1), 1));
    for (area, &size) in areas.iter().zip(&sizes) {
        let mut here: Vec<&Figures> = figures.iter().filter(|f| f.size == size).collect();
        let mut medians: Vec<f64> = here.iter().map(|f| f.median).collect();
        medians.sort_by(f64::total_cmp);
        let ordinary = medians
            .iter()
            .rev()
            .nth(1)
            .copied()
            .unwrap_or(f64::INFINITY);
        let off_scale: Vec<String> = here
            .iter()
            .filter(|f| f.median > ordinary * 10.0)
            .map(|f| format!("{}: {:.0} us, off the scale", f.transport, f.median))
            .collect();
        here.retain(|f| f.median <= ordinary * 10.0);
        let names: Vec<&str> = here.iter().map(|f| f.transport).collect();
        // The scale follows the medians: a long tail (a new connection's
        // p99) is cut at the edge, with its figure written there.
        let widest = here.iter().map(|f| f.median).fold(1.0, f64::max) * 1.6;
        let mut title = format!(
            "{}: median (bar) and 99th percentile (line), us",
            size_name(size)
        );
        if !off_scale.is_empty() {
            title = format!("{title}; {}", off_scale.join("; "));
        }
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(190)
            .build_cartesian_2d(0.0..widest, 0.0..names.len() as f64)
            .map_err(|e| failed(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(names.len() * 2 + 1)
            .y_label_formatter(&|y| {
                let index = y.floor() as usize;
                if (y - index as f64 - 0.5).abs() < 0.01 {
                    names.get(index).map_or(String::new(), |n| (*n).to_owned())
                } else {
                    String::new()
                }
            })
            .x_desc("microseconds")
            .label_style(("sans-serif", 16))
            .light_line_style(WHITE)
            .draw()
            .map_err(|e| failed(&e))?;
        for (i, figure) in here.iter().enumerate() {
            let y = i as f64;
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y + 0.2), (figure.median, y + 0.8)],
                    BAR.filled(),
                )])
                .map_err(|e| failed(&e))?;
            chart
                .draw_series([PathElement::new(
                    [(figure.median, y + 0.5), (figure.p99.min(widest), y + 0.5)],
                    TAIL.stroke_width(2),
                )])
                .map_err(|e| failed(&e))?;
            let label = if figure.p99 > widest {
                format!("{:.1} (p99 {:.0} off the edge)", figure.median, figure.p99)
            } else {
                format!("{:.1}", figure.median)
            };
            chart
                .draw_series([Text::new(
                    label,
                    (figure.median + widest * 0.01, y + 0.9),
                    ("sans-serif", 14).into_font(),
                )])
                .map_err(|e| failed(&e))?;
        }
    }
    let line = bulk
        .iter()
        .map(|(transport, rates)| format!("{transport} {:.0} MB/s", median(rates)))
        .collect::<Vec<_>>()
        .join(", ");
    bottom
        .draw(&Text::new(
            format!("Bulk throughput, one stream, 64 KiB writes: {line}"),
            (10, 20),
            ("sans-serif", 18).into_font(),
        ))
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}
