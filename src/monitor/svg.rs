//! The report's charts, drawn as inline SVG by hand: a line chart of weekly attendance and a
//! bar chart of persistent absence by cohort. Each chart is an image with a text alternative
//! (`role="img"`, `<title>` and `<desc>` referenced by `aria-labelledby`); the report puts the
//! same figures in a table beside it. Every text is escaped.

use std::fmt::Write;

use super::html::escape;

/// One line of the weekly chart: a label and its percentage in each week (by Monday).
pub struct Series<'a> {
    pub label: &'a str,
    pub points: Vec<(&'a str, f64)>,
}

const WIDTH: f64 = 760.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;

/// A line chart of `series` over `weeks` (every reported week, in order), y in percent.
pub fn weekly_chart(
    id: &str,
    title: &str,
    desc: &str,
    weeks: &[&str],
    series: &[Series],
) -> String {
    let height = 300.0;
    let bottom = 48.0;
    let plot_h = height - TOP - bottom;
    let plot_w = WIDTH - LEFT - RIGHT;
    let lowest = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(100.0_f64, f64::min);
    // The y axis from a multiple of 5 below the lowest value to 100.
    let y_min = ((lowest / 5.0).floor() * 5.0).clamp(0.0, 95.0);
    let y = |v: f64| TOP + plot_h * (100.0 - v) / (100.0 - y_min);
    let step = if weeks.len() > 1 {
        plot_w / (weeks.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| LEFT + step * i as f64;
    let mut svg = open(id, title, desc, height);
    let mut tick = y_min;
    while tick <= 100.0 {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{tick}%</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(tick) + 4.0,
            y = y(tick)
        );
        tick += 5.0;
    }
    let label_every = weeks.len().div_ceil(8).max(1);
    for (i, week) in weeks.iter().enumerate().step_by(label_every) {
        let _ = write!(
            svg,
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x(i),
            height - bottom + 18.0,
            escape(week)
        );
    }
    for (n, line) in series.iter().enumerate() {
        let mut d = String::new();
        for (week, value) in &line.points {
            if let Some(i) = weeks.iter().position(|w| w == week) {
                let command = if d.is_empty() { 'M' } else { 'L' };
                let _ = write!(d, "{command}{:.1},{:.1} ", x(i), y(*value));
            }
        }
        if d.is_empty() {
            continue;
        }
        let _ = write!(
            svg,
            r#"<path class="series s{n}" d="{}"><title>{}</title></path>"#,
            d.trim_end(),
            escape(line.label)
        );
        let lx = LEFT + legend_offset(series.iter().map(|s| s.label), n);
        let ly = height - 10.0;
        let _ = write!(
            svg,
            r#"<line class="series s{n}" x1="{lx:.1}" x2="{:.1}" y1="{ly:.1}" y2="{ly:.1}"/><text class="legend" x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(line.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One group of the cohort chart: a cohort's label and one value per series (`None` when
/// suppressed or absent).
pub struct Bars<'a> {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub series: &'a [&'a str],
}

/// A horizontal bar chart of percentages, one group of bars per cohort.
pub fn cohort_chart(id: &str, title: &str, desc: &str, groups: &[Bars]) -> String {
    let label_w = 190.0;
    let bar_h = 11.0;
    let per_series = groups.first().map_or(1, |g| g.series.len().max(1));
    let group_h = bar_h * per_series as f64 + 8.0;
    let legend_h = 24.0;
    let height = TOP + group_h * groups.len() as f64 + legend_h + 20.0;
    let plot_w = WIDTH - label_w - RIGHT - 40.0;
    let highest = groups
        .iter()
        .flat_map(|g| g.values.iter().flatten())
        .fold(10.0_f64, |a, b| a.max(*b));
    let x_max = ((highest / 10.0).ceil() * 10.0).min(100.0);
    let w = |v: f64| plot_w * v / x_max;
    let mut svg = open(id, title, desc, height);
    for (n, group) in groups.iter().enumerate() {
        let top = TOP + group_h * n as f64;
        let _ = write!(
            svg,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            top + group_h / 2.0,
            escape(&group.label)
        );
        for (s, value) in group.values.iter().enumerate() {
            let y = top + bar_h * s as f64;
            match value {
                Some(v) => {
                    let _ = write!(
                        svg,
                        r#"<rect class="bar s{s}" x="{label_w}" y="{y:.1}" width="{:.1}" height="{:.1}"><title>{}: {}: {v:.1}%</title></rect><text class="value" x="{:.1}" y="{:.1}">{v:.1}%</text>"#,
                        w(*v).max(0.5),
                        bar_h - 2.0,
                        escape(&group.label),
                        escape(group.series.get(s).copied().unwrap_or_default()),
                        label_w + w(*v) + 4.0,
                        y + bar_h - 3.0
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r#"<text class="value" x="{:.1}" y="{:.1}">c</text>"#,
                        label_w + 4.0,
                        y + bar_h - 3.0
                    );
                }
            }
        }
    }
    let ly = height - legend_h;
    if let Some(first) = groups.first() {
        for (s, name) in first.series.iter().enumerate() {
            let lx = LEFT + legend_offset(first.series.iter().copied(), s);
            let _ = write!(
                svg,
                r#"<rect class="key s{s}" x="{lx:.1}" y="{:.1}" width="18" height="9"/><text class="legend" x="{:.1}" y="{:.1}">{}</text>"#,
                ly,
                lx + 24.0,
                ly + 9.0,
                escape(name)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Where the `n`th legend entry starts: after the earlier ones (a key of 30 px and about 6.5 px
/// a character of the label at 11 px, plus a gap).
fn legend_offset<'a>(labels: impl Iterator<Item = &'a str>, n: usize) -> f64 {
    labels
        .take(n)
        .map(|label| 30.0 + 6.5 * label.chars().count() as f64 + 24.0)
        .sum()
}

/// The opening of a chart: its size, its role and its text alternative.
fn open(id: &str, title: &str, desc: &str, height: f64) -> String {
    let id = escape(id);
    format!(
        r#"<svg class="chart" id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc)
    )
}
