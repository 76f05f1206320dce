//! The command line, as clap derive types. Doc comments are the long help;
//! their first line is the short help of `-h`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use notify_core::{ExitCodes, Level, Outcome};

const AFTER_HELP: &str = "\
Examples:
  notify run --task \"Daily Backup\" --exit-codes restic -- restic backup /home
  notify send --task \"DB dump\" --status failure --exit-code 3 --set Database=prod
  notify account add gmail --from \"Backups <me@gmail.com>\"
  notify doctor
  notify template preview --task \"Daily Backup\"

With no email account configured, notifications go to a local Maildir in the
data directory (readable with `mutt -f DIR`). A notification that cannot be
delivered now waits in the queue (`notify queue list`) and is retried.

Exit codes of send, test and queue flush: 0 delivered or nothing to send,
1 permanent delivery failure, 2 usage, 75 queued for retry, 78 configuration
error. `run` exits with the command's own exit code (128+N when killed by
signal N).";

/// Tells you how your backups and scheduled jobs went, by email.
///
/// notify wraps a job (`notify run`) or is told its result (`notify send`),
/// decides from the task's notification level whether the run deserves a
/// mail, renders the subject and body from a `##Task Name##`-style template
/// and delivers it.
#[derive(Debug, Parser)]
#[command(name = "notify", version, after_long_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: $NOTIFY_CONFIG, else the platform
    /// config dir's notify/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Data directory for the Maildir, task state and history, and queue [default:
    /// $NOTIFY_DATA_DIR, else the platform data dir's notify/]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Say more: why a notification was or was not sent
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say nothing on success; errors are still reported
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// When to use colour (NO_COLOR is respected by `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command, then notify about how it went
    ///
    /// The command's output passes through live; its last lines are kept for
    /// the mail's log tail (progress redraws collapsed, colour codes
    /// removed). restic, borg, rsync and rclone are recognised: what they
    /// print fills the mail. notify exits with the command's own exit code
    /// (128+N when it was killed by signal N), whatever happened to the
    /// notification.
    ///
    /// Example: notify run --task "Daily Backup" -- borg create --stats ::{now} /home
    Run(RunArgs),

    /// Notify about a job that ran elsewhere
    ///
    /// For tools that run the job themselves: give the status with flags, or
    /// a whole task result as JSON (`--result FILE`, or `-` for stdin; see
    /// task-result.schema.json). Flags override fields of the JSON.
    ///
    /// Example: notify send --task "DB dump" --status failure --exit-code 3
    Send(SendArgs),

    /// Send a test mail rendered from sample values
    ///
    /// Goes through the configured account (or --account), to the configured
    /// recipients (or --to), and reports the server's answer, or what went
    /// wrong and what to do about it. With no account it goes to the local
    /// Maildir.
    ///
    /// Example: notify test --account work --to me@example.com -v
    Test(TestArgs),

    /// Inspect, check and preview templates
    #[command(subcommand)]
    Template(TemplateCommand),

    /// Add, list and change sending accounts
    ///
    /// Accounts live in the config file as `[accounts.NAME]`; their passwords
    /// live in the OS keychain (or a file, an environment variable, a
    /// command), never in the config file.
    #[command(subcommand)]
    Account(AccountCommand),

    /// Check an account's server step by step, without sending mail
    ///
    /// DNS, TCP connect, TLS handshake and certificate (subject, issuer,
    /// expiry, whether it is trusted), EHLO capabilities, and AUTH; each step
    /// gets a verdict, and a hint when something is wrong. Exits 1 when a
    /// check fails, 78 when the account's settings or password are unusable.
    ///
    /// Example: notify doctor --account work -v
    Doctor {
        /// The account to check [default: the one `[email]` uses]
        #[arg(long, value_name = "NAME")]
        account: Option<String>,

        /// Print the checks as JSON instead of text
        #[arg(long)]
        json: bool,
    },

    /// Tell about tasks that did not run, did not finish or run too long
    ///
    /// For a timer or cron every few minutes (every `run` and `send` also
    /// does it, at most once a minute). Overdue: a task with `expect_every`
    /// or `expect_cron` whose last run started longer ago than expected
    /// plus `grace`. Did not finish: a `notify run` whose process is gone
    /// without a finish (killed, crashed, the machine restarted). Still
    /// running: a run past the task's `max_runtime`. Each finding goes
    /// through the task's destinations and levels, once (`changes` reminds
    /// per `remind_every` and tells the recovery).
    ///
    /// Example: */5 * * * * notify check
    Check(CheckArgs),

    /// One line per task: how its last run went, its streak, what is next
    ///
    /// Every task of the configuration and every task notify has recorded a
    /// run of: the last run (when, how long, how much data), how many runs
    /// in a row failed or worked, when the next run is expected
    /// (`expect_every`, `expect_cron`), and whether it is overdue or
    /// running now. Exits 1 when a task is failing or overdue, so a script
    /// or a monitoring check can use it; `--json` for the same as data
    /// (docs/json.md).
    ///
    /// Example: notify status --json | jq '.tasks[] | select(.failing)'
    Status(StatusArgs),

    /// Send one mail over every task: counts in the subject, the failing first
    ///
    /// Through the `[email]` account to its recipients (or --to), in text and
    /// HTML: a line per task with its status, last run, duration and data
    /// copied, the ones that need a look first with their first error line,
    /// and how many runs there were in the period. Tasks at level `never`
    /// are in it too. `digest = "daily"` (or `"weekly"`) under `[email]` has
    /// `notify check` send it at `digest_at` (default 07:00).
    ///
    /// Example: notify digest --period 7d
    Digest(DigestArgs),

    /// See, retry or clear notifications waiting for delivery
    ///
    /// A notification whose delivery failed temporarily (server down,
    /// timeout, 4xx) waits in DATA_DIR/queue and is retried by every later
    /// `notify run`, `send` and `test` (1 minute, then doubling up to 6 hours
    /// between tries). After `queue_max_age` (default 7 days) notify gives up
    /// on it, and the next mail through that account says so.
    #[command(subcommand)]
    Queue(QueueCommand),

    /// List the built-in mail provider presets
    ///
    /// Each preset gives the server, port and security of a provider, the
    /// login it expects and what to do about passwords. An account uses one
    /// with `provider = "ID"`, or by its from address when `server` is unset.
    Providers {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },

    /// Print a shell completion script
    ///
    /// Load it in the current shell, or install it where your shell looks
    /// for completions (see the examples below).
    #[command(after_long_help = "Examples:
  bash: source <(notify completions bash)
        notify completions bash > ~/.local/share/bash-completion/completions/notify
  zsh:  notify completions zsh > ~/.zfunc/_notify
        (with fpath+=~/.zfunc before compinit in ~/.zshrc)
  fish: notify completions fish > ~/.config/fish/completions/notify.fish")]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Send a whole message read on stdin, as sendmail does: for cron,
    /// mail and daemons
    ///
    /// The interface of sendmail, msmtp-mta and nullmailer: the message
    /// (headers, empty line, body) comes on stdin and goes through the
    /// `[email]` account (or into the local Maildir when none is set up),
    /// with its password store and queue. The same happens when notify is
    /// run under the name `sendmail` (a symlink: `ln -s $(command -v notify)
    /// /usr/sbin/sendmail`), so cron's MAILTO mail and every daemon's mail
    /// go through notify.
    ///
    /// Flags (sendmail's): -t  also send to the To, Cc and Bcc headers'
    /// addresses (Bcc is removed); -i, -oi  a line with a single dot does
    /// not end the message; -f ADDR  the From address when the message has
    /// none; -F NAME  the sender's display name; -r ADDR  as -f; -B TYPE,
    /// -oem, -oXX, -N DSN, -v and others that sendmail's callers pass are
    /// accepted. Recipients follow the flags.
    ///
    /// A recipient without a domain (`root`, `admin`, as cron and daemons
    /// write them; also `root@localhost`) goes to its `[sendmail] aliases`
    /// entry, else to the `[email]` recipients. The sender is the account's
    /// address; a From header without a domain (cron's `root (Cron
    /// Daemon)`) becomes the account's address with that name. Date and
    /// Message-ID are added when missing; other headers are kept.
    ///
    /// Exit codes: 0 sent, 75 queued for retry (temporary failure), 1
    /// refused by the server (a copy is kept in the local Maildir), 2
    /// usage, 78 configuration error.
    ///
    /// Example: printf 'Subject: disk\n\nsda is failing\n' | notify sendmail root
    #[command(
        disable_help_flag = true,
        after_long_help = "Example, as cron calls it:\n  sendmail -FCronDaemon -i -B8BITMIME -oem root < message"
    )]
    Sendmail {
        /// sendmail's flags and the recipients (see above; --help shows this)
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            num_args = 0..,
            value_name = "FLAGS/RECIPIENTS"
        )]
        args: Vec<OsString>,
    },

    /// Print the manual page (roff), e.g. `notify man | man -l -`
    #[command(hide = true)]
    Man {
        /// Write notify.1 and a page per subcommand (notify-run.1, ...)
        /// into this directory instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `notify status`.
#[derive(Debug, Args, Default)]
pub struct StatusArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// `notify digest`.
#[derive(Debug, Args, Default)]
pub struct DigestArgs {
    /// Count the runs of this period (`1d`, `7d`, `12h`) [default: 1d, or
    /// 7d with `digest = "weekly"`]
    #[arg(long, value_name = "DURATION", value_parser = crate::app::config::HumanDuration::parse)]
    pub period: Option<crate::app::config::HumanDuration>,

    /// Recipients, comma-separated or repeated (overrides the config)
    #[arg(long, value_name = "ADDR,...", value_parser = addresses)]
    pub to: Vec<String>,

    /// The account to send from (a name under `[accounts]` in the config)
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Print the mail to stdout instead of sending it
    #[arg(long)]
    pub dry_run: bool,
}

/// `notify check`.
#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    /// Show what would be told, as the mails would be; send and record
    /// nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Delivery flags shared by `run` and `send`.
#[derive(Debug, Args, Default)]
pub struct DeliveryArgs {
    /// When to send: never, always, errors (the default), warnings or changes
    ///
    /// errors: a failure, a cancelled run or any error line; warnings: also
    /// warning outcomes and warning lines (anything but a clean success);
    /// changes: the first failure, a recovery, and reminders while failing.
    #[arg(long, value_name = "LEVEL", value_parser = level_parser(), ignore_case = true)]
    pub level: Option<Level>,

    /// Recipients, comma-separated or repeated (overrides the config)
    #[arg(long, value_name = "ADDR,...", value_parser = addresses)]
    pub to: Vec<String>,

    /// Copy recipients, comma-separated or repeated
    #[arg(long, value_name = "ADDR,...", value_parser = addresses)]
    pub cc: Vec<String>,

    /// Blind-copy recipients, comma-separated or repeated
    #[arg(long, value_name = "ADDR,...", value_parser = addresses)]
    pub bcc: Vec<String>,

    /// Where replies go
    #[arg(long, value_name = "ADDR", value_parser = addresses)]
    pub reply_to: Option<String>,

    /// The account to send from (a name under `[accounts]` in the config)
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Attach the log (capped, keeping its tail)
    #[arg(long)]
    pub attach_log: bool,

    /// Also show a desktop notification (freedesktop D-Bus, macOS
    /// Notification Center), at the task's `desktop_level`
    #[arg(long)]
    pub desktop: bool,

    /// Print the message to stdout instead of delivering it; remember nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `notify run`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  notify run --task \"Daily Backup\" -- restic -r /srv/restic backup /home
  notify run --task Sync --level warnings -- rsync -a --stats /src/ /dst/
  notify run --task Dump --set Database=prod --destination /backup -- pg_dump -Fc -f /backup/prod.dump prod
  notify run --task Nightly --dry-run -- sh -c 'echo copying; exit 1'

restic, borg, rsync and rclone are recognised (also behind sudo, env, nice,
ionice, timeout, chrt and systemd-inhibit): their output fills the mail's
source, destination, data and files copied, errors, warnings and values such
as ##Snapshot ID##, and their exit codes map to outcomes without
--exit-codes. Any other command: lines starting with error, fatal or
warning count, and a failed run lists its last lines of stderr.")]
pub struct RunArgs {
    /// The task's name, as shown in the mail and used for `[tasks."NAME"]`
    #[arg(long, value_name = "NAME", value_parser = non_empty)]
    pub task: String,

    /// How exit codes map to outcomes: default, borg, restic, rsync or
    /// rclone [default: the recognised tool's, else default]
    #[arg(long, value_name = "PRESET")]
    pub exit_codes: Option<ExitCodes>,

    /// Which reader reads the output: restic, borg, rsync, rclone, none
    /// (the generic reader) or auto [default: auto, from the command]
    #[arg(long, value_name = "TOOL")]
    pub tool: Option<notify_report::ToolChoice>,

    /// Set a value or an extra value, usable in templates as ##KEY##
    /// (repeatable); it replaces what the output said
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// What was backed up or copied (replaces what the output said)
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,

    /// Where it went (replaces what the output said)
    #[arg(long, value_name = "TEXT")]
    pub destination: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,

    /// The command to run, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// `notify test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Recipients, comma-separated or repeated (overrides the config)
    #[arg(long, value_name = "ADDR,...", value_parser = addresses)]
    pub to: Vec<String>,

    /// The account to send from (a name under `[accounts]` in the config)
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Print the message to stdout instead of sending it
    #[arg(long)]
    pub dry_run: bool,
}

impl TestArgs {
    /// The delivery flags these amount to.
    pub fn delivery(&self) -> DeliveryArgs {
        DeliveryArgs {
            to: self.to.clone(),
            account: self.account.clone(),
            dry_run: self.dry_run,
            ..DeliveryArgs::default()
        }
    }
}

/// `notify send`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  notify send --task \"DB dump\" --status failure --exit-code 3
  notify send --task Backup --status success --started 2026-11-21T02:00:00Z --set Size=12GB
  my-backup --json | notify send --result -")]
pub struct SendArgs {
    /// The task's name (required unless --result gives it)
    #[arg(long, value_name = "NAME", value_parser = non_empty)]
    pub task: Option<String>,

    /// success, warning, failure or cancelled (required unless --result gives it)
    #[arg(long, value_name = "STATUS")]
    pub status: Option<Outcome>,

    /// The job's exit code
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub exit_code: Option<i32>,

    /// When the job started: RFC 3339 (2026-11-21T02:00:00Z), @UNIX-SECONDS or now
    #[arg(long, value_name = "TIME")]
    pub started: Option<String>,

    /// When the job finished [default: now]
    #[arg(long, value_name = "TIME")]
    pub finished: Option<String>,

    /// Set a value (Source, Files Copied, Snapshot ID, ...) or an extra
    /// value, usable in templates as ##KEY## (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// What was backed up or copied
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,

    /// Where it went
    #[arg(long, value_name = "TEXT")]
    pub destination: Option<String>,

    /// The unit that another unit's OnFailure= or OnSuccess= monitors:
    /// result, exit status and name from systemd's MONITOR_* variables, its
    /// journal lines as the log (see docs/recipes/systemd.md)
    #[arg(long, conflicts_with = "result")]
    pub from_systemd: bool,

    /// A task result as JSON, from a file or `-` for stdin
    #[arg(long, value_name = "FILE|-")]
    pub result: Option<PathBuf>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// `--level`: the names completions offer, parsed as the config parses them.
fn level_parser() -> impl clap::builder::TypedValueParser<Value = Level> {
    use clap::builder::{PossibleValue, TypedValueParser};
    clap::builder::PossibleValuesParser::new(Level::NAMES.iter().map(|name| {
        // The singular forms the config accepts too.
        PossibleValue::new(name).aliases(name.strip_suffix('s'))
    }))
    .try_map(|name| name.parse::<Level>())
}

/// `--to`, `--cc`, `--bcc`, `--reply-to`: every address checked now, as
/// delivery will check it, so a typo is a usage error (exit 2) naming the
/// flag's value, not a configuration error at delivery time.
fn addresses(s: &str) -> Result<String, String> {
    let parts = crate::app::config::split_addresses(s);
    if parts.is_empty() {
        return Err("no address given".to_owned());
    }
    for addr in parts {
        let mut probe = notify_core::Notification::new("check", "");
        probe.from = Some("check@example.com".to_owned());
        probe.to = vec![addr.clone()];
        if let Err(notify_smtp::Error::InvalidAddress { reason, .. }) =
            notify_smtp::build_message(&probe)
        {
            return Err(format!(
                "`{}` {reason}; write an address as \"Name <user@example.com>\" or \
                 \"user@example.com\"",
                crate::app::shown(&addr)
            ));
        }
    }
    Ok(s.to_owned())
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("the task name must not be empty".to_owned())
    } else {
        Ok(s.to_owned())
    }
}

/// `notify queue ...`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Show each queued notification: task, subject, age, attempts, last error
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Retry every queued notification now
    ///
    /// Exits 0 when all were delivered (or the queue is empty), 75 when some
    /// are still queued, 1 when some were given up.
    Flush,
    /// Remove queued notifications (all, or those older than --older-than)
    Purge {
        /// Only those that first failed longer ago than this (e.g. 2d, 12h)
        #[arg(long, value_name = "AGE")]
        older_than: Option<crate::app::config::HumanDuration>,
    },
}

/// `notify account ...`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account, store its password and send a test mail
    ///
    /// Asks for what the flags leave out when run on a terminal. The password
    /// is read without echo, or from the first line of stdin when stdin is
    /// not a terminal; the spaces of a Gmail/Yahoo app password are removed.
    /// The account is written into the config file (comments and layout are
    /// kept) and, when `[email]` has no account yet, becomes the one it uses.
    Add(AccountAddArgs),
    /// Change settings of an existing account (comments are kept)
    ///
    /// Only the flags given change; `--unset KEY` removes a key (back to its
    /// default). The result is checked as `notify doctor` would read it
    /// before the file is written. A new `--password-store` changes where
    /// the password is read from; store it there with `notify account
    /// set-password NAME`.
    Edit(AccountEditArgs),
    /// Sign in an OAuth account (Microsoft 365, Outlook.com, Gmail) once
    ///
    /// For an account with `oauth =` and `oauth_client_id`: runs the
    /// OAuth 2.0 device flow (RFC 8628). It prints a web address and a
    /// code; open the address anywhere (a phone will do), enter the code
    /// and sign in. notify waits as the server says, then keeps the refresh
    /// token where the account's `password =` says (the keychain or a
    /// file). Every send then exchanges it for a fresh access token. Run it
    /// again when a send says the sign-in expired (`invalid_grant`).
    ///
    /// Example: notify account login work
    Login {
        /// The account's name
        name: String,
    },
    /// List the accounts, where their passwords live and whether they are there
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Store a new password for an account (keychain or file stores)
    SetPassword {
        /// The account's name
        name: String,
    },
    /// Remove an account from the config file, and its keychain entry
    Remove {
        /// The account's name
        name: String,
    },
    /// Import accounts from another tool's configuration
    ///
    /// From msmtp: host, port, tls / tls_starttls, from, user, auth and
    /// passwordeval (which becomes `password = "cmd:sh -c '...'"`). A plain
    /// `password` in the msmtprc is not copied: the account gets
    /// `password = "keychain"`, and `notify account set-password NAME`
    /// stores it. Existing accounts are left alone.
    ///
    /// Example: notify account import --msmtp ~/.msmtprc
    Import {
        /// An msmtp configuration file
        #[arg(long, value_name = "FILE")]
        msmtp: std::path::PathBuf,
    },
}

/// `notify account edit`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  notify account edit work --server mail.corp.example:465 --security tls
  notify account edit work --ca-file /etc/notify/corp-ca.pem --timeout 60s
  notify account edit gmail --username me@gmail.com --unset helo_name")]
pub struct AccountEditArgs {
    /// The account's name
    pub name: String,
    /// The sender, e.g. "Backups <backup@example.com>"
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// A provider preset (see `notify providers`)
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// The SMTP server, `host[:port]`
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// tls, starttls or none
    #[arg(long, value_name = "MODE")]
    pub security: Option<String>,
    /// The login
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Extra trusted certificate(s) in PEM (made absolute)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// plain, login or xoauth2
    #[arg(long, value_name = "MECH")]
    pub auth: Option<String>,
    /// Limit for connecting and for each reply, e.g. 30s, 2m
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// The EHLO name
    #[arg(long, value_name = "NAME")]
    pub helo_name: Option<String>,
    /// Where the password is read from: keychain, file:PATH, env:VAR or cmd:COMMAND
    #[arg(long, value_name = "STORE")]
    pub password_store: Option<String>,
    /// Remove a key from the account (repeatable), e.g. --unset ca_file
    #[arg(long, value_name = "KEY")]
    pub unset: Vec<String>,
}

/// `notify account add`.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:
  notify account add gmail --from \"Backups <me@gmail.com>\"
  notify account add work --from backup@corp.example --server mail.corp.example:587
  printf '%s\\n' \"$PW\" | notify account add relay --from cron@host.example --server smtp.host.example:465 --no-test
  notify account add fm --from me@fastmail.com --password-store file:~/.config/notify/fm.pw")]
pub struct AccountAddArgs {
    /// The account's name: letters, digits, `-`, `_`, `.`
    pub name: String,
    /// A provider preset (see `notify providers`) [default: by the from address]
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// The sender, e.g. "Backups <backup@example.com>"
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// The SMTP server, `host[:port]`
    #[arg(long, value_name = "HOST:PORT")]
    pub server: Option<String>,
    /// tls, starttls or none [default: tls on port 465, else starttls]
    #[arg(long, value_name = "MODE")]
    pub security: Option<String>,
    /// The login [default: the from address]
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Extra trusted certificate(s) in PEM, e.g. a company CA or the server's
    /// self-signed certificate
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Where the password lives: keychain, file:PATH, env:VAR or cmd:COMMAND
    #[arg(long, value_name = "STORE", default_value = "keychain")]
    pub password_store: Option<String>,
    /// Where the test mail goes [default: `[email]` to, else the from address]
    #[arg(long, value_name = "ADDR,...", value_parser = addresses)]
    pub to: Vec<String>,
    /// Do not send a test mail
    #[arg(long)]
    pub no_test: bool,
}

/// `notify template ...`.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List the values a template can use, with descriptions and samples
    Values {
        /// Show names and descriptions in this locale (en, de)
        #[arg(long, value_name = "LOCALE")]
        locale: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Check the configured templates (and any FILE given) for errors
    ///
    /// Checks the subject, body and HTML templates of `[email]` and of every
    /// `[tasks."NAME"]`, and reports each error with its line, column and the
    /// nearest known value names. Exits 78 when any template is bad.
    Check {
        /// Template files to check as well
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Names of extra values (from --set) to accept (repeatable)
        #[arg(long = "extra", value_name = "NAME")]
        extras: Vec<String>,
    },
    /// Render a task's subject and body with sample values
    Preview {
        /// The task whose templates to use [default: the `[email]` ones]
        #[arg(long, value_name = "NAME")]
        task: Option<String>,
        /// Render in this locale (en, de)
        #[arg(long, value_name = "LOCALE")]
        locale: Option<String>,
        /// Preview this outcome instead of the sample's
        #[arg(long, value_name = "STATUS")]
        status: Option<Outcome>,
        /// Render a task result from JSON (a file or `-`) instead of samples
        #[arg(long, value_name = "FILE|-")]
        result: Option<PathBuf>,
        /// Set a value or an extra value, as `notify send --set` does (repeatable)
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Show the HTML body too, when one is configured
        #[arg(long)]
        html: bool,
    },
}
