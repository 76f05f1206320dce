//! `notify providers`: the built-in provider presets.

use std::fmt::Write as _;

use notify_smtp::providers::{UsernameRule, PROVIDERS};

use crate::app::error::{exit, CliError};

pub fn providers(json: bool) -> Result<u8, CliError> {
    if json {
        let list: Vec<serde_json::Value> = PROVIDERS
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id,
                    "name": p.name,
                    "domains": p.domains,
                    "host": p.host,
                    "port": p.port,
                    "security": p.security.as_str(),
                    "username": username_rule(p.username),
                    "password_note": p.password_note,
                })
            })
            .collect();
        crate::app::emit_json(&list)?;
        return Ok(exit::OK);
    }
    let mut out = String::new();
    for p in PROVIDERS {
        let _ = writeln!(out, "{:<10} {}", p.id, p.name);
        let _ = writeln!(
            out,
            "           server = \"{}:{}\", security = \"{}\"",
            p.host, p.port, p.security
        );
        if !p.domains.is_empty() {
            let _ = writeln!(out, "           chosen for: @{}", p.domains.join(", @"));
        }
        let _ = writeln!(out, "           username: {}", username_rule(p.username));
        let _ = writeln!(out, "           {}", p.password_note);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Use one with `provider = \"ID\"` in [accounts.NAME], or leave `server` out and"
    );
    let _ = writeln!(out, "the preset is chosen by the from address's domain.");
    crate::app::emit(&out);
    Ok(exit::OK)
}

fn username_rule(rule: UsernameRule) -> &'static str {
    match rule {
        UsernameRule::FullAddress => "the full email address",
        UsernameRule::AppleMailbox => "your @icloud.com, @me.com or @mac.com address",
    }
}
