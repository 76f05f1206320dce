//! OAuth 2.0 end to end: `notify account login` runs the device flow
//! against the test kit's OAuth server (pending, slow_down, the server's
//! interval), keeps the refresh token in the account's store, and `notify
//! send` signs in to the real SMTP test server with XOAUTH2 using an access
//! token from a refresh (rotated tokens kept; `invalid_grant` says to sign
//! in again). No token in any output or file notify writes.

use std::process::Output;
use std::time::Duration;

use notify_testkit::oauth::{OAuthOptions, OAuthServer};
use notify_testkit::{Listener, ServerOptions, SmtpServer};

use crate::support::TestEnv;

const USER: &str = "user@example.com";
const ACCESS: &str = "canary-oauth-access-4711";
const REFRESH: &str = "canary-oauth-refresh-4711";

fn configure(env: &TestEnv, smtp: &SmtpServer, oauth: &OAuthServer, client_id: &str) {
    env.config(&format!(
        "[email]\naccount = \"m365\"\nto = \"ops@example.com\"\nlevel = \"always\"\n\n\
         [accounts.m365]\nfrom = \"Backups <{USER}>\"\nserver = \"127.0.0.1:{port}\"\n\
         ca_file = \"{ca}\"\noauth = {{ device_url = \"{device}\", token_url = \"{token}\", \
         scope = \"smtp offline_access\" }}\noauth_client_id = \"{client_id}\"\n\
         password = \"file:{store}\"\ntimeout = \"10s\"\n\n\
         [accounts.plain]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{port}\"\n",
        port = smtp.port("starttls"),
        ca = smtp.certs().ca().display(),
        device = oauth.device_url(),
        token = oauth.token_url(),
        store = env.path().join("m365.token").display(),
    ));
}

/// No token in stdout, stderr or any file under the data directory.
fn assert_no_token(env: &TestEnv, out: &Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut stack = vec![env.path().join("data")];
    let mut files = String::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    for token in [ACCESS, REFRESH, "canary-oauth"] {
        assert!(!text.contains(token), "output shows a token:\n{text}");
        assert!(
            !files.contains(token),
            "a file in the data dir holds a token"
        );
    }
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn login_with_the_device_flow_then_send_with_xoauth2() {
    let smtp = SmtpServer::start(
        ServerOptions::new()
            .token(USER, ACCESS)
            .listener(Listener::starttls("starttls")),
    );
    let oauth = OAuthServer::start(
        OAuthOptions::new("app-1", ACCESS, REFRESH)
            .pending(1)
            .slow_down(),
    );
    let env = TestEnv::new();
    configure(&env, &smtp, &oauth, "app-1");

    let out = env.notify(&["account", "login", "m365"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "open http://127.0.0.1:{}/verify and enter the code WDJB-MJHT",
            oauth
                .device_url()
                .rsplit(':')
                .next()
                .unwrap()
                .trim_end_matches("/device")
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Signed in."), "{stderr}");
    assert_no_token(&env, &out);
    let store = env.path().join("m365.token");
    assert_eq!(std::fs::read_to_string(&store).unwrap().trim(), REFRESH);
    // It waited as told: the interval, again after authorization_pending,
    // five seconds more after slow_down.
    let requests = oauth.requests();
    assert_eq!(requests.len(), 4, "device, pending, slow_down, tokens");
    let gaps: Vec<Duration> = requests.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(950), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(950), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(5950), "{gaps:?}");

    // A send refreshes, keeps the rotated refresh token, and signs in with
    // the access token (the SMTP server accepts only that one).
    let out = env
        .cmd()
        .args(["-vv", "send", "--task", "t", "--status", "failure"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_no_token(&env, &out);
    let received = smtp.messages();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].meta["auth_login"], USER);
    let refresh = oauth.requests().pop().unwrap();
    assert_eq!(refresh.form["grant_type"], "refresh_token");
    assert_eq!(refresh.form["refresh_token"], REFRESH);
    assert_eq!(refresh.form["client_id"], "app-1");
    let rotated = std::fs::read_to_string(&store).unwrap();
    assert_eq!(Some(rotated.trim()), oauth.refresh_token().as_deref());
    assert_ne!(rotated.trim(), REFRESH);

    // The next send uses the rotated one.
    let out = env.notify(&["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(smtp.messages().len(), 2);

    // Revoked: a configuration error that says to sign in again; the mail
    // is kept in the local Maildir, not lost.
    oauth.revoke();
    let out = env.notify(&["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert!(stderr.contains("notify account login m365"), "{stderr}");
    assert_eq!(env.mails().len(), 1, "a copy in the local Maildir");
    assert_no_token(&env, &out);
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn login_refusals_and_a_send_before_signing_in() {
    let smtp = SmtpServer::start(
        ServerOptions::new()
            .token(USER, ACCESS)
            .listener(Listener::starttls("starttls")),
    );
    let oauth = OAuthServer::start(OAuthOptions::new("app-1", ACCESS, REFRESH).deny());
    let env = TestEnv::new();
    configure(&env, &smtp, &oauth, "app-1");

    // Not signed in yet: said so, with the command.
    let out = env.notify(&["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has not signed in yet"), "{stderr}");
    assert!(stderr.contains("notify account login m365"), "{stderr}");

    // Declined at the sign-in page.
    let out = env.notify(&["account", "login", "m365"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("access_denied"));

    // An app id the server does not know.
    configure(&env, &smtp, &oauth, "not-registered");
    let out = env.notify(&["account", "login", "m365"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_client"));

    // An account without oauth.
    let out = env.notify(&["account", "login", "plain"]);
    assert_eq!(out.status.code(), Some(2), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("oauth_client_id"));
}

/// `BASE64URL(SHA256(text))` by the openssl CLI: an independent check of
/// the PKCE challenge.
fn s256(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::new();
    for chunk in out.stdout.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            s.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    s
}

/// GET `url` (http://127.0.0.1:PORT/...) as a browser would; the answer.
fn browser_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd) and openssl; `cargo xtask ci` runs it"]
fn login_through_a_browser_with_pkce_then_send() {
    use std::io::BufRead;
    let smtp = SmtpServer::start(
        ServerOptions::new()
            .token(USER, ACCESS)
            .listener(Listener::starttls("starttls")),
    );
    let oauth = OAuthServer::start(OAuthOptions::new("app-g", ACCESS, REFRESH));
    let env = TestEnv::new();
    env.config(&format!(
        "[email]\naccount = \"g\"\nto = \"ops@example.com\"\n\n\
         [accounts.g]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{port}\"\nca_file = \"{ca}\"\n\
         oauth = {{ authorize_url = \"{authorize}\", token_url = \"{token}\", scope = \"https://mail.google.com/\" }}\n\
         oauth_client_id = \"app-g\"\noauth_client_secret = \"not-so-secret\"\n\
         password = \"file:{store}\"\n",
        port = smtp.port("starttls"),
        ca = smtp.certs().ca().display(),
        authorize = oauth.authorize_url(),
        token = oauth.token_url(),
        store = env.path().join("g.token").display(),
    ));
    let mut child = env
        .std_cmd()
        .args(["account", "login", "g"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no address:\n{seen}"
        );
        seen.push_str(&line);
        if let Some(url) = line
            .trim()
            .strip_prefix(&format!("{}?", oauth.authorize_url()))
        {
            break url.to_owned();
        }
    };
    let query: std::collections::HashMap<String, String> = url
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%3A", ":").replace("%2F", "/")))
        .collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "app-g");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["access_type"], "offline");
    let redirect = &query["redirect_uri"];
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");

    // A stray request (the wrong state) is turned away; the sign-in waits on.
    let stray = browser_get(&format!("{redirect}?code=x&state=not-it"));
    assert!(stray.starts_with("HTTP/1.1 400"), "{stray}");
    // The browser comes back with the code.
    let page = browser_get(&format!(
        "{redirect}?code={}&state={}",
        OAuthServer::CODE,
        query["state"]
    ));
    assert!(page.contains("notify is signed in"), "{page}");
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(out.status.code(), Some(0), "{seen}{rest}");
    assert!(rest.contains("Signed in."), "{rest}");
    assert!(!seen.contains("canary") && !rest.contains("canary"));

    // The token request proved the PKCE verifier.
    let exchange = oauth
        .requests()
        .into_iter()
        .find(|r| r.form.get("grant_type").map(String::as_str) == Some("authorization_code"))
        .unwrap();
    assert_eq!(exchange.form["redirect_uri"], *redirect);
    assert_eq!(exchange.form["client_secret"], "not-so-secret");
    assert_eq!(
        s256(&exchange.form["code_verifier"]),
        query["code_challenge"]
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("g.token"))
            .unwrap()
            .trim(),
        REFRESH
    );

    let out = env.notify(&["send", "--task", "t", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(smtp.messages().len(), 1);
    assert_no_token(&env, &out);
}
