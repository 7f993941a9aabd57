//! Issue 22: migration 0016 splits a lead into its state (`leads`) and its contact data
//! (`lead_contacts`). On a database left by the release before — leads in every state, an
//! erased one, a merged duplicate, attributes — every lead reads back the same afterwards, the
//! open-lead counters still add up, and search and duplicate look-ups find the moved data.

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::{LeadId, LeadState};
use leadpool_store::LeadFilter;
use leadpool_testing::TestDatabase;
use uuid::Uuid;

/// The last migration before the split.
const BEFORE_SPLIT: i64 = 15;

/// Every state with what its row must hold (pool, owner, deadline, outcome).
const STATES: &[(&str, Option<&str>, Option<&str>)] = &[
    ("received", None, None),
    ("rejected", None, None),
    ("scheduled", Some("timed"), None),
    ("available", Some("open"), None),
    ("claimed", Some("open"), Some("ann")),
    ("assigned", Some("open"), Some("ann")),
    ("contacted", Some("open"), Some("ann")),
    ("closed", Some("open"), Some("ann")),
    ("escalated", Some("open"), None),
    ("nurture", Some("open"), None),
    ("archived", Some("open"), None),
];

async fn seed_the_old_way(db: &TestDatabase, now: DateTime<Utc>) -> Vec<Uuid> {
    let pool = db.store().pool().clone();
    sqlx::query(
        "INSERT INTO pools (id, display_name, kind, created_at, updated_at) \
         VALUES ('open', 'Open', 'open', $1, $1), ('timed', 'Timed', 'timed', $1, $1)",
    )
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO reps (id, display_name, role, created_at, updated_at) \
         VALUES ('ann', 'Ann', 'sdr', $1, $1)",
    )
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for (i, (state, pool_id, owner)) in STATES.iter().enumerate() {
        let id = Uuid::new_v4();
        let held = matches!(*state, "claimed" | "assigned");
        sqlx::query(
            "INSERT INTO leads (id, idempotency_key, request_hash, state, email, contact_name, \
               company, company_domain, country, phone, score, priority, source, region, product, \
               industry, language, attributes, pool_id, owner_rep_id, received_at, pooled_at, \
               claimed_at, contact_due_at, outcome, deal_size_minor, updated_at) \
             VALUES ($1, $2, '\\x0102', $3, $4, $5, 'Acme ' || $6, 'acme' || $6 || '.example', 'DE', \
               '+49 30 ' || $6, 40 + $6, 50 + $6, 'web', 'emea', 'platform', 'saas', 'de', \
               jsonb_build_object('campaign', 'spring-' || $6), $7, $8, $9, \
               CASE WHEN $7 IS NULL THEN NULL ELSE $9 END, \
               CASE WHEN $8 IS NULL THEN NULL ELSE $9 END, \
               CASE WHEN $10 THEN $9 + interval '2 hours' END, \
               CASE WHEN $3 = 'closed' THEN 'customer' END, \
               CASE WHEN $3 = 'closed' THEN 125000 ELSE 0 END, $9)",
        )
        .bind(id)
        .bind(format!("key-{state}"))
        .bind(*state)
        .bind(format!("{state}@example.com"))
        .bind(format!("Ada {state}"))
        .bind(i32::try_from(i).unwrap())
        .bind(*pool_id)
        .bind(*owner)
        .bind(now - Duration::hours(i64::try_from(i).unwrap()))
        .bind(held)
        .execute(&pool)
        .await
        .unwrap();
        ids.push(id);
    }
    // An erased lead, and a duplicate pointing at the available one.
    sqlx::query(
        "UPDATE leads SET email = '', contact_name = '', erased_at = $2, erased_by = 'users/dpo', \
           idempotency_key = 'erased:' || id WHERE id = $1",
    )
    .bind(ids[9])
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE leads SET duplicate_of = $2 WHERE id = $1")
        .bind(ids[1])
        .bind(ids[3])
        .execute(&pool)
        .await
        .unwrap();
    ids
}

#[tokio::test]
async fn the_split_keeps_every_lead_in_every_state_as_it_was() {
    let now = DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z")
        .unwrap()
        .to_utc();
    let db = TestDatabase::at_migration(BEFORE_SPLIT).await;
    let ids = seed_the_old_way(&db, now).await;
    let counters_before: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT rep_id, pool_id, open FROM rep_open_leads ORDER BY 1, 2")
            .fetch_all(db.store().pool())
            .await
            .unwrap();
    assert_eq!(counters_before, [("ann".into(), "open".into(), 3)]);

    db.migrate().await;
    let store = db.store();
    for (i, ((state, pool, owner), id)) in STATES.iter().zip(&ids).enumerate() {
        let lead = store.get_lead(LeadId(*id)).await.unwrap();
        assert_eq!(lead.state.as_str(), *state);
        assert_eq!(lead.pool.as_ref().map(|p| p.as_str()), *pool, "{state}");
        assert_eq!(lead.owner.as_ref().map(|r| r.as_str()), *owner, "{state}");
        assert_eq!(lead.company, format!("Acme {i}"), "{state}");
        assert_eq!(lead.company_domain, format!("acme{i}.example"));
        assert_eq!(lead.phone, format!("+49 30 {i}"));
        assert_eq!((lead.score, lead.priority), (40 + i as i32, 50 + i as i32));
        assert_eq!(
            (
                lead.country.as_str(),
                lead.region.as_str(),
                lead.product.as_str()
            ),
            ("DE", "emea", "platform")
        );
        assert_eq!(lead.language, "de");
        assert_eq!(
            lead.attributes.get("campaign").map(String::as_str),
            Some(format!("spring-{i}").as_str())
        );
        assert_eq!(lead.received_at, now - Duration::hours(i as i64));
        if *state == "nurture" {
            assert_eq!((lead.email.as_str(), lead.erased_at), ("", Some(now)));
        } else {
            assert_eq!(lead.email, format!("{state}@example.com"));
            assert_eq!(lead.contact_name, format!("Ada {state}"));
            assert_eq!(lead.erased_at, None);
        }
    }
    let claimed = store.get_lead(LeadId(ids[4])).await.unwrap();
    assert_eq!(
        claimed.contact_due_at,
        Some(now - Duration::hours(4) + Duration::hours(2))
    );
    let closed = store.get_lead(LeadId(ids[7])).await.unwrap();
    assert_eq!(closed.deal_size_minor, 125_000);
    assert_eq!(
        store.get_lead(LeadId(ids[1])).await.unwrap().duplicate_of,
        Some(LeadId(ids[3]))
    );

    // The counters did not move; search finds the moved contact data by its indexes' prefix.
    let counters_after: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT rep_id, pool_id, open FROM rep_open_leads ORDER BY 1, 2")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(counters_after, counters_before);
    let found = store
        .list_leads(
            &LeadFilter {
                search: Some("claimed@".into()),
                ..LeadFilter::default()
            },
            leadpool_store::LeadOrder::Priority,
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(found.iter().map(|l| l.id.0).collect::<Vec<_>>(), [ids[4]]);
    assert_eq!(found[0].state, LeadState::Claimed);
    // Every lead has exactly one contact row, and the state table kept none of it.
    let (leads, contacts, keys): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM lead_contacts), \
           (SELECT count(DISTINCT idempotency_key) FROM lead_contacts)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((leads, contacts, keys), (11, 11, 11));
    let moved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'leads' \
           AND column_name IN ('email', 'contact_name', 'company', 'phone', 'attributes', \
             'idempotency_key', 'request_hash', 'erased_at')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(moved, 0);
}
