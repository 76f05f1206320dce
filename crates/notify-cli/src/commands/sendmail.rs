//! `notify sendmail`, and notify run under the name `sendmail`: a whole
//! message from stdin, delivered through the `[email]` account with its
//! password store and queue, as msmtp-mta, nullmailer and dma do.
//!
//! The flags are sendmail's, read leniently: what cron, `mail`, smartd,
//! mdadm, unattended-upgrades and logwatch pass is understood, a flag that
//! only matters to a full MTA is accepted and ignored, and an unknown one
//! is a warning, never a lost message.

use std::ffi::OsString;
use std::io::Read;

use notify_core::Notification;
use notify_smtp::{address_list, Incoming, ListedMailbox};
use time::OffsetDateTime;

use crate::app::cli::DeliveryArgs;
use crate::app::config::split_addresses;
use crate::app::error::{exit, CliError};
use crate::app::{shown, Env};
use crate::pipeline::retry::retry_due;
use crate::pipeline::{self, hold, send_held, Connect, Plan, Sent};

/// The task name sendmail messages are planned and queued under: `[email]`
/// (and a `[tasks.sendmail]` table, when there is one) apply.
pub const TASK: &str = "sendmail";

/// sendmail's command line, as far as notify acts on it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `-t`: also send to the To, Cc and Bcc headers' addresses.
    pub extract: bool,
    /// `-i`, `-oi`: a line with a single dot does not end the message.
    pub ignore_dots: bool,
    /// `-F NAME`: the sender's name when the message has no From header.
    pub full_name: Option<String>,
    /// `-f ADDR`, `-r ADDR`: the sender the caller asked for.
    pub sender: Option<String>,
    /// `-v`.
    pub verbose: bool,
    /// `--help`.
    pub help: bool,
    /// The recipients given as arguments, split at commas.
    pub recipients: Vec<String>,
    /// Flags notify does not know, said as warnings (the message still
    /// goes).
    pub unknown: Vec<String>,
}

/// Flags without a value that notify can ignore: `-m` (me too), `-n` (no
/// aliasing), `-U` (initial submission), `-G` (gateway), `-s` (old
/// Errors-To), `-x`.
const IGNORED_SWITCHES: &str = "mnUGsx";

/// Flags whose value notify ignores: `-B` body type (the body is sent as
/// it is, 8-bit when it is), `-N` DSN, `-R` return, `-V` envelope id, `-X`
/// log, `-L` syslog tag, `-O` option, `-C` config file, `-h` hop count,
/// `-p` protocol, `-A` which config, `-a` (msmtp's account), `-e`.
const IGNORED_WITH_VALUE: &str = "BNRVXLOChpAae";

/// Parses sendmail's flags (see [`Flags`]). A mode notify does not offer
/// (`-bs`, `-bd`, `-bp`, `-q`) is a usage error; `--` ends the flags.
pub fn parse_flags(args: &[OsString]) -> Result<Flags, CliError> {
    let mut flags = Flags::default();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut rest = args.iter();
    let value = |name: char, attached: &str, rest: &mut std::slice::Iter<'_, String>| {
        if attached.is_empty() {
            rest.next().cloned().ok_or_else(|| {
                CliError::usage(format!("the flag -{name} needs a value"))
                    .hint("as sendmail takes it: -f ADDR, -F NAME, -B 8BITMIME")
            })
        } else {
            Ok(attached.to_owned())
        }
    };
    while let Some(arg) = rest.next() {
        if arg == "--" {
            for r in rest.by_ref() {
                flags.recipients.extend(recipients_of(r));
            }
            break;
        }
        if arg == "--help" {
            flags.help = true;
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            flags.recipients.extend(recipients_of(arg));
            continue;
        };
        let mut chars = cluster.chars();
        let Some(first) = chars.next() else { continue };
        let attached = chars.as_str();
        match first {
            // Switches, alone or together (`-ti`).
            't' | 'i' | 'v'
                if attached
                    .chars()
                    .all(|c| "tiv".contains(c) || IGNORED_SWITCHES.contains(c)) =>
            {
                for c in cluster.chars() {
                    match c {
                        't' => flags.extract = true,
                        'i' => flags.ignore_dots = true,
                        'v' => flags.verbose = true,
                        _ => {}
                    }
                }
            }
            c if IGNORED_SWITCHES.contains(c) && attached.is_empty() => {}
            'o' => {
                // `-oi` as -i; `-oem`, `-oee`, `-om`, `-oQ...`: ignored.
                let option = value('o', attached, &mut rest)?;
                if option == "i" {
                    flags.ignore_dots = true;
                }
            }
            'f' | 'r' => flags.sender = Some(value(first, attached, &mut rest)?),
            'F' => flags.full_name = Some(value('F', attached, &mut rest)?),
            'b' => {
                match attached {
                    // Deliver mail, the default mode.
                    "m" => {}
                    "" => return Err(CliError::usage("the flag -b needs a mode (-bm)")),
                    mode => return Err(CliError::usage(format!(
                        "notify sendmail does not offer the mode -b{}",
                        shown(mode)
                    ))
                    .hint(
                        "it delivers one message read on stdin (-bm, the default); the queue is \
                         `notify queue list` and `notify queue flush`",
                    )),
                }
            }
            'q' => {
                return Err(CliError::usage("notify sendmail does not run a queue (-q)")
                    .hint("run `notify queue flush` to retry what is queued now"))
            }
            'd' => {}
            c if IGNORED_WITH_VALUE.contains(c) => {
                value(c, attached, &mut rest)?;
            }
            _ => flags.unknown.push(format!("-{cluster}")),
        }
    }
    Ok(flags)
}

/// The addresses of one recipient argument: `a@x,b@x`, `Name <a@x>`.
fn recipients_of(arg: &str) -> Vec<String> {
    split_addresses(arg)
        .iter()
        .flat_map(|part| address_list(part))
        .map(|m| m.address)
        .filter(|a| !a.is_empty())
        .collect()
}

/// The message as read from `input`: everything, or (without `-i`) up to a
/// line holding a single dot.
pub fn read_message(mut input: impl Read, ignore_dots: bool) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    if !ignore_dots {
        let mut at = 0;
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if text == b"." || text == b".\r" {
                bytes.truncate(at);
                break;
            }
            at += line.len();
        }
    }
    Ok(bytes)
}

/// Whether `address` names a user of this machine: no domain (`root`), or
/// `localhost` or this machine's name as the domain.
fn local_name(address: &str) -> Option<&str> {
    match address.rsplit_once('@') {
        None => Some(address),
        Some((user, domain)) => {
            let domain = domain.trim_end_matches('.');
            (domain.eq_ignore_ascii_case("localhost")
                || domain.eq_ignore_ascii_case("localhost.localdomain")
                || domain.eq_ignore_ascii_case(&notify_smtp::system_hostname()))
            .then_some(user)
        }
    }
}

/// `notify sendmail ARGS` with the message on stdin.
pub async fn sendmail(
    env: &Env<'_>,
    connect: &dyn Connect,
    args: Vec<OsString>,
) -> Result<u8, CliError> {
    let flags = parse_flags(&args)?;
    if flags.help {
        let mut cmd = <crate::app::cli::Cli as clap::CommandFactory>::command();
        if let Some(sub) = cmd.find_subcommand_mut("sendmail") {
            crate::app::emit(&sub.render_long_help().to_string());
        }
        return Ok(exit::OK);
    }
    for flag in &flags.unknown {
        env.ui.warn(&format!(
            "notify sendmail: ignoring the flag {} (not one of sendmail's that notify knows)",
            shown(flag)
        ));
    }
    let bytes = read_message(std::io::stdin().lock(), flags.ignore_dots).map_err(|e| {
        CliError::new(
            exit::PERMANENT,
            format!("cannot read the message from stdin: {e}"),
        )
    })?;
    let mut message = Incoming::parse(&bytes);
    let mut wanted = flags.recipients.clone();
    if flags.extract {
        for field in ["To", "Cc", "Bcc"] {
            wanted.extend(message.mailboxes(field).into_iter().map(|m| m.address));
        }
    }
    // Bcc recipients are in the envelope only.
    message.remove("Bcc");
    if wanted.is_empty() {
        return Err(
            CliError::usage("no recipients: the message goes to nobody").hint(
                "give recipients as arguments (notify sendmail root) or use -t to read them from \
             the To, Cc and Bcc headers",
            ),
        );
    }
    let to = recipients(env, &wanted)?;
    let flags_for_plan = DeliveryArgs {
        to: to.clone(),
        ..DeliveryArgs::default()
    };
    let plan = Plan::new(env, TASK, &flags_for_plan)?;
    if let Some(sender) = &flags.sender {
        env.ui.verbose(&format!(
            "notify sendmail: the sender is the account's address, not {} (-f)",
            shown(sender)
        ));
    }
    let notification = notification(env, &plan, &flags, message)?;
    env.ui.verbose(&format!(
        "notify sendmail: {} bytes to {}",
        notification.raw_message.as_ref().map_or(0, Vec::len),
        plan.to.join(", ")
    ));
    let held = hold(env, &plan, TASK, notification);
    retry_due(env, connect).await;
    match send_held(env, connect, &plan, TASK, held).await? {
        Sent::Delivered(line) => {
            env.ui.verbose(&format!("notify sendmail: {line}"));
            Ok(exit::OK)
        }
        Sent::Queued(e) => Err(e),
    }
}

/// Where the wanted recipients go: addresses with a domain as they are,
/// local names by `[sendmail] aliases`, else to the `[email]` recipients
/// (or, with no account, to this user's local Maildir).
fn recipients(env: &Env<'_>, wanted: &[String]) -> Result<Vec<String>, CliError> {
    let config = &env.loaded.config;
    let eff = pipeline::effective(env, TASK, &DeliveryArgs::default());
    let has_account = eff.settings.account.is_some();
    let mut out: Vec<String> = Vec::new();
    let push = |address: String, out: &mut Vec<String>| {
        if !out.iter().any(|a| a.eq_ignore_ascii_case(&address)) {
            out.push(address);
        }
    };
    for address in wanted {
        let Some(name) = local_name(address) else {
            push(address.clone(), &mut out);
            continue;
        };
        let alias = config
            .sendmail
            .aliases
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, to)| to.0.clone());
        let mapped = match alias {
            Some(to) if !to.is_empty() => to,
            _ => match &eff.settings.to {
                Some(to) if !to.0.is_empty() => to.0.clone(),
                _ if !has_account => vec![format!("{name}@localhost")],
                _ => {
                    return Err(CliError::config(format!(
                        "no address for the local recipient `{}`",
                        shown(address)
                    ))
                    .hint(format!(
                    "map it in the config: [sendmail] aliases = {{ {} = \"you@example.com\" }}, \
                         or set `to` under [email] for every local name",
                    toml_key(name)
                )))
                }
            },
        };
        for to in mapped {
            push(to, &mut out);
        }
    }
    Ok(out)
}

/// `name` as a TOML key in a hint.
fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_owned()
    } else {
        format!("{:?}", shown(name))
    }
}

/// The notification carrying `message` with the headers delivery needs:
/// From is the account's address (with the message's or -F's name), the
/// message's own From, when it names someone else, becomes Reply-To;
/// Date and Message-ID are added when missing.
fn notification(
    env: &Env<'_>,
    plan: &Plan,
    flags: &Flags,
    mut message: Incoming,
) -> Result<Notification, CliError> {
    let account = address_list(&plan.from).into_iter().next().ok_or_else(|| {
        CliError::config(format!("the sender {} has no address", shown(&plan.from)))
    })?;
    let header_from: Option<ListedMailbox> = message.mailboxes("From").into_iter().next();
    let keep = header_from
        .as_ref()
        .is_some_and(|m| m.address.eq_ignore_ascii_case(&account.address));
    if !keep {
        let name = header_from
            .as_ref()
            .and_then(|m| m.name.clone())
            .or_else(|| flags.full_name.clone())
            .or_else(|| account.name.clone());
        let foreign = header_from
            .as_ref()
            .filter(|m| local_name(&m.address).is_none() && m.address.contains('@'));
        if let Some(original) = foreign {
            if message.header("Reply-To").is_none() {
                // A sender the account may not send as: replies still reach it.
                let _ = message.add_reply_to(original.name.as_deref(), &original.address);
            }
        }
        message
            .set_from(name.as_deref(), &account.address)
            .map_err(|e| CliError::config(format!("the sender address: {e}")))?;
    }
    let now = OffsetDateTime::now_utc().to_offset(env.offset);
    message
        .add_date(now)
        .map_err(|e| CliError::new(exit::PERMANENT, format!("the Date header: {e}")))?;
    let domain = account
        .address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    message
        .add_message_id(&notify_smtp::new_message_id(domain))
        .map_err(|e| CliError::new(exit::PERMANENT, format!("the Message-ID header: {e}")))?;
    let subject = message
        .header("Subject")
        .map(|s| notify_core::text::one_line(&s, Some(200)))
        .unwrap_or_else(|| "(no subject)".to_owned());
    let mut notification = Notification::default();
    notification.from = Some(plan.from.clone());
    notification.to = plan.to.clone();
    notification.subject = subject;
    notification.raw_message = Some(message.to_bytes());
    Ok(notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn crons_command_line_is_understood() {
        let flags = parse_flags(&args("-FCronDaemon -i -B8BITMIME -oem root")).unwrap();
        assert_eq!(flags.full_name.as_deref(), Some("CronDaemon"));
        assert!(flags.ignore_dots);
        assert!(!flags.extract);
        assert_eq!(flags.recipients, ["root"]);
        assert!(flags.unknown.is_empty());
    }

    #[test]
    fn callers_flags_are_understood() {
        // unattended-upgrades, mdadm, logwatch, bsd-mailx.
        let f = parse_flags(&args("-oi -t")).unwrap();
        assert!(f.extract && f.ignore_dots && f.recipients.is_empty());
        let f = parse_flags(&args("-ti")).unwrap();
        assert!(f.extract && f.ignore_dots);
        let f = parse_flags(&args(
            "-i -f backup@example.com -- a@example.com,b@example.com",
        ))
        .unwrap();
        assert_eq!(f.sender.as_deref(), Some("backup@example.com"));
        assert_eq!(f.recipients, ["a@example.com", "b@example.com"]);
        let mut list = args("-F Smart -N never -B 7BIT -v");
        list.push("Ops <ops@example.com>, root".into());
        let f = parse_flags(&list).unwrap();
        assert!(f.verbose);
        assert_eq!(f.full_name.as_deref(), Some("Smart"));
        assert_eq!(f.recipients, ["ops@example.com", "root"]);
    }

    #[test]
    fn unknown_flags_are_kept_for_a_warning_and_modes_refused() {
        let f = parse_flags(&args("-Z -t root")).unwrap();
        assert_eq!(f.unknown, ["-Z"]);
        assert_eq!(f.recipients, ["root"]);
        assert_eq!(parse_flags(&args("-bs")).unwrap_err().code(), exit::USAGE);
        assert_eq!(parse_flags(&args("-q1h")).unwrap_err().code(), exit::USAGE);
        assert_eq!(parse_flags(&args("-f")).unwrap_err().code(), exit::USAGE);
        assert!(parse_flags(&args("-bm root")).is_ok());
    }

    #[test]
    fn a_lone_dot_ends_the_message_unless_i() {
        let text = b"Subject: s\n\none\n.\ntwo\n";
        assert_eq!(
            read_message(&text[..], false).unwrap(),
            b"Subject: s\n\none\n".to_vec()
        );
        assert_eq!(read_message(&text[..], true).unwrap(), text.to_vec());
        assert_eq!(
            read_message(&b"a\r\n.\r\nb"[..], false).unwrap(),
            b"a\r\n".to_vec()
        );
    }

    #[test]
    fn local_names() {
        assert_eq!(local_name("root"), Some("root"));
        assert_eq!(local_name("root@localhost"), Some("root"));
        assert_eq!(local_name("ops@example.com"), None);
    }
}
