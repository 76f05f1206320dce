//! Prometheus's own programs around the metrics textfile: `promtool check
//! metrics` for its format, and a real `prometheus-node-exporter` serving
//! it from its textfile collector.
//!
//! Both come from Debian's packages (`prometheus`,
//! `prometheus-node-exporter`), which `cargo xtask ci` installs; a test
//! using them is `#[ignore]`d for a plain `cargo test` and panics with the
//! reason when run without them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `promtool check metrics < path`: `Err` with what promtool said when the
/// file breaks the format or its lint rules.
pub fn promtool_check(path: &Path) -> Result<(), String> {
    crate::require_program("promtool");
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(file)
        .output()
        .map_err(|e| format!("promtool: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A `prometheus-node-exporter` with only its textfile collector, on a
/// free 127.0.0.1 port; killed by its PID when dropped.
pub struct NodeExporter {
    child: Child,
    addr: SocketAddr,
}

impl NodeExporter {
    /// Starts the exporter on the `*.prom` files of `dir` and waits until
    /// it answers (panics with its output when it does not).
    pub fn start(dir: &Path) -> NodeExporter {
        crate::require_program("prometheus-node-exporter");
        let mut last = String::new();
        // A free port can be taken between the probe and the start: try
        // again on another.
        for _ in 0..5 {
            let port = free_port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let mut child = Command::new("prometheus-node-exporter")
                .arg(format!("--web.listen-address={addr}"))
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!("--collector.textfile.directory={}", dir.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start prometheus-node-exporter");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if get(addr, "/metrics").is_ok() {
                    return NodeExporter { child, addr };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            last.clear();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut last);
            }
        }
        panic!("prometheus-node-exporter did not start: {last}");
    }

    /// What it serves at /metrics now.
    pub fn scrape(&self) -> String {
        get(self.addr, "/metrics").expect("GET /metrics from node_exporter")
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port no one listens on at this moment.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A plain HTTP/1.0 GET: the body of a 200 answer.
fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {answer:?}"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    Ok(body.to_owned())
}
