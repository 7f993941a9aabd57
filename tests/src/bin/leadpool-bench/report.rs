//! The table `make bench` prints and `target/bench/results.json`.

use std::collections::BTreeMap;
use std::time::Duration;

/// Call latencies of one run.
#[derive(Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn extend(&mut self, more: Vec<Duration>) {
        self.0.extend(more);
    }

    /// The `p`-quantile (nearest rank), in ms.
    pub fn ms(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.sort_unstable();
        let rank = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0[rank].as_secs_f64() * 1000.0
    }
}

/// Every figure, by its key in results.json, and the rows of the printed table.
#[derive(Default)]
pub struct Report {
    figures: BTreeMap<String, serde_json::Value>,
    rows: Vec<[String; 4]>,
}

impl Report {
    pub fn set(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.figures.insert(key.to_owned(), value.into());
    }

    /// A printed row: what, Leadpool's figure, the ceiling's, their ratio.
    pub fn row(&mut self, what: &str, leadpool: f64, ceiling: f64, unit: &str) {
        self.rows.push([
            what.to_owned(),
            format!("{leadpool:.0} {unit}"),
            format!("{ceiling:.0} {unit}"),
            format!("{:.2}×", leadpool / ceiling),
        ]);
    }

    /// A printed row of durations: Leadpool's, the ceiling's, how many times longer.
    pub fn time_row(&mut self, what: &str, leadpool: Duration, ceiling: Duration) {
        let (leadpool, ceiling) = (leadpool.as_secs_f64(), ceiling.as_secs_f64());
        self.rows.push([
            what.to_owned(),
            format!("{leadpool:.2} s"),
            format!("{ceiling:.2} s"),
            format!("{:.2}× the time", leadpool / ceiling),
        ]);
    }

    /// A printed row without a ceiling.
    pub fn line(&mut self, what: &str, figure: String) {
        self.rows
            .push([what.to_owned(), figure, String::new(), String::new()]);
    }

    pub fn print(&self) {
        println!("\n| measurement | Leadpool | ceiling | ratio |\n|---|---|---|---|");
        for [what, leadpool, ceiling, ratio] in &self.rows {
            println!("| {what} | {leadpool} | {ceiling} | {ratio} |");
        }
    }

    /// Writes the figures to `path` as one JSON object.
    pub fn write(&self, path: &std::path::Path) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the results directory");
        }
        let json = serde_json::to_string_pretty(&self.figures).expect("figures as JSON");
        std::fs::write(path, json + "\n").expect("write the results");
        println!("\nfigures written to {}", path.display());
    }
}
