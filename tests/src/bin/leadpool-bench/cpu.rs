//! Where the CPU went during a measurement: every process's user + system time from /proc,
//! summed by program (the bench client itself, each service, Postgres, Redis).

use std::collections::BTreeMap;

/// CPU seconds used so far, by program name.
pub fn used() -> BTreeMap<String, f64> {
    let mut by_program = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return by_program;
    };
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ... utime stime: fields 14 and 15, counted after the comm.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let program = head.split_once('(').map_or("", |(_, comm)| comm).to_owned();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
            .sum();
        *by_program.entry(program).or_insert(0.0) += ticks / 100.0;
    }
    by_program
}

/// What each program used between `before` and `after`, the largest first, as a sentence.
pub fn spent(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> String {
    let mut spent: Vec<(&String, f64)> = after
        .iter()
        .map(|(program, &t)| (program, t - before.get(program).copied().unwrap_or(0.0)))
        .filter(|(_, t)| *t >= 0.5)
        .collect();
    spent.sort_by(|a, b| b.1.total_cmp(&a.1));
    spent
        .iter()
        .map(|(program, t)| format!("{program} {t:.0}s"))
        .collect::<Vec<_>>()
        .join(", ")
}
