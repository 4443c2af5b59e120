//! The report's charts, drawn with plotters' SVG backend into strings: bars of
//! counts, calls per minute against the budget line (429s and pauses marked), and
//! the latency histogram with p50/p95/p99.
//!
//! Owns the drawing only: the numbers come from `ledger_scan` and `audit_scan`,
//! and `page` places the SVG in the page. Text is written as SVG `<text>` in the
//! reader's sans-serif, so no font is needed to build or to test.

use plotters::prelude::*;

use super::error::ReportError;
use super::histogram::LatencyHistogram;
use super::timeline::Timeline;

/// Width of every chart, in SVG units (the page scales it to the screen).
const WIDTH: u32 = 860;

/// One bar of a bar chart.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Its label under the axis.
    pub label: String,
    /// Its count.
    pub count: u64,
    /// Its colour.
    pub color: RGBColor,
}

/// Green for what went well.
pub const GOOD: RGBColor = RGBColor(46, 139, 87);
/// Red for failures.
pub const BAD: RGBColor = RGBColor(200, 50, 50);
/// Orange for invalid rows and warnings.
pub const WARN: RGBColor = RGBColor(230, 140, 30);
/// Grey for what was left alone.
pub const NEUTRAL: RGBColor = RGBColor(140, 140, 150);
/// Blue for writes and calls.
pub const BLUE: RGBColor = RGBColor(50, 100, 180);

/// The SVG namespace declaration plotters writes: an inline `<svg>` in HTML needs
/// none, and without it the page holds no `http` URL at all.
const SVG_NAMESPACE: &str = " xmlns=\"http://www.w3.org/2000/svg\"";

/// `svg` ready to sit inline in the page.
fn inline(svg: String) -> String {
    svg.replacen(SVG_NAMESPACE, "", 1)
}

fn chart_error(chart: &'static str) -> impl Fn(String) -> ReportError {
    move |problem| ReportError::Chart { chart, problem }
}

/// The series' legend, boxed in the upper right corner (every chart the same).
fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| e.to_string())
}

/// A vertical bar chart of `bars`, titled `caption`.
pub fn bar_chart(caption: &str, bars: &[Bar]) -> Result<String, ReportError> {
    let err = chart_error("bar");
    let mut svg = String::new();
    {
        // Half the width: the page shows two bar charts side by side.
        let root = SVGBackend::with_string(&mut svg, (WIDTH / 2, 250)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let n = bars.len().max(1) as i32;
        let top = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
        let top = top + top / 8 + 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d((0..n).into_segmented(), 0u64..top)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len().max(1))
            .label_style(("sans-serif", 13))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| bars.get(i))
                    .map(|b| b.label.clone())
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .y_labels(5)
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let i = i as i32;
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0),
                        (SegmentValue::Exact(i + 1), b.count),
                    ],
                    b.color.filled(),
                );
                r.set_margin(0, 0, 12, 12);
                r
            }))
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                Text::new(
                    b.count.to_string(),
                    (SegmentValue::CenterOf(i as i32), b.count),
                    ("sans-serif", 13).into_font(),
                )
            }))
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(inline(svg))
}

/// Calls per minute over the run, with the tenant's budget (calls/min) as a
/// dashed line when known, and the buckets with 429s and pauses marked.
pub fn rate_chart(timeline: &Timeline, budget: Option<u32>) -> Result<String, ReportError> {
    let err = chart_error("calls per minute");
    // The x axis in seconds for a short run, minutes for a longer one, hours for
    // a long one; the y axis always in calls per minute (the budget's unit).
    let minutes = timeline.rates_per_minute();
    let span = minutes.last().map_or(0.0, |(t, _)| *t) + timeline.width_seconds() / 60.0;
    let (scale, unit) = if span < 3.0 {
        (60.0, "seconds")
    } else if span < 180.0 {
        (1.0, "minutes")
    } else {
        (1.0 / 60.0, "hours")
    };
    let rates: Vec<(f64, f64)> = minutes.iter().map(|&(t, r)| (t * scale, r)).collect();
    let w = timeline.width_seconds() / 60.0 * scale;
    let end = rates.last().map_or(1.0, |(t, _)| t + w).max(w);
    let peak = rates.iter().map(|r| r.1).fold(0.0, f64::max);
    let top = peak.max(f64::from(budget.unwrap_or(0))).max(1.0) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Calls per minute", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..end, 0.0..top)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(format!("{unit} since the start"))
            .y_desc("calls/min")
            .x_label_formatter(&|m| format!("{m:.1}"))
            .y_label_formatter(&|r| format!("{r:.0}"))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(
                rates
                    .iter()
                    .map(|&(t, r)| Rectangle::new([(t, 0.0), (t + w, r)], BLUE.mix(0.7).filled())),
            )
            .map_err(|e| err(e.to_string()))?
            .label("calls/min")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], BLUE.filled()));
        if let Some(b) = budget {
            let b = f64::from(b);
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, b), (end, b)],
                    8,
                    5,
                    BAD.stroke_width(2),
                ))
                .map_err(|e| err(e.to_string()))?
                .label(format!("budget {b:.0}/min"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], BAD.stroke_width(2)));
        }
        let buckets = timeline.buckets();
        let marks = |pick: fn(&super::timeline::Bucket) -> u64| {
            rates
                .iter()
                .zip(buckets)
                .filter(move |(_, b)| pick(b) > 0)
                .map(|(&(t, r), _)| (t + w / 2.0, r))
                .collect::<Vec<_>>()
        };
        let throttled = marks(|b| b.throttled);
        if !throttled.is_empty() {
            chart
                .draw_series(
                    throttled
                        .iter()
                        .map(|&p| TriangleMarker::new(p, 7, BAD.filled())),
                )
                .map_err(|e| err(e.to_string()))?
                .label("429 answered")
                .legend(|(x, y)| TriangleMarker::new((x + 6, y), 6, BAD.filled()));
        }
        let paused = marks(|b| b.pauses);
        if !paused.is_empty() {
            chart
                .draw_series(
                    paused
                        .iter()
                        .map(|&(t, _)| Cross::new((t, top * 0.95), 6, WARN.stroke_width(3))),
                )
                .map_err(|e| err(e.to_string()))?
                .label("pause")
                .legend(|(x, y)| Cross::new((x + 6, y), 5, WARN.stroke_width(3)));
        }
        legend(&mut chart).map_err(&err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(inline(svg))
}

/// The calls' latencies on a log axis, with p50, p95 and p99 as vertical lines.
pub fn latency_chart(h: &LatencyHistogram) -> Result<String, ReportError> {
    let err = chart_error("latency");
    let bars = h.bars(32);
    let (lo, hi) = match (bars.first(), bars.last()) {
        (Some(f), Some(l)) => (f.0.log10(), l.1.log10()),
        _ => (0.0, 1.0),
    };
    let top = bars.iter().map(|b| b.2).max().unwrap_or(0).max(1);
    let top = top + top / 8 + 1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Latency of the calls", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0u64..top)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("ms (log scale)")
            .y_desc("calls")
            .x_label_formatter(&|v| super::format::millis(10f64.powf(*v)))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(bars.iter().map(|&(a, b, n)| {
                Rectangle::new([(a.log10(), 0), (b.log10(), n)], GOOD.mix(0.75).filled())
            }))
            .map_err(|e| err(e.to_string()))?;
        let colors = [BLUE, WARN, BAD];
        for ((name, q), color) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)]
            .into_iter()
            .zip(colors)
        {
            if let Some(ms) = h.quantile(q) {
                let x = ms.log10().clamp(lo, hi);
                chart
                    .draw_series(LineSeries::new([(x, 0), (x, top)], color.stroke_width(2)))
                    .map_err(|e| err(e.to_string()))?
                    .label(format!("{name} {}", super::format::millis(ms)))
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                    });
            }
        }
        legend(&mut chart).map_err(&err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(inline(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_labels_escaped() {
        let bars = [
            Bar {
                label: "<b>&".into(),
                count: 3,
                color: GOOD,
            },
            Bar {
                label: "failed".into(),
                count: 0,
                color: BAD,
            },
        ];
        let svg = bar_chart("Outcomes", &bars).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("viewBox"));
        assert!(!svg.contains("<b>&"), "labels are escaped");
        let mut t = Timeline::new();
        let t0 = chrono::Utc::now();
        for i in 0..100 {
            t.call(t0 + chrono::Duration::milliseconds(i * 700), i == 40);
        }
        t.pause(t0 + chrono::Duration::seconds(30));
        let svg = rate_chart(&t, Some(300)).unwrap();
        assert!(svg.contains("budget 300/min") && svg.contains("429 answered"));
        let mut h = LatencyHistogram::new();
        for i in 1..500 {
            h.record(f64::from(i));
        }
        let svg = latency_chart(&h).unwrap();
        assert!(svg.contains("p95"), "percentiles are drawn");
        // Empty inputs still draw (an unfinished run).
        latency_chart(&LatencyHistogram::new()).unwrap();
        rate_chart(&Timeline::new(), None).unwrap();
        bar_chart("x", &[]).unwrap();
    }
}
