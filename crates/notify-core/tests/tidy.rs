//! Tidy checks on the workspace's shape, run by plain `cargo test`.
//!
//! - `notify-core` stays pure: no I/O, async-runtime or mail crate among its
//!   dependencies (direct or transitive), and no file, network, process,
//!   environment or clock access in its source.
//! - Dependencies point inward (SPEC section 2): the library crates depend on
//!   `notify-core` at most (and `notify-smtp` on `notify-queue`'s file
//!   helpers); only `notify-cli` depends on all of them.
//! - Inside `notify-cli` the top-level modules depend on each other in one
//!   direction (`app` ← `pipeline` ← `wiring`, `commands`), and no command
//!   module calls another.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The names of the packages in a manifest's normal `[dependencies]` tables
/// (including `[dependencies.NAME]` and `[target.'..'.dependencies]`).
fn normal_dependencies(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']');
            if let Some(name) = header.strip_prefix("dependencies.") {
                deps.push(name.trim().to_owned());
                in_deps = false;
            } else {
                in_deps = header == "dependencies" || header.ends_with(".dependencies");
            }
            continue;
        }
        if in_deps && !line.is_empty() && !line.starts_with('#') {
            if let Some((key, _)) = line.split_once('=') {
                deps.push(key.trim().trim_matches('"').to_owned());
            }
        }
    }
    deps
}

#[test]
fn core_has_only_pure_direct_dependencies() {
    let manifest = workspace_root().join("crates/notify-core/Cargo.toml");
    // mockall only behind the optional `mock` feature, for tests.
    let allowed = ["serde", "time", "async-trait", "mockall"];
    for dep in normal_dependencies(&manifest) {
        assert!(
            allowed.contains(&dep.as_str()),
            "notify-core must stay pure, but depends on `{dep}`; allowed: {allowed:?}"
        );
    }
}

/// The crate names in `cargo tree -p PACKAGE -e normal` with `extra` flags.
fn tree(package: &str, extra: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            package,
            "-e",
            "normal",
        ])
        .args(extra)
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// Building messages and the Maildir need no async runtime and no TLS.
#[test]
fn smtp_without_its_default_feature_has_no_runtime_or_tls() {
    for name in tree("notify-smtp", &["--no-default-features"]) {
        assert!(
            !["tokio", "rustls", "tokio-rustls", "ring", "webpki-roots"].contains(&name.as_str()),
            "notify-smtp --no-default-features pulls in {name}"
        );
    }
}

/// The binary without its `keychain` and `desktop` features links neither
/// keyring nor libdbus.
#[test]
fn the_cli_without_default_features_links_no_dbus() {
    let names = tree("notify-cli", &["--no-default-features"]);
    for name in &names {
        assert!(
            ![
                "keyring",
                "dbus",
                "libdbus-sys",
                "dbus-secret-service",
                "notify-desktop"
            ]
            .contains(&name.as_str()),
            "notify-cli --no-default-features pulls in {name}"
        );
    }
    assert!(names.iter().any(|n| n == "notify-smtp"), "{names:?}");
}

#[test]
fn core_has_no_io_crate_in_its_tree() {
    let forbidden = [
        "tokio",
        "mio",
        "lettre",
        "rustls",
        "socket2",
        "libc",
        "reqwest",
        "hyper",
        "keyring",
        "figment",
        "async-std",
        "smol",
    ];
    for name in tree("notify-core", &[]) {
        assert!(
            !forbidden.contains(&name.as_str()),
            "notify-core must do no I/O, but its dependency tree contains `{name}`"
        );
    }
}

#[test]
fn core_source_does_no_io() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "std::io::stdin",
        "std::io::stdout",
        "println!",
        "eprintln!",
        "SystemTime::now",
        "Instant::now",
        "OffsetDateTime::now",
        "now_utc",
        "now_local",
        "current_local_offset",
    ];
    // notify-report is pure too: the caller feeds it the command line, the
    // variables it asks for and the output.
    for krate in ["notify-core", "notify-report"] {
        let src = workspace_root().join("crates").join(krate).join("src");
        let mut checked = 0;
        for entry in std::fs::read_dir(&src).expect("read the crate's src") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                for word in forbidden {
                    assert!(
                        !text.contains(word),
                        "{} uses `{word}`: {krate} does no I/O and reads no clock",
                        path.display()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= 5, "expected the sources in {}", src.display());
    }
}

#[test]
fn dependencies_point_inward() {
    let root = workspace_root();
    let layers: &[(&str, &[&str])] = &[
        ("notify-core", &[]),
        ("notify-template", &["notify-core"]),
        ("notify-report", &["notify-core"]),
        ("notify-secrets", &["notify-core"]),
        ("notify-smtp", &["notify-core", "notify-queue"]),
        ("notify-desktop", &["notify-core"]),
        ("notify-queue", &["notify-core"]),
    ];
    for (krate, may) in layers {
        let deps = normal_dependencies(&root.join("crates").join(krate).join("Cargo.toml"));
        for dep in deps.iter().filter(|d| d.starts_with("notify-")) {
            assert!(
                may.contains(&dep.as_str()),
                "{krate} depends on {dep}; it may depend on {may:?} only (SPEC section 2)"
            );
        }
    }
    let cli = normal_dependencies(&root.join("crates/notify-cli/Cargo.toml"));
    for lib in [
        "notify-core",
        "notify-template",
        "notify-report",
        "notify-secrets",
        "notify-smtp",
        "notify-desktop",
        "notify-queue",
    ] {
        assert!(cli.iter().any(|d| d == lib), "notify-cli should use {lib}");
    }
}

/// Every read of a secret is a greppable `expose_secret()`; outside the
/// secret stores themselves there is exactly one in the delivery path (where
/// the SMTP AUTH payload is built), one in `account add` (refusing an
/// empty password) and three in the OAuth client (the token requests' form
/// fields; a rotated refresh token told from the same one). A new one
/// needs a reason, and an update here.
#[test]
fn secrets_are_exposed_in_few_places() {
    let root = workspace_root().join("crates");
    let mut found: Vec<(String, usize)> = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "tests" && name != "target" && name != "fuzz" && name != "benches" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).expect("read source");
                // Test modules may look at secrets freely.
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                let n = code.matches("expose_secret()").count();
                if n > 0 {
                    let rel = path.strip_prefix(&root).unwrap_or(&path);
                    found.push((rel.display().to_string(), n));
                }
            }
        }
    }
    for (file, n) in &found {
        let allowed = file.starts_with("notify-secrets/")
            || (file == "notify-smtp/src/smtp.rs" && *n == 1)
            || (file == "notify-cli/src/commands/account.rs" && *n == 1)
            // A sensitive header value; a ping key in a ping URL's path.
            || (file == "notify-http/src/secret.rs" && *n == 2)
            // OAuth token requests: the secret form fields (one place),
            // and the two sides of telling a rotated refresh token from
            // the same one.
            || (file == "notify-http/src/oauth.rs" && *n == 3);
        assert!(allowed, "{file} reads a secret {n} time(s): {found:?}");
    }
    assert!(
        found.iter().any(|(f, _)| f == "notify-smtp/src/smtp.rs"),
        "the SMTP transport builds the AUTH payload: {found:?}"
    );
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The names `prefix` is followed by in `text` (`crate::app::x` → `app`).
fn referenced(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(prefix) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[at + prefix.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// notify-cli's top-level modules form layers, so there is no cycle
/// between them: `app` needs nothing of the others, the `pipeline` only
/// `app`, `wiring` (the real transports) `app` and the `pipeline`'s
/// `Connect`, `watch` (the check for silent tasks) `app` and the
/// `pipeline`, and `commands` all but `wiring` (they get their `Connect`
/// passed in). No command module calls another; `run` has its `runner`,
/// `account` its `msmtp` reader and `send` its `systemd` reader as private
/// helpers.
#[test]
fn cli_modules_form_layers_and_commands_stand_alone() {
    let src = workspace_root().join("crates/notify-cli/src");
    let layers: &[(&str, &[&str])] = &[
        ("app", &[]),
        ("pipeline", &["app"]),
        ("wiring", &["app", "pipeline"]),
        ("watch", &["app", "pipeline"]),
        ("commands", &["app", "pipeline", "watch"]),
    ];
    let mut checked = 0;
    for (module, may) in layers {
        let dir = src.join(module);
        let mut files = if dir.is_dir() {
            rust_files(&dir)
        } else {
            Vec::new()
        };
        files.push(src.join(format!("{module}.rs")));
        for file in files.iter().filter(|f| f.exists()) {
            let text = std::fs::read_to_string(file).expect("read source");
            for used in referenced(&text, "crate::") {
                assert!(
                    used == *module || may.contains(&used.as_str()),
                    "{} uses crate::{used}; `{module}` may use {may:?} only",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "expected notify-cli's modules under {}",
        src.display()
    );

    let commands = src.join("commands");
    let helpers: &[(&str, &str)] = &[("run", "runner"), ("account", "msmtp"), ("send", "systemd")];
    let names: Vec<String> = rust_files(&commands)
        .iter()
        .filter_map(|f| f.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .filter(|n| n != "mod")
        .collect();
    for file in rust_files(&commands) {
        let me = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if me == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        let used = referenced(&text, "super::")
            .into_iter()
            .chain(referenced(&text, "crate::commands::"));
        for other in used.filter(|u| names.contains(u)) {
            assert!(
                helpers.contains(&(me, other.as_str())),
                "commands/{me}.rs uses the `{other}` command; commands do not call each other \
                 (move what they share into the pipeline)"
            );
        }
    }
}

/// `println!`/`eprintln!` panic when the stream cannot be written (a full
/// disk behind `2>>log`, a closed pipe), and a panic aborts notify: no
/// library prints, and the CLI writes stderr only through `app::diag` and
/// stdout through `app::emit`, which ignore write errors.
#[test]
fn nothing_prints_with_a_macro_that_panics() {
    let crates = workspace_root().join("crates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).expect("read crates").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "notify-testkit" {
            continue;
        }
        for path in rust_files(&entry.path().join("src")) {
            let text = std::fs::read_to_string(&path).expect("read source");
            // Unit tests and doc examples may print: they are not notify.
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            for word in ["println!", "print!(", "eprint!("] {
                assert!(
                    !code.contains(word),
                    "{} uses `{word}`: write through notify_cli::app::diag / emit",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "expected the workspace's sources");
}
