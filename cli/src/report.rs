//! The simulation report as one self-contained HTML page (inline CSS and SVG, no script, no
//! network): depth over time per pool with both policies overlaid, the age mix, claims per
//! rep, the figures side by side, and the model's own error. Each plotted series is marked
//! `data-series="current|candidate"` so a reader (or a test) can tell them apart.

use std::fmt::Write;

use leadpool_proto::v1;

const CURRENT: &str = "#2563eb";
const CANDIDATE: &str = "#ea580c";
const AGE_COLOURS: [&str; 3] = ["#16a34a", "#ca8a04", "#dc2626"];

pub fn html(report: &v1::SimulationReport) -> String {
    let current = report.current.clone().unwrap_or_default();
    let candidate = report.candidate.clone().unwrap_or_default();
    let mut page = String::new();
    let window = format!(
        "{} → {}",
        time(report.from_time.as_ref()),
        time(report.to_time.as_ref())
    );
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Leadpool simulation {window}</title><style>{STYLE}</style></head><body>\
         <h1>What if: the candidate policy against policy version {}</h1>\
         <p>Inflow of {window}, {} run(s) from seed {}. \
         <span class=\"key current\">policy in force</span> \
         <span class=\"key candidate\">candidate</span></p>",
        report.current_version, report.runs, report.seed
    );
    if let Some(validation) = &report.validation {
        let _ = write!(
            page,
            "<p class=\"trust\">Model check: {}</p>",
            escape(&validation.summary)
        );
    }
    page.push_str("<h2>Depth over time</h2><div class=\"grid\">");
    for name in pool_names(&current, &candidate) {
        let series = [
            ("current", CURRENT, find(&current, &name)),
            ("candidate", CANDIDATE, find(&candidate, &name)),
        ];
        page.push_str(&depth_chart(&name, &series));
    }
    page.push_str("</div><h2>Age mix of available leads</h2>");
    page.push_str(&age_mix(&current, &candidate));
    page.push_str("<h2>Claims per rep</h2>");
    page.push_str(&claims_per_rep(&current, &candidate));
    page.push_str("<h2>Figures</h2>");
    page.push_str(&figures(&current, &candidate));
    if let Some(validation) = &report.validation {
        page.push_str(&validation_table(validation));
    }
    if let Some(model) = &report.model {
        page.push_str("<h2>The model</h2><ul>");
        for note in &model.notes {
            let _ = write!(page, "<li>{}</li>", escape(note));
        }
        page.push_str("</ul>");
    }
    page.push_str("</body></html>\n");
    page
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111}\
h1{font-size:20px}h2{font-size:16px;margin-top:28px}\
.grid{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:600}\
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}.key{padding:0 6px;color:#fff;border-radius:3px}\
.key.current{background:#2563eb}.key.candidate{background:#ea580c}.trust{color:#444}\
svg text{font-size:10px;fill:#444}";

fn pool_names(a: &v1::SimulatedPolicy, b: &v1::SimulatedPolicy) -> Vec<String> {
    let mut names: Vec<String> = a.pools.iter().map(|p| p.pool.clone()).collect();
    for pool in &b.pools {
        if !names.contains(&pool.pool) {
            names.push(pool.pool.clone());
        }
    }
    names
}

fn find<'a>(policy: &'a v1::SimulatedPolicy, name: &str) -> Option<&'a v1::SimulatedPool> {
    policy.pools.iter().find(|p| p.pool == name)
}

/// One pool's depth by hour, a line per policy that has the pool.
fn depth_chart(name: &str, series: &[(&str, &str, Option<&v1::SimulatedPool>); 2]) -> String {
    const W: f64 = 420.0;
    const H: f64 = 160.0;
    const PAD: f64 = 30.0;
    let hours = series
        .iter()
        .filter_map(|s| s.2.map(|p| p.depth_by_hour.len()))
        .max()
        .unwrap_or(0)
        .max(2);
    let top = series
        .iter()
        .filter_map(|s| s.2)
        .flat_map(|p| p.depth_by_hour.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |i: usize| PAD + (W - 2.0 * PAD) * i as f64 / (hours - 1) as f64;
    let y = |v: i64| H - PAD - (H - 2.0 * PAD) * v as f64 / top as f64;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"depth of {0}\" \
         data-pool=\"{0}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
         <line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{1}\" stroke=\"#999\"/>\
         <line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{1}\" stroke=\"#999\"/>\
         <text x=\"2\" y=\"{}\">{top}</text><text x=\"2\" y=\"{}\">0</text>\
         <text x=\"{}\" y=\"{}\">{} h</text>",
        escape(name),
        H - PAD,
        W - PAD,
        PAD + 4.0,
        H - PAD,
        W - PAD - 20.0,
        H - 8.0,
        hours - 1
    );
    for (label, colour, pool) in series {
        let Some(pool) = pool else { continue };
        let points: Vec<String> = pool
            .depth_by_hour
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"series\" data-series=\"{label}\" fill=\"none\" stroke=\"{colour}\" \
             stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// Each pool's available leads by age, one stacked bar per policy.
fn age_mix(current: &v1::SimulatedPolicy, candidate: &v1::SimulatedPolicy) -> String {
    const W: f64 = 300.0;
    let names = pool_names(current, candidate);
    let height = 24.0 * 2.0 * names.len() as f64 + 30.0;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"age mix\" class=\"age-mix\" width=\"{}\" height=\"{height}\">",
        W + 200.0
    );
    let mut row = 0.0;
    for name in &names {
        for (label, policy) in [("current", current), ("candidate", candidate)] {
            let y = 10.0 + row * 24.0;
            row += 1.0;
            let _ = write!(
                svg,
                "<text x=\"0\" y=\"{}\">{} ({label})</text>",
                y + 14.0,
                escape(name.trim_start_matches("pools/"))
            );
            let Some(pool) = find(policy, name) else {
                continue;
            };
            let shares = [
                pool.under_12h_percent,
                pool.from_12h_to_24h_percent,
                pool.over_24h_percent,
            ];
            let mut x = 190.0;
            for ((share, colour), bucket) in
                shares
                    .iter()
                    .zip(AGE_COLOURS)
                    .zip(["under-12h", "12h-to-24h", "over-24h"])
            {
                let width = W * share / 100.0;
                let _ = write!(
                    svg,
                    "<rect class=\"series\" data-series=\"{label}\" data-bucket=\"{bucket}\" \
                     x=\"{x:.1}\" y=\"{y}\" width=\"{width:.1}\" height=\"18\" fill=\"{colour}\">\
                     <title>{bucket}: {share:.0}%</title></rect>"
                );
                x += width;
            }
        }
    }
    let _ = write!(
        svg,
        "<text x=\"190\" y=\"{}\">green: under 12 h, yellow: 12–24 h, red: over 24 h</text></svg>",
        height - 6.0
    );
    svg
}

/// Claims per rep, a bar per policy.
fn claims_per_rep(current: &v1::SimulatedPolicy, candidate: &v1::SimulatedPolicy) -> String {
    let fairness = |p: &v1::SimulatedPolicy| p.fairness.clone().unwrap_or_default();
    let (a, b) = (fairness(current), fairness(candidate));
    let mut reps: Vec<String> = a.reps.iter().map(|r| r.rep.clone()).collect();
    for rep in &b.reps {
        if !reps.contains(&rep.rep) {
            reps.push(rep.rep.clone());
        }
    }
    let claims =
        |f: &v1::Fairness, rep: &str| f.reps.iter().find(|r| r.rep == rep).map_or(0, |r| r.claims);
    let top = reps
        .iter()
        .map(|r| claims(&a, r).max(claims(&b, r)))
        .max()
        .unwrap_or(0)
        .max(1);
    let height = 20.0 * reps.len() as f64 + 10.0;
    let mut svg = format!(
        "<p>Gini {:.2} → {:.2}; claims per rep {}–{} → {}–{}</p>\
         <svg role=\"img\" aria-label=\"claims per rep\" class=\"claims-per-rep\" width=\"560\" height=\"{height}\">",
        a.gini, b.gini, a.min_claims, a.max_claims, b.min_claims, b.max_claims
    );
    for (i, rep) in reps.iter().enumerate() {
        let y = 5.0 + 20.0 * i as f64;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text>",
            y + 13.0,
            escape(rep.trim_start_matches("reps/"))
        );
        for (k, (label, colour, fairness)) in
            [("current", CURRENT, &a), ("candidate", CANDIDATE, &b)]
                .into_iter()
                .enumerate()
        {
            let n = claims(fairness, rep);
            let width = 380.0 * n as f64 / top as f64;
            let _ = write!(
                svg,
                "<rect class=\"series\" data-series=\"{label}\" data-rep=\"{}\" x=\"150\" y=\"{}\" \
                 width=\"{width:.1}\" height=\"8\" fill=\"{colour}\"><title>{n}</title></rect>",
                escape(rep),
                y + 9.0 * k as f64
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A row of the figures table: its label and how to read it from a pool's totals.
type FigureRow = (&'static str, fn(&v1::SimulatedTotals) -> i64);

fn figures(current: &v1::SimulatedPolicy, candidate: &v1::SimulatedPolicy) -> String {
    let rows: [FigureRow; 11] = [
        ("entered", |t| t.entered),
        ("claimed", |t| t.claimed),
        ("contact SLA expired", |t| t.contact_sla_expired),
        ("escalated", |t| t.escalated),
        ("force-assigned", |t| t.force_assigned),
        ("overflowed", |t| t.overflowed),
        ("released", |t| t.released),
        ("nurtured", |t| t.nurtured),
        ("archived", |t| t.archived),
        ("opportunities + customers", |t| {
            t.opportunities + t.customers
        }),
        ("available at the end", |t| t.available_at_end),
    ];
    let mut table = String::from(
        "<table class=\"figures\"><tr><th>pool</th><th>figure</th><th>in force</th>\
         <th>candidate</th><th>difference</th></tr>",
    );
    let names = pool_names(current, candidate);
    for name in names.iter().map(Some).chain([None]) {
        let totals = |policy: &v1::SimulatedPolicy| match name {
            Some(name) => find(policy, name).and_then(|p| p.totals),
            None => policy.totals,
        };
        let (a, b) = (totals(current), totals(candidate));
        for (label, figure) in rows {
            let (x, y) = (a.map(|t| figure(&t)), b.map(|t| figure(&t)));
            let cell = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
            let difference = match (x, y) {
                (Some(x), Some(y)) => format!("{:+}", y - x),
                _ => String::new(),
            };
            let _ = write!(
                table,
                "<tr><td>{}</td><td>{label}</td><td>{}</td><td>{}</td><td>{difference}</td></tr>",
                escape(name.map_or("all pools", |n| n.trim_start_matches("pools/"))),
                cell(x),
                cell(y)
            );
        }
    }
    table.push_str("</table>");
    table
}

fn validation_table(validation: &v1::ModelValidation) -> String {
    let mut table = String::from(
        "<h2>The model against what happened (policy in force)</h2>\
         <table class=\"validation\"><tr><th>pool</th><th>figure</th><th>actual</th>\
         <th>simulated</th><th>error</th></tr>",
    );
    for pool in &validation.pools {
        for (label, figure) in [
            ("claims", &pool.claims),
            ("contact SLA expired", &pool.contact_sla_expired),
            ("escalated", &pool.escalated),
            ("median seconds to claim", &pool.median_to_claim_seconds),
        ] {
            let figure = figure.unwrap_or_default();
            let _ = write!(
                table,
                "<tr><td>{}</td><td>{label}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td></tr>",
                escape(pool.pool.trim_start_matches("pools/")),
                figure.actual,
                figure.simulated,
                figure
                    .relative_error
                    .map_or_else(|| "-".to_owned(), |e| format!("{:.0}%", e * 100.0))
            );
        }
    }
    table.push_str("</table>");
    table
}

fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
