//! http.md: a self-hosted Healthchecks gets a start ping and `/2` with the
//! log of one run (one rid), ntfy a push with title, priority, tags, click
//! and the token, a Slack webhook the JSON body. Against the recipes'
//! receiver: the page's hosts are moved to it.

use super::receiver::{Receiver, Request};
use super::*;

const PAGE: &str = "http.md";

/// The page's hosts, moved to the receiver.
const HOSTS: [&str; 3] = [
    "https://hc.example.com",
    "https://ntfy.example.com",
    "https://hooks.slack.com",
];

pub(super) fn http(ctx: &mut Ctx) {
    let mut receiver = match Receiver::start() {
        Ok(r) => r,
        Err(e) => {
            ctx.scenario(PAGE, "HTTP receiver", |_| Err(e));
            return;
        }
    };
    let base = format!("http://127.0.0.1:{}", receiver.port);
    ctx.scenario(
        PAGE,
        "Healthchecks: start, then /2 with the log, one rid",
        |c| {
            with_config(c, "healthchecks", &base, |c| {
                let out = c.run_block(PAGE, "healthchecks-run", 2)?;
                let got = receiver.wait_new(2, Duration::from_secs(10))?;
                let [start, end] = &got[..] else {
                    return Err(format!(
                        "{} pings arrived, not 2: {got:?}\n{}",
                        got.len(),
                        out.output
                    ));
                };
                let rid = start
                    .path
                    .split_once("/start?rid=")
                    .map(|(_, rid)| rid.to_owned())
                    .ok_or_else(|| format!("not a start ping: {}", start.path))?;
                if !end.path.ends_with(&format!("/2?rid={rid}")) {
                    return Err(format!(
                        "the end ping {} is not /2 with rid {rid}",
                        end.path
                    ));
                }
                if !end.body.contains("Cannot stat") {
                    return Err(format!(
                        "the end ping's body has no tar error: {}",
                        end.body
                    ));
                }
                c.outputs.insert(
                    (PAGE.into(), "text healthchecks-pings".into()),
                    c.back_from_tmp(&format!(
                        "{}\n\n{}",
                        shown(start, &[]),
                        shown(end, &["content-type"])
                    )),
                );
                Ok(format!("start and /2 with rid {rid}"))
            })
        },
    );
    ctx.scenario(PAGE, "ntfy: title, priority, tags, click, token", |c| {
        with_config(c, "ntfy", &base, |c| {
            c.run_block(PAGE, "ntfy-send", 0)?;
            let got = receiver.wait_new(1, Duration::from_secs(10))?;
            let push = got.first().ok_or("no push arrived")?;
            for (name, want) in [
                ("priority", "4"),
                ("tags", "heavy_multiplication_x"),
                ("authorization", "Bearer tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"),
                ("click", "https://backups.example.com/"),
            ] {
                if push.header(name) != Some(want) {
                    return Err(format!("{name}: {:?}, expected {want}", push.header(name)));
                }
            }
            c.outputs.insert(
                (PAGE.into(), "text ntfy-push".into()),
                shown(
                    push,
                    &["title", "priority", "tags", "click", "authorization"],
                ),
            );
            Ok("priority 4, ✖ tag, click and token".into())
        })
    });
    ctx.scenario(PAGE, "Slack webhook: the JSON with text", |c| {
        with_config(c, "webhook", &base, |c| {
            c.run_block(PAGE, "webhook-send", 0)?;
            let got = receiver.wait_new(1, Duration::from_secs(10))?;
            let post = got.first().ok_or("no POST arrived")?;
            if !post.path.starts_with("/services/T0000000/") {
                return Err(format!("posted to {}", post.path));
            }
            let pretty = super::prometheus::pretty_json(&post.body)?;
            if !pretty.contains("\"text\": \"backup-host: Offsite copy: Failed\"") {
                return Err(format!("no text field with the subject:\n{pretty}"));
            }
            c.outputs
                .insert((PAGE.into(), "json webhook-body".into()), pretty);
            Ok("text = the subject".into())
        })
    });
    receiver.stop();
}

/// Runs `f` with the page's `config NAME` block added to the home config
/// (its hosts moved to `base`), then puts the config back.
fn with_config(
    c: &mut Ctx,
    name: &str,
    base: &str,
    f: impl FnOnce(&mut Ctx) -> Result<String, String>,
) -> Result<String, String> {
    let config = c.home_config();
    let original = fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
    let mut extra = c.to_tmp(&c.block(PAGE, "config", name)?);
    for host in HOSTS {
        extra = extra.replace(host, base);
    }
    write_file(&config, &format!("{original}\n{extra}"))?;
    let result = f(c);
    write_file(&config, &original)?;
    result
}

/// A request as the page shows it: request line, the `headers` named (an
/// authorization redacted), then the body.
fn shown(r: &Request, headers: &[&str]) -> String {
    let mut out = format!("{} {}", r.method, r.path);
    for name in headers {
        if let Some(value) = r.header(name) {
            let value = if *name == "authorization" {
                "[REDACTED]"
            } else {
                value
            };
            out.push_str(&format!("\n{}: {value}", title_case(name)));
        }
    }
    if !r.body.is_empty() {
        out.push_str("\n\n");
        out.push_str(r.body.trim_end());
    }
    out
}

fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}
