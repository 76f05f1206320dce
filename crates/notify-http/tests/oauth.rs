//! OAuth 2.0 against the test kit's OAuth server: the device flow
//! (pending, slow_down, denied), the refresh grant with rotation, and
//! `invalid_grant` once the refresh token is revoked; no token in a
//! message or a `Debug` print.
#![allow(
    clippy::unwrap_used,
    reason = "test code unwraps: a panic there says what failed"
)]

use std::time::Duration;

use notify_http::oauth::{Endpoints, OAuthClient, OAuthError, Poll};
use notify_http::HttpClient;
use notify_testkit::oauth::{OAuthOptions, OAuthServer};
use secrecy::{ExposeSecret, SecretString};

const ACCESS: &str = "canary-access-T0ken";
const REFRESH: &str = "canary-refresh-T0ken";

fn client(server: &OAuthServer, client_id: &str) -> OAuthClient {
    let http = HttpClient::new(
        notify_smtp::tls_client_config(None, &notify_smtp::SystemRoots::Platform, false).unwrap(),
        Duration::from_secs(5),
    );
    OAuthClient::new(
        http,
        Endpoints::new(
            &server.device_url(),
            &server.token_url(),
            "smtp offline_access",
        ),
        client_id,
        None,
    )
}

#[tokio::test]
async fn device_flow_waits_as_told_then_refreshes_with_rotation() {
    let server = OAuthServer::start(
        OAuthOptions::new("app-1", ACCESS, REFRESH)
            .pending(1)
            .slow_down(),
    );
    let c = client(&server, "app-1");
    let device = c.start().await.unwrap();
    assert_eq!(device.user_code, "WDJB-MJHT");
    assert!(device.verification_uri.ends_with("/verify"));
    assert_eq!(device.interval, Duration::from_secs(1));
    let shown = format!("{device:?}");
    assert!(!shown.contains("device-code"), "{shown}");

    // authorization_pending: the same interval; slow_down: five seconds
    // more (RFC 8628 3.5); then the tokens.
    let mut interval = device.interval;
    let mut waits = Vec::new();
    let tokens = loop {
        match c.poll(&device, interval).await.unwrap() {
            Poll::Wait(next) => {
                waits.push(next);
                interval = next;
            }
            Poll::Done(tokens) => break tokens,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(waits, [Duration::from_secs(1), Duration::from_secs(6)]);
    assert_eq!(tokens.access_token.expose_secret(), ACCESS);
    let refresh = tokens.refresh_token.unwrap();
    assert_eq!(refresh.expose_secret(), REFRESH);

    let requests = server.requests();
    assert_eq!(requests[0].path, "/device");
    assert_eq!(requests[0].form["scope"], "smtp offline_access");
    assert_eq!(
        requests[1].form["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );

    // A refresh gives an access token and a new refresh token; the old one
    // no longer works.
    let refreshed = c.refresh(&refresh).await.unwrap();
    assert_eq!(refreshed.access_token.expose_secret(), ACCESS);
    let shown = format!("{refreshed:?}");
    let rotated = refreshed.refresh_token.unwrap();
    assert_ne!(rotated.expose_secret(), REFRESH);
    assert_eq!(
        server.refresh_token().as_deref(),
        Some(rotated.expose_secret())
    );
    let last = server.requests().pop().unwrap();
    assert_eq!(last.form["grant_type"], "refresh_token");
    assert_eq!(last.form["refresh_token"], REFRESH);
    let err = c.refresh(&refresh).await.unwrap_err();
    assert!(matches!(err, OAuthError::InvalidGrant { .. }), "{err:?}");
    assert!(!err.is_temporary());
    for text in [err.to_string(), format!("{err:?}"), shown] {
        assert!(!text.contains("canary"), "{text}");
    }

    // Revoked: invalid_grant, said so.
    server.revoke();
    let err = c.refresh(&rotated).await.unwrap_err();
    assert!(err.to_string().contains("invalid_grant"), "{err}");
}

#[tokio::test]
async fn refusals_and_an_unreachable_server() {
    let server = OAuthServer::start(OAuthOptions::new("app-1", ACCESS, REFRESH).deny());
    let c = client(&server, "app-1");
    let device = c.start().await.unwrap();
    let err = c.poll(&device, device.interval).await.unwrap_err();
    assert!(matches!(err, OAuthError::Denied), "{err:?}");

    // Another app id: invalid_client, with the server's words.
    let err = client(&server, "not-registered").start().await.unwrap_err();
    match &err {
        OAuthError::Refused { code, said } => {
            assert_eq!(code.as_deref(), Some("invalid_client"));
            assert!(said.contains("Application not found"), "{said}");
        }
        other => panic!("{other:?}"),
    }

    // Nothing listening: temporary.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = HttpClient::new(
        notify_smtp::tls_client_config(None, &notify_smtp::SystemRoots::Platform, false).unwrap(),
        Duration::from_secs(2),
    );
    let gone = OAuthClient::new(
        http,
        Endpoints::new(
            &format!("http://127.0.0.1:{port}/device"),
            &format!("http://127.0.0.1:{port}/token"),
            "s",
        ),
        "app-1",
        None,
    );
    let err = gone
        .refresh(&SecretString::from(REFRESH.to_owned()))
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    assert!(!err.to_string().contains("canary"));
}
