//! leadpoolctl as an operator uses it, against running services: apply, explain, import,
//! claim — and errors printed as sentences to act on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::Output;

use leadpool_e2e::{Cluster, example};
use leadpool_testing::TEST_SECRET;

async fn ctl(cluster: &Cluster, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_leadpoolctl"))
        .args(args)
        .env("LEADPOOL_INTAKE", cluster.intake.endpoint())
        .env("LEADPOOL_ROUTING", cluster.routing.endpoint())
        .env("LEADPOOL_CLAIM", cluster.claim.endpoint())
        .env("LEADPOOL_SCHEDULER", cluster.scheduler.endpoint())
        .env("LEADPOOL_AUTH__HS256_SECRET", TEST_SECRET)
        .env_remove("LEADPOOL_TOKEN")
        .output()
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn file_with(contents: &str, suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_applies_explains_imports_and_claims_from_the_command_line() {
    let cluster = Cluster::start().await;
    let policy = file_with(&example("p2-segmented-pools"), ".yaml");
    let path = policy.path().to_str().unwrap();

    let dry = ctl(&cluster, &["apply", "-f", path, "--dry-run"]).await;
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("+ pools/west"));
    assert!(stdout(&dry).contains("would be applied"));
    let applied = ctl(&cluster, &["apply", "-f", path]).await;
    assert!(
        stdout(&applied).contains("applied as version 1"),
        "{}",
        stdout(&applied)
    );

    let broken = file_with(
        &example("p2-segmented-pools")
            .replace("role: sdr", "role: intern")
            .replace("pool: west", "pool: wild-west"),
        ".yaml",
    );
    let refused = ctl(&cluster, &["apply", "-f", broken.path().to_str().unwrap()]).await;
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("reps[1].role: `intern` is not one of: sdr, ae, manager"),
        "{message}"
    );
    assert!(
        message.contains("routing.rules[4].pool: names pool `wild-west`"),
        "{message}"
    );

    let route = ctl(
        &cluster,
        &[
            "explain", "route", "--score", "70", "--region", "east", "--source", "webinar",
        ],
    )
    .await;
    assert!(
        stdout(&route).contains("=> pools/east, by rule `east`"),
        "{}",
        stdout(&route)
    );
    let access = ctl(
        &cluster,
        &[
            "explain",
            "access",
            "--rep",
            "sam",
            "--pool",
            "demo-requests",
        ],
    )
    .await;
    assert!(stdout(&access).contains("DENIED"));
    assert!(stdout(&access).contains("role sdr is not one of [ae]"));

    let csv = file_with(
        "email,score,region,source,campaign\nann@a.example,60,east,webinar,spring\nbad-email,60,east,webinar,spring\nann@a.example,70,east,webinar,spring\n",
        ".csv",
    );
    let import = ctl(
        &cluster,
        &[
            "import",
            csv.path().to_str().unwrap(),
            "--import-id",
            "spring",
        ],
    )
    .await;
    let summary = stdout(&import);
    assert!(import.status.success(), "{}", stderr(&import));
    for line in [
        "accepted                 1",
        "rejected                 1",
        "duplicates               1",
    ] {
        assert!(summary.contains(line), "{summary}");
    }

    let claimed = ctl(&cluster, &["claim", "next", "east", "--as", "reps/nora"]).await;
    assert!(
        stdout(&claimed).contains("claimed leads/"),
        "{}",
        stderr(&claimed)
    );
    let empty = ctl(&cluster, &["claim", "next", "east", "--as", "reps/nora"]).await;
    assert!(!empty.status.success());
    assert!(
        stderr(&empty).contains("pools/east has no lead available right now"),
        "{}",
        stderr(&empty)
    );
    let status = ctl(&cluster, &["status", "--as", "reps/nora"]).await;
    let status = stdout(&status);
    assert!(status.contains("reps/nora as of"), "{status}");
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("daily claim limit") && l.contains(" 1 ")),
        "one claim used: {status}"
    );
    assert!(status.contains("open leads: 1"), "{status}");
    cluster.stop().await;
}

const IMPORT_POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\npools: [{ id: inbound, type: open }]\nqualification: { minScore: 20 }\nrouting: { default: { pool: inbound } }\n";

/// 100,000 rows; in every 50, one malformed score, one duplicate email of the row before, one
/// below the threshold and 47 good ones.
fn large_csv() -> tempfile::NamedTempFile {
    let mut csv = String::from("email,company,score,source,campaign\n");
    for n in 0..100_000 {
        let email = if n % 50 == 2 {
            format!("row{}@example.com", n - 1)
        } else {
            format!("row{n}@example.com")
        };
        let score = match n % 50 {
            0 => "high",
            3 => "5",
            _ => "60",
        };
        csv.push_str(&format!("{email},Company {n},{score},webinar,spring\n"));
    }
    file_with(&csv, ".csv")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_row_csv_import_completes_with_an_exact_summary() {
    let cluster = Cluster::start().await;
    let policy = file_with(IMPORT_POLICY, ".yaml");
    assert!(
        ctl(&cluster, &["apply", "-f", policy.path().to_str().unwrap()])
            .await
            .status
            .success()
    );
    let csv = large_csv();
    let started = std::time::Instant::now();
    let import = ctl(&cluster, &["import", csv.path().to_str().unwrap()]).await;
    println!("imported 100k CSV rows in {:?}", started.elapsed());
    assert!(import.status.success(), "{}", stderr(&import));
    let summary = stdout(&import);
    for line in [
        ": 100000 rows",
        "accepted             94000",
        "rejected              4000",
        "duplicates            2000",
        "already imported         0",
        "2000  min-score",
        "2000  invalid score",
        "2000  duplicate-rejected",
    ] {
        assert!(summary.contains(line), "missing `{line}` in:\n{summary}");
    }
    let (leads, available): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE state = 'available') FROM leads")
            .fetch_one(cluster.env.db.store().pool())
            .await
            .unwrap();
    assert_eq!((leads, available), (98_000, 94_000));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_shows_a_health_table_with_alerts_and_jobs_lists_every_job() {
    let cluster = Cluster::start().await;
    let policy = file_with(
        "apiVersion: leadpool.dev/v1\nkind: Policy\npools: [{ id: inbound, type: open, health: { warning: 1, critical: 2 } }, { id: spare, type: open }]\nrouting: { default: { pool: inbound } }\n",
        ".yaml",
    );
    let applied = ctl(&cluster, &["apply", "-f", policy.path().to_str().unwrap()]).await;
    assert!(applied.status.success(), "{}", stderr(&applied));
    let mut intake = cluster.intake().await;
    leadpool_e2e::submit(&mut intake, "a", 50).await;

    let pools = ctl(&cluster, &["pools"]).await;
    let table = stdout(&pools);
    assert!(pools.status.success(), "{}", stderr(&pools));
    let row = table
        .lines()
        .find(|l| l.starts_with("inbound"))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        ["inbound", "open", "1", "warning", "1/2"],
        "{table}"
    );
    assert!(
        table.contains("warning  pools/inbound/alerts/capacity: 1 leads waiting, warning at 1"),
        "{table}"
    );
    assert!(
        table.contains("forecast inbound (depth 1): never empty: grows 0.0/h; critical (2) in 7d"),
        "{table}"
    );

    let jobs = ctl(&cluster, &["jobs"]).await;
    let listed = stdout(&jobs);
    for job in [
        "release",
        "sla-expiry",
        "aging",
        "forced-assignment",
        "daily-refresh",
        "weekly-cleanup",
        "backpressure",
        "claim-quota",
        "pool-snapshot",
        "performance-rating",
    ] {
        assert!(
            listed.lines().any(|l| l.starts_with(job)),
            "{job} missing:\n{listed}"
        );
    }
    let every = |job: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(job))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_owned)
    };
    assert_eq!(every("daily-refresh").as_deref(), Some("24h"), "{listed}");
    assert_eq!(every("release").as_deref(), Some("30s"), "{listed}");

    // The weekly cleanup proposes merging the two quiet pools; the CLI shows and saves it.
    let scheduler = leadpool_e2e::channel(cluster.scheduler.addr).await;
    leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient::new(scheduler)
        .run_job(leadpool_testing::authed(
            &leadpool_e2e::admin(),
            leadpool_proto::v1::RunJobRequest {
                name: "jobs/weekly-cleanup".into(),
                as_of: None,
            },
        ))
        .await
        .unwrap();
    let saved = tempfile::NamedTempFile::new().unwrap();
    let cleanup = ctl(
        &cluster,
        &["cleanup", "--out", saved.path().to_str().unwrap()],
    )
    .await;
    let shown = stdout(&cleanup);
    assert!(cleanup.status.success(), "{}", stderr(&cleanup));
    assert!(
        shown.contains("merge  pools/spare into pools/inbound (0 new leads in 7 days)")
            && shown.contains("removed  pools/spare"),
        "{shown}"
    );
    let document = std::fs::read_to_string(saved.path()).unwrap();
    assert!(document.contains("drainTo: inbound"), "{document}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_works_the_escalation_queue_and_an_admin_erases_from_the_command_line() {
    use chrono::Duration;
    use leadpool_domain::Clock;

    let cluster = Cluster::start().await;
    let policy = file_with(&example("p2-segmented-pools"), ".yaml");
    ctl(&cluster, &["apply", "-f", policy.path().to_str().unwrap()]).await;
    let mut intake = cluster.intake().await;
    let lead = leadpool_e2e::submit_segmented(&mut intake, "ada", 40, "west", "webinar").await;
    cluster.env.clock.advance(Duration::hours(49));
    let as_max = ["--as", "reps/max", "--role", "manager"];
    let run = ctl(&cluster, &["leads", "--state", "escalated"]).await;
    // Nothing is escalated until the aging job runs.
    assert!(
        stdout(&run).contains("0 leads"),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    let scheduler = leadpool_e2e::channel(cluster.scheduler.addr).await;
    leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient::new(scheduler)
        .run_job(leadpool_testing::authed(
            &leadpool_e2e::admin(),
            leadpool_proto::v1::RunJobRequest {
                name: "jobs/aging".into(),
                as_of: Some(leadpool_server::convert::timestamp(cluster.env.clock.now())),
            },
        ))
        .await
        .unwrap();

    let queue = ctl(
        &cluster,
        &[&["leads", "--state", "escalated"][..], &as_max].concat(),
    )
    .await;
    assert!(
        stdout(&queue).contains(&lead.name),
        "{}{}",
        stdout(&queue),
        stderr(&queue)
    );
    let assigned = ctl(
        &cluster,
        &[
            &[
                "assign",
                &lead.name,
                "--rep",
                "nora",
                "--reason",
                "national account",
            ][..],
            &as_max,
        ]
        .concat(),
    )
    .await;
    assert!(
        stdout(&assigned).contains(&format!("assigned {} to reps/nora", lead.name)),
        "{}{}",
        stdout(&assigned),
        stderr(&assigned)
    );
    let shown = ctl(&cluster, &["lead", "get", &lead.name]).await;
    assert!(
        stdout(&shown).contains("why here  lead.assigned by reps/max"),
        "{}",
        stdout(&shown)
    );
    // A refusal is a sentence with its reason.
    let again = ctl(
        &cluster,
        &[&["assign", &lead.name, "--rep", "nora"][..], &as_max].concat(),
    )
    .await;
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("LEAD_NOT_AVAILABLE"),
        "{}",
        stderr(&again)
    );

    let away = ctl(
        &cluster,
        &[
            "availability",
            "set",
            "wendy",
            "--out-of-office",
            "--until",
            "2030-01-01T00:00:00Z",
            "--note",
            "sabbatical",
        ],
    )
    .await;
    assert!(
        stdout(&away).contains("reps/wendy: out of office (sabbatical)"),
        "{}{}",
        stdout(&away),
        stderr(&away)
    );
    let erased = ctl(&cluster, &["erase", &lead.name]).await;
    assert!(
        stdout(&erased).contains("erased the personal data"),
        "{}",
        stderr(&erased)
    );
    let searched = ctl(&cluster, &["leads", "--search", "ada"]).await;
    assert!(
        stdout(&searched).contains("0 leads"),
        "{}",
        stdout(&searched)
    );
    // The audit log shows the erasure (and the assignment before it), newest first.
    let audit = ctl(&cluster, &["audit", "--limit", "2"]).await;
    let log = stdout(&audit);
    assert!(audit.status.success(), "{}", stderr(&audit));
    let rows: Vec<&str> = log.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{log}");
    assert!(
        rows[0].contains("lead.erase") && rows[0].contains(&lead.name),
        "{log}"
    );
    let erasures = ctl(&cluster, &["audit", "--action", "lead.erase"]).await;
    assert_eq!(
        stdout(&erasures).lines().count(),
        2,
        "{}",
        stdout(&erasures)
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integrator_tails_events_and_manages_webhooks_from_the_command_line() {
    let cluster = Cluster::start().await;
    let policy = file_with(&example("p2-segmented-pools"), ".yaml");
    let applied = ctl(&cluster, &["apply", "-f", policy.path().to_str().unwrap()]).await;
    assert!(applied.status.success(), "{}", stderr(&applied));
    let mut intake = cluster.intake().await;
    let lead = leadpool_e2e::submit_segmented(&mut intake, "cli-events", 80, "west", "mql").await;

    // From the start: the policy apply, then the lead's own events, as rows and as JSON.
    let table = ctl(
        &cluster,
        &["events", "watch", "--from-start", "--limit", "3"],
    )
    .await;
    assert!(table.status.success(), "{}", stderr(&table));
    let rows = stdout(&table);
    assert!(rows.contains("policy.applied"), "{rows}");
    assert!(
        rows.contains("lead.received") && rows.contains(&lead.name),
        "{rows}"
    );
    let json = ctl(
        &cluster,
        &[
            "events",
            "watch",
            "--from-start",
            "--type",
            "lead.routed",
            "--json",
            "--limit",
            "1",
        ],
    )
    .await;
    let event: serde_json::Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(event["type"], "lead.routed");
    assert_eq!(event["subject"], lead.name);
    assert_eq!(event["data"]["to"], "available");
    assert!(event["cursor"].as_str().is_some_and(|c| !c.is_empty()));
    let unknown = ctl(&cluster, &["events", "watch", "--type", "lead.teleported"]).await;
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("types[0]"),
        "{}",
        stderr(&unknown)
    );

    let created = ctl(
        &cluster,
        &[
            "webhooks",
            "create",
            "--url",
            "https://crm.example.com/hooks",
            "--type",
            "lead.claimed",
        ],
    )
    .await;
    assert!(created.status.success(), "{}", stderr(&created));
    let out = stdout(&created);
    let name = out
        .split_whitespace()
        .find(|word| word.starts_with("webhooks/"))
        .unwrap()
        .to_owned();
    let secret = out
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .unwrap();
    let listed = ctl(&cluster, &["webhooks"]).await;
    assert!(stdout(&listed).contains(&name) && stdout(&listed).contains("lead.claimed"));
    assert!(
        !stdout(&listed).contains(secret),
        "the secret is shown once"
    );
    let plain = ctl(
        &cluster,
        &[
            "webhooks",
            "create",
            "--url",
            "http://crm.example.com/hooks",
        ],
    )
    .await;
    assert!(!plain.status.success());
    assert!(stderr(&plain).contains("https"), "{}", stderr(&plain));
    let failures = ctl(&cluster, &["webhooks", "failures", &name]).await;
    assert!(failures.status.success(), "{}", stderr(&failures));
    let replayed = ctl(&cluster, &["webhooks", "replay", &name]).await;
    assert!(
        stdout(&replayed).contains("0 dead letters"),
        "{}",
        stdout(&replayed)
    );
    let deleted = ctl(&cluster, &["webhooks", "delete", &name]).await;
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(!stdout(&ctl(&cluster, &["webhooks"]).await).contains(&name));
    cluster.stop().await;
}

/// Issue 19.5: `make up`'s demo loads into an empty deployment and again into its own, and
/// never replaces a policy an operator applied (with leads in its pools): it says why it
/// skipped and exits successfully, so the stack stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loads_into_its_own_deployment_and_never_replaces_a_policy_of_yours() {
    let demo_policy = format!(
        "{}/../examples/p2-segmented-pools.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let cluster = Cluster::start().await;
    for run in ["first", "second"] {
        let demo = ctl(&cluster, &["demo", "--policy", &demo_policy]).await;
        assert!(demo.status.success(), "{run} run: {}", stderr(&demo));
        assert!(
            stdout(&demo).contains("browses the demo-request pool"),
            "{run} run loads the demo: {}{}",
            stdout(&demo),
            stderr(&demo)
        );
    }

    let other = Cluster::start().await;
    let own = file_with(&example("p1-open-pool"), ".yaml");
    let applied = ctl(&other, &["apply", "-f", own.path().to_str().unwrap()]).await;
    assert!(applied.status.success(), "{}", stderr(&applied));
    leadpool_e2e::submit(&mut other.intake().await, "hers", 50).await;
    let demo = ctl(&other, &["demo", "--policy", &demo_policy]).await;
    assert!(demo.status.success(), "{}", stderr(&demo));
    let said = stdout(&demo);
    assert!(
        said.contains("the demo was skipped: policy `p1-open-pool` (version 1"),
        "{said}"
    );
    assert!(said.contains("make reset"), "{said}");
    let in_force = ctl(&other, &["get", "policy"]).await;
    assert!(
        stdout(&in_force).contains("# version 1 (p1-open-pool)"),
        "{}",
        stdout(&in_force)
    );
    cluster.stop().await;
    other.stop().await;
}

/// The pixels of `colour` (RGB, within a small tolerance for anti-aliasing) in a PNG.
fn pixels_of(png: &[u8], colour: [u8; 3]) -> usize {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    buffer[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| (0..3).all(|i| p[i].abs_diff(colour[i]) <= 24))
        .count()
}

/// `svg` drawn by headless Chromium (Debian's package, as the console's tests use it), alone
/// on a white page, as a PNG.
fn drawn(svg: &str, dir: &std::path::Path, name: &str) -> Vec<u8> {
    let page = dir.join(format!("{name}.html"));
    let shot = dir.join(format!("{name}.png"));
    std::fs::write(
        &page,
        format!(
            "<!doctype html><html><body style=\"margin:0;background:#fff\">{svg}</body></html>"
        ),
    )
    .unwrap();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let status = std::process::Command::new(&chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            "--window-size=700,500",
            &format!("--screenshot={}", shot.display()),
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("running {chromium} (make test installs it): {e}"));
    assert!(status.status.success(), "{}", stderr(&status));
    std::fs::read(&shot).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_compares_a_candidate_and_writes_a_report_whose_plots_chromium_draws() {
    use leadpool_domain::Clock;
    let cluster = Cluster::start().await;
    let in_force = "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: { name: in-force }\n\
                    reps: [{ id: ann, role: sdr }]\npools: [{ id: work, type: open }]\n\
                    routing: { default: { pool: work } }\n";
    leadpool_e2e::apply_policy(&mut cluster.routing().await, in_force).await;
    let (mut intake, mut claim) = (cluster.intake().await, cluster.claim().await);
    let from = cluster.env.clock.now();
    // A lead an hour for a day; Ann claims one in each of hours 1 to 10.
    for hour in 0..24 {
        leadpool_e2e::submit(&mut intake, &format!("lead-{hour}"), 50).await;
        if (1..=10).contains(&hour) {
            leadpool_e2e::claim_next(&mut claim, "ann", "work")
                .await
                .unwrap();
        }
        cluster.env.clock.advance(chrono::Duration::hours(1));
    }
    let to = cluster.env.clock.now();
    let candidate = file_with(
        &in_force.replace(
            "type: open }",
            "type: open, access: [{ name: nobody, regions: [nowhere] }] }",
        ),
        ".yaml",
    );
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let args = |json: bool| {
        let mut args = vec![
            "simulate".to_owned(),
            "-f".to_owned(),
            candidate.path().display().to_string(),
            "--from".to_owned(),
            from.to_rfc3339(),
            "--to".to_owned(),
            to.to_rfc3339(),
            "--runs".to_owned(),
            "2".to_owned(),
            "--html".to_owned(),
            report.display().to_string(),
        ];
        if json {
            args.push("--json".to_owned());
        }
        args
    };
    let table = ctl(
        &cluster,
        &args(false).iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert!(table.status.success(), "{}", stderr(&table));
    // The candidate claims nothing, whatever the policy in force claimed.
    let row = stdout(&table)
        .lines()
        .find(|line| line.starts_with("work "))
        .map(str::to_owned);
    assert!(
        row.as_deref().is_some_and(|r| r.contains(" → 0 (-")),
        "{}",
        stdout(&table)
    );

    let json = ctl(
        &cluster,
        &args(true).iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert!(json.status.success(), "{}", stderr(&json));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let depth = &json["candidate"]["pools"][0]["depthByHour"];
    // Nobody may claim: one more lead each hour (JSON's int64 are strings).
    let expected: Vec<String> = (0..24).map(|h| h.to_string()).collect();
    assert_eq!(depth, &serde_json::json!(expected));
    assert_eq!(json["validation"]["pools"][0]["claims"]["actual"], 10.0);

    let html = std::fs::read_to_string(&report).unwrap();
    let svgs: Vec<&str> = html
        .split("<svg")
        .skip(1)
        .map(|rest| &rest[..rest.find("</svg>").unwrap() + "</svg>".len()])
        .collect();
    let svg = |label: &str| {
        let found = svgs
            .iter()
            .find(|s| s.contains(&format!("aria-label=\"{label}\"")))
            .unwrap_or_else(|| panic!("no {label} plot in {html}"));
        format!("<svg{found}")
    };
    const CURRENT: [u8; 3] = [0x25, 0x63, 0xeb];
    const CANDIDATE: [u8; 3] = [0xea, 0x58, 0x0c];
    let depth = drawn(&svg("depth of pools/work"), dir.path(), "depth");
    assert!(
        pixels_of(&depth, CURRENT) > 100,
        "the policy in force's depth is drawn"
    );
    assert!(
        pixels_of(&depth, CANDIDATE) > 100,
        "the candidate's depth is drawn"
    );
    let reps = drawn(&svg("claims per rep"), dir.path(), "reps");
    assert!(
        pixels_of(&reps, CURRENT) > 100,
        "Ann's simulated claims are drawn"
    );
    let ages = drawn(&svg("age mix"), dir.path(), "ages");
    let aged: usize = [[0x16, 0xa3, 0x4a], [0xca, 0x8a, 0x04], [0xdc, 0x26, 0x26]]
        .into_iter()
        .map(|c| pixels_of(&ages, c))
        .sum();
    assert!(aged > 100, "the age mix is drawn");
    cluster.stop().await;
}
