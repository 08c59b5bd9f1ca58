//! A small HTTP/1.1 keep-alive client: writes raw requests and reads content-length or chunked
//! answers, so that the load measures the server and not a client library.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::KEY;

pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        key: bool,
        body: Option<&str>,
    ) -> Answer {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if key {
            req.push_str(&format!("Authorization: Bearer {KEY}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ));
        } else {
            req.push_str("\r\n");
        }
        self.stream
            .write_all(req.as_bytes())
            .await
            .expect("write request");
        self.read_answer().await
    }

    pub async fn fill(&mut self) {
        let mut chunk = [0u8; 32 * 1024];
        let n = self.stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "server closed the connection mid-answer");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    pub async fn read_answer(&mut self) -> Answer {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            self.fill().await;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let body = if let Some(len) = header("content-length") {
            let len: usize = len.parse().expect("content-length");
            while self.buf.len() < len {
                self.fill().await;
            }
            self.buf.drain(..len).collect()
        } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    self.fill().await;
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .expect("chunk size");
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    self.fill().await;
                }
                body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            Vec::new()
        };
        Answer { status, body }
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
