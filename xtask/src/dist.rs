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
//! - `sendmail`: a symlink to `notify` (run under that name, it is the
//!   sendmail interface);
//! - `notify_VERSION_ARCH.deb` (with `dpkg-deb`): the binary, the gzipped
//!   manual pages, the completions, the README and recipes, and
//!   /usr/sbin/sendmail as an alternative pointing at notify.
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

    let pages = pages_and_completions(&notify, &dist)?;
    let man_dir = dist.join("man");
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

    println!("==> Debian package");
    let deb = if cfg!(target_os = "linux") && on_path("dpkg-deb") {
        Some(deb(&dist, &notify, &pages)?)
    } else {
        println!("    (dpkg-deb is not installed: no .deb built)");
        None
    };

    let size = fs::metadata(&notify).map(|m| m.len()).unwrap_or(0);
    println!(
        "dist: {} ({:.1} MB), {} manual pages in {}, completions in {}{}",
        notify.display(),
        size as f64 / 1e6,
        pages.len(),
        man_dir.display(),
        dist.join("completions").display(),
        deb.map(|d| format!(", {}", d.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// Writes the manual pages (`DIST/man`) and the completion scripts
/// (`DIST/completions`) that `notify` makes of itself; the pages, sorted.
pub fn pages_and_completions(
    notify: &Path,
    dist: &Path,
) -> Result<Vec<std::path::PathBuf>, String> {
    fs::create_dir_all(dist.join("completions"))
        .map_err(|e| format!("cannot create {}: {e}", dist.display()))?;
    println!("==> manual pages");
    let man_dir = dist.join("man");
    run(Command::new(notify).arg("man").arg("--dir").arg(&man_dir))?;

    println!("==> shell completions");
    for (shell, file) in [
        ("bash", "notify.bash"),
        ("zsh", "_notify"),
        ("fish", "notify.fish"),
    ] {
        let out = Command::new(notify)
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
    Ok(pages)
}

/// The alternative `sendmail` name the package registers for
/// /usr/sbin/sendmail, and its priority. Registered only where no other
/// package has /usr/sbin/sendmail: update-alternatives would replace
/// another package's symlink (msmtp-mta's) and delete it on removal.
const SENDMAIL_ALTERNATIVE: (&str, &str, u32) = ("sendmail", "/usr/sbin/sendmail", 10);

/// `target/dist/notify_VERSION_ARCH.deb`: the binary in /usr/bin, the
/// manual pages (gzipped), the completions where bash-completion, zsh and
/// fish look for packaged ones, the README and recipes in
/// /usr/share/doc/notify, and /usr/sbin/sendmail as an alternative
/// pointing at notify (registered in postinst, removed in prerm). Depends
/// from `dpkg-shlibdeps` when dpkg-dev is there, else libc6.
pub fn deb(
    dist: &Path,
    notify: &Path,
    pages: &[std::path::PathBuf],
) -> Result<std::path::PathBuf, String> {
    let version = String::from_utf8_lossy(
        &Command::new(notify)
            .arg("--version")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", notify.display()))?
            .stdout,
    )
    .trim()
    .trim_start_matches("notify ")
    .to_owned();
    let arch = String::from_utf8_lossy(
        &Command::new("dpkg")
            .arg("--print-architecture")
            .output()
            .map_err(|e| format!("cannot run dpkg --print-architecture: {e}"))?
            .stdout,
    )
    .trim()
    .to_owned();
    let name = format!("notify_{version}_{arch}");
    let tree = dist.join("deb").join(&name);
    let _ = fs::remove_dir_all(dist.join("deb"));
    let dir = |sub: &str| -> Result<std::path::PathBuf, String> {
        let d = tree.join(sub);
        fs::create_dir_all(&d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        Ok(d)
    };
    let bin = dir("usr/bin")?;
    fs::copy(notify, bin.join("notify")).map_err(|e| format!("cannot copy the binary: {e}"))?;
    let man1 = dir("usr/share/man/man1")?;
    for page in pages {
        let Some(file) = page.file_name() else {
            continue;
        };
        fs::copy(page, man1.join(file))
            .map_err(|e| format!("cannot copy {}: {e}", page.display()))?;
    }
    run(Command::new("gzip").arg("-9n").args(
        fs::read_dir(&man1)
            .map_err(|e| format!("{}: {e}", man1.display()))?
            .filter_map(|e| e.ok().map(|e| e.path())),
    ))?;
    for (file, place) in [
        (
            "notify.bash",
            "usr/share/bash-completion/completions/notify",
        ),
        ("_notify", "usr/share/zsh/vendor-completions/_notify"),
        (
            "notify.fish",
            "usr/share/fish/vendor_completions.d/notify.fish",
        ),
    ] {
        let to = tree.join(place);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::copy(dist.join("completions").join(file), &to)
            .map_err(|e| format!("cannot copy {file}: {e}"))?;
    }
    let doc = dir("usr/share/doc/notify")?;
    fs::copy(root().join("README.md"), doc.join("README.md"))
        .map_err(|e| format!("cannot copy README.md: {e}"))?;
    let recipes = dir("usr/share/doc/notify/recipes")?;
    for entry in fs::read_dir(root().join("docs/recipes")).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|x| x == "md") {
            if let Some(file) = path.file_name() {
                fs::copy(&path, recipes.join(file))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    write(
        &doc.join("copyright"),
        b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
          Upstream-Name: notify\n\n\
          Files: *\n\
          Copyright: the notify authors\n\
          License: MIT or Apache-2.0\n",
    )?;

    let depends = shlib_depends(&tree).unwrap_or_else(|| "libc6".to_owned());
    let installed_kb = dir_size(&tree) / 1024 + 1;
    let debian = dir("DEBIAN")?;
    write(
        &debian.join("control"),
        format!(
            "Package: notify\n\
             Version: {version}\n\
             Architecture: {arch}\n\
             Maintainer: notify <notify@localhost>\n\
             Installed-Size: {installed_kb}\n\
             Depends: {depends}\n\
             Suggests: bsd-mailx\n\
             Section: mail\n\
             Priority: optional\n\
             Description: tells how backups and scheduled jobs went, by email\n \
             notify wraps a job (restic, borg, rsync, rclone, a dump, a script) or is\n \
             told its result, reads the tool's output, and mails it through your\n \
             account with the password from a secret store, queueing what cannot be\n \
             sent yet. Run as sendmail, it carries cron's and daemons' mail too.\n"
        )
        .as_bytes(),
    )?;
    let (alt_name, alt_link, priority) = SENDMAIL_ALTERNATIVE;
    let script = |path: &Path, body: String| -> Result<(), String> {
        write(path, format!("#!/bin/sh\nset -e\n{body}\n").as_bytes())?;
        set_mode(path, 0o755)
    };
    script(
        &debian.join("postinst"),
        format!(
            "if [ \"$1\" = configure ]; then\n\
             \t# Only where no other package has {alt_link} (update-alternatives\n\
             \t# would replace another package's symlink).\n\
             \tif [ ! -e {alt_link} ] && [ ! -L {alt_link} ] || \
             [ \"$(readlink {alt_link})\" = /etc/alternatives/{alt_name} ]; then\n\
             \t\tupdate-alternatives --install {alt_link} {alt_name} /usr/bin/notify {priority}\n\
             \telse\n\
             \t\techo \"notify: {alt_link} belongs to another package; notify stays reachable as \
             'notify sendmail' (remove that package, then: dpkg-reconfigure notify)\" >&2\n\
             \tfi\n\
             fi"
        ),
    )?;
    script(
        &debian.join("prerm"),
        format!(
            "if [ \"$1\" = remove ] || [ \"$1\" = deconfigure ]; then\n\
             \tupdate-alternatives --remove {alt_name} /usr/bin/notify || true\n\
             fi"
        ),
    )?;
    let out = dist.join(format!("{name}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&tree)
        .arg(&out))?;
    println!("    {}", out.display());
    Ok(out)
}

/// `Depends:` as `dpkg-shlibdeps` works it out for /usr/bin/notify, or
/// `None` when it cannot (dpkg-dev missing).
fn shlib_depends(tree: &Path) -> Option<String> {
    if !on_path("dpkg-shlibdeps") {
        return None;
    }
    let work = tree.parent()?.join("shlibdeps");
    fs::create_dir_all(work.join("debian")).ok()?;
    fs::write(
        work.join("debian/control"),
        "Source: notify\n\nPackage: notify\nArchitecture: any\n",
    )
    .ok()?;
    let out = Command::new("dpkg-shlibdeps")
        .arg("-O")
        .arg(tree.join("usr/bin/notify"))
        .current_dir(&work)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let _ = fs::remove_dir_all(&work);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends=").map(str::to_owned))
}

fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_size(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), String> {
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
