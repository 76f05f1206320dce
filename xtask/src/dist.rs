//! `cargo xtask dist`: what a release ships, in `target/dist/`:
//!
//! - `notify`: the binary, built with the release profile (`opt-level =
//!   "s"`, fat LTO, `panic = "abort"`, debug info stripped);
//! - `man/notify.1` and one page per subcommand (`notify-run.1`, ...),
//!   written by the binary itself (`notify man --dir`, clap_mangen), so the
//!   pages always match the `--help` of that build;
//! - `completions/`: `notify.bash`, `_notify` (zsh) and `notify.fish`
//!   (`notify completions SHELL`, clap_complete).
//!
//! When `man` is installed, each page is rendered once (`man -l`) to check
//! that it is well-formed.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{cargo, on_path, root, step};

pub fn dist(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("dist takes no arguments (got `{arg}`)"));
    }
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "notify-cli"]);
    step("cargo build --release -p notify-cli", build)?;
    let target = crate::target_dir();
    let built = target.join("release/notify");
    let dist = root().join("target/dist");
    let _ = fs::remove_dir_all(&dist);
    fs::create_dir_all(dist.join("completions"))
        .map_err(|e| format!("cannot create {}: {e}", dist.display()))?;
    let notify = dist.join("notify");
    fs::copy(&built, &notify).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;

    println!("==> sendmail symlink");
    sendmail_link(&dist)?;

    println!("==> manual pages");
    let man_dir = dist.join("man");
    run(Command::new(&notify).arg("man").arg("--dir").arg(&man_dir))?;

    println!("==> shell completions");
    for (shell, file) in [
        ("bash", "notify.bash"),
        ("zsh", "_notify"),
        ("fish", "notify.fish"),
    ] {
        let out = Command::new(&notify)
            .args(["completions", shell])
            .output()
            .map_err(|e| format!("cannot run notify completions {shell}: {e}"))?;
        if !out.status.success() || out.stdout.is_empty() {
            return Err(format!(
                "notify completions {shell} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        write(&dist.join("completions").join(file), &out.stdout)?;
    }

    let mut pages: Vec<_> = fs::read_dir(&man_dir)
        .map_err(|e| format!("cannot read {}: {e}", man_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    pages.sort();
    if on_path("man") {
        for page in &pages {
            let out = Command::new("man")
                .arg("-l")
                .arg(page)
                .env("MANWIDTH", "80")
                .env("MAN_KEEP_FORMATTING", "0")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run man -l: {e}"))?;
            if !out.status.success() || out.stdout.is_empty() {
                return Err(format!(
                    "man -l {} failed: {}",
                    page.display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        println!("    man -l renders all {} pages", pages.len());
    } else {
        println!("    (man is not installed: the pages were not rendered as a check)");
    }

    let size = fs::metadata(&notify).map(|m| m.len()).unwrap_or(0);
    println!(
        "dist: {} ({:.1} MB), {} manual pages in {}, completions in {}",
        notify.display(),
        size as f64 / 1e6,
        pages.len(),
        man_dir.display(),
        dist.join("completions").display()
    );
    Ok(())
}

/// `sendmail` next to `notify`, a relative symlink to it: installed as
/// /usr/sbin/sendmail (or through update-alternatives), cron's and every
/// daemon's mail goes through notify. Checked by running it.
#[cfg(unix)]
fn sendmail_link(dist: &Path) -> Result<(), String> {
    let link = dist.join("sendmail");
    std::os::unix::fs::symlink("notify", &link)
        .map_err(|e| format!("cannot create {}: {e}", link.display()))?;
    let out = Command::new(&link)
        .arg("--help")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", link.display()))?;
    let help = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !help.contains("sendmail") {
        return Err(format!(
            "{} --help did not show the sendmail help: {}",
            link.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    println!("    {} -> notify", link.display());
    Ok(())
}

#[cfg(not(unix))]
fn sendmail_link(_dist: &Path) -> Result<(), String> {
    println!("    (no sendmail symlink: not a Unix system)");
    Ok(())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
