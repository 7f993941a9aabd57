//! Compiles every `.proto` under the repository's `proto/` with a vendored `protoc`,
//! so a fresh machine builds without installing protoc.

use std::path::PathBuf;

/// The API (`leadpool.v1`) and the development sign-in (`leadpool.dev.v1`).
const PACKAGES: [&str; 2] = ["leadpool/v1", "leadpool/dev/v1"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut protos: Vec<PathBuf> = Vec::new();
    for package in PACKAGES {
        let dir = proto_root.join(package);
        println!("cargo:rerun-if-changed={}", dir.display());
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "proto") {
                println!("cargo:rerun-if-changed={}", path.display());
                protos.push(path);
            }
        }
    }

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("leadpool_descriptor.bin"))
        .compile_with_config(
            config,
            &protos,
            &[proto_root, protoc_bin_vendored::include_path()?],
        )?;
    Ok(())
}
