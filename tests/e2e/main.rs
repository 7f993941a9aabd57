//! Service-level tests: real services on real sockets, real Postgres and Redis.

// Test helpers outside #[test] functions panic on failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aging_order;
mod alerts;
mod assignment;
mod audit;
mod bad_input;
mod browser;
mod claim;
mod claim_controls;
mod claim_model;
mod events;
mod examples;
mod flow;
mod health;
mod hostile;
mod identity_provider;
mod import;
mod intake;
mod jobs;
mod lifecycle;
mod limits;
mod migration;
mod open_leads;
mod operations;
mod overflow;
mod overload;
mod policy;
mod push;
mod race;
mod redis_outage;
mod reflection;
mod routing;
mod rules;
mod scheduler;
mod self_availability;
mod simulation;
mod skills;
mod tls;
mod tracing;
mod working_time;
