//! `notify doctor`: checks an account's server step by step (DNS, TCP, TLS,
//! EHLO, AUTH) without sending mail.

use std::sync::Arc;

use notify_smtp::doctor::{self, Verdict};

use crate::app::error::{exit, CliError};
use crate::app::Env;
use crate::app::{account, hints};
use crate::pipeline::connect::with_credentials;
use crate::pipeline::Connect;

/// `notify doctor [--account A]`.
pub async fn doctor(
    env: &Env<'_>,
    connect: &dyn Connect,
    account_flag: Option<String>,
    json: bool,
) -> Result<u8, CliError> {
    let config = &env.loaded.config;
    let name = match account_flag.or_else(|| config.email.account.clone()) {
        Some(name) => name,
        None => {
            env.ui.info(&format!(
                "no account configured: notifications go to the local Maildir {}; add one with `notify account add NAME`",
                env.data_dir.join(crate::app::paths::MAILDIR).display()
            ));
            if json {
                crate::app::emit_json(&serde_json::json!({
                    "account": null,
                    "server": null,
                    "security": null,
                    "checks": [],
                    "verdict": Verdict::Skipped.as_str(),
                }))?;
            }
            return Ok(exit::OK);
        }
    };
    let acc = config
        .accounts
        .get(&name)
        .ok_or_else(|| account::unknown_account(config, &name))?;
    let smtp = account::smtp_config(&name, acc, env.ui)?;
    // A password that cannot be had is itself a finding; check the rest
    // without logging in.
    let (smtp, secret_problem) = match with_credentials(connect, &name, acc, smtp.clone()).await {
        Ok(with) => (with, None),
        Err(e) => (smtp, Some(e.into_error())),
    };
    let mut checks = if env.ui.is_verbose() {
        // The transcript goes to stderr only, never into the report.
        doctor::diagnose_with_transcript(&smtp, Arc::new(|line: &str| crate::app::diag(line))).await
    } else {
        doctor::diagnose(&smtp).await
    };
    if secret_problem.is_some() {
        for c in checks.iter_mut().filter(|c| c.step == doctor::AUTH) {
            c.verdict = Verdict::Skipped;
            c.detail = "not checked: the password is not available".to_owned();
            c.hint = None;
        }
    }

    // One row per line of the report: the password first, then the steps.
    // A step's hint is shown only when the step did not pass.
    let password = match (&secret_problem, &acc.password) {
        (Some(e), _) => Row {
            step: "PASSWORD",
            verdict: Verdict::Fail,
            detail: e.message().to_owned(),
            hint: e.hint_text().map(str::to_owned),
        },
        (None, Some(reference)) => Row {
            step: "PASSWORD",
            verdict: Verdict::Ok,
            detail: format!("found ({reference})"),
            hint: None,
        },
        (None, None) => Row {
            step: "PASSWORD",
            verdict: Verdict::Skipped,
            detail: "no `password`: no login".to_owned(),
            hint: None,
        },
    };
    let rows: Vec<Row> = std::iter::once(password)
        .chain(checks.iter().map(|c| {
            Row {
                step: c.step,
                verdict: c.verdict,
                detail: c.detail.clone(),
                // The hint's facts come from the server (names in its
                // certificate): escaped like the detail.
                hint: c
                    .hint
                    .as_ref()
                    .filter(|_| c.verdict != Verdict::Ok)
                    .map(|h| notify_core::text::printable(&hints::smtp(h), None)),
            }
        }))
        .collect();
    let mut overall = doctor::overall(&checks);
    if secret_problem.is_some() {
        overall = Verdict::Fail;
    }
    let code = match (overall, &secret_problem) {
        (_, Some(e)) => e.code(),
        (Verdict::Fail, None) => exit::PERMANENT,
        _ => exit::OK,
    };

    if json {
        let checks: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "step": r.step,
                    "verdict": r.verdict.as_str(),
                    "detail": r.detail,
                    "hint": r.hint,
                })
            })
            .collect();
        crate::app::emit_json(&serde_json::json!({
            "account": name,
            "server": format!("{}:{}", smtp.host, smtp.port),
            "security": smtp.security.to_string(),
            "checks": checks,
            "verdict": overall.as_str(),
        }))?;
        return Ok(code);
    }

    let mut out = format!(
        "Checking account `{name}`: {}:{} ({})\n",
        smtp.host, smtp.port, smtp.security
    );
    let width = checks
        .iter()
        .map(|c| c.step.len())
        .max()
        .unwrap_or(4)
        .max(8);
    for r in &rows {
        out.push_str(&format!(
            "{:<width$}  {:<7} {}\n",
            r.step,
            r.verdict.as_str(),
            r.detail
        ));
        if let Some(hint) = &r.hint {
            out.push_str(&format!("{:<width$}  {:<7} hint: {hint}\n", "", ""));
        }
    }
    out.push_str(match overall {
        Verdict::Ok => "\nAll checks passed.\n",
        Verdict::Warn => "\nPassed, with warnings.\n",
        _ => "\nSome checks failed.\n",
    });
    crate::app::emit(&out);
    Ok(code)
}

/// One line of the report (and one element of `checks` in JSON).
struct Row {
    step: &'static str,
    verdict: Verdict,
    detail: String,
    hint: Option<String>,
}
