//! `notify template values | check | preview`.

use std::path::PathBuf;

use notify_template::{catalogue, Context, Template};

use crate::cli::TemplateCommand;
use crate::config::Settings;
use crate::deliver::{self, Env, TemplateTexts};
use crate::error::{exit, CliError};

pub fn template(env: &Env<'_>, cmd: TemplateCommand) -> Result<u8, CliError> {
    match cmd {
        TemplateCommand::Values { locale, json } => values(env, locale, json),
        TemplateCommand::Check { files, extras } => check(env, files, extras),
        TemplateCommand::Preview {
            task,
            locale,
            status,
            result,
            html,
        } => preview(env, task, locale, status, result, html),
    }
}

fn chosen_locale(
    env: &Env<'_>,
    flag: Option<String>,
) -> Result<&'static notify_template::Locale, CliError> {
    let code = flag
        .or_else(|| env.loaded.config.locale.clone())
        .unwrap_or_else(|| "en".to_owned());
    deliver::locale(&code)
}

fn values(env: &Env<'_>, locale: Option<String>, json: bool) -> Result<u8, CliError> {
    let locale = chosen_locale(env, locale)?;
    let english = deliver::locale("en")?;
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
        let text = serde_json::to_string_pretty(&list)
            .map_err(|e| CliError::new(exit::PERMANENT, e.to_string()))?;
        println!("{text}");
        return Ok(exit::OK);
    }
    let width = catalogue()
        .iter()
        .map(|v| v.name(locale).chars().count() + 4)
        .max()
        .unwrap_or(0);
    for v in catalogue() {
        let name = format!("##{}##", v.name(locale));
        let pad = width.saturating_sub(name.chars().count());
        println!("{name}{}  {}", " ".repeat(pad), v.description(locale));
        let other = v.name(english);
        if other != v.name(locale) {
            println!("{}  also: ##{other}##", " ".repeat(width));
        }
        let sample = v.sample(locale);
        let first = sample.lines().next().unwrap_or("");
        let more = if sample.lines().count() > 1 {
            " ..."
        } else {
            ""
        };
        println!("{}  e.g. {first}{more}", " ".repeat(width));
    }
    println!();
    println!("Extra values set with `notify send --set KEY=VALUE` are used as ##KEY##.");
    println!("Names match in any case and in every locale; write \\## for a literal ##.");
    Ok(exit::OK)
}

fn check(env: &Env<'_>, files: Vec<PathBuf>, extras: Vec<String>) -> Result<u8, CliError> {
    let extras: Vec<&str> = extras.iter().map(String::as_str).collect();
    let mut checked = 0usize;
    let mut bad = 0usize;
    let check_one = |label: &str, text: &str, checked: &mut usize, bad: &mut usize| {
        *checked += 1;
        if let Err(e) = Template::compile(text, &extras) {
            *bad += 1;
            eprintln!("{label}: {e}");
        } else {
            env.ui.verbose(&format!("{label}: ok"));
        }
    };

    let config = &env.loaded.config;
    let mut scopes: Vec<(String, Settings)> = vec![("email".to_owned(), config.email.clone())];
    for (name, s) in &config.tasks {
        scopes.push((format!("tasks.\"{name}\""), s.clone()));
    }
    for (scope, settings) in scopes {
        let eff = crate::config::Effective {
            settings,
            locale: "en".to_owned(),
        };
        let texts = TemplateTexts::of(env, &eff, &scope);
        for (label, text) in [texts.subject, texts.body, texts.html]
            .into_iter()
            .flatten()
        {
            check_one(&label, &text, &mut checked, &mut bad);
        }
        for (key, file) in [
            ("body_file", &eff.settings.body_file),
            ("html_file", &eff.settings.html_file),
        ] {
            if let Some(file) = file {
                let path = env.loaded.base_dir().join(file);
                if !path.is_file() {
                    bad += 1;
                    eprintln!("{scope}.{key}: cannot read {}", path.display());
                }
            }
        }
    }
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => check_one(&file.display().to_string(), &text, &mut checked, &mut bad),
            Err(e) => {
                checked += 1;
                bad += 1;
                eprintln!("{}: cannot read: {e}", file.display());
            }
        }
    }
    if bad > 0 {
        return Err(
            CliError::config(format!("{bad} of {checked} template(s) have errors"))
                .hint("`notify template values` lists every value name"),
        );
    }
    env.ui.info(&if checked == 0 {
        "no templates configured: the built-in defaults are used".to_owned()
    } else {
        format!("{checked} template(s) ok")
    });
    Ok(exit::OK)
}

fn preview(
    env: &Env<'_>,
    task: Option<String>,
    locale: Option<String>,
    status: Option<notify_core::Outcome>,
    result: Option<PathBuf>,
    html: bool,
) -> Result<u8, CliError> {
    let mut r = match &result {
        Some(path) => crate::cmd_send::read_result(path)?,
        None => notify_template::sample_result(),
    };
    if let Some(task) = &task {
        r.task_name = task.clone();
    }
    if let Some(status) = status {
        r.outcome = status;
    }
    let eff = env.loaded.config.for_task(&r.task_name);
    let locale = deliver::locale(&locale.unwrap_or_else(|| eff.locale.clone()))?;
    let scope = if env.loaded.config.tasks.contains_key(&r.task_name) {
        format!("tasks.\"{}\"", r.task_name)
    } else {
        "email".to_owned()
    };
    let texts = TemplateTexts::of(env, &eff, &scope);
    let ctx = Context {
        result: &r,
        locale,
        offset: env.offset,
    };
    let rendered = notify_template::render_notification(&texts.sources(), &ctx, &[], 0);
    for w in &rendered.warnings {
        env.ui.warn(w);
    }
    println!("Subject: {}", rendered.subject);
    println!();
    print!("{}", rendered.text);
    if !rendered.text.ends_with('\n') {
        println!();
    }
    if html {
        match &rendered.html {
            Some(h) => {
                println!();
                println!("--- HTML ---");
                println!("{h}");
            }
            None => env.ui.info("no HTML template is configured"),
        }
    }
    Ok(exit::OK)
}
