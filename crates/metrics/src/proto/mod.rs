//! The Prometheus protobuf exposition schema (`io.prometheus.client`), as prost types generated
//! from the vendored official `proto/io/prometheus/client/metrics.proto` (Apache-2.0, Prometheus
//! Team; see that file's header).
//!
//! The exposition itself is written by [`crate::encoding::protobuf`] straight from the metric
//! cells, without building these messages (that is what makes it fast); these types are the
//! schema of record: the tests decode every protobuf scrape with them and compare it with the
//! registry's state, and clients (tests, tools) can decode a scrape with
//! [`prost::Message::decode_length_delimited`].
//!
//! `io.prometheus.client.rs` is generated, not written: `tests/proto_generated.rs` regenerates it
//! with prost-build (protox parses the .proto, so no `protoc` is needed) and fails when it differs.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

include!("io.prometheus.client.rs");
