//! The HTTP destinations through the real binary, against the test kit's
//! recording HTTP server: Healthchecks start and end pings with one rid,
//! the webhook's JSON and ntfy's headers, 503 → queued → flushed once,
//! 404 → reported and not queued, each destination's own level, a slow
//! server bounded by the timeout, and secrets in headers never shown.

use std::time::{Duration, Instant};

use notify_testkit::http::{HttpServer, Reply};

use crate::support::TestEnv;

const CANARY: &str = "canary-HdR-s3cret-0815";

fn config(env: &TestEnv, server: &HttpServer, extra: &str) {
    env.config(&format!(
        "[email]\nlevel = \"never\"\n{extra}",
        extra = extra.replace("SERVER", &server.url(""))
    ));
}

fn queued(env: &TestEnv) -> usize {
    std::fs::read_dir(env.path().join("data/queue"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

/// Everything notify wrote or printed, to look for a secret in.
fn everything(env: &TestEnv, outputs: &[&std::process::Output]) -> String {
    let mut all = String::new();
    for out in outputs {
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    let mut stack = vec![env.path().join("data")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                all.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    all
}

/// The done-when case: `notify run` pings `/start` when the job starts and
/// `/<exit code>` at the end with the log tail, both with one rid; a good
/// run pings success (level `always` by default, also when the task's
/// level is `never`).
#[test]
fn run_pings_start_then_the_end_with_one_rid_and_the_log() {
    let server = HttpServer::start();
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[healthchecks]\nurl = \"SERVER/ping/5f0e-uuid\"\n",
    );
    let out = env.notify(&[
        "run",
        "--task",
        "db",
        "--",
        "sh",
        "-c",
        "echo dumping; echo 'pg_dump: error: disk full' >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", env.describe(&out));
    let got = server.requests();
    assert_eq!(got.len(), 2, "{got:?}");
    let rid = got[0]
        .path
        .strip_prefix("/ping/5f0e-uuid/start?rid=")
        .unwrap_or_else(|| panic!("{}", got[0].path));
    assert_eq!(rid.len(), 36, "{rid}");
    assert_eq!(got[1].path, format!("/ping/5f0e-uuid/3?rid={rid}"));
    assert_eq!(got[1].method, "POST");
    assert!(
        got[1].text().contains("pg_dump: error: disk full"),
        "{}",
        got[1].text()
    );
    assert!(got[1].text().contains("dumping"), "{}", got[1].text());

    let out = env.notify(&["run", "--task", "db", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got = server.requests();
    assert_eq!(got.len(), 4);
    let rid2 = got[2].path.rsplit("rid=").next().unwrap();
    assert_ne!(rid2, rid);
    assert_eq!(got[3].path, format!("/ping/5f0e-uuid?rid={rid2}"));
    // `send` pings the end only.
    let out = env.notify(&["send", "--task", "db", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got = server.requests();
    assert_eq!(got.len(), 5);
    assert_eq!(got[4].path, "/ping/5f0e-uuid/fail");
}

/// Checks by slug with the project's ping key (from the environment), one
/// config for every task, created on their first ping.
#[test]
fn checks_by_slug_with_a_ping_key_from_the_environment() {
    let server = HttpServer::start();
    server.always(Reply::status(201).body("created"));
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[healthchecks]\nserver = \"SERVER/ping\"\nping_key = \"env:HC_PING_KEY\"\n",
    );
    let out = env
        .cmd()
        .env("HC_PING_KEY", CANARY)
        .args([
            "send",
            "--task",
            "Nightly DB dump",
            "--status",
            "success",
            "-v",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got = server.requests();
    assert_eq!(
        got[0].path,
        format!("/ping/{CANARY}/nightly-db-dump?create=1")
    );
    assert!(!everything(&env, &[&out]).contains(CANARY));
}

/// The webhook's JSON (the rendered subject and body, the result) and
/// ntfy's title, priority and tags, with the short body and first errors.
#[test]
fn webhook_json_and_ntfy_headers() {
    let server = HttpServer::start();
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[webhook]\nurl = \"SERVER/hook\"\nlevel = \"always\"\n\
         [ntfy]\nurl = \"SERVER/backups\"\nlevel = \"errors\"\ntoken = \"env:NTFY_TOKEN\"\n",
    );
    let out = env
        .cmd()
        .env("NTFY_TOKEN", CANARY)
        .args([
            "send",
            "--task",
            "Offsite",
            "--status",
            "failure",
            "--exit-code",
            "2",
            "--set",
            "Errors=rclone: 403 Forbidden",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let got = server.requests();
    assert_eq!(got.len(), 2, "{got:?}");
    let hook = got.iter().find(|r| r.path == "/hook").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["task"], "Offsite");
    assert_eq!(json["outcome"], "failure");
    assert!(
        json["subject"]
            .as_str()
            .unwrap()
            .ends_with("Offsite: Failed"),
        "{json}"
    );
    assert_eq!(json["text"], json["subject"]);
    assert!(
        json["body"].as_str().unwrap().contains("Exit code:      2"),
        "{json}"
    );
    assert_eq!(json["result"]["exit_code"], 2);
    assert!(json["host"].is_string());
    let push = got.iter().find(|r| r.path == "/backups").unwrap();
    assert!(push.header("title").unwrap().ends_with("Offsite: Failed"));
    assert_eq!(push.header("priority"), Some("4"));
    assert_eq!(push.header("tags"), Some("heavy_multiplication_x"));
    assert_eq!(
        push.header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    assert!(!everything(&env, &[&out]).contains(CANARY));
}

/// The done-when case: a webhook answering 503 makes `send` exit 75 with
/// the notification queued; the next `queue flush` delivers it once.
#[test]
fn a_503_is_queued_and_the_next_flush_delivers_it_once() {
    let server = HttpServer::start();
    server.then(Reply::status(503).body("try later"));
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[webhook]\nurl = \"SERVER/hook\"\nlevel = \"always\"\n",
    );
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("answered 503"), "{err}");
    assert!(err.contains("queued as"), "{err}");
    assert_eq!(queued(&env), 1);
    let list = env.notify(&["queue", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("via webhook `"), "{listed}");
    assert!(!listed.contains("/hook"), "the URL is not shown: {listed}");
    let out = env.notify(&["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("delivered through the webhook"),
        "{}",
        env.describe(&out)
    );
    assert_eq!(queued(&env), 0);
    let out = env.notify(&["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0));
    let got = server.requests();
    assert_eq!(got.len(), 2, "one try, one delivery: {got:?}");
    assert_eq!(got[0].body, got[1].body);
}

/// A 404 is reported (exit 1 for `send`), not queued; under `run` the
/// job's exit code stands whatever the destinations do.
#[test]
fn a_404_is_reported_and_not_queued_and_run_keeps_the_jobs_code() {
    let server = HttpServer::start();
    server.always(Reply::status(404).body("no such hook"));
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[webhook]\nurl = \"SERVER/gone\"\nlevel = \"always\"\n",
    );
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered 404: no such hook"));
    assert_eq!(queued(&env), 0);
    let out = env.notify(&["run", "--task", "t", "--", "sh", "-c", "exit 6"]);
    assert_eq!(out.status.code(), Some(6), "{}", env.describe(&out));
    assert_eq!(queued(&env), 0);
}

/// Each destination decides by its own level and memory: under `changes`
/// the webhook hears of the first failure only, while Healthchecks
/// (`always`) gets every run.
#[test]
fn each_destination_has_its_own_level_and_state() {
    let server = HttpServer::start();
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[webhook]\nurl = \"SERVER/hook\"\nlevel = \"changes\"\n\
         [healthchecks]\nurl = \"SERVER/ping/u\"\n",
    );
    for _ in 0..3 {
        let out = env.notify(&["send", "--task", "t", "--status", "failure"]);
        assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    }
    let got = server.requests();
    let hooks = got.iter().filter(|r| r.path == "/hook").count();
    let pings = got.iter().filter(|r| r.path.starts_with("/ping/u")).count();
    assert_eq!((hooks, pings), (1, 3), "{got:?}");
}

/// A server that does not answer costs the destination's timeout, no
/// more, and the notification is queued.
#[test]
fn a_slow_server_costs_its_timeout_and_is_queued() {
    let server = HttpServer::start();
    server.always(Reply::status(200).delay(Duration::from_secs(20)));
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[ntfy]\nurl = \"SERVER/slow\"\nlevel = \"always\"\ntimeout = \"1s\"\n",
    );
    let start = Instant::now();
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not answer within 1 s"),
        "{}",
        env.describe(&out)
    );
    assert_eq!(queued(&env), 1);
}

/// A secret header value (from `env:`) reaches the server, and nothing
/// else: not stderr with `-v`, not a refusal, not the queue's file.
#[test]
fn secrets_in_headers_are_never_printed_or_queued() {
    let server = HttpServer::start();
    server
        .then(Reply::status(401).body("bad token"))
        .then(Reply::status(503));
    let env = TestEnv::new();
    config(
        &env,
        &server,
        &format!(
            "[webhook]\nurl = \"SERVER/hook/{CANARY}\"\nlevel = \"always\"\n\
             headers = {{ Authorization = \"env:HOOK_AUTH\", X-Team = \"ops\" }}\n"
        ),
    );
    let mut outputs = Vec::new();
    for code in [1, 75] {
        let out = env
            .cmd()
            .env("HOOK_AUTH", format!("Bearer {CANARY}"))
            .args(["-v", "send", "--task", "t", "--status", "failure"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", env.describe(&out));
        outputs.push(out);
    }
    let got = server.requests();
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    assert_eq!(got[0].header("x-team"), Some("ops"));
    assert_eq!(queued(&env), 1);
    let all = everything(&env, &outputs.iter().collect::<Vec<_>>());
    assert!(!all.contains(CANARY), "the secret leaked:\n{all}");
}

/// An unset secret variable is a configuration error naming the key;
/// a bad URL too; neither keeps the email from going out.
#[test]
fn destination_mistakes_name_the_key_and_spare_the_email() {
    let env = TestEnv::new();
    env.config(
        "[email]\nto = \"ops@example.com\"\nlevel = \"always\"\n\
         [webhook]\nurl = \"hooks.example.com/x\"\n\
         [ntfy]\nurl = \"https://ntfy.example.com/t\"\ntoken = \"env:NOT_SET_ANYWHERE\"\n",
    );
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("webhook: `url`"), "{err}");
    assert!(
        err.contains("ntfy token") && err.contains("NOT_SET_ANYWHERE"),
        "{err}"
    );
    assert_eq!(env.mails().len(), 1, "the email went out");
}

/// A Python HTTPS server with the test kit's `localhost` certificate (signed
/// by the test CA), answering every POST 200; killed by its PID on drop.
struct HttpsServer {
    child: std::process::Child,
    port: u16,
}

const HTTPS_SERVER: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl HttpsServer {
    fn start(certs: &notify_testkit::Certs) -> HttpsServer {
        use std::io::BufRead;
        let mut child = std::process::Command::new(notify_testkit::python_path())
            .args(["-c", HTTPS_SERVER])
            .arg(certs.dir().join("leaf.pem"))
            .arg(certs.dir().join("leaf.key"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the HTTPS test server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the HTTPS test server said {line:?}")
        });
        HttpsServer { child, port }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HTTPS destinations trust what SMTP trusts: a server whose CA is the
/// destination's `ca_file` is accepted; without it, the same refusal and
/// explanation as for SMTP, reported (exit 1), not queued.
#[test]
#[ignore = "needs the test certificates (openssl) and Python; `cargo xtask ci` runs it"]
fn https_destinations_trust_their_ca_file_like_smtp_accounts() {
    let certs = notify_testkit::test_certs();
    let server = HttpsServer::start(&certs);
    let env = TestEnv::new();
    let url = format!("https://localhost:{}/hook", server.port);
    env.config(&format!(
        "[email]\nlevel = \"never\"\n[webhook]\nurl = \"{url}\"\nlevel = \"always\"\nca_file = \"{}\"\n",
        certs.ca().display()
    ));
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("https://localhost:{}", server.port))
            || out.stderr.is_empty(),
        "{}",
        env.describe(&out)
    );
    env.config(&format!(
        "[email]\nlevel = \"never\"\n[webhook]\nurl = \"{url}\"\nlevel = \"always\"\n"
    ));
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS with https://localhost"), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(queued(&env), 0);
}

/// Two checks alike but for their ping key are two destinations: each its
/// own state (no wait on the other's lock) and its own queue route, so a
/// retried ping goes to the project it was meant for.
#[test]
fn tables_alike_but_for_a_key_stay_apart_in_state_and_queue() {
    let server = HttpServer::start();
    server.then(Reply::status(200)).then(Reply::status(500));
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[[healthchecks]]\nserver = \"SERVER/p\"\nping_key = \"keyA\"\n\
         [[healthchecks]]\nserver = \"SERVER/p\"\nping_key = \"keyB\"\n",
    );
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("another notify"),
        "{}",
        env.describe(&out)
    );
    let out = env.notify(&["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths[0].starts_with("/p/keyA/t?"), "{paths:?}");
    assert!(paths[1].starts_with("/p/keyB/t?"), "{paths:?}");
    assert!(
        paths[2].starts_with("/p/keyB/t?"),
        "the retry goes to B: {paths:?}"
    );
}

/// A queued notification whose secret this notify cannot read (the
/// variable is set only in the job's own cron line) stays queued for one
/// that can, rather than being given up.
#[test]
fn a_retry_without_the_secret_keeps_it_queued() {
    let server = HttpServer::start();
    server.then(Reply::status(503));
    let env = TestEnv::new();
    config(
        &env,
        &server,
        "[webhook]\nurl = \"SERVER/hook\"\nlevel = \"always\"\n\
         headers = { Authorization = \"env:HOOK_AUTH\" }\n",
    );
    let with_secret = |args: &[&str]| {
        env.cmd()
            .env("HOOK_AUTH", "Bearer t0ken")
            .args(args)
            .output()
            .unwrap()
    };
    let out = with_secret(&["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let out = env.notify(&["queue", "flush"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HOOK_AUTH"),
        "{}",
        env.describe(&out)
    );
    assert_eq!(queued(&env), 1, "still queued");
    let out = with_secret(&["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(queued(&env), 0);
    let got = server.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("authorization"), Some("Bearer t0ken"));
}

/// Healthchecks takes a ping's time from its arrival and the last one
/// wins: a queued ping of a run that another run has followed since is
/// dropped, not delivered late over the newer one.
#[test]
fn a_queued_ping_overtaken_by_a_newer_run_is_dropped() {
    let server = HttpServer::start();
    server.then(Reply::status(500));
    let env = TestEnv::new();
    config(&env, &server, "[healthchecks]\nurl = \"SERVER/ping/u\"\n");
    let out = env.notify(&["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    assert_eq!(queued(&env), 1);
    std::thread::sleep(Duration::from_millis(1100));
    // The next run: its own ping goes out; the queued /fail is dropped
    // by the retry on its way.
    let out = env.notify(&["send", "--task", "t", "--status", "success"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let out = env.notify(&["queue", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(queued(&env), 0);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/ping/u/fail", "/ping/u"], "{paths:?}");
}
