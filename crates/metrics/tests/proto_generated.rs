//! The checked-in prost types (`src/proto/io.prometheus.client.rs`) are exactly what prost-build
//! generates from the vendored `proto/io/prometheus/client/metrics.proto`: this test runs the
//! generator (protox parses the .proto in pure Rust, so no `protoc` is needed) and compares.
//! `ZQ_REGENERATE_PROTO=1 cargo test -p zigquant-metrics --test proto_generated` rewrites the
//! file after the .proto changed.

use std::path::PathBuf;

#[test]
fn checked_in_types_match_the_generator() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let include = root.join("proto");
    let fds = protox::compile(["io/prometheus/client/metrics.proto"], [&include])
        .expect("the vendored metrics.proto parses");
    let out = std::env::temp_dir().join(format!("zq-proto-gen-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("temp dir");
    prost_build::Config::new()
        .out_dir(&out)
        .compile_fds(fds)
        .expect("prost-build generates");
    let generated =
        std::fs::read_to_string(out.join("io.prometheus.client.rs")).expect("generated file");
    let _ = std::fs::remove_dir_all(&out);
    let checked_in_path = root.join("src/proto/io.prometheus.client.rs");
    if std::env::var_os("ZQ_REGENERATE_PROTO").is_some() {
        std::fs::write(&checked_in_path, &generated).expect("rewrite the checked-in types");
    }
    let checked_in = std::fs::read_to_string(&checked_in_path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "src/proto/io.prometheus.client.rs is not what prost-build generates from \
         proto/io/prometheus/client/metrics.proto; regenerate it with \
         ZQ_REGENERATE_PROTO=1 cargo test -p zigquant-metrics --test proto_generated"
    );
}
