//! A small OAuth 2.0 server on a free 127.0.0.1 port, for `notify account
//! login` and XOAUTH2 sends: the device authorization grant (RFC 8628)
//! with `authorization_pending` and `slow_down` on demand, the token end
//! of the authorization code grant (its code, a loopback redirect and a
//! PKCE verifier; the test itself plays the browser), and the refresh
//! grant (RFC 6749) that rotates refresh tokens and answers
//! `invalid_grant` once they are revoked.
//!
//! No real identity provider can be run here or told to answer
//! `slow_down`, so this is a server of our own; the client is notify's.
//! Every request is kept with its form fields and the moment it came, so a
//! test checks what was sent and how long the client waited.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::read_request;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    client_id: String,
    access_token: String,
    refresh_token: String,
    pending: usize,
    slow_down: bool,
    interval: u64,
    rotate: bool,
    deny: bool,
}

impl OAuthOptions {
    /// For the app `client_id`: issues `access_token` and, at sign-in,
    /// `refresh_token`; answers the first poll with `authorization_pending`;
    /// an interval of 1 s; refresh tokens rotate.
    pub fn new(client_id: &str, access_token: &str, refresh_token: &str) -> OAuthOptions {
        OAuthOptions {
            client_id: client_id.to_owned(),
            access_token: access_token.to_owned(),
            refresh_token: refresh_token.to_owned(),
            pending: 1,
            slow_down: false,
            interval: 1,
            rotate: true,
            deny: false,
        }
    }

    /// Answers this many polls with `authorization_pending` first.
    pub fn pending(mut self, polls: usize) -> Self {
        self.pending = polls;
        self
    }

    /// Answers one poll (after the pending ones) with `slow_down`.
    pub fn slow_down(mut self) -> Self {
        self.slow_down = true;
        self
    }

    /// Whether a refresh hands out a new refresh token (default yes).
    pub fn rotate(mut self, rotate: bool) -> Self {
        self.rotate = rotate;
        self
    }

    /// The user declines at the sign-in page (`access_denied`).
    pub fn deny(mut self) -> Self {
        self.deny = true;
        self
    }
}

/// One request as it came.
#[derive(Debug, Clone)]
pub struct OAuthRequest {
    /// `/device` or `/token`.
    pub path: String,
    /// The form fields.
    pub form: BTreeMap<String, String>,
    /// When it came.
    pub at: Instant,
}

struct State {
    options: OAuthOptions,
    requests: Vec<OAuthRequest>,
    polls: usize,
    slowed: bool,
    device_code: Option<String>,
    /// The refresh token that works now, if any.
    valid_refresh: Option<String>,
    issued: usize,
}

/// The server; stopped when dropped.
pub struct OAuthServer {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl OAuthServer {
    /// Starts it.
    pub fn start(options: OAuthOptions) -> OAuthServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(Mutex::new(State {
            options,
            requests: Vec::new(),
            polls: 0,
            slowed: false,
            device_code: None,
            valid_refresh: None,
            issued: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, stopped) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let s = Arc::clone(&s);
                        std::thread::spawn(move || serve(stream, &s, port));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        OAuthServer { port, state, stop }
    }

    /// The device authorization endpoint.
    pub fn device_url(&self) -> String {
        format!("http://127.0.0.1:{}/device", self.port)
    }

    /// The authorization endpoint of the code grant (a test plays the
    /// browser: it reads the address notify prints and calls the redirect
    /// with [`OAuthServer::CODE`] itself).
    pub fn authorize_url(&self) -> String {
        format!("http://127.0.0.1:{}/authorize", self.port)
    }

    /// The authorization code the token endpoint takes.
    pub const CODE: &'static str = "authorization-code-4711";

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<OAuthRequest> {
        self.lock().requests.clone()
    }

    /// The refresh token that works now (the last one handed out).
    pub fn refresh_token(&self) -> Option<String> {
        self.lock().valid_refresh.clone()
    }

    /// Revokes the refresh token: the next refresh gets `invalid_grant`.
    pub fn revoke(&self) {
        self.lock().valid_refresh = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn error(code: &str, description: &str) -> (u16, String) {
    (
        400,
        serde_json::json!({"error": code, "error_description": description}).to_string(),
    )
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, port: u16) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let form: BTreeMap<String, String> = parse_form(&request.body);
    let (status, body) = {
        let mut s = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.requests.push(OAuthRequest {
            path: request.path.clone(),
            form: form.clone(),
            at: Instant::now(),
        });
        answer(&mut s, &request.path, &form, port)
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        if status < 300 { "OK" } else { "Bad Request" },
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn answer(s: &mut State, path: &str, form: &BTreeMap<String, String>, port: u16) -> (u16, String) {
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("client_id") != Some(s.options.client_id.as_str()) {
        return error("invalid_client", "AADSTS700016: Application not found");
    }
    match (path, field("grant_type")) {
        ("/device", _) => {
            let code = format!("device-code-{}", s.requests.len());
            s.device_code = Some(code.clone());
            (
                200,
                serde_json::json!({
                    "device_code": code,
                    "user_code": "WDJB-MJHT",
                    "verification_uri": format!("http://127.0.0.1:{port}/verify"),
                    "expires_in": 600,
                    "interval": s.options.interval,
                })
                .to_string(),
            )
        }
        ("/token", Some("urn:ietf:params:oauth:grant-type:device_code")) => {
            if field("device_code") != s.device_code.as_deref() {
                return error("invalid_grant", "unknown device_code");
            }
            if s.options.deny {
                return error("access_denied", "the user declined");
            }
            s.polls += 1;
            if s.polls <= s.options.pending {
                return error("authorization_pending", "waiting for the user");
            }
            if s.options.slow_down && !s.slowed {
                s.slowed = true;
                return error("slow_down", "polling too fast");
            }
            s.device_code = None;
            s.issued += 1;
            s.valid_refresh = Some(s.options.refresh_token.clone());
            (
                200,
                serde_json::json!({
                    "token_type": "Bearer",
                    "access_token": s.options.access_token,
                    "refresh_token": s.options.refresh_token,
                    "expires_in": 3600,
                })
                .to_string(),
            )
        }
        ("/token", Some("authorization_code")) => {
            if field("code") != Some(OAuthServer::CODE) {
                return error("invalid_grant", "unknown authorization code");
            }
            if !field("redirect_uri").is_some_and(|r| r.starts_with("http://127.0.0.1:")) {
                return error("invalid_request", "redirect_uri mismatch");
            }
            if field("code_verifier").is_none_or(str::is_empty) {
                return error("invalid_request", "code_verifier missing");
            }
            s.issued += 1;
            s.valid_refresh = Some(s.options.refresh_token.clone());
            (
                200,
                serde_json::json!({
                    "token_type": "Bearer",
                    "access_token": s.options.access_token,
                    "refresh_token": s.options.refresh_token,
                    "expires_in": 3599,
                })
                .to_string(),
            )
        }
        ("/token", Some("refresh_token")) => {
            if s.valid_refresh.is_none() || field("refresh_token") != s.valid_refresh.as_deref() {
                return error(
                    "invalid_grant",
                    "AADSTS70000: The provided grant has expired or was revoked",
                );
            }
            let mut answer = serde_json::json!({
                "token_type": "Bearer",
                "access_token": s.options.access_token,
                "expires_in": 3600,
            });
            if s.options.rotate {
                s.issued += 1;
                let next = format!("{}-{}", s.options.refresh_token, s.issued);
                s.valid_refresh = Some(next.clone());
                answer["refresh_token"] = next.into();
            }
            (200, answer.to_string())
        }
        _ => error("unsupported_grant_type", "not a grant this server knows"),
    }
}

/// `a=b&c=d%20e` as a map (`+` is a space).
fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
