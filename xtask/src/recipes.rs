//! `cargo xtask recipes`: tries the recipes of `docs/recipes/` for real.
//!
//! A recipe page marks the blocks this task uses with a comment line right
//! before the fenced block, `<!-- recipe: KIND NAME -->`:
//!
//! - `run NAME`: shell lines, run with `sh -c`;
//! - `file PATH`: written to PATH (executable when it starts with `#!`);
//! - `crontab NAME`: a crontab, whose command lines run as cron runs them
//!   (`$SHELL -c`, `HOME`, `LOGNAME`, `SHELL`, `PATH=/usr/bin:/bin` and the
//!   crontab's own variables);
//! - `unit DIR/NAME`: a systemd unit (`user/...` or `system/...`), checked
//!   with `systemd-analyze verify`; its `ExecStart=` runs with only `PATH`
//!   and its `Environment=` (plus `HOME` and the user's names for user units);
//! - `config NAME`: TOML appended to notify's config file for a scenario;
//! - `mail NAME`, `json NAME`, `text NAME`, `versions NAME`: what a run produced. Without
//!   `--write` the pages must agree with the run (same subject line); with
//!   `--write` the blocks are replaced by what this run produced.
//!
//! What each page's blocks must do (the scenario around them, the exit code,
//! whether a mail comes and what it says) is written down in the recipe
//! functions below, one per page.
//!
//! Everything runs in a temporary directory: paths under [`ROOTS`] in a
//! block are moved into it (and moved back in the mails shown), and
//! `/usr/local/bin/notify` or `notify` on `PATH` is the notify just built.
//! As root, each job runs in its own UTS namespace with the host name
//! [`HOST`], so the mails do not depend on the machine; a "file the job may
//! not read" is a mode-000 file and the job without `CAP_DAC_OVERRIDE`.
//!
//! It installs restic, borgbackup, rsync, PostgreSQL and Debian's
//! Prometheus, Alertmanager and node exporter with apt-get when
//! they are missing (as root), starts the SMTP test server (a plaintext
//! relay, `security = "none"`) and a throwaway PostgreSQL cluster on a unix
//! socket, and stops both by their PIDs when done, also on failure. Each
//! job runs in its own process group, killed after [`JOB_TIMEOUT`].
//!
//! Not part of `cargo xtask ci`: it installs packages and takes a while.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::{cargo, json_port, on_path, root, step, target_dir, write_file, Apt};

mod http;
mod prometheus;
mod receiver;

/// The host name the jobs see (as root: a UTS namespace of their own).
const HOST: &str = "backup-host";

/// Paths in the recipes that live in the temporary directory during a run.
const ROOTS: &[&str] = &[
    "/srv",
    "/mnt",
    "/home/me",
    "/etc/notify",
    "/etc/restic",
    "/etc/borg",
    "/var/backups",
    "/var/lib/notify",
    "/var/run/postgresql",
    "/etc/prometheus",
    "/var/lib/prometheus",
];

/// Where the recipes say notify is installed.
const NOTIFY_PATH: &str = "/usr/local/bin/notify";

/// How long one job may take before its process group is killed.
const JOB_TIMEOUT: Duration = Duration::from_secs(300);

const USAGE: &str = "\
usage: cargo xtask recipes [--write] [--keep] [PAGE...]

  --write   put the mails (and JSON, versions) of this run into the pages
  --keep    keep the temporary directory, also when everything passed
  PAGE      only these pages (e.g. restic.md); default: all";

pub fn recipes(args: &[String]) -> Result<(), String> {
    let mut write = false;
    let mut keep = false;
    let mut only = Vec::new();
    for arg in args {
        match arg.as_str() {
            "--write" => write = true,
            "--keep" => keep = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            a if a.starts_with('-') => {
                return Err(format!("recipes: unknown flag `{a}`\n\n{USAGE}"))
            }
            page => only.push(page.trim_end_matches(".md").to_string() + ".md"),
        }
    }
    if !cfg!(target_os = "linux") {
        return Err("recipes: Linux only (restic, borg, rsync, PostgreSQL, systemd)".into());
    }
    let start = Instant::now();
    let mut docs = Docs::load()?;
    for page in &only {
        if !docs.pages.contains_key(page) {
            return Err(format!("recipes: no page docs/recipes/{page}"));
        }
    }

    println!("==> tools (restic, borg, rsync, PostgreSQL, Prometheus; the SMTP test server)");
    let mut apt = Apt { updated: false };
    let pg_bin = tools(&mut apt)?;
    let python = crate::test_env(&mut apt)?;

    let mut build = cargo();
    build.args(["build", "--locked", "-p", "notify-cli"]);
    step("cargo build -p notify-cli", build)?;
    let notify = target_dir().join("debug/notify");

    let tmp = std::env::temp_dir().join(format!("notify-recipes-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;

    let outcome = run_all(&docs, &only, &notify, &pg_bin, &python, &tmp);
    let (rows, outputs) = match outcome {
        Ok(done) => done,
        Err(e) => {
            println!("    kept {} for a look", tmp.display());
            return Err(e);
        }
    };

    let mut problems: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            r.result
                .as_ref()
                .err()
                .map(|e| format!("{} {}: {e}", r.page, r.what))
        })
        .collect();
    problems.extend(docs.check_outputs(&outputs, &only, write));
    if write {
        for path in docs.write_outputs(&outputs)? {
            println!("    wrote {}", path.display());
        }
    }

    println!("\n{}", summary(&rows));
    if problems.is_empty() && !keep {
        let _ = fs::remove_dir_all(&tmp);
    } else {
        println!("    kept {}", tmp.display());
    }
    let passed = rows.iter().filter(|r| r.result.is_ok()).count();
    println!(
        "recipes: {passed} of {} checks passed in {:.0} s",
        rows.len(),
        start.elapsed().as_secs_f64()
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("recipes failed:\n  {}", problems.join("\n  ")))
    }
}

/// What the runs produced for the pages' output blocks, by (page, "KIND
/// NAME").
type Outputs = BTreeMap<(String, String), String>;

/// The scenarios of one page.
type PageRun = fn(&mut Ctx);

/// Starts the servers, runs the pages' scenarios; the rows and the outputs
/// for `--write`. The SMTP server and PostgreSQL are stopped on return.
fn run_all(
    docs: &Docs,
    only: &[String],
    notify: &Path,
    pg_bin: &Path,
    python: &Path,
    tmp: &Path,
) -> Result<(Vec<Row>, Outputs), String> {
    println!("==> SMTP test server");
    let server = Server::start(python, tmp)?;
    let mut ctx = Ctx::new(docs, notify, pg_bin, tmp, &server)?;
    println!("==> recipes in {}", tmp.display());
    let pages: [(&str, PageRun); 11] = [
        ("cron.md", cron),
        ("systemd.md", systemd),
        ("restic.md", restic),
        ("borg.md", borg),
        ("rsync.md", rsync),
        ("postgres.md", postgres),
        ("send-json.md", send_json),
        ("sendmail.md", sendmail),
        ("debian.md", debian),
        ("prometheus.md", prometheus::prometheus),
        ("http.md", http::http),
    ];
    for (page, run) in pages {
        if only.is_empty() || only.iter().any(|p| p == page) {
            println!("--- {page}");
            run(&mut ctx);
        }
    }
    ctx.versions();
    if let Some(mut pg) = ctx.postgres.take() {
        pg.stop();
    }
    drop(server);
    Ok((ctx.rows, ctx.outputs))
}

// ---------------------------------------------------------------------------
// The pages

/// cron.md: the crontab line is silent when tar succeeds (no output for cron
/// to mail, no notification at the default level, state in
/// ~/.local/share/notify) and mails "Failed" with tar's exit code 2 when
/// ~/Documents is gone; with `expect_cron` and no run for two nights, the
/// check line mails "Overdue" once, and the digest line mails the counts.
fn cron(ctx: &mut Ctx) {
    const PAGE: &str = "cron.md";
    ctx.scenario(PAGE, "setup block", |c| {
        c.run_block(PAGE, "cron-setup", 0).map(|_| "exit 0".into())
    });
    let docs = c_path(ctx, "/home/me/Documents");
    let made = fs::create_dir_all(&docs)
        .and_then(|()| fs::write(docs.join("letter.txt"), "Dear tax office,\n"))
        .and_then(|()| fs::write(docs.join("budget-2026.csv"), "month,amount\n01,1200\n"));
    ctx.scenario(PAGE, "crontab line, ~/Documents there", |c| {
        made.map_err(|e| format!("cannot fill {}: {e}", docs.display()))?;
        let job = c.crontab_job(PAGE, "nightly")?;
        let out = c.cron(&job)?;
        expect_code(&out, 0)?;
        if !out.output.is_empty() {
            return Err(format!("cron would mail this output:\n{}", out.output));
        }
        c.expect_no_mail()?;
        let archive = c_path(c, "/home/me/backups/documents.tar.gz");
        if !archive.is_file() {
            return Err(format!("{} was not written", archive.display()));
        }
        let state = c_path(c, "/home/me/.local/share/notify");
        if !state.is_dir() {
            return Err("notify kept no state in ~/.local/share/notify".into());
        }
        Ok("exit 0, silent, no mail; state in ~/.local/share/notify".into())
    });
    let _ = fs::remove_dir_all(&docs);
    ctx.scenario(PAGE, "crontab line, ~/Documents missing", |c| {
        let job = c.crontab_job(PAGE, "nightly")?;
        let out = c.cron(&job)?;
        expect_code(&out, 2)?;
        c.expect_mail(PAGE, "cron-failed", "Documents archive", "Failed", Some(2))
    });
    ctx.scenario(PAGE, "check line, two nights without a run", |c| {
        let config = c.home_config();
        let original =
            fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
        let extra = c.block(PAGE, "config", "cron-expect")?;
        write_file(&config, &format!("{original}\n{}", c.to_tmp(&extra)))?;
        // Two nights later: the task's history holds one good run, 50 hours
        // ago, and nothing since.
        let then = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs()
            - 50 * 3600;
        let out = c.sh(
            &format!(
                "rm -f ~/.local/share/notify/history/Documents%20archive.json && \
                 notify -q send --task 'Documents archive' --status success --level never \
                 --started @{then} --finished @{}",
                then + 60
            ),
            false,
        )?;
        expect_code(&out, 0)?;
        c.expect_no_mail()?;
        let job = c.crontab_job(PAGE, "check")?;
        let out = c.cron(&job)?;
        expect_code(&out, 0)?;
        if !out.output.is_empty() {
            return Err(format!("cron would mail this output:\n{}", out.output));
        }
        let note = c.expect_mail(PAGE, "cron-overdue", "Documents archive", "Overdue", None)?;
        let out = c.cron(&job)?;
        expect_code(&out, 0)?;
        c.expect_no_mail()
            .map_err(|e| format!("a second check: {e}"))?;
        Ok(format!("{note}; a second check sends nothing"))
    });
    ctx.scenario(PAGE, "digest line", |c| {
        let job = c.crontab_job(PAGE, "digest")?;
        let out = c.cron(&job)?;
        expect_code(&out, 0)?;
        c.expect_subject(
            PAGE,
            "cron-digest",
            &format!("Backups on {HOST}: 0 ok, 1 overdue"),
        )
    });
}

/// systemd.md: both units pass `systemd-analyze verify`; the user unit's
/// ExecStart finds ~/.config/notify, the system unit's finds its config and
/// data dir through `Environment=` without HOME; both mail "Finished
/// successfully". `notify-onfailure@.service` mails "Failed" with the
/// monitored unit's exit status from `MONITOR_*`; `notify-check.service`
/// is silent when nothing is expected; `notify-digest.service` mails the
/// counts of the system units' tasks.
fn systemd(ctx: &mut Ctx) {
    const PAGE: &str = "systemd.md";
    for kind in ["user", "system"] {
        ctx.scenario(
            PAGE,
            &format!("systemd-analyze verify ({kind} units)"),
            |c| c.verify_units(PAGE, kind),
        );
    }
    ctx.scenario(PAGE, "user unit's ExecStart=", |c| {
        let out = c.unit_exec(PAGE, "user/mirror.service")?;
        expect_code(&out, 0)?;
        let note = c.expect_mail(
            PAGE,
            "systemd-user",
            "Mirror",
            "Finished successfully",
            Some(0),
        )?;
        if !c_path(c, "/home/me/.local/share/notify").is_dir() {
            return Err("no state in ~/.local/share/notify".into());
        }
        Ok(note)
    });
    ctx.scenario(
        PAGE,
        "notify-onfailure@'s ExecStart= for a failed unit",
        |c| {
            let monitor = [
                ("MONITOR_SERVICE_RESULT", "exit-code"),
                ("MONITOR_EXIT_CODE", "exited"),
                ("MONITOR_EXIT_STATUS", "23"),
                ("MONITOR_UNIT", "mirror.service"),
                ("MONITOR_INVOCATION_ID", "5f0c9a4c2f6d4e1b8a7c3d2e1f0a9b8c"),
            ];
            let out = c.unit_exec_with(PAGE, "system/notify-onfailure@.service", &monitor)?;
            expect_code(&out, 0)?;
            c.expect_mail(
                PAGE,
                "systemd-onfailure",
                "mirror.service",
                "Failed",
                Some(23),
            )
        },
    );
    ctx.scenario(PAGE, "notify-check's ExecStart=, nothing expected", |c| {
        let out = c.unit_exec(PAGE, "system/notify-check.service")?;
        expect_code(&out, 0)?;
        if !out.output.is_empty() {
            return Err(format!("it printed (with -q):\n{}", out.output));
        }
        c.expect_no_mail()?;
        Ok("exit 0, silent, no mail".into())
    });
    ctx.scenario(PAGE, "system unit's ExecStart=", |c| {
        let _ = fs::remove_dir_all(c_path(c, "/srv/mirror"));
        let out = c.unit_exec(PAGE, "system/mirror.service")?;
        expect_code(&out, 0)?;
        let note = c.expect_mail(
            PAGE,
            "systemd-system",
            "Mirror",
            "Finished successfully",
            Some(0),
        )?;
        let state = c_path(c, "/var/lib/notify");
        if fs::read_dir(&state).map_or(true, |mut d| d.next().is_none()) {
            return Err("nothing in /var/lib/notify (StateDirectory=, NOTIFY_DATA_DIR)".into());
        }
        if !c_path(c, "/srv/mirror/documents/report.txt").is_file() {
            return Err("rsync did not mirror /srv/data".into());
        }
        Ok(note)
    });
    ctx.scenario(PAGE, "notify-digest's ExecStart=", |c| {
        let out = c.unit_exec(PAGE, "system/notify-digest.service")?;
        expect_code(&out, 0)?;
        c.expect_subject(
            PAGE,
            "systemd-digest",
            &format!("Backups on {HOST}: 1 ok, 1 failed"),
        )
    });
}

/// restic.md: init; a backup mails "Finished successfully" (0); with a file
/// restic may not read, "Finished with warnings" (3); with the repository
/// gone, "Failed" (1).
fn restic(ctx: &mut Ctx) {
    const PAGE: &str = "restic.md";
    const TASK: &str = "Nightly restic";
    ctx.scenario(PAGE, "init block", |c| {
        c.run_block(PAGE, "restic-init", 0)?;
        exists(&c_path(c, "/srv/restic-repo/config"))?;
        Ok("exit 0, repository created".into())
    });
    ctx.scenario(PAGE, "backup", |c| {
        c.run_block(PAGE, "restic-backup", 0)?;
        c.expect_mail(PAGE, "restic-ok", TASK, "Finished successfully", Some(0))
    });
    ctx.scenario(PAGE, "backup, a file restic may not read", |c| {
        c.with_unreadable_file("/srv/data/private.key", |c| {
            c.run_block_as(PAGE, "restic-backup", 3, true)?;
            c.expect_mail(
                PAGE,
                "restic-warning",
                TASK,
                "Finished with warnings",
                Some(3),
            )
        })
    });
    ctx.scenario(PAGE, "backup, repository not mounted", |c| {
        c.with_moved("/srv/restic-repo", |c| {
            c.run_block(PAGE, "restic-backup", 1)?;
            c.expect_mail(PAGE, "restic-failed", TASK, "Failed", Some(1))
        })
    });
}

/// borg.md: init; a backup mails "Finished successfully" (0); with a file
/// borg may not read, "Finished with warnings" (1); with the repository
/// gone, "Failed" (2).
fn borg(ctx: &mut Ctx) {
    const PAGE: &str = "borg.md";
    const TASK: &str = "Nightly borg";
    ctx.scenario(PAGE, "init block", |c| {
        c.run_block(PAGE, "borg-init", 0)?;
        exists(&c_path(c, "/srv/borg-repo/config"))?;
        Ok("exit 0, repository created".into())
    });
    // `{now}` in the archive name has one-second resolution: a nightly job
    // never repeats it, these runs would.
    let next_second = || std::thread::sleep(Duration::from_millis(1050));
    ctx.scenario(PAGE, "create", |c| {
        next_second();
        c.run_block(PAGE, "borg-create", 0)?;
        c.expect_mail(PAGE, "borg-ok", TASK, "Finished successfully", Some(0))
    });
    ctx.scenario(PAGE, "create, a file borg may not read", |c| {
        c.with_unreadable_file("/srv/data/private.key", |c| {
            next_second();
            c.run_block_as(PAGE, "borg-create", 1, true)?;
            c.expect_mail(
                PAGE,
                "borg-warning",
                TASK,
                "Finished with warnings",
                Some(1),
            )
        })
    });
    ctx.scenario(PAGE, "create, repository missing", |c| {
        c.with_moved("/srv/borg-repo", |c| {
            next_second();
            c.run_block(PAGE, "borg-create", 2)?;
            c.expect_mail(PAGE, "borg-failed", TASK, "Failed", Some(2))
        })
    });
}

/// rsync.md: a copy mails "Finished successfully" (0); a source file
/// deleted during the copy, "Finished with warnings" (24); a missing source,
/// "Finished with warnings" (23) with the preset, "Failed" with the page's
/// exit-code map; the mountpoint guard fails the run (32).
fn rsync(ctx: &mut Ctx) {
    const PAGE: &str = "rsync.md";
    const TASK: &str = "Photos to NAS";
    const PHOTOS: usize = 200;
    let photos = c_path(ctx, "/srv/photos");
    let last = photos.join(format!("img-{PHOTOS:04}.jpg"));
    let made = (|| -> std::io::Result<()> {
        fs::create_dir_all(&photos)?;
        fs::create_dir_all(c_path(ctx, "/mnt/nas"))?;
        let body: Vec<u8> = (0..512 * 1024).map(|i| (i % 251) as u8).collect();
        for i in 1..=PHOTOS {
            fs::write(photos.join(format!("img-{i:04}.jpg")), &body)?;
        }
        Ok(())
    })();
    ctx.scenario(PAGE, "copy", |c| {
        made.map_err(|e| format!("cannot fill {}: {e}", photos.display()))?;
        c.run_block(PAGE, "rsync", 0)?;
        exists(&c_path(c, "/mnt/nas/photos/img-0001.jpg"))?;
        c.expect_mail(PAGE, "rsync-ok", TASK, "Finished successfully", Some(0))
    });
    ctx.scenario(PAGE, "copy, a photo deleted meanwhile", |c| {
        // Copy everything again, and delete the last photo as soon as
        // rsync has its file list and starts writing.
        let dest = c_path(c, "/mnt/nas/photos");
        let _ = fs::remove_dir_all(&dest);
        let saved = fs::read(&last).map_err(|e| format!("{}: {e}", last.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (stop, last, dest) = (stop.clone(), last.clone(), dest.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if dest.exists() {
                        return fs::remove_file(&last).is_ok();
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                false
            })
        };
        let out = c.sh(&c.block(PAGE, "run", "rsync")?, false);
        stop.store(true, Ordering::Relaxed);
        let deleted = watcher.join().unwrap_or(false);
        fs::write(&last, &saved).map_err(|e| format!("cannot restore {}: {e}", last.display()))?;
        let out = out?;
        if !deleted {
            return Err("rsync never started writing (the photo was not deleted)".into());
        }
        if out.code == Some(0) {
            return Err("rsync finished before the photo was deleted: exit 0".into());
        }
        expect_code(&out, 24)?;
        c.expect_mail(
            PAGE,
            "rsync-vanished",
            TASK,
            "Finished with warnings",
            Some(24),
        )
    });
    ctx.scenario(PAGE, "copy, /srv/photos missing (preset)", |c| {
        c.with_moved("/srv/photos", |c| {
            c.run_block(PAGE, "rsync", 23)?;
            c.expect_mail(
                PAGE,
                "rsync-missing",
                TASK,
                "Finished with warnings",
                Some(23),
            )
        })
    });
    ctx.scenario(PAGE, "mountpoint guard, /mnt/nas not mounted", |c| {
        c.run_block(PAGE, "rsync-guard", 32)?;
        c.expect_mail(PAGE, "rsync-guard", TASK, "Failed", Some(32))
    });
    ctx.scenario(PAGE, "exit-code map, /srv/photos missing", |c| {
        let config = c.home_config();
        let original =
            fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
        let extra = c.block(PAGE, "config", "rsync-map")?;
        write_file(&config, &format!("{original}\n{}", c.to_tmp(&extra)))?;
        let result = c.with_moved("/srv/photos", |c| {
            c.run_block(PAGE, "rsync-map", 23)?;
            c.expect_mail(PAGE, "rsync-map-failed", TASK, "Failed", Some(23))
        });
        write_file(&config, &original)?;
        result
    });
}

/// postgres.md: with the server up, both dumps succeed silently and are
/// restorable; with it down, `-Fc -f` and the `pipefail` pipeline fail (1),
/// while the pipeline without `pipefail` mails "Finished successfully" and
/// leaves an empty `.sql.gz`.
fn postgres(ctx: &mut Ctx) {
    const PAGE: &str = "postgres.md";
    const TASK: &str = "Postgres dump";
    ctx.scenario(PAGE, "throwaway cluster", |c| c.start_postgres());
    ctx.scenario(PAGE, "setup block", |c| {
        c.run_block(PAGE, "pg-setup", 0)?;
        exists(&c_path(c, "/var/backups/pg"))?;
        Ok("exit 0".into())
    });
    ctx.scenario(PAGE, "custom format, server up", |c| {
        c.run_block(PAGE, "pg-custom", 0)?;
        c.expect_no_mail()?;
        let dump = c_path(c, "/var/backups/pg/app.dump");
        let list = c.sh(&format!("pg_restore -l {}", dump.display()), false)?;
        if list.code != Some(0) || !list.output.contains("TABLE public invoices") {
            return Err(format!(
                "pg_restore -l does not list the table:\n{}",
                list.output
            ));
        }
        Ok("exit 0, no mail; pg_restore -l lists the table".into())
    });
    ctx.scenario(PAGE, "pipefail, server up", |c| {
        c.run_block(PAGE, "pg-pipefail", 0)?;
        c.expect_no_mail()?;
        let sql = c.gunzip("/var/backups/pg/app.sql.gz")?;
        if !sql.contains("CREATE TABLE public.invoices") {
            return Err("app.sql.gz has no CREATE TABLE public.invoices".into());
        }
        Ok("exit 0, no mail; the .sql.gz holds the table".into())
    });
    ctx.scenario(PAGE, "custom format, server down", |c| {
        c.stop_postgres();
        c.run_block(PAGE, "pg-custom", 1)?;
        c.expect_mail(PAGE, "pg-custom-failed", TASK, "Failed", Some(1))
    });
    ctx.scenario(PAGE, "pipefail, server down", |c| {
        c.run_block(PAGE, "pg-pipefail", 1)?;
        c.expect_mail(PAGE, "pg-pipefail-failed", TASK, "Failed", Some(1))
    });
    ctx.scenario(PAGE, "no pipefail, server down", |c| {
        c.run_block(PAGE, "pg-no-pipefail", 0)?;
        let note = c.expect_mail(
            PAGE,
            "pg-no-pipefail",
            TASK,
            "Finished successfully",
            Some(0),
        )?;
        let sql = c.gunzip("/var/backups/pg/app.sql.gz")?;
        if !sql.is_empty() {
            return Err(format!("app.sql.gz is not empty ({} bytes)", sql.len()));
        }
        Ok(format!("{note}; app.sql.gz empty"))
    });
}

/// send-json.md: the script's JSON, piped into `notify send --result -`,
/// mails "Failed" when a dump is two days old or the directory is missing,
/// and nothing when all dumps are fresh.
fn send_json(ctx: &mut Ctx) {
    const PAGE: &str = "send-json.md";
    const SCRIPT: &str = "/home/me/bin/check-dumps";
    ctx.scenario(PAGE, "script file", |c| {
        c.write_file_block(PAGE, SCRIPT)?;
        Ok(format!("wrote {SCRIPT}"))
    });
    let dir = c_path(ctx, "/var/backups/pg");
    let hour = Duration::from_secs(3600);
    let dumps = (|| -> std::io::Result<()> {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        for (name, size, age) in [
            ("app.dump", 48_213, 3 * hour),
            ("wiki.dump", 1_702_334, 50 * hour),
        ] {
            let path = dir.join(name);
            fs::write(&path, vec![0u8; size])?;
            let when = SystemTime::now() - age;
            fs::File::options()
                .write(true)
                .open(&path)?
                .set_modified(when)?;
        }
        Ok(())
    })();
    ctx.scenario(PAGE, "the script alone", |c| {
        dumps.map_err(|e| format!("cannot make the dumps in {}: {e}", dir.display()))?;
        let out = c.sh(SCRIPT, false)?;
        expect_code(&out, 0)?;
        if !out.output.contains("\"outcome\": \"failure\"") {
            return Err(format!("expected a failure result, got:\n{}", out.output));
        }
        c.outputs.insert(
            (PAGE.into(), "json check-dumps".into()),
            c.back_from_tmp(out.output.trim_end()),
        );
        Ok("printed a failure result".into())
    });
    ctx.scenario(PAGE, "script | notify send --result -", |c| {
        c.run_block(PAGE, "check-dumps", 0)?;
        c.expect_mail(PAGE, "check-dumps-failed", "Dump freshness", "Failed", None)
    });
    ctx.scenario(PAGE, "script | notify send --result -, no dump dir", |c| {
        c.with_moved("/var/backups/pg", |c| {
            c.run_block(PAGE, "check-dumps", 0)?;
            let note =
                c.expect_mail(PAGE, "check-dumps-no-dir", "Dump freshness", "Failed", None)?;
            let key = (PAGE.to_string(), "mail check-dumps-no-dir".to_string());
            let error = "cannot list /var/backups/pg: No such file or directory";
            if !c.outputs.get(&key).is_some_and(|m| m.contains(error)) {
                return Err(format!("the mail does not say `{error}`"));
            }
            Ok(note)
        })
    });
    ctx.scenario(PAGE, "script | notify send --result -, all fresh", |c| {
        let path = dir.join("wiki.dump");
        fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(SystemTime::now()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        c.run_block(PAGE, "check-dumps", 0)?;
        c.expect_no_mail()?;
        Ok("exit 0, no mail".into())
    });
}

/// sendmail.md: with `sendmail` a symlink to notify (as the page installs
/// it) and the page's aliases, cron's exact call delivers cron's message
/// through the account to the alias of `root`, From the account's address
/// with cron's name, Date and Message-ID added.
fn sendmail(ctx: &mut Ctx) {
    const PAGE: &str = "sendmail.md";
    ctx.scenario(PAGE, "cron's call through the sendmail symlink", |c| {
        let link = c.bin.join("sendmail");
        if !link.exists() {
            std::os::unix::fs::symlink(&c.notify, &link)
                .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
        }
        let config = c.home_config();
        let original =
            fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
        let extra = c.block(PAGE, "config", "sendmail-aliases")?;
        write_file(&config, &format!("{original}\n{}", c.to_tmp(&extra)))?;
        let out = c.run_block(PAGE, "cron-mail", 0);
        write_file(&config, &original)?;
        if let Ok(out) = &out {
            if !out.output.is_empty() {
                return Err(format!("sendmail printed:\n{}", out.output));
            }
        }
        out?;
        let raw = fs::read(c.mail_dir.join(format!("{}.eml", c.next_mail)))
            .map_err(|_| "no mail arrived".to_string())?;
        let mail = Mail::parse(&raw);
        for (field, want) in [
            ("From", "\"Cron Daemon\" <backup@example.com>"),
            ("To", "root"),
        ] {
            if mail.header(field) != want {
                return Err(format!(
                    "{field}: `{}`, expected `{want}`",
                    mail.header(field)
                ));
            }
        }
        for field in ["Date", "Message-ID"] {
            if mail.header(field).is_empty() {
                return Err(format!("no {field} header was added"));
            }
        }
        c.expect_subject(PAGE, "cron-mail", &format!("Cron <root@{HOST}> df -h /"))
    });
}

/// debian.md: the package built from the notify under test installs with
/// `dpkg -i`; `notify --version` and `man notify` (EXIT STATUS) work; where
/// no other package has /usr/sbin/sendmail, the alternative points it at
/// notify and the page's block mails through it; where one has (msmtp-mta
/// here), it is left alone and the block goes through `notify sendmail`;
/// `dpkg -r` removes the binary and the alternative. Both cases run when
/// another /usr/sbin/sendmail is there: it is moved aside for the first
/// and put back.
fn debian(ctx: &mut Ctx) {
    const PAGE: &str = "debian.md";
    let deb = ctx.scenario_value(PAGE, "build the package", |c| {
        if !c.is_root || !on_path("dpkg-deb") {
            return Err("needs root and dpkg-deb".into());
        }
        if Path::new(INSTALLED).exists() {
            return Err(format!(
                "{INSTALLED} exists already: remove it (dpkg -r notify) first"
            ));
        }
        let dist = c.tmp.join("dist");
        fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
        let notify = dist.join("notify");
        fs::copy(&c.notify, &notify).map_err(|e| format!("cannot copy notify: {e}"))?;
        let pages = crate::dist::pages_and_completions(&notify, &dist)?;
        let deb = crate::dist::deb(&dist, &notify, &pages)?;
        Ok((format!("built {}", deb.display()), deb))
    });
    let Some(deb) = deb else { return };
    let sendmail = Path::new(SENDMAIL);
    let foreign = fs::symlink_metadata(sendmail).is_ok();
    if foreign {
        let aside = PathBuf::from(format!("{SENDMAIL}.notify-recipes"));
        ctx.scenario(
            PAGE,
            "no other sendmail: dpkg -i, alternative, mail, dpkg -r",
            |c| {
                fs::rename(sendmail, &aside)
                    .map_err(|e| format!("cannot move {SENDMAIL} aside: {e}"))?;
                let tried = try_package(c, &deb, false);
                let back = fs::rename(&aside, sendmail);
                let note = tried?;
                back.map_err(|e| {
                    format!("cannot put {SENDMAIL} back from {}: {e}", aside.display())
                })?;
                Ok(note)
            },
        );
    }
    ctx.scenario(
        PAGE,
        if foreign {
            "another package's sendmail: dpkg -i leaves it, mail, dpkg -r"
        } else {
            "dpkg -i, alternative, mail, dpkg -r"
        },
        |c| try_package(c, &deb, foreign),
    );
}

const INSTALLED: &str = "/usr/bin/notify";
const SENDMAIL: &str = "/usr/sbin/sendmail";

/// Installs `deb`, checks it, mails through the page's block and removes
/// it. `foreign`: another package's /usr/sbin/sendmail is there and must
/// stay as it was.
fn try_package(c: &mut Ctx, deb: &Path, foreign: bool) -> Result<String, String> {
    const PAGE: &str = "debian.md";
    let before = fs::read_link(SENDMAIL).ok();
    let out = capture(Command::new("dpkg").arg("-i").arg(deb))?;
    let checked = (|| -> Result<String, String> {
        if !out.0 {
            return Err(format!("dpkg -i failed:\n{}", out.1));
        }
        let version = capture(Command::new(INSTALLED).arg("--version"))?;
        if !version.1.starts_with("notify ") {
            return Err(format!("notify --version: {}", version.1));
        }
        let page = capture(
            Command::new("man")
                .arg("notify")
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "80"),
        )?;
        if !page.1.contains("EXIT STATUS") {
            return Err(format!("man notify has no EXIT STATUS:\n{}", page.1));
        }
        let alternatives =
            capture(Command::new("update-alternatives").args(["--query", "sendmail"]))?;
        let registered = alternatives.1.contains("Alternative: /usr/bin/notify");
        let block = c.block(PAGE, "run", "deb-sendmail")?;
        let block = if foreign {
            if registered || fs::read_link(SENDMAIL).ok() != before {
                return Err(format!("dpkg -i touched the other package's {SENDMAIL}"));
            }
            if !out.1.contains("belongs to another package") {
                return Err(format!("dpkg -i did not say why:\n{}", out.1));
            }
            block.replace(&format!("| {SENDMAIL}"), "| notify sendmail")
        } else {
            if !registered
                || fs::canonicalize(SENDMAIL).ok().as_deref() != Some(Path::new(INSTALLED))
            {
                return Err(format!("{SENDMAIL} is not notify:\n{}", alternatives.1));
            }
            block
        };
        let out = c.sh(&block, false)?;
        expect_code(&out, 0)?;
        let note = c.expect_subject(PAGE, "deb-sendmail", "hello from the package")?;
        Ok(format!("{}; {note}", version.1.trim()))
    })();
    let removed = capture(Command::new("dpkg").args(["-r", "notify"]))?;
    let note = checked?;
    if !removed.0 || Path::new(INSTALLED).exists() {
        return Err(format!("dpkg -r notify left {INSTALLED}:\n{}", removed.1));
    }
    if fs::read_link(SENDMAIL).ok() != before {
        return Err(format!("dpkg -r changed {SENDMAIL}"));
    }
    Ok(format!("{note}; removed, {SENDMAIL} as before"))
}

/// Whether `cmd` succeeded, and its stdout and stderr.
fn capture(cmd: &mut Command) -> Result<(bool, String), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

// ---------------------------------------------------------------------------
// The context every scenario works in

/// One check of the summary.
struct Row {
    page: String,
    what: String,
    result: Result<String, String>,
    secs: f64,
}

/// What a job did.
struct Out {
    code: Option<i32>,
    /// stdout and stderr, in one stream as cron and journald see them.
    output: String,
}

struct Ctx<'a> {
    docs: &'a Docs,
    /// The temporary directory's `root/`, where [`ROOTS`] live.
    root: PathBuf,
    tmp: PathBuf,
    /// A directory holding only `notify`, first on every job's PATH.
    bin: PathBuf,
    notify: PathBuf,
    mail_dir: PathBuf,
    next_mail: usize,
    /// Whether jobs run in a UTS namespace named [`HOST`].
    uts: bool,
    is_root: bool,
    host: String,
    pg_bin: PathBuf,
    postgres: Option<Postgres>,
    rows: Vec<Row>,
    outputs: Outputs,
}

/// `path` (one of the recipes' paths) in the temporary directory.
fn c_path(ctx: &Ctx, path: &str) -> PathBuf {
    PathBuf::from(ctx.to_tmp(path))
}

impl<'a> Ctx<'a> {
    fn new(
        docs: &'a Docs,
        notify: &Path,
        pg_bin: &Path,
        tmp: &Path,
        server: &Server,
    ) -> Result<Self, String> {
        let root = tmp.join("root");
        let bin = tmp.join("bin");
        for dir in ROOTS
            .iter()
            .map(|r| root.join(&r[1..]))
            .chain([bin.clone()])
        {
            fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::os::unix::fs::symlink(notify, bin.join("notify"))
            .map_err(|e| format!("cannot link notify into {}: {e}", bin.display()))?;
        let is_root = crate::is_root();
        let uts = is_root
            && Command::new("unshare")
                .args(["--uts", "--", "hostname", HOST])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        let host = if uts {
            HOST.to_string()
        } else {
            first_line(Path::new("hostname"), &[])
        };
        println!(
            "    jobs see host name `{host}`{}",
            if uts {
                " (UTS namespace)"
            } else {
                " (not root: the real one)"
            }
        );
        let ctx = Ctx {
            docs,
            root,
            tmp: tmp.to_path_buf(),
            bin,
            notify: notify.to_path_buf(),
            mail_dir: server.mail_dir.clone(),
            next_mail: 1,
            uts,
            is_root,
            host,
            pg_bin: pg_bin.to_path_buf(),
            postgres: None,
            rows: Vec::new(),
            outputs: BTreeMap::new(),
        };
        // The account, where the pages say notify finds it.
        let config = format!(
            "# Written by `cargo xtask recipes`: the local SMTP test server.\n\
             [email]\naccount = \"mail\"\nto = [\"me@example.com\"]\n\n\
             [accounts.mail]\nfrom = \"Backups <backup@example.com>\"\n\
             server = \"127.0.0.1:{}\"\nsecurity = \"none\"\n",
            server.port
        );
        for path in [ctx.home_config(), c_path(&ctx, "/etc/notify/config.toml")] {
            write_file(&path, &config)?;
        }
        // The data the backups back up.
        let data = c_path(&ctx, "/srv/data");
        let files: [(&str, usize); 4] = [
            ("documents/report.txt", 12_000),
            ("documents/notes.txt", 3_000),
            ("photos/2026/beach.jpg", 300_000),
            ("photos/2026/hills.jpg", 250_000),
        ];
        for (name, size) in files {
            let path = data.join(name);
            let body: Vec<u8> = (0..size).map(|i| b"abcdefghij\n"[i % 11]).collect();
            fs::create_dir_all(path.parent().unwrap_or(&data))
                .and_then(|()| fs::write(&path, body))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(ctx)
    }

    fn home_config(&self) -> PathBuf {
        c_path(self, "/home/me/.config/notify/config.toml")
    }

    /// Runs one check, prints it and adds it to the summary.
    fn scenario(
        &mut self,
        page: &str,
        what: &str,
        f: impl FnOnce(&mut Self) -> Result<String, String>,
    ) {
        // Mails a failed scenario left unread are not the next one's.
        while self
            .mail_dir
            .join(format!("{}.eml", self.next_mail))
            .exists()
        {
            self.next_mail += 1;
        }
        let start = Instant::now();
        let result = f(self);
        let secs = start.elapsed().as_secs_f64();
        match &result {
            Ok(note) => println!("    ok    {what} ({secs:.1} s): {note}"),
            Err(e) => println!("    FAIL  {what} ({secs:.1} s): {e}"),
        }
        self.rows.push(Row {
            page: page.into(),
            what: what.into(),
            result,
            secs,
        });
    }

    /// [`Ctx::scenario`] for a step whose result later steps need: the
    /// value when it passed.
    fn scenario_value<T>(
        &mut self,
        page: &str,
        what: &str,
        f: impl FnOnce(&mut Self) -> Result<(String, T), String>,
    ) -> Option<T> {
        let mut value = None;
        self.scenario(page, what, |c| {
            let (note, v) = f(c)?;
            value = Some(v);
            Ok(note)
        });
        value
    }

    /// A recipe path in the temporary directory, and `/usr/local/bin/notify`
    /// as the built one.
    fn to_tmp(&self, text: &str) -> String {
        let root = self.root.display().to_string();
        let notify = self.notify.display().to_string();
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if bytes[i] == b'/' && (i == 0 || !is_path_byte(bytes[i - 1])) {
                let rest = &text[i..];
                let ends = |n: usize| rest.len() == n || !is_name_byte(rest.as_bytes()[n]);
                if rest.starts_with(NOTIFY_PATH) && ends(NOTIFY_PATH.len()) {
                    out.push_str(&notify);
                    i += NOTIFY_PATH.len();
                    continue;
                }
                if let Some(r) = ROOTS
                    .iter()
                    .find(|r| rest.starts_with(**r) && ends(r.len()))
                {
                    out.push_str(&root);
                    out.push_str(r);
                    i += r.len();
                    continue;
                }
            }
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
        out
    }

    /// The recipes' paths back in place of the temporary directory's.
    fn back_from_tmp(&self, text: &str) -> String {
        text.replace(&self.root.display().to_string(), "")
            .replace(&self.notify.display().to_string(), NOTIFY_PATH)
            .replace(&self.bin.join("notify").display().to_string(), NOTIFY_PATH)
    }

    fn block(&self, page: &str, kind: &str, name: &str) -> Result<String, String> {
        self.docs.block(page, kind, name).map(|b| b.content.clone())
    }

    /// The environment of a shell block: a login shell's, as user `me`.
    fn shell_env(&self) -> Vec<(String, String)> {
        [
            (
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin.display()),
            ),
            ("HOME", self.to_tmp("/home/me")),
            ("USER", "me".into()),
            ("LOGNAME", "me".into()),
            ("LANG", "C.UTF-8".into()),
            // The throwaway cluster's socket, as postgres's own user.
            ("PGHOST", self.to_tmp("/var/run/postgresql")),
            ("PGUSER", "postgres".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Runs shell lines (recipe paths moved) with `sh -c`.
    fn sh(&self, script: &str, unreadable: bool) -> Result<Out, String> {
        let argv = ["/bin/sh".into(), "-c".into(), self.to_tmp(script)];
        self.job(
            &argv,
            &self.shell_env(),
            &self.to_tmp("/home/me"),
            unreadable,
        )
    }

    /// Runs a page's `run` block and checks its exit code.
    fn run_block(&self, page: &str, name: &str, code: i32) -> Result<Out, String> {
        self.run_block_as(page, name, code, false)
    }

    fn run_block_as(
        &self,
        page: &str,
        name: &str,
        code: i32,
        unreadable: bool,
    ) -> Result<Out, String> {
        let out = self.sh(&self.block(page, "run", name)?, unreadable)?;
        expect_code(&out, code)?;
        Ok(out)
    }

    /// Runs `argv` with exactly `env`, its stderr into its stdout, in its own
    /// process group (killed after [`JOB_TIMEOUT`]); in a UTS namespace named
    /// [`HOST`] when root; without `CAP_DAC_OVERRIDE` when `unreadable`.
    fn job(
        &self,
        argv: &[String],
        env: &[(String, String)],
        dir: &str,
        unreadable: bool,
    ) -> Result<Out, String> {
        let mut full: Vec<String> = Vec::new();
        let mut wrapper = String::from("exec \"$@\" 2>&1");
        if self.uts {
            full.extend(["unshare", "--uts", "--"].map(String::from));
            wrapper = format!("hostname {HOST} && {wrapper}");
        }
        full.extend(["/bin/sh", "-c", wrapper.as_str(), "sh"].map(String::from));
        if unreadable && self.is_root {
            full.extend(
                [
                    "setpriv",
                    "--bounding-set=-dac_override,-dac_read_search",
                    "--",
                ]
                .map(String::from),
            );
        }
        full.extend(argv.iter().cloned());
        let mut cmd = Command::new(&full[0]);
        cmd.args(&full[1..])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        own_process_group(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", full[0]))?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let deadline = Instant::now() + JOB_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() > deadline => {
                    kill_group(child.id());
                    let _ = child.wait();
                    return Err(format!(
                        "`{}` took longer than {JOB_TIMEOUT:?}: killed",
                        argv.join(" ")
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for {}: {e}", full[0])),
            }
        };
        let mut output = stdout.join().unwrap_or_default();
        output.extend(stderr.join().unwrap_or_default());
        use std::os::unix::process::ExitStatusExt;
        Ok(Out {
            code: status.code().or_else(|| status.signal().map(|s| 128 + s)),
            output: self.back_from_tmp(&String::from_utf8_lossy(&output)),
        })
    }

    /// Makes `path` a file nobody may read, runs `f`, removes the file.
    fn with_unreadable_file(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut Self) -> Result<String, String>,
    ) -> Result<String, String> {
        use std::os::unix::fs::PermissionsExt;
        let file = c_path(self, path);
        fs::write(&file, "-----BEGIN PRIVATE KEY-----\n")
            .and_then(|()| fs::set_permissions(&file, fs::Permissions::from_mode(0o000)))
            .map_err(|e| format!("cannot make {}: {e}", file.display()))?;
        let result = f(self);
        let _ = fs::remove_file(&file);
        result
    }

    /// Moves `path` away (a disk that is not mounted), runs `f`, moves it back.
    fn with_moved(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut Self) -> Result<String, String>,
    ) -> Result<String, String> {
        let from = c_path(self, path);
        let to = from.with_extension("away");
        fs::rename(&from, &to).map_err(|e| format!("cannot move {}: {e}", from.display()))?;
        let result = f(self);
        fs::rename(&to, &from).map_err(|e| format!("cannot move {} back: {e}", from.display()))?;
        result
    }

    /// Decompresses a `.gz` of the recipes into text.
    fn gunzip(&self, path: &str) -> Result<String, String> {
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(c_path(self, path))
            .output()
            .map_err(|e| format!("cannot run gzip: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "gzip -dc {path}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Writes a page's `file PATH` block to PATH (recipe paths moved).
    fn write_file_block(&self, page: &str, path: &str) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        let content = self.to_tmp(&self.block(page, "file", path)?);
        let target = c_path(self, path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        write_file(&target, &content)?;
        if content.starts_with("#!") {
            fs::set_permissions(&target, fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod {}: {e}", target.display()))?;
        }
        Ok(())
    }

    // -- cron

    /// The page's crontab block: its single command line and the variables
    /// set above it.
    fn crontab_job(&self, page: &str, name: &str) -> Result<CronJob, String> {
        let jobs = parse_crontab(&self.block(page, "crontab", name)?)?;
        match <[CronJob; 1]>::try_from(jobs) {
            Ok([job]) => Ok(job),
            Err(jobs) => Err(format!(
                "the crontab has {} command lines, expected 1",
                jobs.len()
            )),
        }
    }

    /// Runs a crontab line as cron does.
    fn cron(&self, job: &CronJob) -> Result<Out, String> {
        let mut env: BTreeMap<String, String> = [
            ("HOME", self.to_tmp("/home/me")),
            ("LOGNAME", "me".into()),
            ("SHELL", "/bin/sh".into()),
            ("PATH", "/usr/bin:/bin".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in &job.env {
            env.insert(k.clone(), self.to_tmp(v));
        }
        let path = format!("{}:{}", self.bin.display(), env["PATH"]);
        env.insert("PATH".into(), path);
        let shell = env["SHELL"].clone();
        let home = env["HOME"].clone();
        let env: Vec<(String, String)> = env.into_iter().collect();
        self.job(
            &[shell, "-c".into(), self.to_tmp(&job.command)],
            &env,
            &home,
            false,
        )
    }

    // -- systemd

    /// Writes the page's units of `kind` (`user` or `system`; the timer is
    /// shared) with notify's path moved, and runs `systemd-analyze verify`.
    fn verify_units(&self, page: &str, kind: &str) -> Result<String, String> {
        if !on_path("systemd-analyze") {
            return Ok("skipped: systemd-analyze is not installed".into());
        }
        let dir = self.tmp.join("units").join(kind);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut files = Vec::new();
        let names: &[&str] = if kind == "system" {
            &[
                "mirror.service",
                "mirror.timer",
                "notify-onfailure@.service",
                "notify-check.service",
                "notify-check.timer",
                "notify-digest.service",
                "notify-digest.timer",
            ]
        } else {
            &["mirror.service", "mirror.timer"]
        };
        for name in names {
            let own = format!("{kind}/{name}");
            let text = self
                .docs
                .block(page, "unit", &own)
                .or_else(|_| self.docs.block(page, "unit", &format!("user/{name}")))?;
            let path = dir.join(name);
            write_file(&path, &self.to_tmp(&text.content))?;
            files.push(path);
        }
        let mut cmd = Command::new("systemd-analyze");
        if kind == "user" {
            let runtime = self.tmp.join("xdg-runtime");
            fs::create_dir_all(&runtime).map_err(|e| format!("{}: {e}", runtime.display()))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700));
            cmd.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
        }
        cmd.args(["verify", "--man=no"]).args(&files);
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run systemd-analyze: {e}"))?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() && said.trim().is_empty() {
            Ok("clean".into())
        } else {
            Err(format!(
                "systemd-analyze verify ({}): {}",
                out.status,
                self.back_from_tmp(said.trim())
            ))
        }
    }

    /// Runs a service's `ExecStart=` as systemd would: only PATH (plus HOME
    /// and the user's names for a user unit) and the unit's `Environment=`;
    /// `StateDirectory=` made.
    fn unit_exec(&self, page: &str, name: &str) -> Result<Out, String> {
        self.unit_exec_with(page, name, &[])
    }

    /// [`Ctx::unit_exec`] with more variables, as systemd sets for a unit
    /// started by `OnFailure=` (`MONITOR_*`).
    fn unit_exec_with(&self, page: &str, name: &str, more: &[(&str, &str)]) -> Result<Out, String> {
        let unit = parse_unit(&self.block(page, "unit", name)?)?;
        let user = name.starts_with("user/");
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert(
            "PATH".into(),
            format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
                self.bin.display()
            ),
        );
        let home = self.to_tmp("/home/me");
        if user {
            env.insert("HOME".into(), home.clone());
            env.insert("USER".into(), "me".into());
            env.insert("LOGNAME".into(), "me".into());
            env.insert("SHELL".into(), "/bin/sh".into());
        }
        for dir in &unit.state_directories {
            let path = if user {
                c_path(self, &format!("/home/me/.local/state/{dir}"))
            } else {
                self.root.join("var/lib").join(dir)
            };
            fs::create_dir_all(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            env.insert("STATE_DIRECTORY".into(), path.display().to_string());
        }
        for (k, v) in &unit.environment {
            env.insert(k.clone(), self.to_tmp(v));
        }
        for (k, v) in more {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let argv: Vec<String> = unit.exec_start.iter().map(|w| self.to_tmp(w)).collect();
        let env: Vec<(String, String)> = env.into_iter().collect();
        // Services start in / (system) or the user's home (user manager).
        self.job(&argv, &env, if user { home.as_str() } else { "/" }, false)
    }

    // -- PostgreSQL

    fn start_postgres(&mut self) -> Result<String, String> {
        let socket = c_path(self, "/var/run/postgresql");
        let pg = Postgres::start(&self.pg_bin, &self.tmp, &socket, self.is_root)?;
        let pid = pg.child.id();
        self.postgres = Some(pg);
        let sql = "CREATE DATABASE app;\n\\connect app\n\
                   CREATE TABLE invoices (id serial PRIMARY KEY, customer text, total numeric);\n\
                   INSERT INTO invoices (customer, total) VALUES ('ACME', 1200.50), ('Initech', 99);\n";
        let out = self.sh(
            &format!("psql -X -q -v ON_ERROR_STOP=1 <<'SQL'\n{sql}SQL"),
            false,
        )?;
        expect_code(&out, 0)?;
        Ok(format!(
            "postgres pid {pid} on /var/run/postgresql; database app"
        ))
    }

    fn stop_postgres(&mut self) {
        if let Some(pg) = &mut self.postgres {
            pg.stop();
        }
    }

    // -- mail

    /// Exactly one new mail: subject `HOST: TASK: STATUS`, the exit code
    /// line; kept for `--write` (and, without it, compared with the page).
    fn expect_mail(
        &mut self,
        page: &str,
        name: &str,
        task: &str,
        status: &str,
        code: Option<i32>,
    ) -> Result<String, String> {
        let path = self.mail_dir.join(format!("{}.eml", self.next_mail));
        let raw = fs::read(&path)
            .map_err(|_| format!("no mail arrived (expected `{task}: {status}`)"))?;
        self.next_mail += 1;
        let extra = self.mail_dir.join(format!("{}.eml", self.next_mail));
        if extra.exists() {
            self.next_mail += 1;
            return Err("more than one mail arrived".into());
        }
        let mail = Mail::parse(&raw);
        let subject = mail.header("Subject");
        let want = format!("{}: {task}: {status}", self.host);
        if subject != want {
            return Err(format!("subject `{subject}`, expected `{want}`"));
        }
        let field = |name: &str| {
            mail.body
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        if field("Status:") != status {
            return Err(format!("the body says `Status: {}`", field("Status:")));
        }
        if let Some(code) = code {
            if field("Exit code:") != code.to_string() {
                return Err(format!(
                    "the body says `Exit code: {}`, expected {code}",
                    field("Exit code:")
                ));
            }
        }
        let shown = self.back_from_tmp(&mail.shown());
        self.outputs
            .insert((page.into(), format!("mail {name}")), shown);
        Ok(format!("mail `{subject}`"))
    }

    /// The next mail has exactly `subject` (one not about one task's run,
    /// such as the digest); it is kept for `--write` as `mail NAME`.
    fn expect_subject(&mut self, page: &str, name: &str, subject: &str) -> Result<String, String> {
        let path = self.mail_dir.join(format!("{}.eml", self.next_mail));
        let raw = fs::read(&path).map_err(|_| format!("no mail arrived (expected `{subject}`)"))?;
        self.next_mail += 1;
        let mail = Mail::parse(&raw);
        let got = mail.header("Subject");
        if got != subject {
            return Err(format!("subject `{got}`, expected `{subject}`"));
        }
        let shown = self.back_from_tmp(&mail.shown());
        self.outputs
            .insert((page.into(), format!("mail {name}")), shown);
        Ok(format!("mail `{got}`"))
    }

    fn expect_no_mail(&mut self) -> Result<(), String> {
        let path = self.mail_dir.join(format!("{}.eml", self.next_mail));
        match fs::read(&path) {
            Ok(raw) => {
                self.next_mail += 1;
                Err(format!(
                    "a mail arrived: `{}`",
                    Mail::parse(&raw).header("Subject")
                ))
            }
            Err(_) => Ok(()),
        }
    }

    /// The versions of what ran, for the README's `versions` block.
    fn versions(&mut self) {
        let os = fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            })
            .unwrap_or_default();
        let lines = [
            first_line(&self.notify, &["--version"]),
            first_line(Path::new("restic"), &["version"]),
            first_line(Path::new("borg"), &["--version"]),
            first_line(Path::new("rsync"), &["--version"]),
            first_line(Path::new("pg_dump"), &["--version"]),
            first_line(Path::new("systemd-analyze"), &["--version"]),
            first_line(Path::new("prometheus"), &["--version"]),
            first_line(Path::new("prometheus-alertmanager"), &["--version"]),
            first_line(Path::new("prometheus-node-exporter"), &["--version"]),
            os,
        ];
        let text: Vec<String> = lines.into_iter().filter(|l| !l.is_empty()).collect();
        self.outputs.insert(
            ("README.md".into(), "versions tools".into()),
            text.join("\n"),
        );
    }
}

fn expect_code(out: &Out, code: i32) -> Result<(), String> {
    if out.code == Some(code) {
        Ok(())
    } else {
        let shown = match out.code {
            Some(c) => c.to_string(),
            None => "no code".into(),
        };
        Err(format!(
            "exit {shown}, expected {code}; output:\n{}",
            out.output.trim_end()
        ))
    }
}

fn exists(path: &Path) -> Result<(), String> {
    if path.exists() {
        Ok(())
    } else {
        Err(format!("{} is missing", path.display()))
    }
}

fn is_path_byte(b: u8) -> bool {
    is_name_byte(b) || b == b'/'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~')
}

/// The first line a command prints (stdout), or "" when it cannot run.
fn first_line(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default()
}

/// Reads a pipe to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

#[cfg(unix)]
fn own_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_cmd: &mut Command) {}

/// Kills a process group by its leader's PID.
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------
// Tools, servers

/// The commands the recipes run, and the Debian package of each.
const TOOLS: &[(&str, &str)] = &[
    ("restic", "restic"),
    ("borg", "borgbackup"),
    ("rsync", "rsync"),
    ("pg_dump", "postgresql-client"),
    ("pg_restore", "postgresql-client"),
    ("psql", "postgresql-client"),
    ("gzip", "gzip"),
    ("tar", "tar"),
    ("bash", "bash"),
    ("python3", "python3"),
    ("unshare", "util-linux"),
    ("setpriv", "util-linux"),
    ("mountpoint", "util-linux"),
    ("hostname", "hostname"),
    ("prometheus", "prometheus"),
    ("promtool", "prometheus"),
    ("prometheus-node-exporter", "prometheus-node-exporter"),
    ("prometheus-alertmanager", "prometheus-alertmanager"),
    ("amtool", "prometheus-alertmanager"),
];

/// Installs the tools that are missing, and PostgreSQL's server (`initdb`,
/// `postgres`) for the throwaway cluster; returns the server's bin dir.
fn tools(apt: &mut Apt) -> Result<PathBuf, String> {
    let mut missing: Vec<&str> = Vec::new();
    for (command, package) in TOOLS {
        if !on_path(command) && !missing.contains(package) {
            missing.push(package);
        }
    }
    if pg_bin().is_none() {
        missing.push("postgresql");
    }
    if missing.is_empty() {
        println!("    restic, borg, rsync and PostgreSQL already installed");
    } else {
        apt.install(&missing, "the recipes run these tools")?;
    }
    pg_bin().ok_or_else(|| "no initdb and postgres in /usr/lib/postgresql/*/bin".into())
}

/// The newest `/usr/lib/postgresql/N/bin` with `initdb` and `postgres`.
fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((n, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The SMTP test server: one plaintext relay listener; stopped by its PID
/// when dropped (and it stops by itself when our end of its stdin closes).
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    mail_dir: PathBuf,
}

impl Server {
    fn start(python: &Path, tmp: &Path) -> Result<Server, String> {
        let mail_dir = tmp.join("mail");
        let config = tmp.join("smtp-server.json");
        write_file(
            &config,
            &format!(
                "{{\"outdir\": \"{}\", \"listeners\": [{{\"name\": \"relay\", \"mode\": \"plain\", \"auth\": false}}]}}",
                mail_dir.display()
            ),
        )?;
        let mut child = Command::new(python)
            .arg(root().join("crates/notify-testkit/smtp_server.py"))
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        let stdout = child.stdout.take();
        let stdin = child.stdin.take();
        let mut server = Server {
            child,
            stdin,
            port: 0,
            mail_dir,
        };
        let mut lines = BufReader::new(stdout.ok_or("no stdout from the SMTP server")?).lines();
        for line in lines.by_ref() {
            let line = line.map_err(|e| format!("reading the SMTP server's output: {e}"))?;
            if let Some(json) = line.strip_prefix("READY ") {
                server.port =
                    json_port(json, "relay").ok_or_else(|| format!("no relay port in `{line}`"))?;
                break;
            }
        }
        if server.port == 0 {
            return Err("the SMTP test server exited before it was ready".into());
        }
        std::thread::spawn(move || for _ in lines {});
        println!(
            "    SMTP test server pid {}: relay on 127.0.0.1:{} (security = \"none\"), mail in {}",
            server.child.id(),
            server.port,
            server.mail_dir.display()
        );
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("    SMTP test server (pid {}) stopped", self.child.id());
    }
}

/// A throwaway PostgreSQL cluster on a unix socket only (no TCP), run as
/// the `postgres` user when we are root; stopped by its PID (SIGINT: fast
/// shutdown) when dropped.
struct Postgres {
    child: Child,
    stopped: bool,
}

impl Postgres {
    fn start(bin: &Path, tmp: &Path, socket: &Path, is_root: bool) -> Result<Postgres, String> {
        let data = tmp.join("pg-data");
        let log = tmp.join("postgres.log");
        use std::os::unix::fs::PermissionsExt;
        fs::create_dir_all(&data)
            .and_then(|()| fs::set_permissions(&data, fs::Permissions::from_mode(0o700)))
            .and_then(|()| fs::create_dir_all(socket))
            .map_err(|e| format!("cannot create {}: {e}", data.display()))?;
        if is_root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data)
                .arg(socket)
                .status()
                .map_err(|e| format!("cannot run chown: {e}"))?;
            if !status.success() {
                return Err("chown postgres: failed (is there a postgres user?)".into());
            }
        }
        let as_postgres = |program: PathBuf| {
            let mut cmd = if is_root {
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                    "--",
                ])
                .arg(program);
                c
            } else {
                Command::new(program)
            };
            cmd.current_dir(tmp);
            cmd
        };
        let log_file = || fs::File::options().create(true).append(true).open(&log);
        let out = as_postgres(bin.join("initdb"))
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let child = as_postgres(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(socket)
            .args(["-c", "listen_addresses="])
            .stdin(Stdio::null())
            .stdout(log_file().map_err(|e| format!("{}: {e}", log.display()))?)
            .stderr(log_file().map_err(|e| format!("{}: {e}", log.display()))?)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let mut pg = Postgres {
            child,
            stopped: false,
        };
        let sock = socket.join(".s.PGSQL.5432");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                break;
            }
            if let Ok(Some(status)) = pg.child.try_wait() {
                pg.stopped = true;
                let said = fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("postgres exited ({status}): {}", said.trim()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres does not listen on {} after 30 s",
                    sock.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!(
            "    postgres pid {} listening on {}",
            pg.child.id(),
            sock.display()
        );
        Ok(pg)
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                println!("    postgres (pid {pid}) stopped");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        println!("    postgres (pid {pid}) killed after 20 s");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Crontabs and units

/// A crontab command line with the variables in force for it.
struct CronJob {
    env: Vec<(String, String)>,
    command: String,
}

/// Parses a crontab as cron(8) reads it: `NAME = value` lines (quotes
/// optional, no expansion) and command lines of five time fields (or an
/// `@` keyword) and a command. A `%` in the command (cron's stdin marker) is
/// not supported here; `\%` becomes `%`.
fn parse_crontab(text: &str) -> Result<Vec<CronJob>, String> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut jobs = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let is_env = line.split_once('=').is_some_and(|(name, _)| {
            let name = name.trim();
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit()
        });
        if is_env {
            let (name, value) = line.split_once('=').unwrap_or_default();
            let value = value.trim();
            let value = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            env.retain(|(k, _)| k != name.trim());
            env.push((name.trim().to_string(), value.to_string()));
            continue;
        }
        let fields = if line.starts_with('@') { 1 } else { 5 };
        let mut rest = line;
        for _ in 0..fields {
            rest = rest.trim_start();
            let end = rest
                .find(char::is_whitespace)
                .ok_or_else(|| format!("crontab line `{line}` has no command"))?;
            rest = &rest[end..];
        }
        let command = rest.trim();
        if command.replace("\\%", "").contains('%') {
            return Err(format!(
                "crontab line `{line}`: an unescaped % is cron's stdin marker (not supported here)"
            ));
        }
        jobs.push(CronJob {
            env: env.clone(),
            command: command.replace("\\%", "%"),
        });
    }
    Ok(jobs)
}

/// What of a service unit is run.
struct Unit {
    environment: Vec<(String, String)>,
    exec_start: Vec<String>,
    state_directories: Vec<String>,
}

/// Reads a service's `[Service]` section: `Environment=`, `ExecStart=`
/// (exactly one), `StateDirectory=`; `Type=` must be `oneshot`.
fn parse_unit(text: &str) -> Result<Unit, String> {
    let mut unit = Unit {
        environment: Vec::new(),
        exec_start: Vec::new(),
        state_directories: Vec::new(),
    };
    let mut section = String::new();
    let mut oneshot = false;
    let mut logical = String::new();
    for raw in text.lines() {
        if let Some(part) = raw.strip_suffix('\\') {
            logical.push_str(part);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        if section != "[Service]" {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("unit line `{line}` is not KEY=VALUE"));
        };
        match key.trim() {
            "Type" => oneshot = value.trim() == "oneshot",
            "Environment" => {
                for word in unit_words(value)? {
                    let (k, v) = word
                        .split_once('=')
                        .ok_or_else(|| format!("Environment= word `{word}` is not NAME=VALUE"))?;
                    unit.environment.push((k.to_string(), v.to_string()));
                }
            }
            "ExecStart" => {
                if !unit.exec_start.is_empty() {
                    return Err("more than one ExecStart=".into());
                }
                unit.exec_start = unit_words(value)?;
            }
            "StateDirectory" => unit
                .state_directories
                .extend(value.split_whitespace().map(String::from)),
            _ => {}
        }
    }
    if !oneshot {
        return Err("the service is not Type=oneshot".into());
    }
    if unit.exec_start.is_empty() {
        return Err("no ExecStart=".into());
    }
    Ok(unit)
}

/// Splits a unit's value into words as systemd does for simple lines:
/// whitespace separates, double or single quotes group, backslash escapes.
/// Specifiers (`%`) and variable expansion (`$`) are refused: this tryout
/// does not do them.
fn unit_words(value: &str) -> Result<Vec<String>, String> {
    if value.contains('%') || value.contains('$') {
        return Err(format!(
            "`{}`: % specifiers and $ variables are not supported here",
            value.trim()
        ));
    }
    let mut words = Vec::new();
    let mut chars = value.trim().chars().peekable();
    while chars.peek().is_some() {
        let mut word = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') if word.is_empty() => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => word.push(chars.next().unwrap_or('\\')),
                (_, c) => word.push(c),
            }
        }
        if quote.is_some() {
            return Err(format!("unbalanced quote in `{}`", value.trim()));
        }
        if !word.is_empty() {
            words.push(word);
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    }
    Ok(words)
}

// ---------------------------------------------------------------------------
// Mail

/// A received message: its headers and its decoded text body.
struct Mail {
    headers: Vec<(String, String)>,
    body: String,
}

impl Mail {
    fn parse(raw: &[u8]) -> Mail {
        let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = headers.last_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut mail = Mail {
            headers,
            body: String::new(),
        };
        // multipart/alternative (a mail with an HTML part): the text part.
        let content_type = mail.header("Content-Type");
        if content_type.to_ascii_lowercase().starts_with("multipart/") {
            let boundary = content_type
                .split(';')
                .find_map(|p| p.trim().strip_prefix("boundary="))
                .map(|b| b.trim_matches('"').to_string());
            if let Some(boundary) = boundary {
                let marker = format!("--{boundary}");
                let text_part = body
                    .split(marker.as_str())
                    .map(|part| Mail::parse(part.trim_start_matches('\n').as_bytes()))
                    .find(|part| {
                        part.header("Content-Type")
                            .to_ascii_lowercase()
                            .starts_with("text/plain")
                    });
                if let Some(part) = text_part {
                    mail.body = part.body;
                    return mail;
                }
            }
        }
        let encoding = mail
            .header("Content-Transfer-Encoding")
            .to_ascii_lowercase();
        mail.body = match encoding.as_str() {
            "quoted-printable" => String::from_utf8_lossy(&quoted_printable(body)).into_owned(),
            "base64" => String::from_utf8_lossy(&base64(body)).into_owned(),
            _ => body.to_string(),
        };
        mail
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// From, To, Subject and the body: what a page shows.
    fn shown(&self) -> String {
        let body: Vec<&str> = self.body.trim_end().lines().map(str::trim_end).collect();
        format!(
            "From: {}\nTo: {}\nSubject: {}\n\n{}",
            self.header("From"),
            self.header("To"),
            self.header("Subject"),
            body.join("\n")
        )
    }
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The pages and their marked blocks

/// A fenced block after a `<!-- recipe: KIND NAME -->` line.
struct Block {
    kind: String,
    name: String,
    content: String,
    /// Line indexes of the opening and closing fences.
    open: usize,
    close: usize,
}

struct Page {
    path: PathBuf,
    text: String,
    blocks: Vec<Block>,
}

struct Docs {
    pages: BTreeMap<String, Page>,
}

/// Kinds of blocks that hold what a run produced.
const OUTPUT_KINDS: &[&str] = &["mail", "json", "text", "versions"];

impl Docs {
    fn load() -> Result<Docs, String> {
        let dir = root().join("docs/recipes");
        let entries =
            fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let mut pages = BTreeMap::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let blocks = parse_blocks(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            pages.insert(name, Page { path, text, blocks });
        }
        Ok(Docs { pages })
    }

    fn block(&self, page: &str, kind: &str, name: &str) -> Result<&Block, String> {
        self.pages
            .get(page)
            .and_then(|p| p.blocks.iter().find(|b| b.kind == kind && b.name == name))
            .ok_or_else(|| {
                format!("docs/recipes/{page} has no `<!-- recipe: {kind} {name} -->` block")
            })
    }

    /// Problems between the pages' output blocks and this run's outputs:
    /// a block no scenario produced, or (without `--write`) a mail block
    /// whose subject is not the run's.
    fn check_outputs(&self, outputs: &Outputs, only: &[String], write: bool) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, page) in &self.pages {
            if !only.is_empty() && !only.contains(name) && name != "README.md" {
                continue;
            }
            for b in page
                .blocks
                .iter()
                .filter(|b| OUTPUT_KINDS.contains(&b.kind.as_str()))
            {
                let key = (name.clone(), format!("{} {}", b.kind, b.name));
                let Some(produced) = outputs.get(&key) else {
                    if only.is_empty() {
                        problems.push(format!(
                            "{name}: no scenario produced `{} {}`",
                            b.kind, b.name
                        ));
                    }
                    continue;
                };
                if write {
                    continue;
                }
                if b.content.trim().is_empty() {
                    problems.push(format!(
                        "{name}: `{} {}` is empty (run with --write)",
                        b.kind, b.name
                    ));
                } else if b.kind == "mail" {
                    let subject = |t: &str| {
                        t.lines()
                            .find(|l| l.starts_with("Subject:"))
                            .unwrap_or("")
                            .to_string()
                    };
                    if subject(&b.content) != subject(produced) {
                        problems.push(format!(
                            "{name}: `mail {}` shows `{}`, the run produced `{}` (run with --write)",
                            b.name,
                            subject(&b.content),
                            subject(produced)
                        ));
                    }
                }
            }
        }
        problems
    }

    /// Replaces the output blocks with this run's outputs; the pages written.
    fn write_outputs(&mut self, outputs: &Outputs) -> Result<Vec<PathBuf>, String> {
        let mut written = Vec::new();
        for (name, page) in &mut self.pages {
            let lines: Vec<&str> = page.text.lines().collect();
            let mut out: Vec<String> = Vec::new();
            let mut next = 0;
            for b in &page.blocks {
                let Some(text) = outputs.get(&(name.clone(), format!("{} {}", b.kind, b.name)))
                else {
                    continue;
                };
                out.extend(lines[next..=b.open].iter().map(|l| l.to_string()));
                out.extend(text.lines().map(String::from));
                next = b.close;
            }
            out.extend(lines[next..].iter().map(|l| l.to_string()));
            let new = out.join("\n") + "\n";
            if new != page.text {
                fs::write(&page.path, &new)
                    .map_err(|e| format!("cannot write {}: {e}", page.path.display()))?;
                page.text = new;
                written.push(page.path.clone());
            }
        }
        Ok(written)
    }
}

fn parse_blocks(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let Some(inner) = line
            .strip_prefix("<!-- recipe:")
            .and_then(|l| l.strip_suffix("-->"))
        else {
            i += 1;
            continue;
        };
        let mut words = inner.split_whitespace();
        let kind = words.next().unwrap_or_default().to_string();
        let name = words.collect::<Vec<_>>().join(" ");
        if kind.is_empty() || name.is_empty() {
            return Err(format!("line {}: `{line}` needs a kind and a name", i + 1));
        }
        let open = i + 1;
        if !lines
            .get(open)
            .is_some_and(|l| l.trim_start().starts_with("```"))
        {
            return Err(format!(
                "line {}: `{line}` is not followed by a fenced block",
                i + 1
            ));
        }
        let close = (open + 1..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .ok_or_else(|| format!("line {}: the block never closes", open + 1))?;
        let mut content = lines[open + 1..close].join("\n");
        if !content.is_empty() {
            content.push('\n');
        }
        blocks.push(Block {
            kind,
            name,
            content,
            open,
            close,
        });
        i = close + 1;
    }
    Ok(blocks)
}

// ---------------------------------------------------------------------------
// The summary

fn summary(rows: &[Row]) -> String {
    let mut out = String::from("| page | check | result | time |\n|---|---|---|---|\n");
    for r in rows {
        let result = match &r.result {
            Ok(note) => format!("ok: {note}"),
            Err(e) => format!("FAILED: {}", e.lines().next().unwrap_or("")),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} s |\n",
            r.page,
            r.what.replace('|', "\\|"),
            result.replace('|', "\\|"),
            r.secs
        ));
    }
    out
}
