//! The intake service's SQL: storing submissions as planned (new leads with their history,
//! merges), keeping malformed import rows, and finding leads still waiting for routing.

mod erase;
mod ingest;

pub use erase::ERASED;
pub use ingest::{IngestTx, Placed, RejectedRow, Stored};
