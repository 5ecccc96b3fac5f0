//! `report.html`: one self-contained page (charts inline as SVG, no
//! scripts, no network), readable top to bottom by someone who did not
//! write the scenario — what ran, whether the gates passed, the headline
//! numbers, then a section per subject.

use std::fmt::Write as _;

use serde_json::Value;

use crate::charts::Drawn;
use crate::gates::Verdict;
use crate::metrics::{Metrics, Params, Quantiles};

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `v` with `places` decimals; "–" when missing or not finite.
pub fn num(v: Option<f64>, places: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.places$}"),
        _ => "–".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{:.1} %", x * 100.0))
}

fn quantiles(q: &Quantiles, places: usize) -> String {
    if q.count == 0 {
        return "–".into();
    }
    format!(
        "median {} · p10 {} · p90 {} · p99 {} · max {} (n = {})",
        num(q.median, places),
        num(q.p10, places),
        num(q.p90, places),
        num(q.p99, places),
        num(q.max, places),
        q.count
    )
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #0072b2;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:.8em 0;width:100%;font-size:.85em;display:block;overflow-x:auto}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f3f6f9}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.pass{background:#e3f5ec;border-left:6px solid #009e73;padding:.6em 1em}.fail{background:#fbe9e0;border-left:6px solid #d55e00;padding:.6em 1em}\
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:.6em;margin:1em 0}\
.card{border:1px solid #ddd;border-radius:6px;padding:.6em .8em}.card b{display:block;font-size:1.4em}.card span{color:#555;font-size:.9em}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}.muted{color:#666}";

/// Builds the page.
pub fn page(
    summary: &Value,
    p: &Params,
    m: &Metrics,
    verdicts: &[Verdict],
    charts: &[Drawn],
    timings: Option<&Value>,
) -> String {
    let mut h = String::new();
    let name = summary["scenario"].as_str().unwrap_or("run");
    let chart = |h: &mut String, name: &str, caption: &str| {
        if let Some(c) = charts.iter().find(|c| c.name == name) {
            let _ = writeln!(
                h,
                "<figure id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>",
                c.name,
                c.svg,
                escape(caption)
            );
        }
    };
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>thermotwin — {}</title><style>{STYLE}</style></head><body>",
        escape(name)
    );
    let _ = writeln!(
        h,
        "<h1>thermotwin run: {}</h1>\n<p class=\"muted\">{} homes · start {} · {} days simulated · seed {} · alert threshold {} · prediction window {}–{} days before a failure</p>",
        escape(name),
        summary["homes"],
        escape(summary["start"].as_str().unwrap_or("")),
        num(Some((p.end_ms - p.start_ms) as f64 / 86_400_000.0), 2),
        summary["seed"],
        p.threshold,
        num(Some(p.window_min_ms as f64 / 86_400_000.0), 1),
        num(Some(p.window_max_ms as f64 / 86_400_000.0), 1),
    );
    if let Some(d) = summary["description"].as_str().filter(|d| !d.is_empty()) {
        let _ = writeln!(h, "<p>{}</p>", escape(d));
    }

    // Gates.
    if verdicts.is_empty() {
        h.push_str("<p class=\"muted\">No release gates were set for this scenario.</p>\n");
    } else {
        let failed = verdicts.iter().filter(|v| !v.passed).count();
        let class = if failed == 0 { "pass" } else { "fail" };
        let _ = writeln!(
            h,
            "<div class=\"{class}\" id=\"gates\"><b>Release gates: {}</b> ({} of {} passed)<table><tr><th>gate</th><th>limit</th><th>value</th><th>result</th></tr>",
            if failed == 0 { "PASSED" } else { "FAILED" },
            verdicts.len() - failed,
            verdicts.len()
        );
        for v in verdicts {
            let op = match v.bound {
                crate::gates::Bound::Min => "≥",
                crate::gates::Bound::Max => "≤",
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{op} {}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                v.gate,
                v.limit,
                num(v.value, 4),
                if v.passed { "pass" } else { "FAIL" }
            );
        }
        h.push_str("</table></div>\n");
    }

    // Headline numbers.
    let pr = &m.prediction;
    let rl = &m.rate_limits;
    let ce = &m.comfort_energy;
    // The primary's row carries the intervals of the run's own numbers
    // (its replay is the run's alerts).
    let primary = m.models.iter().find(|r| r.primary);
    let iv = |key: &str, v: Option<f64>, places: usize| {
        crate::leaderboard::with_interval(v, primary.and_then(|r| r.intervals.get(key)), places)
    };
    let cards: Vec<(String, String)> = vec![
        (iv("precision", pr.precision, 3), "alert precision".into()),
        (iv("recall", pr.recall, 3), "failure recall".into()),
        (
            iv("lead_time_days_median", pr.lead_time_days.median, 1),
            "median lead time [days]".into(),
        ),
        (
            iv(
                "false_alarms_per_healthy_device_year",
                pr.false_alarms_per_healthy_device_year,
                2,
            ),
            "false alarms per healthy device-year".into(),
        ),
        (
            iv(
                "cost_optimal_threshold",
                m.threshold_sweep.cost_optimal_threshold,
                2,
            ),
            format!("cost-optimal threshold (run: {})", p.threshold),
        ),
        (pct(rl.rate_limited_share), "requests answered 429".into()),
        (
            pct(rl.telemetry.delivery_ratio),
            "readings delivered".into(),
        ),
        (
            num(ce.discomfort_kh_per_home.mean, 2),
            "K·h outside the comfort band per home".into(),
        ),
        (num(Some(ce.energy_kwh), 0), "HVAC electricity [kWh]".into()),
        (
            ce.short_cycle_violations.to_string(),
            "compressor short cycles".into(),
        ),
        (
            pct(m.operations.ota_success_rate),
            "OTA updates succeeded".into(),
        ),
    ];
    h.push_str("<h2>Headline</h2><div class=\"cards\">\n");
    for (value, what) in cards {
        let _ = writeln!(
            h,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape(&value),
            escape(&what)
        );
    }
    h.push_str("</div>\n");

    // Prediction.
    let _ = writeln!(
        h,
        "<h2>Predictive maintenance</h2>\n<p>An alert is scored for the fault its issue names. It is a true positive when that fault was in progress and failed — or, repaired first, would have failed (the simulator continues a repaired fault to its counterfactual failure) — {}–{} days after it; alerts of one device and fault within {} days of the first are one episode, and every alert is a technician visit in the cost. {} failures happened and {} more were prevented by technicians ({} repairs came so early that their failure would have come after the run); {} were caught in time, {} missed. {} alerts in {} episodes: {} true, {} false alarms, {} early, {} late, {} too close to the end to judge. {} technician visits found nothing.</p>",
        num(Some(p.window_min_ms as f64 / 86_400_000.0), 1),
        num(Some(p.window_max_ms as f64 / 86_400_000.0), 1),
        num(Some(p.episode_span_ms as f64 / 86_400_000.0), 1),
        pr.failures,
        pr.prevented,
        pr.prevented_censored,
        pr.caught,
        pr.missed,
        pr.alerts,
        pr.episodes,
        pr.true_positives,
        pr.false_alarms,
        pr.early,
        pr.late,
        pr.censored,
        pr.unnecessary_visits,
    );
    if let Some(r) = primary {
        let _ = writeln!(
            h,
            "<p id=\"threshold-advice\">Threshold advice: at the run's threshold {} the expected cost was {}; at the cost-optimal threshold {} it would have been {} (95 % intervals over the homes; an open-loop replay of the same predictions).</p>",
            p.threshold,
            iv("expected_cost", Some(r.expected_cost), 0),
            iv("cost_optimal_threshold", r.cost_optimal_threshold, 2),
            iv("cost_at_optimum", r.cost_at_optimum, 0),
        );
    }
    if let Some(note) = &m.prediction_note {
        let _ = writeln!(
            h,
            "<p class=\"fail\" id=\"prediction-note\">{}</p>",
            escape(note)
        );
    }
    let _ = writeln!(
        h,
        "<table><tr><th>precision</th><th>recall</th><th>F1</th><th>lead time [days]</th><th>expected cost</th></tr><tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr></table>",
        num(pr.precision, 3),
        num(pr.recall, 3),
        num(pr.f1, 3),
        quantiles(&pr.lead_time_days, 1),
        num(Some(pr.expected_cost), 0),
    );
    if !pr.by_fault.is_empty() {
        h.push_str("<table><tr><th>fault</th><th>episodes</th><th>true</th><th>false alarms</th><th>early</th><th>failures</th><th>prevented</th><th>repaired, failure beyond the run</th><th>caught</th><th>precision</th><th>recall</th><th>false alarms / healthy device-year</th><th>median lead [days]</th></tr>\n");
        for (fault, f) in &pr.by_fault {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(fault),
                f.episodes,
                f.true_positives,
                f.false_alarms,
                f.early,
                f.failures,
                f.prevented,
                f.prevented_censored,
                f.caught,
                num(f.precision, 3),
                num(f.recall, 3),
                num(f.false_alarms_per_healthy_device_year, 2),
                num(f.lead_time_days.median, 1)
            );
        }
        h.push_str("</table>\n");
    }
    let c = &pr.confusion;
    if c.counts.iter().flatten().any(|&n| n > 0) {
        h.push_str("<p>Alert episodes by the fault they named (rows) and the fault the unit really had at the first alert (columns):</p><table id=\"confusion\"><tr><th>named \\ found</th>");
        for a in &c.actual {
            let _ = write!(h, "<th>{}</th>", escape(a));
        }
        h.push_str("</tr>\n");
        for (named, row) in c.named.iter().zip(&c.counts) {
            if row.iter().all(|&n| n == 0) {
                continue;
            }
            let _ = write!(h, "<tr><td>{}</td>", escape(named));
            for n in row {
                let _ = write!(h, "<td class=\"n\">{n}</td>");
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }
    if !pr.false_alarms_by_cause.is_empty() {
        let causes: Vec<String> = pr
            .false_alarms_by_cause
            .iter()
            .map(|(cause, n)| format!("{} {n}", escape(cause)))
            .collect();
        let _ = writeln!(
            h,
            "<p id=\"false-alarm-causes\">False alarms by what the unit had at the first alert (a sensor fault by its kind, another compressor fault, or nothing): {}.</p>",
            causes.join(", ")
        );
    }
    if !m.models.is_empty() {
        let entries = crate::leaderboard::entries(&m.models, timings);
        let (heads, rows) = crate::leaderboard::cells(&entries);
        let _ = writeln!(
            h,
            "<h3 id=\"models\">Models</h3>\n<p>Every predictor of the run on the same reports and ground truth, and the baselines every leaderboard shows (always, random at the primary's alert rate, unit-relative): the primary's alerts sent the technicians; each model's alerts are replayed from its predictions by the server's rule and scored like the run's. Numbers in brackets are 95 % bootstrap intervals over devices; a model beats a baseline when the paired interval of the difference in F1 and in cost excludes zero. PR-AUC is the average precision of its predictions over their full confidence range; inference time per report as measured on this run's machine.</p>"
        );
        h.push_str("<table><tr>");
        for head in heads {
            let _ = write!(h, "<th>{}</th>", escape(head));
        }
        h.push_str("</tr>\n");
        for row in rows {
            h.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                let class = if i == 0 { "" } else { " class=\"n\"" };
                let _ = write!(h, "<td{class}>{}</td>", escape(c));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
        let causes: Vec<String> = m
            .models
            .iter()
            .filter(|r| r.false_alarms_by_cause.keys().any(|k| k != "healthy"))
            .map(|r| {
                let list: Vec<String> = r
                    .false_alarms_by_cause
                    .iter()
                    .map(|(cause, n)| format!("{cause} {n}"))
                    .collect();
                format!("{}: {}", escape(&r.name), escape(&list.join(", ")))
            })
            .collect();
        if !causes.is_empty() {
            let _ = writeln!(
                h,
                "<p id=\"model-false-alarm-causes\">False alarms by what the unit had (sensor faults by kind, another compressor fault, healthy) — {}.</p>",
                causes.join("; ")
            );
        }
    }
    chart(
        &mut h,
        "models_f1",
        "Each model's F1 at the run's threshold; the bars are 95 % bootstrap intervals over devices.",
    );
    chart(
        &mut h,
        "models_cost",
        "Each model's expected cost (every alert a truck roll, every miss a failure) with its 95 % interval.",
    );
    chart(
        &mut h,
        "reliability",
        "Predictions grouped by confidence (ten bins): how often the named fault failed within the window. On the diagonal, a model's confidence means what it says.",
    );
    chart(
        &mut h,
        "degradation",
        "Bearing wear of every home with a bearing fault; orange: alerts, red: failures, green: repairs (the wear the technician found).",
    );
    chart(
        &mut h,
        "lead_time",
        "How long before each predicted failure its first in-window alert came.",
    );
    chart(
        &mut h,
        "precision_recall",
        "Each point is one threshold: the primary's alerts replayed from its predictions.",
    );
    chart(
        &mut h,
        "threshold_sweep",
        "Precision, recall and F1 by threshold; red: the run's threshold, green: the cost-optimal one.",
    );
    chart(
        &mut h,
        "expected_cost",
        "Missed failures × their cost + alert episodes × a truck roll, by threshold.",
    );

    // Rate limits.
    let _ = writeln!(
        h,
        "<h2>Rate limits and delivery</h2>\n<p>{} requests, {} answered 429 ({}). Retry-After: {} s. Readings: {} stored, {} duplicates, {} dropped by the firmware; delivered {}; measurement to storage {} s.</p>",
        rl.requests,
        rl.rate_limited,
        pct(rl.rate_limited_share),
        quantiles(&rl.retry_after_quantiles_s, 0),
        rl.telemetry.stored,
        rl.telemetry.duplicated,
        rl.telemetry.dropped,
        pct(rl.telemetry.delivery_ratio),
        quantiles(&rl.telemetry.delay_s, 2),
    );
    chart(&mut h, "requests", "All clients together.");
    h.push_str(
        "<table><tr><th>client</th><th>tier</th><th>requests</th><th>429</th><th>share</th></tr>\n",
    );
    for (client, c) in &rl.by_client {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(client),
            escape(&c.tier),
            c.requests,
            c.rate_limited,
            pct(c.rate_limited_share)
        );
    }
    h.push_str("</table>\n<table><tr><th>endpoint</th><th>responses by status</th></tr>\n");
    for (endpoint, by) in &rl.by_endpoint {
        let statuses: Vec<String> = by.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(endpoint),
            statuses.join(" · ")
        );
    }
    h.push_str("</table>\n");

    // Comfort and energy.
    let _ = writeln!(
        h,
        "<h2>Comfort and energy</h2>\n<p>Comfort band {}–{} °C. K·h outside it per home (occupied hours): {}. HVAC electricity {} kWh (per home: {}), cost {}. Compressor starts per hour: {}. Short cycles (restart within 5 min of a stop): {} in {} homes.</p>",
        ce.band_c.0,
        ce.band_c.1,
        quantiles(&ce.discomfort_kh_per_home, 2),
        num(Some(ce.energy_kwh), 1),
        quantiles(&ce.energy_kwh_per_home, 1),
        num(Some(ce.energy_cost), 2),
        quantiles(&ce.compressor_cycles_per_hour, 2),
        ce.short_cycle_violations,
        ce.homes_short_cycling,
    );
    chart(
        &mut h,
        "energy_per_day",
        "The whole fleet's HVAC electricity each simulated day.",
    );
    chart(
        &mut h,
        "home_healthy",
        "Indoor and outdoor temperature; blue dots along the bottom: compressor running.",
    );
    chart(
        &mut h,
        "home_failing",
        "The same for a home with a fault; red: failure, orange: alert, green: technician.",
    );

    // Operations.
    let ops = &m.operations;
    h.push_str("<h2>Operations</h2>\n");
    if ops.ota.is_empty() {
        h.push_str("<p class=\"muted\">No firmware release in this run.</p>\n");
    }
    for (version, r) in &ops.ota {
        let _ = writeln!(
            h,
            "<p>Release <b>{}</b>: {} completed, {} failed ({}){}.</p>\n<table><tr><th>batch</th><th>opened [s]</th><th>share</th><th>completed</th><th>failed</th></tr>",
            escape(version),
            r.completed,
            r.failed,
            pct(r.success_rate),
            r.halted_at_s
                .map_or(String::new(), |s| format!("; halted at {s} s"))
        );
        for (i, b) in r.batches.iter().enumerate() {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                i + 1,
                b.opened_at_s,
                b.share_pct.map_or("–".into(), |p| format!("{p} %")),
                b.completed,
                b.failed
            );
        }
        h.push_str("</table>\n");
    }
    let statuses: Vec<String> = ops
        .commands
        .by_status
        .iter()
        .map(|(s, n)| format!("{}: {n}", escape(s)))
        .collect();
    let events: Vec<String> = ops
        .webhooks
        .by_event
        .iter()
        .map(|(e, n)| format!("{}: {n}", escape(e)))
        .collect();
    let _ = writeln!(
        h,
        "<p>Commands: {}. Queued to fetched by the device: {} s; to its result: {} s.</p>\n<p>Webhooks received: {} ({} with a valid signature, {} retries) — {}.</p>",
        if statuses.is_empty() {
            "none".into()
        } else {
            statuses.join(" · ")
        },
        quantiles(&ops.commands.delivery_s, 2),
        quantiles(&ops.commands.completion_s, 2),
        ops.webhooks.received,
        ops.webhooks.verified,
        ops.webhooks.retries,
        if events.is_empty() {
            "none".into()
        } else {
            events.join(" · ")
        },
    );
    let auto = &summary["automations"];
    if auto.is_object() {
        let _ = writeln!(
            h,
            "<p>Automations: {} created, {} firings, {} notifications.</p>",
            auto["created"], auto["fired"], auto["notifications"]
        );
    }
    h.push_str("<p class=\"muted\">Every number here is in summary.json (key <code>metrics</code>); the tables are the Parquet files beside this page. Regenerate with <code>thermotwin report DIR</code>.</p>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(num(None, 2), "–");
        assert_eq!(pct(Some(0.25)), "25.0 %");
    }
}
