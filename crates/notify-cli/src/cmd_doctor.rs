//! `notify doctor`: checks an account's server step by step (DNS, TCP, TLS,
//! EHLO, AUTH) without sending mail.

use std::sync::Arc;

use notify_smtp::doctor::{self, Verdict};

use crate::account;
use crate::deliver::Env;
use crate::error::{exit, CliError};

pub async fn doctor(env: &Env<'_>, account_flag: Option<String>, json: bool) -> Result<u8, CliError> {
    let _ = json;
    let config = &env.loaded.config;
    let name = match account_flag.or_else(|| config.email.account.clone()) {
        Some(name) => name,
        None => {
            env.ui.info(&format!(
                "no account configured: notifications go to the local Maildir {}; add one with `notify account add NAME`",
                env.data_dir.join("maildir").display()
            ));
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
    let (smtp, secret_problem) = match account::with_credentials(&name, acc, smtp.clone()) {
        Ok(with) => (with, None),
        Err(e) => (smtp, Some(e)),
    };
    let mut out = format!(
        "Checking account `{name}`: {}:{} ({})\n",
        smtp.host, smtp.port, smtp.security
    );
    let mut checks = if env.ui.is_verbose() {
        doctor::diagnose_with_transcript(&smtp, Arc::new(|line: &str| eprintln!("{line}"))).await
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
    let width = checks
        .iter()
        .map(|c| c.step.len())
        .max()
        .unwrap_or(4)
        .max(8);
    let line = |out: &mut String, step: &str, verdict: &str, detail: &str, hint: Option<&str>| {
        out.push_str(&format!("{step:<width$}  {verdict:<7} {detail}\n"));
        if let Some(hint) = hint {
            out.push_str(&format!("{:<width$}  {:<7} hint: {hint}\n", "", ""));
        }
    };
    match (&secret_problem, &acc.password) {
        (Some(e), _) => line(&mut out, "PASSWORD", "fail", e.message(), e.hint_text()),
        (None, Some(reference)) => line(
            &mut out,
            "PASSWORD",
            "ok",
            &format!("found ({reference})"),
            None,
        ),
        (None, None) => line(
            &mut out,
            "PASSWORD",
            "skipped",
            "no `password`: no login",
            None,
        ),
    }
    for c in &checks {
        out.push_str(&format!(
            "{:<width$}  {:<7} {}\n",
            c.step,
            c.verdict.as_str(),
            c.detail
        ));
        if let Some(hint) = &c.hint {
            if c.verdict != Verdict::Ok {
                out.push_str(&format!("{:<width$}  {:<7} hint: {hint}\n", "", ""));
            }
        }
    }
    let mut overall = doctor::overall(&checks);
    if secret_problem.is_some() {
        overall = Verdict::Fail;
    }
    out.push_str(match overall {
        Verdict::Ok => "\nAll checks passed.\n",
        Verdict::Warn => "\nPassed, with warnings.\n",
        _ => "\nSome checks failed.\n",
    });
    crate::emit(&out);
    Ok(match (overall, secret_problem) {
        (_, Some(e)) => e.code(),
        (Verdict::Fail, None) => exit::PERMANENT,
        _ => exit::OK,
    })
}
