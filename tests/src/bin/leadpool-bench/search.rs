//! Lead search (ListLeads) over the million leads of the claims database, through gRPC: an
//! admin's prefix searches by priority, 50 a page, 15 runs each.

use std::time::Instant;

use leadpool_auth::Role;
use leadpool_e2e::process::Replica;
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::{TestDatabase, authed, token};

use crate::report::{Latencies, Report};

const TERMS: [&str; 7] = [
    "user123456",
    "user99",
    "co4242",
    "company 1999",
    "grace hopper",
    "linus",
    "ad",
];

pub async fn measure(db: &TestDatabase, claim: &Replica, report: &mut Report) {
    let mut client = ClaimServiceClient::new(claim.channel().await);
    let admin = token("users/bench", &[Role::Admin]);
    for term in TERMS {
        let matching: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM lead_contacts WHERE lower(email) LIKE $1 || '%' \
             OR lower(contact_name) LIKE $1 || '%' OR lower(company) LIKE $1 || '%' \
             OR company_domain LIKE $1 || '%'",
        )
        .bind(term)
        .fetch_one(db.store().pool())
        .await
        .unwrap();
        let mut latencies = Latencies::default();
        for _ in 0..15 {
            let sent = Instant::now();
            let request = v1::ListLeadsRequest {
                search: term.to_owned(),
                page_size: 50,
                ..Default::default()
            };
            client
                .list_leads(authed(&admin, request))
                .await
                .expect("search");
            latencies.extend(vec![sent.elapsed()]);
        }
        report.line(
            &format!("ListLeads search `{term}` ({matching} match)"),
            format!(
                "p50 {:.1} ms, max {:.1} ms",
                latencies.ms(0.5),
                latencies.ms(1.0)
            ),
        );
    }
}
