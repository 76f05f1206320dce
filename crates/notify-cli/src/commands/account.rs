//! `notify account add | list | set-password | remove`.
//!
//! The config file is edited with toml_edit, so the user's comments and
//! layout stay as they were. Passwords go to the account's store (the OS
//! keychain by default, or a `file:`), never into the config file, and are
//! read without echo on a terminal or from the first line of stdin.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use notify_secrets::{normalize_app_password, ExposeSecret, SecretRef, SecretString};
use notify_smtp::providers;
use toml_edit::{value, DocumentMut, Item, Table};

use crate::app::account::{self, bare_address};
use crate::app::cli::{AccountAddArgs, AccountCommand, AccountEditArgs};
use crate::app::config::Account;
use crate::app::error::{exit, CliError};
use crate::app::Env;
use crate::pipeline::{test_mail, Connect};

/// `notify account ...`.
pub async fn account(
    env: &Env<'_>,
    connect: &dyn Connect,
    cmd: AccountCommand,
) -> Result<u8, CliError> {
    match cmd {
        AccountCommand::Add(args) => add(env, connect, args).await,
        AccountCommand::Edit(args) => edit(env, args),
        AccountCommand::Login { name } => login(env, connect, &name).await,
        AccountCommand::List { json } => list(env, connect, json),
        AccountCommand::SetPassword { name } => set_password(env, connect, &name),
        AccountCommand::Remove { name } => remove(env, connect, &name),
        AccountCommand::Import { msmtp } => import_msmtp(env, &msmtp),
    }
}

/// Account names become TOML keys and keychain user names: keep them plain.
fn check_name(name: &str) -> Result<(), CliError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(
            CliError::usage(format!("`{name}` is not a usable account name"))
                .hint("use letters, digits, `-`, `_` and `.`, e.g. `work` or `gmail-backup`"),
        )
    }
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks on the terminal; an empty answer takes `default`.
fn ask(question: &str, default: Option<&str>) -> Result<String, CliError> {
    let mut err = std::io::stderr();
    match default {
        Some(d) => {
            let _ = write!(err, "{question} [{d}]: ");
        }
        None => {
            let _ = write!(err, "{question}: ");
        }
    }
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("cannot read the answer: {e}")))?;
    let answer = line.trim();
    Ok(if answer.is_empty() {
        default.unwrap_or("").to_owned()
    } else {
        answer.to_owned()
    })
}

/// Reads a password: without echo from the terminal, or the first line of
/// stdin when it is not a terminal. App-password spaces are removed.
fn read_password(account: &str) -> Result<SecretString, CliError> {
    let secret = if std::io::stdin().is_terminal() {
        let pw = rpassword::prompt_password(format!("Password for account `{account}`: "))
            .map_err(|e| CliError::usage(format!("cannot read the password: {e}")))?;
        SecretString::from(pw)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("cannot read the password from stdin: {e}")))?;
        let pw = line.trim_end_matches(['\n', '\r']).to_owned();
        drop(SecretString::from(line));
        SecretString::from(pw)
    };
    if secret.expose_secret().is_empty() {
        return Err(CliError::usage("the password is empty").hint(
            "type it at the prompt, or pipe it: printf '%s\\n' \"$PW\" | notify account add ...",
        ));
    }
    Ok(normalize_app_password(secret))
}

fn secret_error(name: &str, e: notify_secrets::Error) -> CliError {
    crate::app::hints::secret_error(name, &e)
}

/// The store of a reference, or a clear error for `keychain` in a build
/// without it.
fn store(
    connect: &dyn Connect,
    name: &str,
    reference: &SecretRef,
) -> Result<Box<dyn notify_secrets::SecretStore>, CliError> {
    connect.secret_store(reference).ok_or_else(|| {
        CliError::config(format!(
            "account `{name}`: this build of notify has no OS keychain support"
        ))
        .hint("use --password-store file:PATH, env:VAR or cmd:COMMAND")
    })
}

/// `reference`, or when it is a keychain that cannot be used here: a file
/// the user picks (interactively, without `--password-store`), else an
/// error naming the file store to use instead.
fn usable_store(
    env: &Env<'_>,
    connect: &dyn Connect,
    name: &str,
    reference: SecretRef,
    args: &AccountAddArgs,
    tty: bool,
) -> Result<SecretRef, CliError> {
    if reference != SecretRef::Keychain {
        return Ok(reference);
    }
    let Some(why) = keychain_unusable(connect, name) else {
        return Ok(reference);
    };
    let file = env.config_path.with_file_name(format!("{name}.password"));
    if tty && args.password_store.is_none() {
        env.ui
            .info(&format!("The OS keychain cannot be used here: {why}."));
        let answer = ask(
            "Keep the password in this file instead (readable by you only)",
            Some(&file.display().to_string()),
        )?;
        return Ok(SecretRef::File(std::path::PathBuf::from(answer)));
    }
    Err(CliError::config(format!(
        "account `{name}`: the OS keychain cannot be used here: {why}"
    ))
    .hint(format!(
        "keep the password in a file only you can read: --password-store file:{}, or in the \
         environment notify runs in: --password-store env:SMTP_PASSWORD",
        file.display()
    )))
}

/// Why the OS keychain cannot hold a password here (none in this build, no
/// Secret Service, a locked one), or `None` when it can. Looks up `name`,
/// which changes nothing.
fn keychain_unusable(connect: &dyn Connect, name: &str) -> Option<String> {
    let Some(store) = connect.secret_store(&SecretRef::Keychain) else {
        return Some("this build of notify has no OS keychain support".to_owned());
    };
    match store.get(name) {
        Ok(_) | Err(notify_secrets::Error::NoEntry { .. }) => None,
        Err(
            notify_secrets::Error::NoKeychain { reason }
            | notify_secrets::Error::Inaccessible { reason },
        ) => Some(reason),
        Err(_) => None,
    }
}

/// Reads the config file for editing (an absent file is an empty document).
fn read_doc(path: &Path) -> Result<DocumentMut, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(CliError::config(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )))
        }
    };
    text.parse::<DocumentMut>().map_err(|e| {
        CliError::config(format!("cannot edit {}: {e}", path.display()))
            .hint("fix the file by hand first; `notify template check` shows what notify reads")
    })
}

/// The table `key` of the document, created when absent (`[accounts]` is
/// implicit: only its `[accounts.NAME]` sub-tables are written).
fn table_mut<'d>(
    doc: &'d mut DocumentMut,
    key: &str,
    path: &Path,
) -> Result<&'d mut Table, CliError> {
    doc.entry(key)
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(key == "accounts");
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| {
            CliError::config(format!("`{key}` in {} is not a table", path.display()))
                .hint("fix the file by hand: it must be a [table]")
        })
}

/// Writes the config file atomically, keeping its permissions.
fn write_doc(path: &Path, doc: &DocumentMut) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::config(format!(
            "cannot write the config file {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension(format!("toml.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(doc.to_string().as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// What was typed at `account add`'s questions, to say again when a later
/// step fails (as a command line that asks nothing more).
#[derive(Default)]
struct Typed {
    from: Option<String>,
    provider: Option<String>,
    server: Option<String>,
    security: Option<String>,
    username: Option<String>,
    to: Option<String>,
    store: Option<String>,
    /// Whether the account is in the file already.
    saved: bool,
}

impl Typed {
    fn any(&self) -> bool {
        self.from.is_some()
            || self.provider.is_some()
            || self.server.is_some()
            || self.security.is_some()
            || self.username.is_some()
            || self.to.is_some()
            || self.store.is_some()
    }

    /// `notify account add NAME` with the flags given and the answers.
    fn command(&self, args: &AccountAddArgs) -> String {
        let quote = |v: &str| format!("'{}'", v.replace('\'', "'\\''"));
        let mut line = format!("notify account add {}", args.name);
        let mut flag = |name: &str, v: Option<&String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                line.push_str(&format!(" --{name} {}", quote(v)));
            }
        };
        flag("from", self.from.as_ref().or(args.from.as_ref()));
        flag(
            "provider",
            self.provider.as_ref().or(args.provider.as_ref()),
        );
        flag("server", self.server.as_ref().or(args.server.as_ref()));
        flag(
            "security",
            self.security.as_ref().or(args.security.as_ref()),
        );
        flag(
            "username",
            self.username.as_ref().or(args.username.as_ref()),
        );
        let ca = args.ca_file.as_ref().map(|p| p.display().to_string());
        flag("ca-file", ca.as_ref());
        flag(
            "password-store",
            self.store.as_ref().or(args.password_store.as_ref()),
        );
        let to = (!args.to.is_empty()).then(|| args.to.join(","));
        flag("to", self.to.as_ref().or(to.as_ref()));
        line
    }
}

async fn add(env: &Env<'_>, connect: &dyn Connect, args: AccountAddArgs) -> Result<u8, CliError> {
    let mut typed = Typed::default();
    let result = add_asking(env, connect, &args, &mut typed).await;
    if let Err(e) = result {
        if typed.any() && !typed.saved {
            env.ui.info(&format!(
                "Nothing was saved. To try again with what you typed:\n  {}",
                typed.command(&args)
            ));
        }
        return Err(e);
    }
    result
}

async fn add_asking(
    env: &Env<'_>,
    connect: &dyn Connect,
    args: &AccountAddArgs,
    typed: &mut Typed,
) -> Result<u8, CliError> {
    let name = args.name.clone();
    check_name(&name)?;
    if env.loaded.config.accounts.contains_key(&name) {
        return Err(CliError::usage(format!("account `{name}` exists already")).hint(format!(
            "change its password with `notify account set-password {name}`, or remove it first with `notify account remove {name}`"
        )));
    }
    let tty = interactive();

    // Where the password will live. Interactively, the keychain is checked
    // before anything is asked (it would otherwise fail after every
    // answer); otherwise after the flags are checked.
    let store_text = args
        .password_store
        .clone()
        .unwrap_or_else(|| "keychain".to_owned());
    let mut reference: SecretRef = store_text.parse().map_err(|e| secret_error(&name, e))?;
    if tty {
        reference = usable_store(env, connect, &name, reference, args, tty)?;
        if reference.to_string() != store_text {
            typed.store = Some(reference.to_string());
        }
    }

    let from = match (&args.from, tty) {
        (Some(f), _) => f.clone(),
        (None, true) => {
            let answer = ask("Send from (e.g. Backups <you@example.com>)", None)?;
            typed.from = Some(answer.clone());
            answer
        }
        (None, false) => {
            return Err(CliError::usage(
                "--from ADDR is required when not run interactively",
            ))
        }
    };
    let probe = {
        let mut built = notify_core::Notification::default();
        built.from = Some(from.clone());
        built.to = vec![bare_address(&from).to_owned()];
        built.subject = "check".to_owned();
        built
    };
    if !bare_address(&from).contains('@') || notify_smtp::build_message(&probe).is_err() {
        return Err(CliError::usage(format!(
            "`{}` is not an email address",
            crate::app::shown(&from)
        ))
        .hint("e.g. --from \"Backups <backup@example.com>\""));
    }

    // The provider: --provider, else by the address's domain unless a
    // server is given.
    let mut provider = match &args.provider {
        Some(id) => Some(providers::by_id(id).ok_or_else(|| {
            let ids: Vec<&str> = providers::PROVIDERS.iter().map(|p| p.id).collect();
            CliError::usage(format!("unknown provider `{id}`"))
                .hint(format!("known providers: {}", ids.join(", ")))
        })?),
        None if args.server.is_none() => providers::by_address(bare_address(&from)),
        None => None,
    };
    let server = match (&args.server, provider, tty) {
        (Some(s), _, _) => Some(s.clone()),
        (None, Some(_), _) => None,
        (None, None, true) => {
            let ids: Vec<&str> = providers::PROVIDERS.iter().map(|p| p.id).collect();
            let answer = ask(
                &format!(
                    "SMTP server (host:port, e.g. smtp.example.com:587), or a provider ({})",
                    ids.join(", ")
                ),
                None,
            )?;
            match providers::by_id(answer.trim()) {
                // A preset named: its server and security.
                Some(p) => {
                    typed.provider = Some(p.id.to_owned());
                    provider = Some(p);
                    None
                }
                None => {
                    typed.server = Some(answer.clone());
                    Some(answer)
                }
            }
        }
        (None, None, false) => {
            return Err(CliError::usage(format!(
                "no provider preset matches `{}`; --server HOST:PORT is required",
                bare_address(&from)
            ))
            .hint("`notify providers` lists the presets; --provider ID picks one"))
        }
    };
    if let Some(p) = provider {
        env.ui.info(&format!(
            "Using the {} preset ({}:{}, {}). {}",
            p.name, p.host, p.port, p.security, p.password_note
        ));
    }
    // A server typed in: how to talk to it, as its port suggests.
    let security = match (&args.security, &typed.server) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(server)) => {
            let port = server
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .unwrap_or(587);
            let default = notify_smtp::Security::for_port(port).to_string();
            let answer = ask("Security: tls, starttls or none", Some(&default))?;
            typed.security = Some(answer.clone());
            Some(answer)
        }
        (None, None) => None,
    };
    let username = match (&args.username, provider, tty) {
        (Some(u), _, _) => Some(u.clone()),
        (None, Some(p), true) if providers::check_username(p, bare_address(&from)).is_err() => {
            let answer = ask(
                &format!("Login for {} (your @icloud.com address)", p.name),
                None,
            )?;
            typed.username = Some(answer.clone());
            Some(answer)
        }
        _ => None,
    };
    // Who hears about it, when nobody does yet.
    let mut to_flags = args.to.clone();
    if tty && to_flags.is_empty() && env.loaded.config.email.to.is_none() {
        let answer = ask("Send notifications to", Some(bare_address(&from)))?;
        typed.to = Some(answer.clone());
        to_flags = vec![answer];
    }

    let provider_key = args.provider.clone().or(typed.provider.clone());
    let mut table = Table::new();
    table["from"] = value(from.clone());
    if let Some(p) = &provider_key {
        table["provider"] = value(p.clone());
    }
    if let Some(s) = &server {
        table["server"] = value(s.clone());
    }
    if let Some(s) = &security {
        table["security"] = value(s.clone());
    }
    if let Some(u) = &username {
        table["username"] = value(u.clone());
    }
    let ca_file = match &args.ca_file {
        Some(p) => Some(
            std::path::absolute(p)
                .map_err(|e| CliError::usage(format!("--ca-file {}: {e}", p.display())))?,
        ),
        None => None,
    };
    if let Some(p) = &ca_file {
        table["ca_file"] = value(p.display().to_string());
    }

    // Check what was given before anything is stored or written.
    let as_account = Account {
        from: Some(from.clone()),
        provider: provider_key.clone(),
        server: server.clone(),
        security: security.clone(),
        username: username.clone(),
        password: Some(reference.to_string()),
        ca_file: ca_file.clone(),
        ..Account::default()
    };
    account::smtp_config(&name, &as_account, env.ui)?;
    if !tty {
        reference = usable_store(env, connect, &name, reference, args, tty)?;
    }
    // A relative password file means relative to where the command was typed.
    if let SecretRef::File(p) = &reference {
        let p = notify_secrets::expand_home(p);
        let abs = std::path::absolute(&p)
            .map_err(|e| CliError::usage(format!("--password-store file:{}: {e}", p.display())))?;
        reference = SecretRef::File(abs);
    }
    table["password"] = value(reference.to_string());

    // Store the password where the reference says, when notify can.
    match &reference {
        SecretRef::Keychain | SecretRef::File(_) => {
            let secret = read_password(&name)?;
            store(connect, &name, &reference)?
                .set(&name, &secret)
                .map_err(|e| secret_error(&name, e))?;
        }
        SecretRef::Env(var) => env.ui.info(&format!(
            "The password is read from ${var} when notify runs; set it in that environment."
        )),
        SecretRef::Command(cmd) => env.ui.info(&format!(
            "The password is the first line `{cmd}` prints when notify runs."
        )),
        other => env.ui.info(&format!(
            "The password is read from {other} when notify runs."
        )),
    }

    let mut doc = read_doc(env.config_path)?;
    let accounts = table_mut(&mut doc, "accounts", env.config_path)?;
    accounts.insert(&name, Item::Table(table));
    let mut made_default = false;
    if env.loaded.config.email.account.is_none() {
        let email = table_mut(&mut doc, "email", env.config_path)?;
        email["account"] = value(name.clone());
        made_default = true;
    }
    let mut saved_to = None;
    if env.loaded.config.email.to.is_none() {
        // Without recipients every later notification would fail: keep the
        // ones given, else the sender's own address.
        let to: Vec<String> = if to_flags.is_empty() {
            vec![bare_address(&from).to_owned()]
        } else {
            crate::app::config::Addresses::from_parts(&to_flags).0
        };
        let mut list = toml_edit::Array::new();
        for a in &to {
            list.push(a.as_str());
        }
        table_mut(&mut doc, "email", env.config_path)?["to"] = value(list);
        saved_to = Some(to.join(", "));
    }
    write_doc(env.config_path, &doc)?;
    env.ui.info(&format!(
        "Added account `{name}` to {}{}; its password is in {}.",
        env.config_path.display(),
        if made_default {
            " and made it the one [email] uses"
        } else {
            ""
        },
        describe_store(&reference)
    ));
    if let Some(to) = &saved_to {
        env.ui.info(&format!(
            "Notifications go to {to} (`to` under [email]; change it there)."
        ));
    }

    typed.saved = true;
    if args.no_test {
        return Ok(exit::OK);
    }
    // Send a test mail through the new account, as `notify test` does; on a
    // terminal, a certificate nobody vouched for can be trusted right here.
    let test = crate::app::cli::DeliveryArgs {
        to: args.to.clone(),
        account: Some(name.clone()),
        ..crate::app::cli::DeliveryArgs::default()
    };
    let mut offered = false;
    loop {
        let reloaded = crate::app::config::load(env.config_path, true)?;
        let test_env = Env {
            loaded: &reloaded,
            config_path: env.config_path,
            data_dir: env.data_dir,
            offset: env.offset,
            ui: env.ui,
            notices: env.notices.clone(),
        };
        let sent = test_mail(&test_env, connect, &test).await;
        let untrusted =
            matches!(&sent, Err(e) if e.hint_text().is_some_and(|h| h.contains("ca_file")));
        if tty && untrusted && !offered {
            offered = true;
            if let Err(e) = &sent {
                env.ui
                    .info(&format!("The test mail failed: {}", e.message()));
            }
            let answer = ask(
                "Trust it with its CA certificate (or its own certificate): a PEM file, or Enter to skip",
                Some(""),
            )?;
            if !answer.is_empty() {
                set_ca_file(env, &name, &answer)?;
                env.ui.info(&format!(
                    "Set ca_file of account `{name}`; sending the test mail again."
                ));
                continue;
            }
        }
        return sent.inspect_err(|_| {
            env.ui.warn(&format!(
                "the account was added, but the test mail failed; fix it and run `notify test --account {name}`"
            ));
        });
    }
}

/// Sets `ca_file` of account `name` in the config file to `path` made
/// absolute, after checking that the account reads with it (a PEM file).
fn set_ca_file(env: &Env<'_>, name: &str, path: &str) -> Result<(), CliError> {
    let abs = std::path::absolute(notify_secrets::expand_home(Path::new(path)))
        .map_err(|e| CliError::usage(format!("{path}: {e}")))?;
    let mut doc = read_doc(env.config_path)?;
    let table = doc
        .get_mut("accounts")
        .and_then(Item::as_table_like_mut)
        .and_then(|accounts| accounts.get_mut(name))
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| {
            CliError::config(format!("account `{name}` is gone from the config file"))
        })?;
    table.insert("ca_file", value(abs.display().to_string()));
    let account: Account = {
        let mut probe = Account::default();
        let loaded = crate::app::config::load(env.config_path, true)?;
        if let Some(a) = loaded.config.accounts.get(name) {
            probe = a.clone();
        }
        probe.ca_file = Some(abs.clone());
        probe
    };
    account::smtp_config(name, &account, env.ui)?;
    write_doc(env.config_path, &doc)
}

/// `notify account login NAME`: the OAuth device flow, then the refresh
/// token into the account's store.
async fn login(env: &Env<'_>, connect: &dyn Connect, name: &str) -> Result<u8, CliError> {
    use notify_http::oauth::OAuthError;
    let acc = configured(env, name)?;
    let Some((endpoints, client_id, client_secret)) = account::oauth_of(name, acc)? else {
        return Err(CliError::usage(format!(
            "account `{name}` does not sign in with OAuth (it has no `oauth =`)"
        ))
        .hint(format!(
            "add oauth = \"microsoft\" (or \"google\") and oauth_client_id = \"...\" to \
             [accounts.{name}]; see the README, \"OAuth 2.0\""
        )));
    };
    account::smtp_config(name, acc, env.ui)?;
    let reference: SecretRef = acc
        .password
        .as_deref()
        .unwrap_or("keychain")
        .parse()
        .map_err(|e| secret_error(name, e))?;
    if !matches!(reference, SecretRef::Keychain | SecretRef::File(_)) {
        return Err(CliError::config(format!(
            "account `{name}`: notify cannot keep the refresh token in {}",
            describe_store(&reference)
        ))
        .hint(format!(
            "set password = \"keychain\" or \"file:PATH\" in [accounts.{name}]"
        )));
    }
    let store = store(connect, name, &reference)?;
    let oauth_failed = |e: OAuthError| {
        let temporary = e.is_temporary();
        let err = CliError::new(
            if temporary {
                exit::TEMPORARY
            } else {
                exit::CONFIG
            },
            format!("account `{name}`: sign-in failed: {e}"),
        );
        match e {
            OAuthError::Expired => err.hint(format!("run `notify account login {name}` again and sign in sooner")),
            OAuthError::Denied => err.hint("the sign-in was declined at the sign-in page"),
            OAuthError::Unreachable(_) => err.hint("check the network; then run it again"),
            _ => err.hint(
                "check oauth, oauth_client_id (and oauth_client_secret) against the app registration",
            ),
        }
    };
    let browser = !endpoints.has_device_flow();
    let client = connect.oauth(endpoints, &client_id, client_secret.map(SecretString::from));
    let tokens = if browser {
        sign_in_with_browser(&client, name).await
    } else {
        sign_in_with_device(env, &client, name).await
    }
    .map_err(|e| match e {
        SignIn::OAuth(e) => oauth_failed(e),
        SignIn::Cli(e) => e,
    })?;
    let Some(refresh) = tokens.refresh_token else {
        return Err(CliError::config(format!(
            "account `{name}`: the OAuth server gave no refresh token"
        ))
        .hint("a custom `oauth` scope needs offline_access (Microsoft) for one"));
    };
    store
        .set(name, &refresh)
        .map_err(|e| secret_error(name, e))?;
    env.ui.info(&format!(
        "Signed in. The refresh token of account `{name}` is in {}; every send exchanges it \
         for an access token. `notify test --account {name}` sends a test mail.",
        describe_store(&reference)
    ));
    Ok(exit::OK)
}

/// Why a sign-in ended without tokens.
enum SignIn {
    OAuth(notify_http::oauth::OAuthError),
    Cli(CliError),
}

/// The device flow: the address and code printed, then polling as the
/// server says until the user has signed in or the code expired.
async fn sign_in_with_device(
    env: &Env<'_>,
    client: &notify_http::oauth::OAuthClient,
    name: &str,
) -> Result<notify_http::oauth::Tokens, SignIn> {
    use notify_http::oauth::{OAuthError, Poll};
    let device = client.start().await.map_err(SignIn::OAuth)?;
    let minutes = device.expires_in.as_secs().div_ceil(60);
    crate::app::diag(&format!(
        "To sign in account `{name}`, open {} and enter the code {} (within {minutes} min).",
        device.verification_uri, device.user_code
    ));
    if let Some(complete) = &device.verification_uri_complete {
        crate::app::diag(&format!("(or open {complete}, with the code filled in)"));
    }
    crate::app::diag("Waiting for the sign-in ...");
    let deadline = std::time::Instant::now() + device.expires_in;
    let mut interval = device.interval;
    loop {
        tokio::time::sleep(interval).await;
        if std::time::Instant::now() > deadline {
            return Err(SignIn::OAuth(OAuthError::Expired));
        }
        match client.poll(&device, interval).await {
            Ok(Poll::Done(tokens)) => return Ok(tokens),
            Ok(Poll::Wait(next)) => interval = next,
            Ok(_) => {}
            // A network blip while waiting: keep waiting.
            Err(e) if e.is_temporary() => env.ui.verbose(&format!("notify: {e}; asking again")),
            Err(e) => return Err(SignIn::OAuth(e)),
        }
    }
}

/// How long a browser sign-in may take.
const BROWSER_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// The authorization code grant with PKCE (RFC 7636) and a loopback
/// redirect (RFC 8252): the address printed, the browser's redirect taken
/// on 127.0.0.1, its `state` checked, the code exchanged.
async fn sign_in_with_browser(
    client: &notify_http::oauth::OAuthClient,
    name: &str,
) -> Result<notify_http::oauth::Tokens, SignIn> {
    use notify_http::oauth::{random_token, OAuthError, Pkce};
    let cli = |msg: String| SignIn::Cli(CliError::new(exit::PERMANENT, msg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| cli(format!("cannot listen on 127.0.0.1 for the sign-in: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| cli(format!("cannot listen on 127.0.0.1 for the sign-in: {e}")))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let (Some(pkce), Some(state)) = (Pkce::new(), random_token(16)) else {
        return Err(cli("the system's random source cannot be read".to_owned()));
    };
    let url = client
        .authorize_url(&redirect, &state, &pkce)
        .map_err(SignIn::OAuth)?;
    crate::app::diag(&format!(
        "To sign in account `{name}`, open this address in a browser on this machine:\n  {url}\n\
         (From another computer: ssh -L {port}:127.0.0.1:{port} to this one, then open it there.)"
    ));
    crate::app::diag("Waiting for the sign-in (5 min) ...");
    let wait = async {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let Some(target) = read_request_target(&mut stream).await else {
                continue;
            };
            let query: std::collections::HashMap<String, String> = target
                .split_once('?')
                .map(|(_, q)| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default();
            if query.get("state").map(String::as_str) != Some(state.as_str()) {
                // Not this sign-in's answer (a favicon, a stale tab).
                answer_browser(
                    &mut stream,
                    400,
                    "This is not the answer notify is waiting for.",
                )
                .await;
                continue;
            }
            if let Some(error) = query.get("error") {
                answer_browser(
                    &mut stream,
                    200,
                    "The sign-in was not completed; see the terminal.",
                )
                .await;
                return Err(if error == "access_denied" {
                    SignIn::OAuth(OAuthError::Denied)
                } else {
                    SignIn::OAuth(OAuthError::Refused {
                        code: Some(notify_core::text::one_line(error, Some(100))),
                        said: notify_core::text::one_line(
                            query.get("error_description").map_or("", String::as_str),
                            Some(300),
                        ),
                    })
                });
            }
            let Some(code) = query.get("code") else {
                answer_browser(&mut stream, 400, "The answer has no code.").await;
                continue;
            };
            answer_browser(
                &mut stream,
                200,
                "notify is signed in. You can close this tab.",
            )
            .await;
            return Ok(code.clone());
        }
    };
    let code = tokio::time::timeout(BROWSER_WAIT, wait)
        .await
        .map_err(|_| SignIn::OAuth(OAuthError::Expired))??;
    client
        .exchange_code(&code, &redirect, &pkce)
        .await
        .map_err(SignIn::OAuth)
}

/// The request target of an HTTP request (`/?code=...`), read within 10 s.
async fn read_request_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut data = Vec::new();
    let mut buf = [0u8; 2048];
    let read = async {
        while !data.windows(4).any(|w| w == b"\r\n\r\n") && data.len() < 16 * 1024 {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .ok()??;
    let head = String::from_utf8_lossy(&data);
    let mut first = head.lines().next()?.split(' ');
    (first.next()? == "GET").then_some(())?;
    first.next().map(str::to_owned)
}

/// A small page for the browser.
async fn answer_browser(stream: &mut tokio::net::TcpStream, status: u16, text: &str) {
    use tokio::io::AsyncWriteExt;
    let body = format!("<!doctype html><meta charset=utf-8><title>notify</title><p>{text}</p>\n");
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        if status == 200 { "OK" } else { "Bad Request" },
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The keys `account edit --unset` may remove.
const EDITABLE: &[&str] = &[
    "from",
    "provider",
    "server",
    "security",
    "username",
    "password",
    "auth",
    "ca_file",
    "accept_invalid_certs",
    "allow_insecure_auth",
    "helo_name",
    "timeout",
    "oauth",
    "oauth_client_id",
    "oauth_client_secret",
];

/// `notify account edit NAME --KEY VALUE ... --unset KEY`: changes the
/// account's table in place (toml_edit keeps comments and order), checks
/// the result as delivery would read it, then writes the file.
fn edit(env: &Env<'_>, args: AccountEditArgs) -> Result<u8, CliError> {
    let name = args.name.clone();
    configured(env, &name)?;
    let ca_file = match &args.ca_file {
        Some(p) => Some(
            std::path::absolute(notify_secrets::expand_home(p))
                .map_err(|e| CliError::usage(format!("--ca-file {}: {e}", p.display())))?
                .display()
                .to_string(),
        ),
        None => None,
    };
    let password = match &args.password_store {
        Some(text) => {
            let mut reference: SecretRef = text.parse().map_err(|e| secret_error(&name, e))?;
            if let SecretRef::File(p) = &reference {
                let abs = std::path::absolute(notify_secrets::expand_home(p)).map_err(|e| {
                    CliError::usage(format!("--password-store file:{}: {e}", p.display()))
                })?;
                reference = SecretRef::File(abs);
            }
            Some(reference.to_string())
        }
        None => None,
    };
    let changes: Vec<(&str, Option<String>)> = [
        ("from", args.from.clone()),
        ("provider", args.provider.clone()),
        ("server", args.server.clone()),
        ("security", args.security.clone()),
        ("username", args.username.clone()),
        ("ca_file", ca_file),
        ("auth", args.auth.clone()),
        ("timeout", args.timeout.clone()),
        ("helo_name", args.helo_name.clone()),
        ("password", password),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_some())
    .collect();
    for key in &args.unset {
        if !EDITABLE.contains(&key.as_str()) {
            return Err(
                CliError::usage(format!("--unset {key}: not an account key"))
                    .hint(format!("account keys: {}", EDITABLE.join(", "))),
            );
        }
        if key == "from" {
            return Err(
                CliError::usage("--unset from: an account needs its from address")
                    .hint("change it with --from ADDR"),
            );
        }
        if changes.iter().any(|(k, _)| k == key) {
            return Err(CliError::usage(format!(
                "--unset {key} and --{} together",
                key.replace('_', "-")
            )));
        }
    }
    if changes.is_empty() && args.unset.is_empty() {
        return Err(CliError::usage(format!("nothing to change in account `{name}`"))
            .hint("give what changes, e.g. --server HOST:PORT, --security tls, --ca-file FILE, --timeout 60s, --unset KEY"));
    }

    let mut doc = read_doc(env.config_path)?;
    let table = doc
        .get_mut("accounts")
        .and_then(Item::as_table_like_mut)
        .and_then(|accounts| accounts.get_mut(&name))
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| {
            CliError::config(format!(
                "account `{name}` is not defined in {} (it comes from the environment?)",
                env.config_path.display()
            ))
            .hint("change it where it is defined, e.g. an NOTIFY_ACCOUNTS__... variable")
        })?;
    let mut said = Vec::new();
    for (key, new) in &changes {
        let Some(new) = new else { continue };
        let old = table.get(key).and_then(Item::as_value).map(|v| {
            let mut bare = v.clone();
            bare.decor_mut().clear();
            bare.to_string()
        });
        match table.get_mut(key).and_then(Item::as_value_mut) {
            // In place: the key keeps its comments and position.
            Some(v) => {
                let decor = v.decor().clone();
                *v = toml_edit::Value::from(new.as_str());
                *v.decor_mut() = decor;
            }
            None => {
                table.insert(key, value(new.as_str()));
            }
        }
        said.push(match old {
            Some(old) => format!("{key}: {old} → \"{new}\""),
            None => format!("{key}: \"{new}\" (new)"),
        });
    }
    for key in &args.unset {
        if table.remove(key).is_some() {
            said.push(format!("{key}: removed"));
        } else {
            said.push(format!("{key}: was not set"));
        }
    }

    // The account as it will be read, checked before the file is written:
    // the edited file is read the way every command reads it, from a
    // temporary file beside it (so relative paths resolve the same).
    let probe = env
        .config_path
        .with_extension(format!("toml.edit-{}", std::process::id()));
    write_doc(&probe, &doc)?;
    let reread = crate::app::config::load(&probe, true);
    let _ = std::fs::remove_file(&probe);
    let reread = reread.map_err(|e| e.prefixed("not changed"))?;
    let marker = format!("accounts.{name}");
    if let Some(problem) = reread.problems.iter().find(|p| p.contains(&marker)) {
        return Err(CliError::usage(format!(
            "not changed: {}",
            problem.replace(
                &probe.display().to_string(),
                &env.config_path.display().to_string()
            )
        )));
    }
    let edited = reread
        .config
        .accounts
        .get(&name)
        .cloned()
        .unwrap_or_default();
    account::smtp_config(&name, &edited, env.ui).map_err(|e| e.prefixed("not changed"))?;
    write_doc(env.config_path, &doc)?;
    env.ui.info(&format!(
        "Changed account `{name}` in {}:\n  {}",
        env.config_path.display(),
        said.join("\n  ")
    ));
    if changes.iter().any(|(k, _)| *k == "password") {
        env.ui.info(&format!(
            "Store the password there with `notify account set-password {name}` (unless it is an env: or cmd: store)."
        ));
    }
    env.ui
        .info(&format!("Check it with `notify doctor --account {name}`."));
    Ok(exit::OK)
}

fn describe_store(reference: &SecretRef) -> String {
    match reference {
        SecretRef::Keychain => "the OS keychain (service `notify`)".to_owned(),
        SecretRef::File(p) => format!("the file {}", p.display()),
        SecretRef::Env(v) => format!("the environment variable {v}"),
        SecretRef::Command(c) => format!("the output of `{c}`"),
        other => other.to_string(),
    }
}

fn list(env: &Env<'_>, connect: &dyn Connect, json: bool) -> Result<u8, CliError> {
    let config = &env.loaded.config;
    if json {
        return list_json(env, connect);
    }
    if config.accounts.is_empty() {
        env.ui.info(&format!(
            "no accounts in {}: notifications go to the local Maildir; add one with `notify account add NAME`",
            env.config_path.display()
        ));
        return Ok(exit::OK);
    }
    let mut out = String::new();
    for (name, acc) in &config.accounts {
        let default = config.email.account.as_deref() == Some(name.as_str());
        let server = match account::smtp_config(name, acc, &crate::app::Ui::silent()) {
            Ok(c) => format!("{}:{} ({})", c.host, c.port, c.security),
            Err(e) => format!("invalid: {}", e.message()),
        };
        let password = match &acc.password {
            None => "none (no login)".to_owned(),
            Some(text) => match text.parse::<SecretRef>() {
                Err(e) => format!("invalid: {e}"),
                Ok(reference) => {
                    format!("{reference}: {}", password_state(connect, name, &reference))
                }
            },
        };
        out.push_str(&format!(
            "{name}{}\n  from:     {}\n  server:   {server}\n  login:    {}\n  password: {password}\n",
            if default { " (used by [email])" } else { "" },
            acc.from.as_deref().unwrap_or("(none)"),
            account::username_of(acc).unwrap_or_else(|| "(none)".to_owned()),
        ));
    }
    crate::app::emit(&out);
    Ok(exit::OK)
}

/// `account list --json` (docs/json.md): what the text shows, one object
/// per account, plus the provider preset in use. Never a secret: the
/// password is only looked up to say whether it is there.
fn list_json(env: &Env<'_>, connect: &dyn Connect) -> Result<u8, CliError> {
    let config = &env.loaded.config;
    let silent = crate::app::Ui::silent();
    let list: Vec<serde_json::Value> = config
        .accounts
        .iter()
        .map(|(name, acc)| {
            let (server, security, config_error) = match account::smtp_config(name, acc, &silent) {
                Ok(c) => (
                    Some(format!("{}:{}", c.host, c.port)),
                    Some(c.security.to_string()),
                    None,
                ),
                Err(e) => (None, None, Some(e.message().to_owned())),
            };
            let provider = account::provider_of(name, acc).ok().flatten().map(|p| p.id);
            let (store, present, password_error) = match acc.password.as_deref() {
                None => (None, None, None),
                Some(text) => match text.parse::<SecretRef>() {
                    Err(e) => (None, None, Some(e.to_string())),
                    Ok(reference) => {
                        let (present, error) = password_present(connect, name, &reference);
                        (Some(reference.to_string()), present, error)
                    }
                },
            };
            serde_json::json!({
                "name": name,
                "from": acc.from,
                "provider": provider,
                "server": server,
                "security": security,
                "username": account::username_of(acc),
                "password_store": store,
                "password_present": present,
                "password_error": password_error,
                "default": config.email.account.as_deref() == Some(name.as_str()),
                "config_error": config_error,
            })
        })
        .collect();
    crate::app::emit_json(&list)?;
    Ok(exit::OK)
}

/// [`password_state`] for JSON: whether the store holds the password
/// (`None` when that cannot be known without running a command, in a build
/// without the keychain, or with the keychain locked), and why not.
fn password_present(
    connect: &dyn Connect,
    name: &str,
    reference: &SecretRef,
) -> (Option<bool>, Option<String>) {
    if let SecretRef::Command(_) = reference {
        return (None, None);
    }
    let Some(store) = connect.secret_store(reference) else {
        return (
            None,
            Some("this build of notify has no OS keychain support".to_owned()),
        );
    };
    match store.get(name) {
        Ok(_) => (Some(true), None),
        Err(
            e @ (notify_secrets::Error::Inaccessible { .. }
            | notify_secrets::Error::NoKeychain { .. }),
        ) => (None, Some(e.to_string())),
        Err(e) => (Some(false), Some(e.to_string())),
    }
}

/// Whether a password is there, without showing it. Commands are not run.
fn password_state(connect: &dyn Connect, name: &str, reference: &SecretRef) -> String {
    if let SecretRef::Command(_) = reference {
        return "a command (not run by `account list`)".to_owned();
    }
    let Some(store) = connect.secret_store(reference) else {
        return "not available in this build".to_owned();
    };
    match store.get(name) {
        Ok(_) => "found".to_owned(),
        Err(e) => format!("NOT usable: {e}"),
    }
}

fn set_password(env: &Env<'_>, connect: &dyn Connect, name: &str) -> Result<u8, CliError> {
    let acc = configured(env, name)?;
    let Some(password) = acc.password.as_deref() else {
        return Err(CliError::usage(format!(
            "account `{name}` has no `password =`, so it does not log in"
        ))
        .hint(format!(
            "add password = \"keychain\" to [accounts.{name}] in {}, then run this again",
            env.config_path.display()
        )));
    };
    let reference: SecretRef = password.parse().map_err(|e| secret_error(name, e))?;
    if matches!(reference, SecretRef::Env(_) | SecretRef::Command(_)) {
        return Err(CliError::usage(format!(
            "account `{name}` reads its password from {}, which notify cannot write",
            describe_store(&reference)
        ))
        .hint(
            "change it there, or set password = \"keychain\" in the account and run this again",
        ));
    }
    let secret = read_password(name)?;
    store(connect, name, &reference)?
        .set(name, &secret)
        .map_err(|e| secret_error(name, e))?;
    env.ui.info(&format!(
        "Stored the password of account `{name}` in {}.",
        describe_store(&reference)
    ));
    Ok(exit::OK)
}

fn remove(env: &Env<'_>, connect: &dyn Connect, name: &str) -> Result<u8, CliError> {
    let acc = configured(env, name)?;
    let mut doc = read_doc(env.config_path)?;
    let removed = doc
        .get_mut("accounts")
        .and_then(Item::as_table_like_mut)
        .and_then(|accounts| accounts.remove(name))
        .is_some();
    if !removed {
        return Err(CliError::config(format!(
            "account `{name}` is not defined in {} (it comes from the environment?)",
            env.config_path.display()
        ))
        .hint("remove it where it is defined, e.g. an NOTIFY_ACCOUNTS__... variable"));
    }
    let was_default = env.loaded.config.email.account.as_deref() == Some(name);
    if was_default {
        if let Some(email) = doc.get_mut("email").and_then(Item::as_table_like_mut) {
            email.remove("account");
        }
    }
    write_doc(env.config_path, &doc)?;
    for (task, settings) in &env.loaded.config.tasks {
        if settings.account.as_deref() == Some(name) {
            env.ui.warn(&format!(
                "[tasks.\"{}\"] still says account = \"{name}\": change or remove that line",
                crate::app::shown(task)
            ));
        }
    }
    let reference = acc.password.as_deref().map(str::parse::<SecretRef>);
    match reference {
        Some(Ok(SecretRef::Keychain)) => {
            if let Some(store) = connect.secret_store(&SecretRef::Keychain) {
                if let Err(e) = store.delete(name) {
                    env.ui
                        .warn(&format!("could not remove the keychain entry: {e}"));
                }
            }
        }
        Some(Ok(SecretRef::File(p))) => env.ui.info(&format!(
            "The password file {} was left in place.",
            p.display()
        )),
        _ => {}
    }
    env.ui.info(&format!(
        "Removed account `{name}`{}.",
        if was_default {
            "; [email] has no account now, so notifications go to the local Maildir"
        } else {
            ""
        }
    ));
    Ok(exit::OK)
}

/// The configured account `name`, or [`unknown`]'s usage error.
fn configured<'e>(env: &'e Env<'_>, name: &str) -> Result<&'e Account, CliError> {
    env.loaded
        .config
        .accounts
        .get(name)
        .ok_or_else(|| unknown(env, name))
}

/// An account name that is not configured is a usage mistake here.
fn unknown(env: &Env<'_>, name: &str) -> CliError {
    let e = account::unknown_account(&env.loaded.config, name);
    let err = CliError::usage(e.message());
    match e.hint_text() {
        Some(h) => err.hint(h),
        None => err,
    }
}

fn import_msmtp(env: &Env<'_>, path: &Path) -> Result<u8, CliError> {
    let path = notify_secrets::expand_home(path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let rc = super::msmtp::parse(&text)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    let mut doc = read_doc(env.config_path)?;
    let mut imported = Vec::new();
    let mut need_password = Vec::new();
    for acc in &rc.accounts {
        if check_name(&acc.name).is_err() {
            env.ui.warn(&format!(
                "skipping msmtp account `{}`: not a usable account name",
                acc.name
            ));
            continue;
        }
        if env.loaded.config.accounts.contains_key(&acc.name) {
            env.ui.warn(&format!(
                "skipping msmtp account `{}`: an account of that name exists",
                acc.name
            ));
            continue;
        }
        let (Some(from), Some(server)) = (&acc.from, acc.server()) else {
            env.ui.warn(&format!(
                "skipping msmtp account `{}`: it has no from address or host",
                acc.name
            ));
            continue;
        };
        let mut table = Table::new();
        table["from"] = value(from.clone());
        table["server"] = value(server);
        table["security"] = value(acc.security());
        if let Some(user) = acc
            .user
            .as_ref()
            .filter(|u| u.as_str() != bare_address(from))
        {
            table["username"] = value(user.clone());
        }
        if let Some(auth) = acc.auth_mechanism() {
            table["auth"] = value(auth);
        }
        if let Some(trust) = acc.tls_trust_file.as_ref().filter(|t| !is_system_bundle(t)) {
            table["ca_file"] = value(trust.clone());
        }
        if acc.authenticates() {
            match &acc.passwordeval {
                // msmtp runs passwordeval through a shell; so does this.
                Some(eval) => {
                    table["password"] =
                        value(format!("cmd:sh -c '{}'", eval.replace('\'', "'\\''")));
                }
                None => {
                    table["password"] = value("keychain");
                    need_password.push(acc.name.clone());
                }
            }
        }
        table_mut(&mut doc, "accounts", env.config_path)?.insert(&acc.name, Item::Table(table));
        imported.push(acc.name.clone());
    }
    if imported.is_empty() {
        env.ui
            .info(&format!("nothing to import from {}", path.display()));
        return Ok(exit::OK);
    }
    let default = rc
        .default
        .clone()
        .filter(|d| imported.contains(d))
        .or_else(|| imported.first().cloned());
    if env.loaded.config.email.account.is_none() {
        if let Some(d) = &default {
            table_mut(&mut doc, "email", env.config_path)?["account"] = value(d.clone());
        }
    }
    // Without recipients every notification would fail: as `account add`
    // does, the sender's own address (of the account [email] uses).
    let mut saved_to = None;
    if env.loaded.config.email.to.is_none() {
        let uses = env.loaded.config.email.account.clone().or(default.clone());
        let from = rc
            .accounts
            .iter()
            .find(|a| Some(&a.name) == uses.as_ref())
            .and_then(|a| a.from.clone());
        match from {
            Some(from) => {
                let mut list = toml_edit::Array::new();
                list.push(bare_address(&from));
                table_mut(&mut doc, "email", env.config_path)?["to"] = value(list);
                saved_to = Some(bare_address(&from).to_owned());
            }
            None => env.ui.warn(&format!(
                "[email] has no `to`: add to = [\"you@example.com\"] under [email] in {}",
                env.config_path.display()
            )),
        }
    }
    write_doc(env.config_path, &doc)?;
    env.ui.info(&format!(
        "Imported {} into {}.",
        imported
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        env.config_path.display()
    ));
    if let Some(to) = &saved_to {
        env.ui.info(&format!(
            "Notifications go to {to} (`to` under [email]; change it there)."
        ));
    }
    for name in need_password {
        env.ui.info(&format!(
            "Account `{name}` had its password in the msmtprc; store it with `notify account set-password {name}`."
        ));
    }
    env.ui
        .info("Check them with `notify doctor --account NAME` and `notify test --account NAME`.");
    Ok(exit::OK)
}

/// The system CA bundles msmtp users name in `tls_trust_file`: notify
/// trusts the system's certificates anyway, so they are not copied into
/// `ca_file`.
fn is_system_bundle(path: &str) -> bool {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
        "/etc/ssl/ca-bundle.pem",
        "system",
    ]
    .contains(&path)
}
