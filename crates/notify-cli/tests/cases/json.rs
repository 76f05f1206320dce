//! The `--json` outputs documented in docs/json.md: each is parsed with
//! serde_json and its fields checked by name, so a renamed or removed field
//! fails here. The key-set checks list exactly the documented fields: a
//! field added to an output is added to docs/json.md and here too.

use std::collections::BTreeSet;
use std::process::Output;

use notify_testkit::{Listener, ServerOptions, SmtpServer};
use serde_json::Value;

use crate::support::{closed_port, TestEnv};

const USER: &str = "user@example.com";
const PASSWORD: &str = "canary-Pa55-w0rd-json";

/// Runs `notify ARGS` with the canary in `NOTIFY_TEST_PW`.
fn notify(env: &TestEnv, args: &[&str]) -> Output {
    env.cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .args(args)
        .output()
        .expect("run notify")
}

/// stdout parsed as JSON: nothing else may be on it.
fn parse(env: &TestEnv, out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", env.describe(out)))
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn assert_no_canary(out: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(PASSWORD), "the password leaks:\n{all}");
}

// ---------------------------------------------------------------- template values, providers

#[test]
fn template_values_json_fields() {
    let env = TestEnv::new();
    let out = env.notify(&["template", "values", "--json", "--locale", "de"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let json = parse(&env, &out);
    let list = json.as_array().unwrap();
    assert!(list.len() >= 16, "{json:#}");
    for v in list {
        assert_eq!(
            keys(v),
            set(&["name", "placeholder", "aliases", "description", "sample"]),
            "{v:#}"
        );
    }
    let task = list
        .iter()
        .find(|v| v["aliases"][0] == "Task Name")
        .unwrap();
    assert_eq!(task["name"], "Backup-Name", "the name in the chosen locale");
    assert_eq!(task["placeholder"], "##Backup-Name##");
    assert_eq!(
        task["aliases"],
        serde_json::json!(["Task Name", "Backup-Name"])
    );
    assert!(task["sample"].is_string());
}

#[test]
fn providers_json_fields() {
    let env = TestEnv::new();
    let out = env.notify(&["providers", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let json = parse(&env, &out);
    let list = json.as_array().unwrap();
    for p in list {
        assert_eq!(
            keys(p),
            set(&[
                "id",
                "name",
                "domains",
                "host",
                "port",
                "security",
                "username",
                "password_note"
            ]),
            "{p:#}"
        );
    }
    let gmail = list.iter().find(|p| p["id"] == "gmail").unwrap();
    assert_eq!(gmail["host"], "smtp.gmail.com");
    assert_eq!(gmail["port"], 465);
    assert_eq!(gmail["security"], "tls");
    assert!(gmail["domains"]
        .as_array()
        .unwrap()
        .contains(&"gmail.com".into()));
}

// ---------------------------------------------------------------- account list

const ACCOUNT_KEYS: &[&str] = &[
    "name",
    "from",
    "provider",
    "server",
    "security",
    "username",
    "password_store",
    "password_present",
    "password_error",
    "default",
    "config_error",
];

#[test]
fn account_list_json_without_accounts_is_an_empty_array() {
    let env = TestEnv::new();
    let out = env.notify(&["account", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(parse(&env, &out), serde_json::json!([]));
}

#[test]
fn account_list_json_shows_stores_and_never_a_password() {
    let env = TestEnv::new();
    let pw_file = env.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let ran = env.path().join("cmd-ran");
    env.config(&format!(
        r#"
[email]
account = "work"
to = "ops@example.com"

[accounts.work]
from = "Backups <backup@example.com>"
server = "smtp.example.com:587"
password = "env:NOTIFY_TEST_PW"

[accounts.unset]
from = "me@example.com"
server = "smtp.example.com:465"
username = "login-name"
password = "env:NOTIFY_TEST_UNSET"

[accounts.gmail]
from = "me@gmail.com"
password = "file:{pw}"

[accounts.pass]
from = "me@example.com"
server = "mail.example.com:587"
password = "cmd:touch {ran}"

[accounts.relay]
from = "cron@example.com"
server = "127.0.0.1:25"
security = "none"

[accounts.broken]
from = "me@example.com"
password = "{PASSWORD}"
"#,
        pw = pw_file.display(),
        ran = ran.display(),
    ));
    let out = env
        .cmd()
        .env("NOTIFY_TEST_PW", PASSWORD)
        .env_remove("NOTIFY_TEST_UNSET")
        .args(["account", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_no_canary(&out);
    assert!(!ran.exists(), "the password command is not run");
    let json = parse(&env, &out);
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), 6, "{json:#}");
    for a in list {
        assert_eq!(keys(a), set(ACCOUNT_KEYS), "{a:#}");
    }
    let get = |name: &str| list.iter().find(|a| a["name"] == name).unwrap();

    let work = get("work");
    assert_eq!(work["from"], "Backups <backup@example.com>");
    assert_eq!(work["server"], "smtp.example.com:587");
    assert_eq!(work["security"], "starttls");
    assert_eq!(work["username"], "backup@example.com");
    assert_eq!(work["password_store"], "env:NOTIFY_TEST_PW");
    assert_eq!(work["password_present"], true);
    assert_eq!(work["password_error"], Value::Null);
    assert_eq!(work["default"], true);
    assert_eq!(work["provider"], Value::Null);
    assert_eq!(work["config_error"], Value::Null);

    let unset = get("unset");
    assert_eq!(unset["security"], "tls", "port 465 means implicit TLS");
    assert_eq!(unset["username"], "login-name");
    assert_eq!(unset["password_present"], false);
    assert!(
        unset["password_error"]
            .as_str()
            .unwrap()
            .contains("NOTIFY_TEST_UNSET is not set"),
        "{unset:#}"
    );
    assert_eq!(unset["default"], false);

    let gmail = get("gmail");
    assert_eq!(gmail["provider"], "gmail");
    assert_eq!(
        gmail["server"], "smtp.gmail.com:465",
        "the preset, resolved"
    );
    assert_eq!(gmail["security"], "tls");
    assert_eq!(
        gmail["password_store"],
        format!("file:{}", pw_file.display())
    );
    assert_eq!(gmail["password_present"], true);

    let pass = get("pass");
    assert_eq!(
        pass["password_store"],
        format!("cmd:touch {}", ran.display())
    );
    assert_eq!(pass["password_present"], Value::Null, "not known: not run");

    let relay = get("relay");
    assert_eq!(relay["security"], "none");
    assert_eq!(relay["password_store"], Value::Null, "no login");
    assert_eq!(relay["password_present"], Value::Null);

    let broken = get("broken");
    assert_eq!(broken["server"], Value::Null);
    assert!(
        broken["config_error"]
            .as_str()
            .unwrap()
            .contains("no `server` is set"),
        "{broken:#}"
    );
    assert_eq!(broken["password_store"], Value::Null);
    assert!(broken["password_error"].is_string(), "{broken:#}");
}

// ---------------------------------------------------------------- queue list

const QUEUE_KEYS: &[&str] = &[
    "id",
    "state",
    "task",
    "account",
    "subject",
    "recipients",
    "message_id",
    "queued_at",
    "next_attempt_at",
    "attempts",
    "last_error",
];

#[test]
fn queue_list_json_empty_is_an_empty_array() {
    let env = TestEnv::new();
    let out = env.notify(&["queue", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_eq!(out.stdout, b"[]\n");
    assert_eq!(parse(&env, &out), serde_json::json!([]));
}

#[test]
fn queue_list_json_shows_queued_and_given_up_notifications() {
    let env = TestEnv::new();
    env.config(&format!(
        "[email]\naccount = \"down\"\nto = [\"ops@example.com\", \"second@example.com\"]\n\
         cc = \"boss@example.com\"\nlevel = \"always\"\nbody = \"BODY-MARKER ##Task Name##\"\n\
         [accounts.down]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{}\"\nsecurity = \"starttls\"\n\
         password = \"env:NOTIFY_TEST_PW\"\ntimeout = \"5s\"\n",
        closed_port()
    ));
    let out = notify(&env, &["send", "--task", "Nightly", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));

    let out = notify(&env, &["queue", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("BODY-MARKER"), "never the body: {stdout}");
    assert_no_canary(&out);
    let json = parse(&env, &out);
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), 1, "{json:#}");
    let e = &list[0];
    assert_eq!(keys(e), set(QUEUE_KEYS), "{e:#}");
    assert_eq!(e["state"], "queued");
    assert_eq!(e["task"], "Nightly");
    assert_eq!(e["account"], "down");
    assert_eq!(e["attempts"], 1);
    assert!(e["subject"].as_str().unwrap().contains("Nightly"), "{e:#}");
    assert_eq!(
        e["recipients"],
        serde_json::json!(["ops@example.com", "second@example.com", "boss@example.com"])
    );
    assert!(e["message_id"].as_str().unwrap().starts_with('<'), "{e:#}");
    assert!(
        e["last_error"].as_str().unwrap().contains("refused"),
        "{e:#}"
    );
    for key in ["queued_at", "next_attempt_at"] {
        let t = e[key].as_str().unwrap();
        assert!(
            t.ends_with('Z') && t.contains('T'),
            "{key} is RFC 3339 UTC: {t}"
        );
    }
    assert!(e["next_attempt_at"].as_str() > e["queued_at"].as_str());
    // The id is the one the text output and the queue file use.
    let id = e["id"].as_str().unwrap();
    let file = env.path().join(format!("data/queue/{id}.json"));
    assert!(file.is_file(), "{}", file.display());
    let text = notify(&env, &["queue", "list"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains(id));

    // Given up: same array, after the queued ones, with no next attempt.
    std::fs::create_dir_all(env.path().join("data/queue/failed")).unwrap();
    std::fs::rename(
        &file,
        env.path().join(format!("data/queue/failed/{id}.json")),
    )
    .unwrap();
    let out = notify(&env, &["send", "--task", "Second", "--status", "failure"]);
    assert_eq!(out.status.code(), Some(75), "{}", env.describe(&out));
    let out = notify(&env, &["queue", "list", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let json = parse(&env, &out);
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), 2, "{json:#}");
    assert_eq!(list[0]["state"], "queued");
    assert_eq!(list[0]["task"], "Second");
    assert_eq!(list[1]["state"], "failed");
    assert_eq!(list[1]["task"], "Nightly");
    assert_eq!(list[1]["id"], id);
    assert_eq!(list[1]["next_attempt_at"], Value::Null);
    for e in list {
        assert_eq!(keys(e), set(QUEUE_KEYS), "{e:#}");
    }
}

// ---------------------------------------------------------------- doctor

const DOCTOR_KEYS: &[&str] = &["account", "server", "security", "checks", "verdict"];
const CHECK_KEYS: &[&str] = &["step", "verdict", "detail", "hint"];
const VERDICTS: &[&str] = &["ok", "warn", "fail", "skipped"];

fn assert_doctor_shape(json: &Value) {
    assert_eq!(keys(json), set(DOCTOR_KEYS), "{json:#}");
    assert!(VERDICTS.contains(&json["verdict"].as_str().unwrap()));
    for c in json["checks"].as_array().unwrap() {
        assert_eq!(keys(c), set(CHECK_KEYS), "{c:#}");
        assert!(VERDICTS.contains(&c["verdict"].as_str().unwrap()), "{c:#}");
        assert!(c["detail"].is_string(), "{c:#}");
        assert!(c["hint"].is_string() || c["hint"].is_null(), "{c:#}");
    }
}

fn verdict_of<'a>(json: &'a Value, step: &str) -> &'a str {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["step"] == step)
        .unwrap_or_else(|| panic!("no {step} check: {json:#}"))["verdict"]
        .as_str()
        .unwrap()
}

#[test]
#[ignore = "needs the SMTP test server (aiosmtpd); `cargo xtask ci` runs it"]
fn doctor_json_against_the_test_server_passes() {
    let server = SmtpServer::start(
        ServerOptions::new()
            .user(USER, PASSWORD)
            .listener(Listener::starttls("starttls")),
    );
    let env = TestEnv::new();
    env.config(&format!(
        "[email]\naccount = \"a\"\nto = \"ops@example.com\"\n\
         [accounts.a]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{}\"\nsecurity = \"starttls\"\n\
         ca_file = \"{}\"\npassword = \"env:NOTIFY_TEST_PW\"\ntimeout = \"10s\"\n",
        server.port("starttls"),
        server.certs().ca().display()
    ));
    // -v: the SMTP transcript goes to stderr, never into the JSON.
    let out = notify(&env, &["-v", "doctor", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    assert_no_canary(&out);
    let json = parse(&env, &out);
    assert_doctor_shape(&json);
    assert_eq!(json["account"], "a");
    assert_eq!(
        json["server"],
        format!("127.0.0.1:{}", server.port("starttls"))
    );
    assert_eq!(json["security"], "starttls");
    assert_eq!(json["verdict"], "ok");
    let steps: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["PASSWORD", "DNS", "TCP", "STARTTLS", "TLS", "EHLO", "AUTH"]
    );
    for step in steps {
        assert_eq!(verdict_of(&json, step), "ok", "{json:#}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("C: "),
        "no transcript in the JSON: {stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("C: EHLO"),
        "the transcript is on stderr: {}",
        env.describe(&out)
    );
    assert!(server.messages().is_empty(), "the doctor sends no mail");
}

#[test]
fn doctor_json_against_a_closed_port_fails_with_exit_1() {
    let env = TestEnv::new();
    let port = closed_port();
    env.config(&format!(
        "[email]\naccount = \"down\"\nto = \"ops@example.com\"\n\
         [accounts.down]\nfrom = \"{USER}\"\nserver = \"127.0.0.1:{port}\"\nsecurity = \"starttls\"\n\
         password = \"env:NOTIFY_TEST_PW\"\ntimeout = \"5s\"\n"
    ));
    let out = notify(&env, &["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", env.describe(&out));
    assert_no_canary(&out);
    let json = parse(&env, &out);
    assert_doctor_shape(&json);
    assert_eq!(json["account"], "down");
    assert_eq!(json["verdict"], "fail");
    assert_eq!(verdict_of(&json, "PASSWORD"), "ok");
    assert_eq!(verdict_of(&json, "TCP"), "fail");
    assert_eq!(verdict_of(&json, "AUTH"), "skipped");
    let tcp = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["step"] == "TCP")
        .unwrap();
    assert!(
        tcp["hint"].is_string(),
        "a failed step has its hint: {tcp:#}"
    );

    // A password that cannot be had: still JSON, and the exit code of a
    // configuration error.
    let out = env
        .cmd()
        .env_remove("NOTIFY_TEST_PW")
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    let json = parse(&env, &out);
    assert_doctor_shape(&json);
    assert_eq!(verdict_of(&json, "PASSWORD"), "fail");
    assert_eq!(json["verdict"], "fail");

    // Errors before any check stay on stderr, as without --json.
    let out = notify(&env, &["doctor", "--json", "--account", "nope"]);
    assert_eq!(out.status.code(), Some(78), "{}", env.describe(&out));
    assert!(out.stdout.is_empty(), "{}", env.describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown account `nope`"));
}

#[test]
fn doctor_json_without_an_account_has_no_checks() {
    let env = TestEnv::new();
    let out = env.notify(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let json = parse(&env, &out);
    assert_doctor_shape(&json);
    assert_eq!(json["account"], Value::Null);
    assert_eq!(json["checks"], serde_json::json!([]));
    assert_eq!(json["verdict"], "skipped");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account configured"));
}

#[test]
fn status_json_fields() {
    let env = TestEnv::new();
    env.config("[email]\nto = \"ops@example.com\"\nlevel = \"never\"\n[tasks.\"Planned\"]\nexpect_every = \"1d\"\n");
    let out = notify(&env, &["send", "--task", "Done", "--status", "success"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let out = notify(&env, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.describe(&out));
    let json = parse(&env, &out);
    assert_eq!(keys(&json), set(&["generated_at", "tasks"]));
    let tasks = json["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    for task in tasks {
        assert_eq!(
            keys(task),
            set(&[
                "task",
                "level",
                "last_outcome",
                "last_started_at",
                "last_finished_at",
                "last_duration_seconds",
                "last_exit_code",
                "bytes_copied",
                "files_copied",
                "error_count",
                "first_error",
                "last_success_at",
                "streak",
                "failing",
                "expect_every_seconds",
                "expect_cron",
                "next_expected_at",
                "overdue",
                "running",
                "running_since",
                "runs_recorded",
            ])
        );
    }
    assert_eq!(tasks[0]["task"], "Done");
    assert_eq!(
        keys(&tasks[0]["streak"]),
        set(&["failing", "runs", "since"])
    );
    assert_eq!(tasks[1]["expect_every_seconds"], 86_400);
    // Sorted keys, as every --json output.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.find("\"bytes_copied\"") < text.find("\"task\""),
        "{text}"
    );
}
