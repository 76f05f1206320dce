//! The HTTP destinations against the test kit's recording HTTP server:
//! what each sends (method, path, headers, body), how each answer is
//! judged, and that no secret reaches a message or a `Debug` print.
#![allow(
    clippy::unwrap_used,
    reason = "test code unwraps: a panic there says what failed"
)]

use std::time::{Duration, Instant};

use notify_core::{ErrorKind, Notification, Outcome, TaskResult, Transport};
use notify_http::healthchecks::{new_run_id, Check, Ping, DEFAULT_BODY_LIMIT};
use notify_http::{
    parse_url, HealthchecksTransport, HttpClient, HttpFailure, NtfyAuth, NtfyTransport,
    WebhookTransport,
};
use notify_testkit::http::{HttpServer, Reply};
use secrecy::SecretString;

const CANARY: &str = "canary-T0ken-http-4711";

fn client(timeout: Duration) -> HttpClient {
    HttpClient::new(
        notify_smtp::tls_client_config(None, &notify_smtp::SystemRoots::Platform, false).unwrap(),
        timeout,
    )
}

fn notification(outcome: Outcome, exit_code: Option<i32>) -> Notification {
    let mut r = TaskResult::new("Nightly DB dump", outcome);
    r.exit_code = exit_code;
    r.computer_name = Some("backup-host".into());
    r.log_tail = Some("pg_dump: error: connection refused\n".into());
    r.errors = vec!["pg_dump: error: connection refused".into()];
    r.error_count = 1;
    let mut n = Notification::new(
        "backup-host: Nightly DB dump: Failed",
        "Nightly DB dump: Failed\n\nExit code: 2\n",
    );
    n.outcome = Some(outcome);
    n.result = Some(Box::new(r));
    n
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn webhook_posts_the_json_with_secret_headers() {
    let server = HttpServer::start();
    let hook = WebhookTransport::new(
        client(Duration::from_secs(5)),
        parse_url(&server.url("/hooks/T000/B000/XXXX")).unwrap(),
    )
    .header(
        "Authorization",
        &SecretString::from(format!("Bearer {CANARY}")),
    )
    .unwrap();
    assert!(!format!("{hook:?}").contains(CANARY));
    assert!(!format!("{hook:?}").contains("XXXX"));
    let done = rt()
        .block_on(hook.send(&notification(Outcome::Failure, Some(2))))
        .unwrap();
    assert!(done.detail.contains("127.0.0.1"), "{}", done.detail);
    assert!(!done.detail.contains("XXXX"), "{}", done.detail);
    let got = server.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/hooks/T000/B000/XXXX")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    assert!(r.header("user-agent").unwrap().starts_with("notify/"));
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["text"], "backup-host: Nightly DB dump: Failed");
    assert_eq!(json["subject"], json["text"]);
    assert_eq!(json["body"], "Nightly DB dump: Failed\n\nExit code: 2\n");
    assert_eq!(json["task"], "Nightly DB dump");
    assert_eq!(json["outcome"], "failure");
    assert_eq!(json["host"], "backup-host");
    assert_eq!(json["notify_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["result"]["exit_code"], 2);
    assert_eq!(
        json["result"]["errors"][0],
        "pg_dump: error: connection refused"
    );
}

#[test]
fn answers_are_judged_temporary_or_permanent_without_secrets() {
    let server = HttpServer::start();
    let url = server.url(&format!("/hook/{CANARY}"));
    let hook = WebhookTransport::new(client(Duration::from_secs(5)), parse_url(&url).unwrap());
    let n = notification(Outcome::Failure, Some(2));
    for (status, kind) in [
        (503, ErrorKind::Temporary),
        (429, ErrorKind::Temporary),
        (500, ErrorKind::Temporary),
        (404, ErrorKind::Permanent),
        (401, ErrorKind::Permanent),
        (301, ErrorKind::Permanent),
    ] {
        server.then(
            Reply::status(status)
                .header("Location", "https://elsewhere.example.com/new")
                .body("no \u{1b}[2J such hook"),
        );
        let e = rt().block_on(hook.send(&n)).unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert_eq!(e.detail::<HttpFailure>().unwrap().status, Some(status));
        let text = e.to_string();
        assert!(text.contains(&format!("answered {status}")), "{text}");
        assert!(!text.contains(CANARY), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }
    // Nothing listening: temporary.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nobody = WebhookTransport::new(
        client(Duration::from_secs(5)),
        parse_url(&format!("http://127.0.0.1:{port}/x")).unwrap(),
    );
    let e = rt().block_on(nobody.send(&n)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Temporary, "{e}");
}

#[test]
fn a_slow_server_costs_no_more_than_the_timeout() {
    let server = HttpServer::start();
    server.then(Reply::status(200).delay(Duration::from_secs(5)));
    let hook = WebhookTransport::new(
        client(Duration::from_millis(500)),
        parse_url(&server.url("/slow")).unwrap(),
    );
    let start = Instant::now();
    let e = rt()
        .block_on(hook.send(&notification(Outcome::Success, Some(0))))
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Temporary);
    assert!(e.to_string().contains("did not answer within 0.5 s"), "{e}");
}

#[test]
fn ntfy_gets_title_priority_tags_click_and_token() {
    let server = HttpServer::start();
    let ntfy = NtfyTransport::new(
        client(Duration::from_secs(5)),
        parse_url(&server.url("/my-backups")).unwrap(),
    )
    .auth(NtfyAuth::Token(SecretString::from(CANARY)))
    .click("https://backups.example.com/");
    assert!(!format!("{ntfy:?}").contains(CANARY));
    let mut n = notification(Outcome::Failure, Some(2));
    n.text = "Failed after 3 min\npg_dump: error: connection refused".into();
    rt().block_on(ntfy.send(&n)).unwrap();
    let mut ok = notification(Outcome::Success, Some(0));
    ok.subject = "Sicherung: Erfolgreich ✔".into();
    rt().block_on(ntfy.send(&ok)).unwrap();
    let got = server.requests();
    let r = &got[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/my-backups")
    );
    assert_eq!(
        r.header("title"),
        Some("backup-host: Nightly DB dump: Failed")
    );
    assert_eq!(r.header("priority"), Some("4"));
    assert_eq!(r.header("tags"), Some("heavy_multiplication_x"));
    assert_eq!(r.header("click"), Some("https://backups.example.com/"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {CANARY}").as_str())
    );
    assert_eq!(
        r.text(),
        "Failed after 3 min\npg_dump: error: connection refused"
    );
    let r = &got[1];
    assert_eq!(r.header("priority"), Some("2"));
    assert_eq!(r.header("tags"), Some("heavy_check_mark"));
    assert!(r.header("title").unwrap().starts_with("=?UTF-8?B?"));
}

#[test]
fn healthchecks_start_and_end_share_the_rid_and_the_body_fits_the_limit() {
    let server = HttpServer::start();
    server.then(Reply::status(200).header("Ping-Body-Limit", "20"));
    let hc = HealthchecksTransport::new(
        client(Duration::from_secs(5)),
        Check::Url(parse_url(&server.url("/ping/5f0e-uuid")).unwrap()),
    );
    assert_eq!(hc.body_limit(), DEFAULT_BODY_LIMIT);
    let rid = new_run_id();
    let rt = rt();
    rt.block_on(hc.ping(Ping::Start, Some(&rid), "")).unwrap();
    assert_eq!(hc.body_limit(), 20);
    let mut n = notification(Outcome::Failure, Some(2));
    n.run_id = Some(rid.clone());
    if let Some(r) = n.result.as_mut() {
        r.log_tail = Some("first line\nlast line: it failed\n".into());
    }
    rt.block_on(hc.send(&n)).unwrap();
    let mut ok = notification(Outcome::Warning, Some(3));
    ok.run_id = Some(new_run_id());
    rt.block_on(hc.send(&ok)).unwrap();
    let got = server.requests();
    assert_eq!(got[0].path, format!("/ping/5f0e-uuid/start?rid={rid}"));
    assert_eq!(got[1].path, format!("/ping/5f0e-uuid/2?rid={rid}"));
    // The server's 20 bytes, the end kept.
    assert_eq!(got[1].text(), "ast line: it failed\n");
    assert!(
        got[2].path.starts_with("/ping/5f0e-uuid?rid="),
        "{}",
        got[2].path
    );
}

#[test]
fn healthchecks_by_slug_creates_the_check_and_hides_the_key() {
    let server = HttpServer::start();
    server.always(Reply::status(201).body("created"));
    let hc = HealthchecksTransport::new(
        client(Duration::from_secs(5)),
        Check::Slug {
            server: parse_url(&server.url("/ping")).unwrap(),
            ping_key: SecretString::from(CANARY),
            slug: notify_http::healthchecks::slug("Nightly DB dump"),
            create: true,
        },
    );
    let done = rt()
        .block_on(hc.send(&notification(Outcome::Failure, None)))
        .unwrap();
    assert!(!done.detail.contains(CANARY), "{}", done.detail);
    assert!(!format!("{hc:?}").contains(CANARY));
    let got = server.requests();
    assert_eq!(
        got[0].path,
        format!("/ping/{CANARY}/nightly-db-dump/fail?create=1")
    );
    server.always(Reply::status(404).body("not found"));
    let e = rt()
        .block_on(hc.send(&notification(Outcome::Success, Some(0))))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(!e.to_string().contains(CANARY), "{e}");
}

#[test]
fn a_success_whose_body_stalls_keeps_its_status() {
    let server = HttpServer::start();
    server.then(
        Reply::status(200)
            .body(&"x".repeat(100))
            .stall_body(Duration::from_secs(10)),
    );
    let hook = WebhookTransport::new(
        client(Duration::from_secs(5)),
        parse_url(&server.url("/hook")).unwrap(),
    );
    let start = Instant::now();
    let done = rt()
        .block_on(hook.send(&notification(Outcome::Success, Some(0))))
        .unwrap();
    assert!(done.detail.contains("(200)"), "{}", done.detail);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn headers_of_the_connection_are_notifys_own() {
    let hook = |name: &str| {
        WebhookTransport::new(
            client(Duration::from_secs(1)),
            parse_url("http://x/").unwrap(),
        )
        .header(name, &SecretString::from("v".to_owned()))
    };
    for name in ["Host", "content-length", "Connection", "Transfer-Encoding"] {
        let e = hook(name).unwrap_err();
        assert!(e.to_string().contains("notify's to set"), "{e}");
    }
    // A Content-Type of its own replaces notify's, not doubles it.
    let server = HttpServer::start();
    let hook = WebhookTransport::new(
        client(Duration::from_secs(5)),
        parse_url(&server.url("/hook")).unwrap(),
    )
    .header(
        "Content-Type",
        &SecretString::from("application/x-notify".to_owned()),
    )
    .unwrap();
    rt().block_on(hook.send(&notification(Outcome::Success, Some(0))))
        .unwrap();
    let r = &server.requests()[0];
    let types: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "content-type")
        .collect();
    assert_eq!(types.len(), 1, "{:?}", r.headers);
    assert_eq!(r.header("content-type"), Some("application/x-notify"));
}

#[test]
fn a_batch_to_an_unreachable_server_tries_once() {
    let server = HttpServer::start();
    server.always(Reply::status(200).delay(Duration::from_secs(5)));
    let hook = WebhookTransport::new(
        client(Duration::from_millis(300)),
        parse_url(&server.url("/slow")).unwrap(),
    );
    let ns: Vec<Notification> = (0..4)
        .map(|_| notification(Outcome::Failure, Some(1)))
        .collect();
    let refs: Vec<&Notification> = ns.iter().collect();
    let mut results = Vec::new();
    rt().block_on(hook.send_batch(&refs, &mut |i, r| results.push((i, r.is_ok()))));
    assert_eq!(results.len(), 4, "every one reported");
    assert!(results.iter().all(|(_, ok)| !ok));
    assert_eq!(server.requests().len(), 1, "tried once");
}
