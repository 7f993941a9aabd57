//! What leadpoolctl prints: plain sentences for errors, aligned tables for lists.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use leadpool_proto::v1;
use tonic_types::StatusExt;

pub fn line(text: &str) {
    println!("{text}");
}

/// The health table (M1–M7): depth against its thresholds, depletion, claim speed against
/// the target, age mix, sizing and how many alerts fire.
pub fn pools(pools: &[v1::PoolHealth]) -> anyhow::Result<()> {
    println!(
        "{:<22} {:<12} {:>5} {:<8} {:>9} {:>7} {:>7} {:>17} {:<9} {:<7} {:>6}",
        "POOL",
        "KIND",
        "DEPTH",
        "LEVEL",
        "WARN/CRIT",
        "DEPL24H",
        "MEDIAN",
        "AGE <12/12-24/24+",
        "",
        "SIZE",
        "ALERTS"
    );
    for pool in pools {
        let level = pool
            .level()
            .as_str_name()
            .trim_start_matches("DEPTH_LEVEL_")
            .to_lowercase();
        let depletion = pool
            .depletion
            .as_ref()
            .and_then(|d| d.rate)
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        let velocity = pool.velocity.clone().unwrap_or_default();
        let median = velocity
            .median
            .as_ref()
            .map_or_else(|| "-".to_owned(), |d| short_duration(d.seconds));
        let ages = pool.ages.unwrap_or_default();
        let sizing = pool.sizing.clone().unwrap_or_default();
        // "ok", or the word before the advice: "above", "lean", "below"; "-" with no claims.
        let size = match sizing.recommendation.split_once(':') {
            Some((word, _)) if !word.contains(' ') => word,
            _ if sizing.recommendation == "ok" => "ok",
            _ => "-",
        };
        println!(
            "{:<22} {:<12} {:>5} {:<8} {:>9} {:>7} {:>7} {:>17} {:<9} {:<7} {:>6}",
            pool.pool.trim_start_matches("pools/"),
            pool.kind,
            pool.depth,
            level,
            format!("{}/{}", pool.warning_threshold, pool.critical_threshold),
            depletion,
            median,
            format!(
                "{:.0}/{:.0}/{:.0}%",
                ages.under_12h_percent, ages.from_12h_to_24h_percent, ages.over_24h_percent
            ),
            if ages.healthy { "healthy" } else { "aging" },
            size,
            pool.alerts.len()
        );
    }
    // X6, with its inputs (the rates are in the summary).
    for pool in pools {
        if let Some(forecast) = &pool.forecast {
            println!(
                "forecast {} (depth {}): {}",
                pool.pool.trim_start_matches("pools/"),
                forecast.depth,
                forecast.summary
            );
        }
    }
    for alert in pools.iter().flat_map(|p| &p.alerts) {
        let severity = alert
            .severity()
            .as_str_name()
            .trim_start_matches("ALERT_SEVERITY_")
            .to_lowercase();
        println!("{severity:<8} {}: {}", alert.name, alert.summary);
    }
    Ok(())
}

/// M3 per pool type: the median time to claim of all its pools against the type's target.
pub fn type_velocity(types: &[v1::PoolTypeVelocity]) {
    for t in types {
        let v = t.velocity.clone().unwrap_or_default();
        let median = v
            .median
            .map_or_else(|| "-".to_owned(), |d| short_duration(d.seconds));
        let target = v.target.map_or(0, |d| d.seconds);
        println!(
            "velocity {} ({} pools, {} claims): median {median}, target {}: {}",
            t.kind,
            t.pools.len(),
            v.claims,
            short_duration(target),
            if t.meets_target { "met" } else { "missed" }
        );
    }
}

/// Audit records, newest first.
pub fn audit(records: &[v1::AuditRecord]) -> anyhow::Result<()> {
    println!(
        "{:<19} {:<16} {:<16} {:<44} {:<22} DETAIL",
        "TIME (UTC)", "ACTOR", "ACTION", "TARGET", "ORIGIN"
    );
    for r in records {
        println!(
            "{:<19} {:<16} {:<16} {:<44} {:<22} {}",
            time(r.time.as_ref()),
            r.actor,
            r.action,
            r.target,
            r.origin,
            r.detail
        );
    }
    Ok(())
}

/// The weekly cleanup's proposal: merges, pools kept, what applying it changes.
pub fn cleanup(proposal: &v1::CleanupProposal) -> anyhow::Result<()> {
    println!(
        "proposed {} from policy version {}{}",
        time(proposal.create_time.as_ref()),
        proposal.policy_version,
        if proposal.stale {
            " (stale: a newer version is in force; run jobs/weekly-cleanup again)"
        } else {
            ""
        }
    );
    for merge in &proposal.merges {
        println!(
            "merge  {} into {} ({} new leads in 7 days)",
            merge.pool, merge.into, merge.new_leads
        );
    }
    for kept in &proposal.kept {
        println!("keep   {}: {}", kept.pool, kept.reason);
    }
    for movement in &proposal.moves {
        println!(
            "move   {} {} from rule {} ({}) to rule {} ({}): {} leads in 14 days",
            movement.criterion,
            movement.value,
            movement.from_rule,
            movement.from_pool,
            movement.to_rule,
            movement.to_pool,
            movement.leads
        );
    }
    for share in &proposal.shares {
        println!(
            "share  {:<24} {:>5.1}% ({}) -> {:>5.1}% ({})",
            share.pool,
            share.percent_before,
            share.leads_before,
            share.percent_after,
            share.leads_after
        );
    }
    for change in &proposal.changes {
        let kind = change
            .kind()
            .as_str_name()
            .trim_start_matches("KIND_")
            .to_lowercase();
        println!("{kind:<8} {}", change.path);
    }
    println!(
        "review with `leadpoolctl cleanup --out proposal.yaml`, then `leadpoolctl apply -f proposal.yaml`"
    );
    Ok(())
}

/// `90` → `1m30s`, `5400` → `1h30m`.
pub fn short_duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

pub fn jobs(jobs: &[v1::Job]) -> anyhow::Result<()> {
    println!(
        "{:<20} {:>7} {:<20} {:>8} {:<20}",
        "JOB", "EVERY", "LAST RUN (UTC)", "CHANGED", "NEXT RUN (UTC)"
    );
    for job in jobs {
        println!(
            "{:<20} {:>7} {:<20} {:>8} {:<20}",
            job.name.trim_start_matches("jobs/"),
            short_duration(job.interval.as_ref().map_or(0, |d| d.seconds)),
            time(job.last_run_time.as_ref()),
            job.last_run_affected,
            time(job.next_run_time.as_ref())
        );
    }
    Ok(())
}

pub fn applied(response: &v1::ApplyPolicyResponse, dry_run: bool) {
    let version = response.policy.as_ref().map_or(0, |p| p.version);
    if response.changes.is_empty() {
        println!("policy unchanged (version {version})");
        return;
    }
    for change in &response.changes {
        let sign = match change.kind() {
            v1::policy_change::Kind::Added => "+",
            v1::policy_change::Kind::Removed => "-",
            _ => "~",
        };
        println!("  {sign} {}", change.path);
    }
    for drain in &response.drains {
        println!(
            "  {} leads {} from retired {} to {}",
            drain.leads,
            if dry_run { "would move" } else { "moved" },
            drain.pool,
            drain.drain_to
        );
    }
    if dry_run {
        println!(
            "dry run: {} change(s) would be applied on top of version {version}",
            response.changes.len()
        );
    } else {
        println!("applied as version {version}");
    }
}

pub fn versions(versions: &[v1::PolicyVersion]) {
    println!(
        "{:>7}  {:<20}  {:<24}  NAME",
        "VERSION", "APPLIED (UTC)", "BY"
    );
    for v in versions {
        println!(
            "{:>7}  {:<20}  {:<24}  {}",
            v.version,
            time(v.apply_time.as_ref()),
            v.applied_by,
            v.display_name
        );
    }
}

pub fn route(explained: &v1::ExplainRouteResponse) {
    for rule in &explained.rules {
        let mark = if rule.matched { "MATCH" } else { "no   " };
        println!("{mark} {}", rule.rule);
        for reason in &rule.reasons {
            println!("        {reason}");
        }
    }
    let to = if !explained.next_assignee.is_empty() {
        format!(
            "assigned ({}) to {}",
            explained.assign_strategy, explained.next_assignee
        )
    } else if !explained.pool.is_empty() {
        explained.pool.clone()
    } else {
        "nowhere: the lead waits".to_owned()
    };
    let by = if explained.matched_rule.is_empty() {
        "the default route".to_owned()
    } else {
        format!("rule `{}`", explained.matched_rule)
    };
    println!(
        "=> {to}, by {by} (policy version {})",
        explained.policy_version
    );
    println!("   {}", explained.detail);
    for skipped in &explained.skipped_assignees {
        println!("   skipped: {skipped}");
    }
}

pub fn access(explained: &v1::ExplainAccessResponse) {
    let verdict = if explained.allowed {
        "ALLOWED"
    } else {
        "DENIED"
    };
    println!("{verdict} (policy version {})", explained.policy_version);
    if !explained.window.is_empty() {
        println!("  when: {}", explained.window);
    }
    for reason in &explained.reasons {
        println!("  - {reason}");
    }
}

pub fn rep_status(status: &v1::GetRepStatusResponse) {
    println!(
        "{} as of {} (policy version {})",
        status.rep,
        time(status.as_of_time.as_ref()),
        status.policy_version
    );
    println!(
        "{:<44} {:>5} {:>5} {:>9}  FREES UP",
        "LIMIT", "USED", "MAX", "REMAINING"
    );
    for limit in &status.limits {
        let frees = limit
            .reset_time
            .as_ref()
            .map_or_else(|| "-".to_owned(), |at| time(Some(at)));
        println!(
            "{:<44} {:>5} {:>5} {:>9}  {frees}",
            limit.description, limit.used, limit.max, limit.remaining
        );
    }
    if let Some(cooldown) = &status.cooldown {
        let state = cooldown.end_time.as_ref().map_or_else(
            || {
                format!(
                    "{} of {} claims in this run",
                    cooldown.claims_in_run, cooldown.after_claims
                )
            },
            |end| format!("cooling down until {}", time(Some(end))),
        );
        println!("cooldown: {state}");
    }
    if let Some(acceptance) = &status.acceptance {
        println!(
            "acceptance: {} of {} assignments accepted (minimum {}%){}",
            acceptance.accepted,
            acceptance.decided,
            acceptance.minimum_percent,
            if acceptance.below_minimum {
                format!(" - BELOW, consequence: {}", acceptance.consequence)
            } else {
                String::new()
            }
        );
    }
    for pool in &status.pools {
        let verdict = if pool.claimable {
            "can claim"
        } else {
            "cannot claim"
        };
        println!("{}: {verdict}", pool.pool);
        for reason in &pool.reasons {
            println!("  - {reason}");
        }
        if let Some(ratio) = &pool.ratio {
            println!(
                "  ratio: {} of {} claims from {} made",
                ratio.made,
                ratio.required,
                ratio.from_pools.join(" or ")
            );
        }
        if let Some(rotation) = &pool.rotation {
            println!(
                "  rotation: {} until {}; your next window {}",
                rotation.holder,
                time(rotation.window_end_time.as_ref()),
                rotation.next_window_start_time.as_ref().map_or_else(
                    || "never (not in the rotation)".to_owned(),
                    |at| time(Some(at))
                )
            );
        }
    }
    println!("open leads: {}", status.open_leads.len());
    for lead in &status.open_leads {
        println!(
            "  {} {} in {}, due {}{}",
            lead.lead,
            lead.state()
                .as_str_name()
                .trim_start_matches("LEAD_STATE_")
                .to_lowercase(),
            lead.pool,
            time(lead.contact_due_time.as_ref()),
            if lead.due_soon { "  DUE SOON" } else { "" }
        );
    }
}

/// `claimed`, `escalated`: a lead state as people say it.
pub fn state_name(state: v1::LeadState) -> String {
    state
        .as_str_name()
        .trim_start_matches("LEAD_STATE_")
        .to_lowercase()
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

pub fn leads(leads: &[v1::Lead]) {
    println!(
        "{:<43} {:<10} {:<18} {:<14} {:>5} {:>8} {:<19} CONTACT",
        "LEAD", "STATE", "POOL", "OWNER", "SCORE", "PRIORITY", "RECEIVED (UTC)"
    );
    for lead in leads {
        let contact = lead.contact.clone().unwrap_or_default();
        println!(
            "{:<43} {:<10} {:<18} {:<14} {:>5} {:>8} {:<19} {}",
            lead.name,
            state_name(lead.state()),
            or_dash(lead.pool.trim_start_matches("pools/")),
            or_dash(lead.owner.trim_start_matches("reps/")),
            lead.score,
            lead.priority,
            time(lead.receive_time.as_ref()),
            or_dash(
                [contact.email, contact.name, contact.company]
                    .join(" ")
                    .trim()
            )
        );
    }
    println!("{} leads", leads.len());
}

pub fn lead(found: &v1::GetLeadResponse) {
    let lead = found.lead.clone().unwrap_or_default();
    let contact = lead.contact.clone().unwrap_or_default();
    println!("{}  {}", lead.name, state_name(lead.state()));
    println!("  pool      {}", or_dash(&lead.pool));
    println!("  owner     {}", or_dash(&lead.owner));
    println!(
        "  contact   {}",
        or_dash(
            [contact.name, contact.email, contact.company, contact.phone]
                .join(" ")
                .trim()
        )
    );
    println!("  score     {} (priority {})", lead.score, lead.priority);
    println!("  received  {}", time(lead.receive_time.as_ref()));
    if lead.contact_due_time.is_some() {
        println!("  due       {}", time(lead.contact_due_time.as_ref()));
    }
    if lead.outcome() != v1::Outcome::Unspecified {
        println!(
            "  outcome   {} (deal size {})",
            lead.outcome()
                .as_str_name()
                .trim_start_matches("OUTCOME_")
                .to_lowercase(),
            lead.deal_size_minor
        );
    }
    if lead.erase_time.is_some() {
        println!("  erased    {}", time(lead.erase_time.as_ref()));
    }
    if let Some(change) = &found.last_change {
        println!(
            "  why here  {} by {} at {}{}",
            change.kind,
            change.actor,
            time(change.occur_time.as_ref()),
            if change.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", change.reason)
            }
        );
    }
}

pub fn deadline(lead: &v1::Lead) {
    if lead.contact_due_time.is_some() {
        println!("contact it by {}", time(lead.contact_due_time.as_ref()));
    }
}

pub fn reassigned(report: &v1::ReassignLeadsResponse, dry_run: bool) {
    let verb = if dry_run { "would move" } else { "moved" };
    for moved in &report.moved {
        println!("{verb} {} to {}", moved.lead, or_dash(&moved.to));
    }
    for refused in &report.refused {
        println!(
            "refused {} ({}): {}",
            refused.lead, refused.reason, refused.message
        );
    }
    println!(
        "{} {verb}, {} refused{}",
        report.moved.len(),
        report.refused.len(),
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
}

pub fn availability(rep: &v1::Rep) {
    let availability = rep.availability.clone().unwrap_or_default();
    let status = availability
        .status()
        .as_str_name()
        .trim_start_matches("AVAILABILITY_STATUS_")
        .to_lowercase()
        .replace('_', " ");
    let until = if availability.until_time.is_some() {
        format!(" until {}", time(availability.until_time.as_ref()))
    } else {
        String::new()
    };
    let note = if availability.note.is_empty() {
        String::new()
    } else {
        format!(" ({})", availability.note)
    };
    let source = if availability.source.is_empty() {
        String::new()
    } else {
        format!(" [from the {}]", availability.source)
    };
    println!("{}: {status}{note}{until}{source}", rep.name);
    if let Some(setting) = &availability.setting {
        println!(
            "  set by {} at {}: away {} – {}",
            setting.set_by,
            time(setting.set_time.as_ref()),
            time(setting.from_time.as_ref()),
            time(setting.until_time.as_ref())
        );
    }
}

pub fn claimed(lead: &v1::Lead) {
    let email = lead.contact.as_ref().map_or("", |c| c.email.as_str());
    println!(
        "claimed {} ({email}, score {}) from {}",
        lead.name, lead.score, lead.pool
    );
    println!("contact it by {}", time(lead.contact_due_time.as_ref()));
}

pub fn import_summary(import_id: &str, summary: &v1::ImportLeadsResponse) {
    println!("import {import_id}: {} rows", summary.rows);
    println!("  accepted          {:>8}", summary.accepted);
    println!("  rejected          {:>8}", summary.rejected);
    println!("  duplicates        {:>8}", summary.duplicates);
    println!("  already imported  {:>8}", summary.already_imported);
    let mut reasons: Vec<(&String, &i64)> = summary.reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1));
    for (reason, count) in reasons {
        println!("    {count:>8}  {reason}");
    }
    for issue in summary.issues.iter().take(20) {
        println!("  row {:>6}: {}", issue.row_number, issue.reason);
    }
    if summary.issues.len() > 20 {
        println!("  … and more; counts above cover every row");
    }
}

/// Prints an error as sentences a person can act on, including the gRPC error details.
pub fn error(err: &anyhow::Error) {
    if let Some(status) = err.downcast_ref::<tonic::Status>() {
        eprintln!("error: {} ({:?})", status.message(), status.code());
        let details = status.get_error_details();
        if let Some(bad) = details.bad_request() {
            for v in &bad.field_violations {
                eprintln!("  - {}: {}", v.field, v.description);
            }
        }
        if let Some(pre) = details.precondition_failure() {
            for v in &pre.violations {
                eprintln!("  - {} ({}): {}", v.subject, v.r#type, v.description);
            }
        }
        if let Some(quota) = details.quota_failure() {
            for v in &quota.violations {
                eprintln!("  - {}: {}", v.subject, v.description);
            }
        }
        if let Some(delay) = details.retry_info().and_then(|r| r.retry_delay) {
            eprintln!("  try again in {}s", delay.as_secs());
        }
    } else {
        eprintln!("error: {err:#}");
    }
}

pub fn event_header() {
    println!(
        "{:<19} {:<26} {:<44} DETAIL",
        "TIME (UTC)", "TYPE", "SUBJECT"
    );
}

/// One event as a row: lead events say who moved it where and why; others their summary.
pub fn event(event: &v1::Event) {
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
    let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
    let detail = if event.subject.starts_with("leads/") {
        let from = Some(text("from")).filter(|f| !f.is_empty());
        let from = from.as_deref().unwrap_or("(new)");
        let mut detail = format!("{from} → {} by {}", text("to"), text("actor"));
        for key in ["rep", "pool", "reason"] {
            if !text(key).is_empty() {
                detail.push_str(&format!("  {key}: {}", text(key)));
            }
        }
        detail
    } else if !text("summary").is_empty() {
        text("summary")
    } else {
        event.data.clone()
    };
    println!(
        "{:<19} {:<26} {:<44} {detail}",
        time(event.time.as_ref()),
        event.r#type,
        event.subject
    );
}

/// One event as a CloudEvents JSON line, with the cursor to resume after it.
pub fn event_json(event: &v1::Event) {
    let data: serde_json::Value =
        serde_json::from_str(&event.data).unwrap_or(serde_json::Value::Null);
    let line = serde_json::json!({
        "specversion": event.spec_version,
        "id": event.id,
        "source": event.source,
        "type": event.r#type,
        "subject": event.subject,
        "time": time_rfc3339(event.time.as_ref()),
        "datacontenttype": event.data_content_type,
        "data": data,
        "cursor": event.cursor,
    });
    println!("{line}");
}

fn time_rfc3339(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

pub fn subscriptions(subscriptions: &[v1::WebhookSubscription]) {
    println!(
        "{:<46} {:<40} {:<24} {:<14} CREATED (UTC)",
        "NAME", "URL", "TYPES", "POOL"
    );
    for s in subscriptions {
        let types = if s.types.is_empty() {
            "all".to_owned()
        } else {
            s.types.join(",")
        };
        let pool = if s.pool.is_empty() { "any" } else { &s.pool };
        println!(
            "{:<46} {:<40} {:<24} {:<14} {}",
            s.name,
            s.url,
            types,
            pool,
            time(s.create_time.as_ref())
        );
    }
}

pub fn deliveries(deliveries: &[v1::WebhookDelivery]) {
    println!(
        "{:<10} {:>8} {:<19} {:<46} {:<26} {:<44} LAST ERROR",
        "STATE", "ATTEMPTS", "NEXT/DONE (UTC)", "SUBSCRIPTION", "EVENT TYPE", "SUBJECT"
    );
    for d in deliveries {
        let when = if d.state == "delivered" {
            d.deliver_time.as_ref()
        } else {
            d.next_attempt_time.as_ref()
        };
        println!(
            "{:<10} {:>8} {:<19} {:<46} {:<26} {:<44} {}",
            d.state,
            d.attempts,
            time(when),
            d.subscription,
            d.event_type,
            d.event_subject,
            d.last_error
        );
    }
}
