//! A small HTTP receiver for the recipes: Alertmanager's webhook, and the
//! stand-in for Healthchecks, ntfy and chat webhooks (none of which can be
//! installed here). It keeps every request and answers `200 OK`, with
//! `Ping-Body-Limit` as a Healthchecks server does.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub(super) struct Request {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Listens on a free 127.0.0.1 port until stopped (or dropped).
pub(super) struct Receiver {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    /// Requests already handed out by [`Receiver::take_new`].
    seen: usize,
}

impl Receiver {
    pub fn start() -> Result<Receiver, String> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen for HTTP: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(request) = read_request(stream) {
                            if let Ok(mut all) = kept.lock() {
                                all.push(request);
                            }
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(Receiver {
            port,
            requests,
            stop,
            seen: 0,
        })
    }

    /// The requests that arrived since the last call.
    pub fn take_new(&mut self) -> Result<Vec<Request>, String> {
        let all = self
            .requests
            .lock()
            .map_err(|_| "the receiver's thread failed".to_owned())?;
        let new = all[self.seen.min(all.len())..].to_vec();
        self.seen = all.len();
        Ok(new)
    }

    /// Waits up to `limit` for `n` new requests; those that came.
    pub fn wait_new(&mut self, n: usize, limit: Duration) -> Result<Vec<Request>, String> {
        let start = std::time::Instant::now();
        let mut got = Vec::new();
        while got.len() < n && start.elapsed() < limit {
            got.extend(self.take_new()?);
            if got.len() < n {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(got)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads one HTTP request and answers 200.
fn read_request(mut stream: TcpStream) -> Option<Request> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    body.truncate(length);
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nPing-Body-Limit: 100000\r\nConnection: close\r\n\r\nOK",
    );
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
