//! The run's charts, drawn with plotters into SVG (embedded in
//! `report.html` and written as `charts/<name>.svg`) and PNG
//! (`charts/<name>.png`).
//!
//! Every chart is a [`Plot`] — lines, dots, vertical rules or histogram
//! bars on numeric axes — drawn by one function for both backends. Text is
//! laid out with the bundled DejaVu Sans (`assets/`, Bitstream Vera
//! licence), so the pictures are the same on every machine, fonts
//! installed or not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::metrics::{self, Metrics, MetricsError, Params};
use crate::tables::{bools, floats, ints};

/// Width and height of every chart [px].
pub const SIZE: (u32, u32) = (900, 420);

const FONT: &str = "sans-serif";
static DEJAVU: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Colours (Okabe–Ito, readable by colour-blind readers).
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const RED: RGBColor = RGBColor(213, 94, 0);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const SKY: RGBColor = RGBColor(86, 180, 233);
const GREY: RGBColor = RGBColor(120, 120, 120);
const PALETTE: [RGBColor; 7] = [BLUE, ORANGE, GREEN, RED, PURPLE, SKY, GREY];

/// A series of points joined by a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// (x, y) in x order.
    pub points: Vec<(f64, f64)>,
}

/// Markers at points.
#[derive(Debug, Clone, PartialEq)]
pub struct Dots {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// (x, y).
    pub points: Vec<(f64, f64)>,
}

/// A vertical line across the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Where.
    pub x: f64,
}

/// Points with vertical error bars (an interval at each point).
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// (x, y, low, high).
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Where the legend goes: a corner inside the plot, chosen where the data
/// are not (autoscaled charts leave room at the top for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Legend {
    /// Upper right (the default).
    #[default]
    UpperRight,
    /// Upper left.
    UpperLeft,
    /// Lower right.
    LowerRight,
    /// Lower left.
    LowerLeft,
}

/// One chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plot {
    /// File stem (`charts/<name>.svg`).
    pub name: &'static str,
    /// Caption.
    pub title: String,
    /// X axis.
    pub x_label: String,
    /// Y axis.
    pub y_label: String,
    /// Lines.
    pub lines: Vec<Line>,
    /// Markers.
    pub dots: Vec<Dots>,
    /// Vertical rules.
    pub rules: Vec<Rule>,
    /// Histogram bars: (x from, x to, height).
    pub bars: Vec<(f64, f64, f64)>,
    /// Points with error bars.
    pub errors: Vec<Bars>,
    /// The legend's corner.
    pub legend: Legend,
    /// Legend entries at most (lines beyond are drawn unlabelled).
    pub max_legend: Option<usize>,
    /// Fixed x range (else from the data).
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range (else from the data).
    pub y_range: Option<(f64, f64)>,
}

/// A drawn chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    /// File stem.
    pub name: &'static str,
    /// Caption.
    pub title: String,
    /// The SVG text.
    pub svg: String,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Drawing failed.
    #[error("chart {name}: {message}")]
    Draw {
        /// The chart.
        name: &'static str,
        /// What failed.
        message: String,
    },
    /// A table could not be read.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

impl Plot {
    fn extent(&self) -> ((f64, f64), (f64, f64)) {
        let xs = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .chain(self.dots.iter().flat_map(|d| d.points.iter().map(|p| p.0)))
            .chain(self.rules.iter().map(|r| r.x))
            .chain(self.bars.iter().flat_map(|b| [b.0, b.1]))
            .chain(
                self.errors
                    .iter()
                    .flat_map(|e| e.points.iter().map(|p| p.0)),
            );
        let ys = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .chain(self.dots.iter().flat_map(|d| d.points.iter().map(|p| p.1)))
            .chain(self.bars.iter().flat_map(|b| [0.0, b.2]))
            .chain(
                self.errors
                    .iter()
                    .flat_map(|e| e.points.iter().flat_map(|p| [p.2, p.3])),
            );
        let span = |it: &mut dyn Iterator<Item = f64>| {
            let (lo, hi) = it
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            if lo > hi {
                (0.0, 1.0)
            } else if hi - lo < 1e-9 {
                (lo - 0.5, hi + 0.5)
            } else {
                (lo, hi)
            }
        };
        let x = self.x_range.unwrap_or_else(|| span(&mut { xs }));
        // Room at the top for the legend, so it does not cover the data.
        let y = self.y_range.unwrap_or_else(|| {
            let (lo, hi) = span(&mut { ys });
            let pad = (hi - lo) * 0.05;
            (lo - pad, hi + (hi - lo) * 0.3)
        });
        (x, y)
    }

    /// Draws onto `root` (either backend).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let ((x0, x1), (y0, y1)) = self.extent();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let (fx, fy) = (ticks(x1 - x0), ticks(y1 - y0));
        let (fmt_x, fmt_y) = (|v: &f64| fx(*v), |v: &f64| fy(*v));
        chart
            .configure_mesh()
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_y)
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        let legend = |c: RGBColor| {
            move |(x, y): (i32, i32)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], c.filled())
        };
        if !self.bars.is_empty() {
            chart.draw_series(
                self.bars
                    .iter()
                    .map(|&(a, b, h)| Rectangle::new([(a, 0.0), (b, h)], BLUE.mix(0.7).filled())),
            )?;
        }
        // One legend entry per label (many alerts share one).
        let mut labelled = BTreeSet::new();
        for r in &self.rules {
            let series = chart.draw_series(LineSeries::new(
                [(r.x, y0), (r.x, y1)],
                ShapeStyle::from(r.color).stroke_width(2),
            ))?;
            if labelled.insert(r.label.as_str()) {
                series.label(&r.label).legend(legend(r.color));
            }
        }
        for (i, l) in self.lines.iter().enumerate() {
            let series = chart.draw_series(LineSeries::new(
                l.points.iter().copied(),
                ShapeStyle::from(l.color).stroke_width(2),
            ))?;
            if self.max_legend.is_none_or(|n| i < n) {
                series.label(&l.label).legend(legend(l.color));
            }
        }
        for b in &self.errors {
            let style = ShapeStyle::from(b.color).stroke_width(2);
            let cap = (x1 - x0) * 0.01;
            chart.draw_series(b.points.iter().flat_map(|&(x, _, lo, hi)| {
                [
                    PathElement::new(vec![(x, lo), (x, hi)], style),
                    PathElement::new(vec![(x - cap, lo), (x + cap, lo)], style),
                    PathElement::new(vec![(x - cap, hi), (x + cap, hi)], style),
                ]
            }))?;
            chart
                .draw_series(
                    b.points
                        .iter()
                        .map(|&(x, y, _, _)| Circle::new((x, y), 5, b.color.filled())),
                )?
                .label(&b.label)
                .legend(legend(b.color));
        }
        for d in &self.dots {
            chart
                .draw_series(
                    d.points
                        .iter()
                        .map(|&p| Circle::new(p, 4, d.color.filled())),
                )?
                .label(&d.label)
                .legend(legend(d.color));
        }
        if self.lines.len() + self.dots.len() + self.rules.len() + self.errors.len() > 0 {
            chart
                .configure_series_labels()
                .position(match self.legend {
                    Legend::UpperRight => SeriesLabelPosition::UpperRight,
                    Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
                    Legend::LowerRight => SeriesLabelPosition::LowerRight,
                    Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
                })
                .background_style(WHITE.mix(0.85))
                .border_style(GREY)
                .label_font((FONT, 13))
                .draw()?;
        }
        root.present()
    }

    /// The chart as SVG text, also written with its PNG to `dir`.
    pub fn render(&self, dir: &Path) -> Result<Drawn, ChartError> {
        let err = |message: String| ChartError::Draw {
            name: self.name,
            message,
        };
        font()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            self.draw(&root).map_err(|e| err(e.to_string()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        std::fs::write(dir.join(format!("{}.svg", self.name)), &svg)
            .map_err(|e| err(e.to_string()))?;
        let png = dir.join(format!("{}.png", self.name));
        {
            let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
            self.draw(&root).map_err(|e| err(e.to_string()))?;
        }
        Ok(Drawn {
            name: self.name,
            title: self.title.clone(),
            svg,
        })
    }
}

/// Tick labels with as many decimals as an axis spanning `span` needs.
fn ticks(span: f64) -> impl Fn(f64) -> String {
    let places = if span >= 20.0 {
        0
    } else if span >= 2.0 {
        1
    } else {
        2
    };
    move |v| format!("{v:.places$}")
}

/// Registers the bundled font (once).
fn font() -> Result<(), ChartError> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError::Draw {
            name: "font",
            message: "the bundled DejaVu Sans did not load".into(),
        })
    }
}

const DAY_MS: f64 = 86_400_000.0;

/// The most homes the bearing-wear chart draws.
const WEAR_HOMES: usize = 60;

/// Every chart of a run, from its metrics and tables.
pub fn plots(dir: &Path, p: &Params, m: &Metrics) -> Result<Vec<Plot>, ChartError> {
    let (truth, alerts) = (&m.truth, &m.alerts);
    let day = |t: i64| (t - p.start_ms) as f64 / DAY_MS;

    // Sample homes: the first to fail (or be repaired) and the first with
    // nothing in the ground truth; degradation for up to 8 faulty homes.
    let faulty: BTreeSet<u32> = truth
        .failures
        .iter()
        .map(|f| f.home)
        .chain(
            truth
                .visits
                .iter()
                .filter(|v| !v.repaired.is_empty())
                .map(|v| v.home),
        )
        .collect();
    let touched: BTreeSet<u32> = faulty
        .iter()
        .copied()
        .chain(truth.visits.iter().map(|v| v.home))
        .chain(alerts.iter().map(|a| a.home))
        .collect();
    let failing = faulty.iter().next().copied();
    let healthy = (0..u32::try_from(p.homes).unwrap_or(u32::MAX)).find(|h| !touched.contains(h));
    // Every home with a bearing fault, failed, repaired or still wearing
    // (at most WEAR_HOMES lines, said in the title).
    let bearing: BTreeSet<u32> = truth
        .onsets
        .iter()
        .filter(|o| o.fault == "bearing_wear")
        .map(|o| o.home)
        .collect();
    let wear_homes: BTreeSet<u32> = bearing.iter().copied().take(WEAR_HOMES).collect();
    let mut temps: BTreeMap<u32, Vec<(f64, f64, f64, bool)>> = BTreeMap::new();
    let mut wear: BTreeMap<u32, Vec<(f64, f64)>> = BTreeMap::new();
    metrics::read_table(
        dir,
        "homes",
        &[
            "at",
            "home",
            "indoor_c",
            "outdoor_c",
            "compressor",
            "bearing_wear_um",
        ],
        |df| {
            let (at, home) = (ints(df, "at")?, ints(df, "home")?);
            let (indoor, outdoor) = (floats(df, "indoor_c")?, floats(df, "outdoor_c")?);
            let (comp, bearing) = (bools(df, "compressor")?, floats(df, "bearing_wear_um")?);
            for i in 0..at.len() {
                let h = metrics::home_index(home[i].unwrap_or(-1));
                let t = day(at[i].unwrap_or(0));
                if Some(h) == failing || Some(h) == healthy {
                    temps.entry(h).or_default().push((
                        t,
                        indoor[i].unwrap_or(f64::NAN),
                        outdoor[i].unwrap_or(f64::NAN),
                        comp[i].unwrap_or(false),
                    ));
                }
                if wear_homes.contains(&h) {
                    wear.entry(h)
                        .or_default()
                        .push((t, bearing[i].unwrap_or(0.0)));
                }
            }
            Ok(())
        },
    )?;

    let mut plots = Vec::new();
    for (name, home, what) in [
        ("home_healthy", healthy, "a healthy home"),
        ("home_failing", failing, "a faulty home"),
    ] {
        let Some(h) = home else { continue };
        let rows = temps.remove(&h).unwrap_or_default();
        let lo = rows
            .iter()
            .flat_map(|r| [r.1, r.2])
            .filter(|v| v.is_finite())
            .fold(f64::INFINITY, f64::min);
        let mut rules: Vec<Rule> = truth
            .failures
            .iter()
            .filter(|f| f.home == h)
            .map(|f| Rule {
                label: format!("failure ({})", f.fault),
                color: RED,
                x: day(f.at),
            })
            .collect();
        rules.extend(alerts.iter().filter(|a| a.home == h).map(|a| Rule {
            label: "alert".into(),
            color: ORANGE,
            x: day(a.at),
        }));
        rules.extend(truth.visits.iter().filter(|v| v.home == h).map(|v| Rule {
            label: "technician".into(),
            color: GREEN,
            x: day(v.at),
        }));
        plots.push(Plot {
            name,
            title: format!("Home {h}, {what}: temperatures and compressor"),
            x_label: "day of the run".into(),
            y_label: "°C".into(),
            lines: vec![
                Line {
                    label: "indoor".into(),
                    color: BLUE,
                    points: rows.iter().map(|r| (r.0, r.1)).collect(),
                },
                Line {
                    label: "outdoor".into(),
                    color: GREY,
                    points: rows.iter().map(|r| (r.0, r.2)).collect(),
                },
            ],
            dots: vec![Dots {
                label: "compressor on".into(),
                color: SKY,
                points: rows
                    .iter()
                    .filter(|r| r.3)
                    .map(|r| (r.0, if lo.is_finite() { lo } else { 0.0 }))
                    .collect(),
            }],
            rules,
            ..Plot::default()
        });
    }

    let ce = &m.comfort_energy;
    plots.push(Plot {
        name: "energy_per_day",
        title: "Fleet HVAC electricity per day".into(),
        x_label: "day of the run".into(),
        y_label: "kWh".into(),
        lines: vec![Line {
            label: "fleet".into(),
            color: BLUE,
            points: ce
                .energy_kwh_by_day
                .iter()
                .enumerate()
                .map(|(d, k)| (d as f64, *k))
                .collect(),
        }],
        ..Plot::default()
    });

    let rl = &m.rate_limits;
    let mut totals: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for c in rl.by_client.values() {
        for b in &c.over_time {
            let t = totals.entry(b.at_s).or_default();
            t.0 += b.requests;
            t.1 += b.rate_limited;
        }
    }
    let per = |f: fn(&(u64, u64)) -> u64| -> Vec<(f64, f64)> {
        totals
            .iter()
            .map(|(s, n)| (*s as f64 / 86_400.0, f(n) as f64))
            .collect()
    };
    plots.push(Plot {
        name: "requests",
        title: format!("Requests and 429s per {} s", rl.bucket_s),
        x_label: "day of the run".into(),
        y_label: "requests".into(),
        lines: vec![
            Line {
                label: "requests".into(),
                color: BLUE,
                points: per(|n| n.0),
            },
            Line {
                label: "429 Too Many Requests".into(),
                color: RED,
                points: per(|n| n.1),
            },
        ],
        ..Plot::default()
    });

    let sw = &m.threshold_sweep;
    let pr = |t: f64| {
        sw.points
            .iter()
            .find(|pt| pt.threshold == t)
            .and_then(|pt| Some((pt.recall?, pt.precision?)))
    };
    let mut marks = vec![Dots {
        label: format!("default {}", sw.default_threshold),
        color: RED,
        points: pr(sw.default_threshold).into_iter().collect(),
    }];
    if let Some(t) = sw.cost_optimal_threshold {
        marks.push(Dots {
            label: format!("cost-optimal {t}"),
            color: GREEN,
            points: pr(t).into_iter().collect(),
        });
    }
    plots.push(Plot {
        name: "precision_recall",
        title: "Precision–recall over alert thresholds".into(),
        x_label: "recall".into(),
        y_label: "precision".into(),
        lines: vec![Line {
            label: "thresholds 0.02 … 0.999".into(),
            color: BLUE,
            points: sw
                .points
                .iter()
                .filter_map(|pt| Some((pt.recall?, pt.precision?)))
                .collect(),
        }],
        dots: marks,
        x_range: Some((0.0, 1.05)),
        y_range: Some((0.0, 1.05)),
        legend: Legend::LowerLeft,
        ..Plot::default()
    });
    let mut rules = vec![Rule {
        label: format!("default {}", sw.default_threshold),
        color: RED,
        x: sw.default_threshold,
    }];
    if let Some(t) = sw.cost_optimal_threshold {
        rules.push(Rule {
            label: format!("cost-optimal {t}"),
            color: GREEN,
            x: t,
        });
    }
    let series =
        |label: &str, color: RGBColor, f: fn(&metrics::sweep::Point) -> Option<f64>| Line {
            label: label.into(),
            color,
            points: sw
                .points
                .iter()
                .filter_map(|pt| Some((pt.threshold, f(pt)?)))
                .collect(),
        };
    plots.push(Plot {
        name: "threshold_sweep",
        title: "Alert threshold sweep".into(),
        x_label: "threshold".into(),
        y_label: "score".into(),
        lines: vec![
            series("precision", BLUE, |pt| pt.precision),
            series("recall", ORANGE, |pt| pt.recall),
            series("F1", PURPLE, |pt| pt.f1),
        ],
        rules: rules.clone(),
        x_range: Some((0.0, 1.0)),
        y_range: Some((0.0, 1.05)),
        ..Plot::default()
    });
    plots.push(Plot {
        name: "expected_cost",
        title: format!(
            "Expected cost (miss {}, truck roll {})",
            p.cost_missed_failure, p.cost_truck_roll
        ),
        x_label: "threshold".into(),
        y_label: "cost".into(),
        lines: vec![series("expected cost", BLUE, |pt| Some(pt.expected_cost))],
        rules,
        x_range: Some((0.0, 1.0)),
        ..Plot::default()
    });

    let window_days = p.window_max_ms as f64 / DAY_MS;
    let bins = window_days.ceil().clamp(1.0, 60.0) as usize;
    let width = window_days / bins as f64;
    let mut counts = vec![0.0; bins];
    for &l in &m.prediction.lead_times {
        let i = ((l / width) as usize).min(bins - 1);
        counts[i] += 1.0;
    }
    plots.push(Plot {
        name: "lead_time",
        title: "Lead time of predicted failures".into(),
        x_label: "days before the failure".into(),
        y_label: "failures".into(),
        x_range: Some((0.0, window_days)),
        y_range: Some((0.0, counts.iter().copied().fold(1.0, f64::max) * 1.1)),
        bars: counts
            .iter()
            .enumerate()
            .map(|(i, c)| (i as f64 * width, (i + 1) as f64 * width, *c))
            .collect(),
        ..Plot::default()
    });

    let at = |series: &[(f64, f64)], t: f64| {
        series
            .iter()
            .find(|p| p.0 >= t)
            .or(series.last())
            .map_or((t, 0.0), |p| (t, p.1))
    };
    let mut lines = Vec::new();
    let (mut alert_dots, mut failure_dots, mut repair_dots) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (h, s)) in wear.iter().enumerate() {
        alert_dots.extend(
            alerts
                .iter()
                .filter(|a| a.home == *h)
                .map(|a| at(s, day(a.at))),
        );
        failure_dots.extend(
            truth
                .failures
                .iter()
                .filter(|f| f.home == *h && f.fault == "bearing_wear")
                .map(|f| at(s, day(f.at))),
        );
        // The wear the technician found: the last sample before the visit.
        repair_dots.extend(
            truth
                .visits
                .iter()
                .filter(|v| v.home == *h && v.repaired.iter().any(|f| f == "bearing_wear"))
                .map(|v| {
                    let t = day(v.at);
                    let w = s.iter().rev().find(|p| p.0 <= t).map_or(0.0, |p| p.1);
                    (t, w)
                }),
        );
        lines.push(Line {
            label: format!("home {h}"),
            color: PALETTE[i % PALETTE.len()],
            points: s.clone(),
        });
    }
    let top_wear = wear
        .values()
        .flat_map(|s| s.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let drawn = if bearing.len() > WEAR_HOMES {
        format!(" (the first {WEAR_HOMES} drawn)")
    } else {
        String::new()
    };
    plots.push(Plot {
        name: "degradation",
        title: format!(
            "Bearing wear of the {} homes with a bearing fault{drawn}",
            bearing.len()
        ),
        x_label: "day of the run".into(),
        y_label: "bearing wear [µm]".into(),
        lines,
        dots: vec![
            Dots {
                label: "alert".into(),
                color: ORANGE,
                points: alert_dots,
            },
            Dots {
                label: "failure".into(),
                color: RED,
                points: failure_dots,
            },
            Dots {
                label: "repair".into(),
                color: GREEN,
                points: repair_dots,
            },
        ],
        legend: Legend::UpperLeft,
        max_legend: Some(4),
        // Room above the curves for the legend's seven entries.
        y_range: Some((-1.0, top_wear.max(1.0) * 1.9)),
        ..Plot::default()
    });
    plots.extend(model_plots(&m.models));
    Ok(plots)
}

/// The leaderboard as pictures: each model's F1 and expected cost with
/// their 95 % intervals as error bars, and the reliability diagram.
fn model_plots(models: &[metrics::models::ModelScore]) -> Vec<Plot> {
    if models.is_empty() {
        return Vec::new();
    }
    let bars = |key: &str, value: fn(&metrics::models::ModelScore) -> Option<f64>| {
        models
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let v = value(m)?;
                let [lo, hi] = m.intervals.get(key).copied().flatten().unwrap_or([v, v]);
                Some(Bars {
                    label: m.name.clone(),
                    color: PALETTE[i % PALETTE.len()],
                    points: vec![(i as f64 + 1.0, v, lo, hi)],
                })
            })
            .collect::<Vec<_>>()
    };
    let n = models.len() as f64;
    let mut plots = vec![
        Plot {
            name: "models_f1",
            title: "F1 of each model at the run's threshold, with 95 % intervals".into(),
            x_label: "model (see the legend)".into(),
            y_label: "F1".into(),
            errors: bars("f1", |m| m.f1),
            x_range: Some((0.0, n + 3.0)),
            y_range: Some((0.0, 1.05)),
            ..Plot::default()
        },
        Plot {
            name: "models_cost",
            title: "Expected cost of each model, with 95 % intervals".into(),
            x_label: "model (see the legend)".into(),
            y_label: "cost".into(),
            errors: bars("expected_cost", |m| Some(m.expected_cost)),
            x_range: Some((0.0, n + 3.0)),
            ..Plot::default()
        },
    ];
    let mut lines = vec![Line {
        label: "perfectly calibrated".into(),
        color: GREY,
        points: vec![(0.0, 0.0), (1.0, 1.0)],
    }];
    for (i, m) in models.iter().enumerate() {
        let points: Vec<(f64, f64)> = m
            .calibration
            .reliability
            .iter()
            .filter_map(|b| Some((b.mean_confidence?, b.observed?)))
            .collect();
        if !points.is_empty() {
            lines.push(Line {
                label: format!(
                    "{} (Brier {})",
                    m.name,
                    crate::html::num(m.calibration.brier, 3)
                ),
                color: PALETTE[i % PALETTE.len()],
                points,
            });
        }
    }
    plots.push(Plot {
        name: "reliability",
        title: "Reliability: observed failure share against confidence".into(),
        x_label: "mean confidence in the bin".into(),
        y_label: "share that failed within the window".into(),
        lines,
        x_range: Some((0.0, 1.0)),
        // Room above 1 for the legend.
        y_range: Some((0.0, 1.6)),
        legend: Legend::UpperLeft,
        ..Plot::default()
    });
    plots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plot_renders_to_svg_and_png_the_same_way_twice() {
        let dir = std::env::temp_dir().join(format!("thermotwin-charts-{}", std::process::id()));
        let plot = Plot {
            name: "t",
            title: "Test — °C".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            lines: vec![Line {
                label: "line".into(),
                color: BLUE,
                points: vec![(0.0, 1.0), (1.0, 3.0)],
            }],
            dots: vec![],
            rules: vec![Rule {
                label: "rule".into(),
                color: RED,
                x: 0.5,
            }],
            bars: vec![(0.0, 0.5, 2.0)],
            errors: vec![Bars {
                label: "interval".into(),
                color: GREEN,
                points: vec![(0.7, 2.0, 1.5, 2.5)],
            }],
            legend: Legend::LowerRight,
            ..Plot::default()
        };
        let a = plot.render(&dir).unwrap();
        let png = std::fs::read(dir.join("t.png")).unwrap();
        let b = plot.render(&dir).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::read(dir.join("t.png")).unwrap(), png);
        assert!(a.svg.starts_with("<svg") && a.svg.contains("Test — °C"));
        assert_eq!(&png[1..4], b"PNG");
        // An empty plot still draws (axes, no data).
        Plot {
            name: "empty",
            ..Plot::default()
        }
        .render(&dir)
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
