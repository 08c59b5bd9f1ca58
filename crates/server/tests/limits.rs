//! Per-address limits over real sockets: a client past its request rate gets 429 with
//! `Retry-After` while another address is served; one past its connection limit gets 503 and
//! the slot comes back when a connection closes. Clients bind their own loopback addresses
//! (127.0.0.x) to be different addresses.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use zigquant_metrics::labels::{Limit, LimitLabels};
use zigquant_server::config::Config;
use zigquant_server::connection::{serve_guarded, Guard};
use zigquant_server::serve::build;

async fn server(
    configure: impl FnOnce(&mut Config),
) -> (SocketAddr, Arc<zigquant_metrics::Catalogue>) {
    static N: AtomicU32 = AtomicU32::new(0);
    let mut config = Config::embedded_default().unwrap();
    config.server.data_dir = std::env::temp_dir().join(format!(
        "zq-limits-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&config.server.data_dir);
    config.api.keys = vec!["limits-test-key-0123456789".into()];
    configure(&mut config);
    let service = tokio::task::block_in_place(|| build(&config)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = service.state.clone();
    let guard = Guard::new(state.limits.clone(), None, state.catalogue.clone());
    tokio::spawn(async move {
        // The service (and its data-dir lock) lives as long as the server task.
        let service = service;
        serve_guarded(
            listener,
            service.app,
            std::future::pending(),
            Some(Arc::new(guard)),
        )
        .await
    });
    (addr, state.catalogue)
}

async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends one keep-alive GET and returns the response head.
async fn get(stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    read_response(stream).await
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap();
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if n == 0 {
            return text;
        }
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_past_its_request_rate_gets_429_and_others_are_served() {
    let (addr, catalogue) = server(|c| {
        c.limits.requests_per_second = 1;
        c.limits.request_burst = 5;
    })
    .await;
    let mut flood = connect_from("127.0.0.3", addr).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let response = get(&mut flood, "/health").await;
        statuses.push(response[9..12].to_string());
        if response.starts_with("HTTP/1.1 429") {
            assert!(
                response.to_ascii_lowercase().contains("retry-after: 1"),
                "{response}"
            );
            assert!(response.contains("\"too_many_requests\""), "{response}");
        }
    }
    // 5 of burst; a sixth only if the loop took over a second (1 token a second).
    let ok = statuses.iter().filter(|s| *s == "200").count();
    let refused = statuses.iter().filter(|s| *s == "429").count();
    assert!((5..=6).contains(&ok) && ok + refused == 10, "{statuses:?}");
    let mut other = connect_from("127.0.0.4", addr).await;
    assert!(get(&mut other, "/health").await.starts_with("HTTP/1.1 200"));
    assert_eq!(
        catalogue
            .api_limited_total
            .get(&LimitLabels {
                limit: Limit::RequestRate,
            })
            .get(),
        5
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_past_its_connection_limit_gets_503_until_one_closes() {
    let (addr, catalogue) = server(|c| c.limits.max_connections_per_address = 2).await;
    let mut first = connect_from("127.0.0.5", addr).await;
    let mut second = connect_from("127.0.0.5", addr).await;
    assert!(get(&mut first, "/health").await.starts_with("HTTP/1.1 200"));
    assert!(get(&mut second, "/health")
        .await
        .starts_with("HTTP/1.1 200"));
    let mut third = connect_from("127.0.0.5", addr).await;
    let refused = read_response(&mut third).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("too_many_connections"), "{refused}");
    assert_eq!(
        catalogue
            .api_limited_total
            .get(&LimitLabels {
                limit: Limit::Connections,
            })
            .get(),
        1
    );
    // Another address is not affected.
    let mut other = connect_from("127.0.0.6", addr).await;
    assert!(get(&mut other, "/health").await.starts_with("HTTP/1.1 200"));
    drop(first);
    let mut again = None;
    for _ in 0..100 {
        let mut s = connect_from("127.0.0.5", addr).await;
        let response = get(&mut s, "/health").await;
        if response.starts_with("HTTP/1.1 200") {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        again.is_some(),
        "the closed connection's slot never came back"
    );
}
