//! prometheus.md: notify's textfile served by Debian's node exporter,
//! scraped by Debian's Prometheus with the page's rules, and the alert
//! routed by Debian's Alertmanager to a webhook receiver of ours. An old
//! success fires `BackupNotSucceeded` for the task; a good run clears it.
//!
//! The page's files are used as written, but for the ports (free ones on
//! 127.0.0.1 instead of 9093, 9099 and 9100) and the intervals (1 s instead
//! of 60 s, 30 s and 5 m), so that the alert fires and clears in seconds.

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use super::receiver::Receiver;
use super::*;

const PAGE: &str = "prometheus.md";
const TASK: &str = "Offsite copy";
const ALERT: &str = "BackupNotSucceeded";
/// How long an alert may take to arrive at the webhook.
const ALERT_WAIT: Duration = Duration::from_secs(90);

pub(super) fn prometheus(ctx: &mut Ctx) {
    let mut fleet: Option<Fleet> = None;
    ctx.scenario(
        PAGE,
        "config, rules and routes pass promtool and amtool",
        |c| {
            let config = c.home_config();
            let original =
                fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
            let extra = c.block(PAGE, "config", "metrics")?;
            write_file(&config, &format!("{original}\n{}", c.to_tmp(&extra)))?;
            fs::create_dir_all(c_path(c, "/var/lib/prometheus/node-exporter"))
                .map_err(|e| format!("cannot create the textfile directory: {e}"))?;
            let receiver = Receiver::start()?;
            let ports = Ports {
                node: free_port()?,
                prometheus: free_port()?,
                alertmanager: free_port()?,
                receiver: receiver.port,
            };
            for (path, swaps) in [
                (
                    "/etc/prometheus/prometheus.yml",
                    vec![
                        (
                            "localhost:9093",
                            format!("127.0.0.1:{}", ports.alertmanager),
                        ),
                        ("localhost:9100", format!("127.0.0.1:{}", ports.node)),
                        ("60s", "1s".into()),
                    ],
                ),
                ("/etc/prometheus/notify-rules.yml", vec![]),
                (
                    "/etc/prometheus/alertmanager.yml",
                    vec![
                        ("localhost:9099", format!("127.0.0.1:{}", ports.receiver)),
                        ("30s", "1s".into()),
                        ("5m", "1s".into()),
                    ],
                ),
            ] {
                let mut text = c.to_tmp(&c.block(PAGE, "file", path)?);
                for (from, to) in swaps {
                    if !text.contains(from) {
                        return Err(format!("{path} no longer says `{from}`"));
                    }
                    text = text.replace(from, &to);
                }
                write_file(&c_path(c, path), &text)?;
            }
            let out = c.run_block(PAGE, "check-config", 0)?;
            if !out.output.contains("SUCCESS") {
                return Err(format!("the checks said:\n{}", out.output));
            }
            fleet = Some(Fleet {
                ports,
                receiver,
                daemons: Vec::new(),
            });
            Ok("promtool check config and amtool check-config: SUCCESS".into())
        },
    );
    let Some(fleet) = fleet.as_mut() else {
        return;
    };
    ctx.scenario(
        PAGE,
        "node exporter, Prometheus and Alertmanager started",
        |c| {
            fleet.start(c)?;
            Ok(format!(
                "node exporter on :{}, Prometheus on :{}, Alertmanager on :{}",
                fleet.ports.node, fleet.ports.prometheus, fleet.ports.alertmanager
            ))
        },
    );
    ctx.scenario(PAGE, "a success 30 hours old fires the alert", |c| {
        if fleet.daemons.is_empty() {
            return Err("the daemons are not running".into());
        }
        c.run_block(PAGE, "old-success", 0)?;
        let (alert, secs) = wait_alert(&mut fleet.receiver, "firing", ALERT_WAIT)?;
        let shown = fleet.shown(&alert);
        c.outputs
            .insert((PAGE.into(), "json alert-firing".into()), shown);
        Ok(format!("{ALERT} for `{TASK}` fired after {secs:.0} s"))
    });
    ctx.scenario(PAGE, "a good run clears it", |c| {
        if fleet.daemons.is_empty() {
            return Err("the daemons are not running".into());
        }
        c.run_block(PAGE, "good-run", 0)?;
        let (alert, secs) = wait_alert(&mut fleet.receiver, "resolved", ALERT_WAIT)?;
        let shown = fleet.shown(&alert);
        c.outputs
            .insert((PAGE.into(), "json alert-resolved".into()), shown);
        let textfile = c_path(c, "/var/lib/prometheus/node-exporter/notify.prom");
        let text =
            fs::read_to_string(&textfile).map_err(|e| format!("{}: {e}", textfile.display()))?;
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&format!("task=\"{TASK}\"")) || l.starts_with("notify_queue"))
            .collect();
        if lines.is_empty() {
            return Err(format!("the textfile has no `{TASK}`:\n{text}"));
        }
        c.outputs
            .insert((PAGE.into(), "text textfile".into()), lines.join("\n"));
        Ok(format!("resolved after {secs:.0} s"))
    });
    fleet.stop();
}

/// The ports the page's files are moved to.
struct Ports {
    node: u16,
    prometheus: u16,
    alertmanager: u16,
    receiver: u16,
}

/// The daemons of the page and the webhook receiver.
struct Fleet {
    ports: Ports,
    receiver: Receiver,
    /// Each daemon's name and process; killed by PID in [`Fleet::stop`]
    /// (and when dropped).
    daemons: Vec<(&'static str, Child)>,
}

impl Fleet {
    fn start(&mut self, c: &Ctx) -> Result<(), String> {
        let logs = c.tmp.join("fleet");
        fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
        let node = [
            format!("--web.listen-address=127.0.0.1:{}", self.ports.node),
            "--collector.disable-defaults".into(),
            "--collector.textfile".into(),
            format!(
                "--collector.textfile.directory={}",
                c.to_tmp("/var/lib/prometheus/node-exporter")
            ),
        ];
        let alertmanager = [
            format!(
                "--config.file={}",
                c.to_tmp("/etc/prometheus/alertmanager.yml")
            ),
            format!("--storage.path={}", logs.join("alertmanager").display()),
            format!("--web.listen-address=127.0.0.1:{}", self.ports.alertmanager),
            // No cluster: one instance, no gossip port.
            "--cluster.listen-address=".into(),
        ];
        let prometheus = [
            format!(
                "--config.file={}",
                c.to_tmp("/etc/prometheus/prometheus.yml")
            ),
            format!("--storage.tsdb.path={}", logs.join("prometheus").display()),
            format!("--web.listen-address=127.0.0.1:{}", self.ports.prometheus),
        ];
        for (name, program, args, port) in [
            (
                "node exporter",
                "prometheus-node-exporter",
                &node[..],
                self.ports.node,
            ),
            (
                "Alertmanager",
                "prometheus-alertmanager",
                &alertmanager[..],
                self.ports.alertmanager,
            ),
            (
                "Prometheus",
                "prometheus",
                &prometheus[..],
                self.ports.prometheus,
            ),
        ] {
            let log = fs::File::create(logs.join(format!("{program}.log")))
                .map_err(|e| format!("cannot create the log of {program}: {e}"))?;
            let err = log
                .try_clone()
                .map_err(|e| format!("cannot share the log of {program}: {e}"))?;
            let child = Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot start {program}: {e}"))?;
            println!("    {name} pid {} on 127.0.0.1:{port}", child.id());
            self.daemons.push((name, child));
            wait_listening(port, Duration::from_secs(30))
                .map_err(|e| format!("{name} ({program}): {e}; see {}", logs.display()))?;
        }
        Ok(())
    }

    /// The receiver's JSON, cut to the status, labels and annotations,
    /// with the page's ports in place of the test's.
    fn shown(&self, alert: &str) -> String {
        alert.replace(&format!("127.0.0.1:{}", self.ports.node), "localhost:9100")
    }

    fn stop(&mut self) {
        for (name, mut child) in self.daemons.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
            println!("    {name} (pid {}) stopped", child.id());
        }
        self.receiver.stop();
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for a notification of [`ALERT`] for [`TASK`] whose status is
/// `status`; returns it cut down (see [`trim`]) and the seconds it took.
fn wait_alert(
    receiver: &mut Receiver,
    status: &str,
    limit: Duration,
) -> Result<(String, f64), String> {
    let start = Instant::now();
    let mut others = Vec::new();
    while start.elapsed() < limit {
        for request in receiver.take_new()? {
            let trimmed = trim(&request.body)?;
            let about_it = trimmed.contains(&format!("\"alertname\": \"{ALERT}\""))
                && trimmed.contains(&format!("\"task\": \"{TASK}\""));
            if about_it && trimmed.starts_with(&format!("{{\n  \"status\": \"{status}\"")) {
                return Ok((trimmed, start.elapsed().as_secs_f64()));
            }
            others.push(trimmed);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "no `{status}` {ALERT} for `{TASK}` within {} s; the webhook got {} other post(s){}",
        limit.as_secs(),
        others.len(),
        others
            .first()
            .map(|o| format!(", the first:\n{o}"))
            .unwrap_or_default()
    ))
}

/// Alertmanager's webhook JSON cut to `status` and each alert's `status`,
/// `labels` and `annotations`, indented (by Python's json module, which the
/// recipes have at hand).
fn trim(body: &str) -> Result<String, String> {
    const SCRIPT: &str = "import json, sys\n\
d = json.load(sys.stdin)\n\
out = {'status': d['status'], 'alerts': [{k: a[k] for k in ('status', 'labels', 'annotations')} for a in d['alerts']]}\n\
print(json.dumps(out, indent=2, sort_keys=False, ensure_ascii=False))\n";
    python_json(body, SCRIPT)
}

/// Runs the Python `script` with `body` on its stdin; its stdout.
fn python_json(body: &str, script: &str) -> Result<String, String> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body.as_bytes())
            .map_err(|e| format!("python3: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "not the JSON expected ({}): {body}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

/// `body` (JSON) indented, keys sorted, by Python's json module.
pub(super) fn pretty_json(body: &str) -> Result<String, String> {
    python_json(
        body,
        "import json, sys\nprint(json.dumps(json.load(sys.stdin), indent=2, sort_keys=True, ensure_ascii=False))\n",
    )
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// Waits until something listens on 127.0.0.1:`port`.
fn wait_listening(port: u16, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "nothing listens on 127.0.0.1:{port} after {} s",
        limit.as_secs()
    ))
}
