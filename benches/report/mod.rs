//! Charts for the benches' reports, as SVG files under `docs/` (plotters, SVG backend only).
//! Include it with `#[path = "report/mod.rs"] mod report;`; each bench uses part of it.
#![allow(dead_code)]

use std::path::Path;

use plotters::prelude::*;

const SIZE: (u32, u32) = (900, 560);
const FONT: &str = "sans-serif";

/// One point per label, on logarithmic axes (both must be positive): `x_desc` and `y_desc`
/// name them.
pub fn scatter_svg(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    points: &[(&str, f64, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let range = |values: Vec<f64>| {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo / 2.0).max(1e-3)..(hi * 2.0).max(1.0)
    };
    // Room on the right for the labels.
    let xs = range(points.iter().map(|p| p.1).collect());
    let xs = xs.start..xs.end * 4.0;
    let ys = range(points.iter().map(|p| p.2).collect());
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(xs.log_scale(), ys.log_scale())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .draw()?;
    chart.draw_series(points.iter().enumerate().map(|(i, &(label, x, y))| {
        let color = Palette99::pick(i).to_rgba();
        EmptyElement::at((x, y))
            + Circle::new((0, 0), 6, color.filled())
            + Text::new(
                label.to_owned(),
                (9, -6),
                (FONT, 13).into_font().color(&BLACK),
            )
    }))?;
    root.present()?;
    Ok(())
}

/// One horizontal bar per label, its value printed beside it in `unit`.
pub fn bars_svg(
    path: &Path,
    title: &str,
    bars: &[(&str, f64)],
    unit: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let max = bars
        .iter()
        .map(|b| b.1)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let n = bars.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(10)
        .build_cartesian_2d(0.0..max * 1.6, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc(unit)
        .label_style((FONT, 13))
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, &(_, v))| {
        let y = (n - 1 - i) as f64;
        Rectangle::new(
            [(0.0, y + 0.15), (v, y + 0.85)],
            Palette99::pick(i).to_rgba().filled(),
        )
    }))?;
    chart.draw_series(bars.iter().enumerate().map(|(i, &(label, v))| {
        let y = (n - 1 - i) as f64 + 0.5;
        Text::new(
            format!("{label}: {v:.3} {unit}"),
            (v, y),
            (FONT, 13).into_font().color(&BLACK),
        )
    }))?;
    root.present()?;
    Ok(())
}

/// One family of points on a frontier chart: its name, and per point a label, the x value and
/// one y value per panel.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(String, f64, [f64; 2])>,
}

/// Two panels side by side (`panels` names them), each with every series as a line through its
/// points (labelled), on logarithmic axes: y against x.
pub fn frontier_svg(
    path: &Path,
    title: &str,
    x_desc: &str,
    panels: [&str; 2],
    series: &[Series<'_>],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1300, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (FONT, 20))?;
    let halves = root.split_evenly((1, 2));
    let all = || series.iter().flat_map(|s| s.points.iter());
    let xs = {
        let lo = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        (lo / 1.5).max(1e-3)..(hi * 2.5).max(1.0)
    };
    for (k, area) in halves.iter().enumerate() {
        let lo = all().map(|p| p.2[k]).fold(f64::INFINITY, f64::min);
        let hi = all().map(|p| p.2[k]).fold(f64::NEG_INFINITY, f64::max);
        let ys = (lo / 2.0).max(0.1)..(hi * 2.0).max(1.0);
        let mut chart = ChartBuilder::on(area)
            .caption(panels[k], (FONT, 16))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(xs.clone().log_scale(), ys.log_scale())?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("p95 latency after the blocker ends (s)")
            .label_style((FONT, 12))
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let mut line: Vec<(f64, f64)> =
                s.points.iter().map(|p| (p.1, p.2[k].max(0.1))).collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart
                .draw_series(LineSeries::new(line, color.stroke_width(2)))?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(s.points.iter().map(|(label, x, y)| {
                EmptyElement::at((*x, y[k].max(0.1)))
                    + Circle::new((0, 0), 5, color.filled())
                    + Text::new(
                        label.clone(),
                        (7, -14),
                        (FONT, 11).into_font().color(&BLACK),
                    )
            }))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .label_font((FONT, 12))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
