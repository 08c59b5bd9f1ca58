//! Lays out the release binary's executed code together (docs/architecture.md, "Code layout").
//!
//! The kernel maps a binary's code into memory in 64 KB blocks on first touch, so resident code
//! follows how the executed functions are scattered, not how much of it runs: laid out by the
//! compiler, the default service kept 6.8 MB of its 7.8 MB `.text` resident (the whole binary
//! 7.7 MB after an hour) to execute ~3 MB.
//! `layout/hot-code.ld`, a linker script written by `scripts/hot-code-profile` from a callgrind
//! trace of the default service, puts those functions into `.text.hot` ahead of `.text`. A
//! function missing from it still links and runs; it only costs a block of cold code.
//!
//! Only the `zigquant` binary of a release build for x86_64 Linux is laid out: that target links
//! with LLD (Rust >= 1.90), which reads the script's `INSERT BEFORE .text`.

use std::path::Path;

fn main() {
    let script = Path::new("layout/hot-code.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let linux_x86_64 = std::env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    if !release || !linux_x86_64 {
        return;
    }
    let Ok(absolute) = script.canonicalize() else {
        println!("cargo:warning=missing {}: the release binary's code is not laid out (more resident memory)", script.display());
        return;
    };
    println!(
        "cargo:rustc-link-arg-bin=zigquant=-Wl,-T,{}",
        absolute.display()
    );
}
