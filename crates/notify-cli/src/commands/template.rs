//! `notify template values | check | preview`.

use std::fmt::Write as _;
use std::path::PathBuf;

use notify_template::{catalogue, Context, Template};

use crate::app::cli::TemplateCommand;
use crate::app::error::{exit, CliError};
use crate::app::Env;
use crate::pipeline::{self, TemplateTexts};

pub fn template(env: &Env<'_>, cmd: TemplateCommand) -> Result<u8, CliError> {
    match cmd {
        TemplateCommand::Values { locale, json } => values(env, locale, json),
        TemplateCommand::Check { files, extras } => check(env, files, extras),
        TemplateCommand::Preview {
            task,
            locale,
            status,
            result,
            set,
            html,
        } => preview(env, task, locale, status, result, set, html),
    }
}

fn chosen_locale(
    env: &Env<'_>,
    flag: Option<String>,
) -> Result<&'static notify_template::Locale, CliError> {
    let code = flag
        .or_else(|| env.loaded.config.locale.clone().map(|l| l.0))
        .unwrap_or_else(|| "en".to_owned());
    pipeline::locale(&code)
}

fn values(env: &Env<'_>, locale: Option<String>, json: bool) -> Result<u8, CliError> {
    let locale = chosen_locale(env, locale)?;
    let english = pipeline::locale("en")?;
    if json {
        let list: Vec<serde_json::Value> = catalogue()
            .iter()
            .map(|v| {
                serde_json::json!({
                    "name": v.name(locale),
                    "placeholder": format!("##{}##", v.name(locale)),
                    "aliases": v.names(),
                    "description": v.description(locale),
                    "sample": v.sample(locale),
                })
            })
            .collect();
        crate::app::emit_json(&list)?;
        return Ok(exit::OK);
    }
    let mut out = String::new();
    let width = catalogue()
        .iter()
        .map(|v| v.name(locale).chars().count() + 4)
        .max()
        .unwrap_or(0);
    for v in catalogue() {
        let name = format!("##{}##", v.name(locale));
        let pad = width.saturating_sub(name.chars().count());
        let _ = writeln!(out, "{name}{}  {}", " ".repeat(pad), v.description(locale));
        let other = v.name(english);
        if other != v.name(locale) {
            let _ = writeln!(out, "{}  also: ##{other}##", " ".repeat(width));
        }
        let sample = v.sample(locale);
        let first = sample.lines().next().unwrap_or("");
        let more = if sample.lines().count() > 1 {
            " ..."
        } else {
            ""
        };
        let _ = writeln!(out, "{}  e.g. {first}{more}", " ".repeat(width));
    }
    out.push_str("\nExtra values set with `--set KEY=VALUE` (run, send) are used as ##KEY##.\n");
    out.push_str("Names match in any case and in every locale; write \\## for a literal ##.\n");
    crate::app::emit(&out);
    Ok(exit::OK)
}

fn check(env: &Env<'_>, files: Vec<PathBuf>, extras: Vec<String>) -> Result<u8, CliError> {
    let extras: Vec<&str> = extras.iter().map(String::as_str).collect();
    let mut checked = 0usize;
    let mut bad = 0usize;
    let mut seen = std::collections::BTreeSet::new();
    let mut check_one = |label: &str, text: &str| {
        checked += 1;
        match Template::compile(text, &extras) {
            Ok(_) => env.ui.verbose(&format!("{label}: ok")),
            Err(e) => {
                bad += 1;
                let mut line = format!("{label}: {e}");
                if e.suggestions().is_empty() {
                    line.push_str(" (an extra value set with --set NAME=... is accepted here with --extra NAME)");
                }
                crate::app::diag(&line);
            }
        }
    };

    // The [email] templates, then each task's own; a template shared by
    // several tasks is checked once.
    let mut tasks: Vec<Option<&str>> = vec![None];
    tasks.extend(env.loaded.config.tasks.keys().map(|t| Some(t.as_str())));
    let mut unreadable = Vec::new();
    for task in tasks {
        let texts = TemplateTexts::of(env, task);
        for (label, text) in [texts.subject, texts.body, texts.html]
            .into_iter()
            .flatten()
        {
            if seen.insert(label.clone()) {
                check_one(&label, &text);
            }
        }
        for note in texts.notes {
            if seen.insert(note.clone()) {
                unreadable.push(note);
            }
        }
    }
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => check_one(&file.display().to_string(), &text),
            Err(e) => unreadable.push(format!("{}: cannot read: {e}", file.display())),
        }
    }
    for note in &unreadable {
        crate::app::diag(note);
    }
    let total = checked + unreadable.len();
    let bad = bad + unreadable.len();
    if bad > 0 {
        return Err(
            CliError::config(format!("{bad} of {total} template(s) have errors"))
                .hint("`notify template values` lists every value name"),
        );
    }
    env.ui.info(&if total == 0 {
        "no templates configured: the built-in defaults are used".to_owned()
    } else {
        format!("{total} template(s) ok")
    });
    Ok(exit::OK)
}

fn preview(
    env: &Env<'_>,
    task: Option<String>,
    locale: Option<String>,
    status: Option<notify_core::Outcome>,
    result: Option<PathBuf>,
    set: Vec<String>,
    html: bool,
) -> Result<u8, CliError> {
    let sample = result.is_none();
    let mut r = match &result {
        Some(path) => crate::pipeline::result::read_result(path)?,
        None => notify_template::sample_result(),
    };
    if let Some(task) = &task {
        r.task_name = task.clone();
    }
    if let Some(status) = status {
        r.outcome = status;
        if sample {
            // Keep the sample consistent with the status asked for.
            use notify_core::Outcome;
            (r.exit_code, r.signal) = match status {
                Outcome::Success => (Some(0), None),
                Outcome::Warning | Outcome::Failure => (Some(1), None),
                Outcome::Cancelled => (None, Some(15)),
            };
        }
    }
    for kv in &set {
        crate::pipeline::result::apply_set(&mut r, kv)?;
    }
    let eff = env.loaded.config.for_task(&r.task_name);
    let locale = pipeline::locale(&locale.unwrap_or_else(|| eff.locale.clone()))?;
    let texts = TemplateTexts::of(env, Some(&r.task_name));
    for note in &texts.notes {
        env.ui.warn(note);
    }
    let ctx = Context::new(&r, locale, env.offset);
    let rendered = notify_template::render_notification(&texts.sources(locale), &ctx, &[], 0);
    for w in &rendered.warnings {
        env.ui.warn(w);
    }
    let mut out = format!("Subject: {}\n\n{}", rendered.subject, rendered.text);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if html {
        match &rendered.html {
            Some(h) => {
                let _ = write!(out, "\n--- HTML ---\n{h}\n");
            }
            None => env.ui.info("no HTML template is configured"),
        }
    }
    crate::app::emit(&out);
    Ok(exit::OK)
}
