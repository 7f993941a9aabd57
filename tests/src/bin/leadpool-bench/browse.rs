//! Browsing the hot pool (ListPoolLeads) through gRPC, as a manager pages through it: in each
//! order, pages of 500 from the first to the one 100,000 leads in. A page's cost should not grow
//! with how deep it is.

use std::time::{Duration, Instant};

use leadpool_auth::Role;
use leadpool_e2e::process::Replica;
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::{authed, token};

use crate::report::Report;

const PAGE: i32 = 500;
const PAGES: usize = 200;

pub async fn measure(claim: &Replica, report: &mut Report) {
    let mut client = ClaimServiceClient::new(claim.channel().await);
    let admin = token("users/bench", &[Role::Admin]);
    for (name, order) in [
        ("priority", v1::LeadOrder::Priority),
        ("score", v1::LeadOrder::Score),
        ("age", v1::LeadOrder::Age),
    ] {
        let mut took = Vec::with_capacity(PAGES);
        let mut page_token = String::new();
        for _ in 0..PAGES {
            let request = v1::ListPoolLeadsRequest {
                parent: "pools/hot".into(),
                order_by: order.into(),
                page_size: PAGE,
                page_token,
            };
            let sent = Instant::now();
            let page = client
                .list_pool_leads(authed(&admin, request))
                .await
                .expect("browse")
                .into_inner();
            took.push(sent.elapsed());
            assert!(!page.next_page_token.is_empty(), "the hot pool ran out");
            page_token = page.next_page_token;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let (first, last) = (took[0], took[PAGES - 1]);
        let total: Duration = took.iter().sum();
        report.line(
            &format!("ListPoolLeads by {name}, {PAGES} pages of {PAGE}"),
            format!(
                "first page {:.1} ms, page {PAGES} {:.1} ms, all {:.2} s",
                ms(first),
                ms(last),
                total.as_secs_f64()
            ),
        );
        report.set(&format!("browse_{name}_first_page_ms"), ms(first));
        report.set(&format!("browse_{name}_last_page_ms"), ms(last));
    }
}
