//! The baseline of `cargo xtask bench`: one message over STARTTLS + AUTH
//! PLAIN with lettre alone, on a TCP stream connected by hand with
//! `TCP_NODELAY` (lettre 0.11 never sets it), so none of notify's config,
//! templates or secrets are involved.
//!
//! Usage: `bare_send HOST PORT CA_PEM USER PASSWORD FROM TO`
//!
//! With `-` for `CA_PEM` it speaks plaintext without AUTH (the bench's
//! smtp-sink case); `USER` and `PASSWORD` are then ignored.
//!
//! The message is the one `notify send --task Bench --status failure
//! --exit-code 1` sends in the bench.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use std::process::ExitCode;

use lettre::address::Envelope;
use lettre::message::Message;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, ca, user, password, from, to] = args.as_slice() else {
        eprintln!("usage: bare_send HOST PORT CA_PEM USER PASSWORD FROM TO");
        return ExitCode::from(2);
    };
    match send(host, port, ca, user, password, from, to).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare_send: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn send(
    host: &str,
    port: &str,
    ca: &str,
    user: &str,
    password: &str,
    from: &str,
    to: &str,
) -> Result<(), BoxError> {
    let message = Message::builder()
        .from(from.parse()?)
        .to(to.parse()?)
        .subject("bench: Bench: failure")
        .body(String::from("Task Bench failed with exit code 1.\n"))?;
    let envelope = Envelope::new(Some(from.parse()?), vec![to.parse()?])?;
    let stream = TcpStream::connect((host, port.parse::<u16>()?)).await?;
    stream.set_nodelay(true)?;
    let hello = ClientId::default();
    let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello).await?;
    if ca == "-" {
        conn.send(&envelope, &message.formatted()).await?;
        conn.quit().await?;
        return Ok(());
    }
    let tls = TlsParameters::builder(host.to_owned())
        .add_root_certificate(Certificate::from_pem(&std::fs::read(ca)?)?)
        .build_rustls()?;
    conn.starttls(tls, &hello).await?;
    if !conn.is_encrypted() {
        return Err("STARTTLS did not encrypt the connection; not sending the password".into());
    }
    let credentials = Credentials::new(user.to_owned(), password.to_owned());
    conn.auth(&[Mechanism::Plain], &credentials).await?;
    conn.send(&envelope, &message.formatted()).await?;
    conn.quit().await?;
    Ok(())
}
