//! A recording HTTP/1.1 server on a free 127.0.0.1 port, for the HTTP
//! destinations: it keeps every request (method, path with query, headers,
//! body) and answers from a script — a status, headers (such as
//! `Ping-Body-Limit`), a body, a delay before answering — so a test asks
//! for a 503, a 404 or a slow answer and reads back exactly what arrived.
//!
//! No real webhook receiver can answer 503 on demand, so this is a small
//! server of our own; the client side is the real one.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How to answer a request.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    delay: Duration,
    /// Sends the head and the first two bytes of the body, then waits this
    /// long before the rest.
    stall: Option<Duration>,
}

impl Reply {
    /// An answer with `status` and a short body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: if status < 300 {
                "OK".into()
            } else {
                format!("status {status}")
            },
            delay: Duration::ZERO,
            stall: None,
        }
    }

    /// Sends the head and two bytes of the body at once, the rest only
    /// after `wait` (a server that stalls mid-answer).
    pub fn stall_body(mut self, wait: Duration) -> Reply {
        self.stall = Some(wait);
        self
    }

    /// With header `name: value`.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// With `body`.
    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.into();
        self
    }

    /// Answered only after `delay`.
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
}

/// The server; stopped when dropped.
pub struct HttpServer {
    port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Starts it; every request is answered `200 OK` unless told otherwise.
    pub fn start() -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, stopped) = (Arc::clone(&shared), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = Arc::clone(&s);
                        std::thread::spawn(move || serve(stream, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpServer { port, shared, stop }
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The next request gets `reply` (replies queue up in order).
    pub fn then(&self, reply: Reply) -> &Self {
        self.lock().script.push_back(reply);
        self
    }

    /// Requests beyond the queued replies get `reply`.
    pub fn always(&self, reply: Reply) -> &Self {
        self.lock().default = Some(reply);
        self
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Waits up to `limit` until `n` requests arrived; all of them.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<Recorded> {
        let start = Instant::now();
        loop {
            let got = self.requests();
            if got.len() >= n || start.elapsed() > limit {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(mut stream: TcpStream, shared: &Mutex<Shared>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let reply = {
        let mut s = shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.requests.push(request);
        s.script
            .pop_front()
            .or_else(|| s.default.clone())
            .unwrap_or_else(|| Reply::status(200))
    };
    std::thread::sleep(reply.delay);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        if reply.status < 300 { "OK" } else { "Not OK" },
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let body = reply.body.as_bytes();
    if let Some(wait) = reply.stall {
        let (first, rest) = body.split_at(body.len().min(2));
        let _ = stream.write_all(first);
        let _ = stream.flush();
        std::thread::sleep(wait);
        let _ = stream.write_all(rest);
    } else {
        let _ = stream.write_all(body);
    }
    let _ = stream.flush();
}

pub(crate) fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16384];
    let end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
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
    let mut body = data[end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    body.truncate(length);
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}
