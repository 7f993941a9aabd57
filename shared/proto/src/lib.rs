//! The Leadpool gRPC API, generated from `proto/leadpool/v1` (and `proto/leadpool/dev/v1`).

/// `leadpool.v1`: messages and service stubs.
pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("leadpool.v1");
}

/// `leadpool.dev.v1`: the development sign-in, served only with the development secret.
pub mod dev {
    pub mod v1 {
        #![allow(clippy::all, clippy::pedantic, missing_docs)]
        tonic::include_proto!("leadpool.dev.v1");
    }
}

/// The encoded descriptor set of every Leadpool proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("leadpool_descriptor");

pub use prost_types::{Duration, Timestamp};
