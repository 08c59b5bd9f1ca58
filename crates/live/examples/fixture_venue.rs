//! A fixture venue as a process, for the end-to-end tests (tests/e2e/test_live_e2e.py): the
//! same fixture the feed tests use (crates/live/tests/common), streaming one closed 1-minute
//! candle of a synthetic timeline every `--every-ms` on every connection. It prints
//! `{"ws_url": .., "rest_url": ..}` on one line once it listens; killing it is the outage,
//! starting it again on the same ports is the recovery.
//!
//! `cargo run --release -p zigquant-live --example fixture_venue -- --venue binance
//!  [--ws-port N] [--rest-port N] [--every-ms 250] [--published 100]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use common::{keep_off_minute_boundary, Fixture, Step};
use zigquant_live::Venue;

struct Args {
    venue: Venue,
    ws_port: u16,
    rest_port: u16,
    every_ms: u64,
    published: i64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        venue: Venue::Binance,
        ws_port: 0,
        rest_port: 0,
        every_ms: 250,
        published: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match flag.as_str() {
            "--venue" => {
                args.venue = Venue::from_name(&value)
                    .ok_or_else(|| format!("--venue: {value:?} is not hyperliquid or binance"))?
            }
            "--ws-port" => args.ws_port = number(&value)? as u16,
            "--rest-port" => args.rest_port = number(&value)? as u16,
            "--every-ms" => args.every_ms = number(&value)?,
            "--published" => args.published = number(&value)? as i64,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    keep_off_minute_boundary().await;
    let bind = |port: u16| tokio::net::TcpListener::bind(("127.0.0.1", port));
    let (ws, rest) = match (bind(args.ws_port).await, bind(args.rest_port).await) {
        (Ok(ws), Ok(rest)) => (ws, rest),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let fixture = Fixture::start_on(args.venue, args.published, Vec::new(), None, ws, rest).await;
    fixture.set_default_script(vec![Step::Flow {
        every: Duration::from_millis(args.every_ms),
    }]);
    println!(
        "{}",
        serde_json::json!({"ws_url": fixture.ws_url, "rest_url": fixture.rest_url})
    );
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
