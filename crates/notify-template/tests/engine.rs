//! Data-driven checks of the template engine, in rust-analyzer's style: each
//! case is a template and what it renders to (or the error it gives). The
//! helpers are at the top; the cases are grouped by topic below.
//!
//! Unless a case says otherwise it renders [`sample_result`] in English plain
//! text with times shown at +01:00.
#![allow(
    clippy::unwrap_used,
    reason = "test, bench and example code unwraps: a panic there says what failed"
)]

use notify_core::{Outcome, TaskResult};
use notify_template::{
    catalogue, escape, locale, locales, render_notification, sample_result, Context, Locale, Mode,
    Rendered, Source, Sources, Template, TemplateErrorKind, ValueId,
};
use time::macros::{datetime, offset};
use time::{Duration, UtcOffset};

const OFFSET: UtcOffset = offset!(+1);

fn lang(code: &str) -> &'static Locale {
    locale(code).unwrap()
}

/// Renders `template` for `result` and compares with `expected`.
#[track_caller]
fn check_with(result: &TaskResult, code: &str, mode: Mode, template: &str, expected: &str) {
    let extras: Vec<&str> = result.extra.keys().map(String::as_str).collect();
    let template = Template::compile(template, &extras)
        .unwrap_or_else(|e| panic!("template does not compile: {e}"));
    let ctx = Context::new(result, lang(code), OFFSET);
    assert_eq!(template.render_to_string(&ctx, mode), expected);
}

/// English plain text, sample result.
#[track_caller]
fn check(template: &str, expected: &str) {
    check_with(&sample_result(), "en", Mode::Text, template, expected);
}

/// German plain text, sample result.
#[track_caller]
fn check_de(template: &str, expected: &str) {
    check_with(&sample_result(), "de", Mode::Text, template, expected);
}

/// English plain text of a result changed by `edit`.
#[track_caller]
fn check_result(edit: impl FnOnce(&mut TaskResult), template: &str, expected: &str) {
    let mut result = sample_result();
    edit(&mut result);
    check_with(&result, "en", Mode::Text, template, expected);
}

/// The same, in German.
#[track_caller]
fn check_result_de(edit: impl FnOnce(&mut TaskResult), template: &str, expected: &str) {
    let mut result = sample_result();
    edit(&mut result);
    check_with(&result, "de", Mode::Text, template, expected);
}

/// Compiles `template` (with `extras`) and compares the error's message.
#[track_caller]
fn check_error(template: &str, extras: &[&str], expected: &str) {
    match Template::compile(template, extras) {
        Ok(_) => panic!("{template:?} compiled, expected {expected}"),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

fn mail(sources: Sources<'_>, code: &str, suppressed: u32) -> Rendered {
    let result = sample_result();
    let ctx = Context::new(&result, lang(code), OFFSET);
    render_notification(&sources, &ctx, &[], suppressed)
}

fn src<'a>(label: &'a str, text: &'a str) -> Option<Source<'a>> {
    Some(Source { label, text })
}

// ---------------------------------------------------------------- values

#[test]
fn each_value_in_english() {
    check("##Task Name##", "Daily Backup");
    check("##Exit Status##", "Finished successfully");
    check("##Exit Code##", "0");
    check("##Computer Name##", "fileserver");
    check("##Source##", "/home");
    check("##Destination##", "sftp:backup@nas:/srv/restic");
    check("##Start Time##", "2026-11-21 02:00:05 +01:00");
    check("##End Time##", "2026-11-21 03:02:10 +01:00");
    check("##Elapsed Time##", "1 h 02 min 05 s");
    check("##Data Copied##", "1.5 GB");
    check("##Files Copied##", "12,345");
    check("##Error Count##", "0");
    check("##Warning Count##", "0");
    check("##Errors##", "none");
    check(
        "##Log Tail##",
        "Files:         120 new,    35 changed, 12190 unmodified\n\
         Dirs:            4 new,    18 changed,  1021 unmodified\n\
         Added to the repository: 201.003 MiB (180.327 MiB stored)\n\
         \n\
         processed 12345 files, 1.400 GiB in 1:02:05\n\
         snapshot 5d2a4f3c saved",
    );
    check(
        "##Command##",
        "restic -r sftp:backup@nas:/srv/restic backup /home",
    );
    check("##Warnings##", "none");
    check("##Snapshot ID##", "5d2a4f3c");
    check("##Files New##", "120");
    check("##Files Changed##", "35");
    check("##Files Unmodified##", "12,190");
    check("##Files Processed##", "12,345");
    check("##Data Processed##", "1.5 GB");
    check("##Data Added##", "210.8 MB");
    check("##Archive##", "n/a");
    check("##Files Deleted##", "n/a");
    check("##Data Compressed##", "n/a");
    check("##Status Color##", "#2e7d32");
}

#[test]
fn each_value_by_its_german_name() {
    check_de("##Backup-Name##", "Daily Backup");
    check_de("##Status beim Beenden##", "Erfolgreich abgeschlossen");
    check_de("##Exit-Code##", "0");
    check_de("##Computername##", "fileserver");
    check_de("##Quelle##", "/home");
    check_de("##Ziel##", "sftp:backup@nas:/srv/restic");
    check_de("##Startzeit##", "21.11.2026 02:00:05 +01:00");
    check_de("##Endzeit##", "21.11.2026 03:02:10 +01:00");
    check_de("##Dauer##", "1 Std. 02 Min. 05 Sek.");
    check_de("##Kopierte Daten##", "1,5 GB");
    check_de("##Kopierte Dateien##", "12.345");
    check_de("##Anzahl Fehler##", "0");
    check_de("##Anzahl Warnungen##", "0");
    check_de("##Fehler##", "keine");
    check_de(
        "##Befehl##",
        "restic -r sftp:backup@nas:/srv/restic backup /home",
    );
    check_de("##Warnungen##", "keine");
    check_de("##Snapshot-ID##", "5d2a4f3c");
    check_de("##Neue Dateien##", "120");
    check_de("##Geänderte Dateien##", "35");
    check_de("##Unveränderte Dateien##", "12.190");
    check_de("##Verarbeitete Dateien##", "12.345");
    check_de("##Verarbeitete Daten##", "1,5 GB");
    check_de("##Hinzugefügte Daten##", "210,8 MB");
    check_de("##Archiv##", "k. A.");
    check_de("##Statusfarbe##", "#2e7d32");
    check_de(
        "##Protokollauszug##",
        "Files:         120 new,    35 changed, 12190 unmodified\n\
         Dirs:            4 new,    18 changed,  1021 unmodified\n\
         Added to the repository: 201.003 MiB (180.327 MiB stored)\n\
         \n\
         processed 12345 files, 1.400 GiB in 1:02:05\n\
         snapshot 5d2a4f3c saved",
    );
}

#[test]
fn names_work_in_any_locale() {
    // German names in an English mail and the other way round.
    check("##Backup-Name## ##Dauer##", "Daily Backup 1 h 02 min 05 s");
    check_de(
        "##Task Name## ##Elapsed Time##",
        "Daily Backup 1 Std. 02 Min. 05 Sek.",
    );
}

#[test]
fn status_sentences() {
    let cases = [
        (
            Outcome::Success,
            "Finished successfully",
            "Erfolgreich abgeschlossen",
        ),
        (
            Outcome::Warning,
            "Finished with warnings",
            "Mit Warnungen abgeschlossen",
        ),
        (Outcome::Failure, "Failed", "Fehlgeschlagen"),
        (Outcome::Cancelled, "Cancelled", "Abgebrochen"),
    ];
    for (outcome, en, de) in cases {
        check_result(|r| r.outcome = outcome, "##Exit Status##", en);
        check_result_de(|r| r.outcome = outcome, "##Exit Status##", de);
        assert_eq!(lang("en").status(outcome), en);
        assert_eq!(lang("de").status(outcome), de);
    }
}

#[test]
fn exit_codes_and_signals() {
    check_result(|r| r.exit_code = Some(23), "##Exit Code##", "23");
    check_result(|r| r.exit_code = Some(-1), "##Exit Code##", "-1");
    check_result(|r| r.exit_code = Some(12345), "##Exit Code##", "12345");
    let killed = |r: &mut TaskResult| {
        r.exit_code = None;
        r.signal = Some(9);
    };
    check_result(killed, "##Exit Code##", "signal 9 (SIGKILL)");
    check_result_de(killed, "##Exit Code##", "Signal 9 (SIGKILL)");
    check_result(
        |r| r.signal = Some(15),
        "##Exit Code##",
        "signal 15 (SIGTERM)",
    );
    check_result(|r| r.signal = Some(42), "##Exit Code##", "signal 42");
}

#[test]
fn absent_values_render_the_placeholder() {
    let bare = TaskResult::new("Nightly", Outcome::Failure);
    let template = "##Exit Code##|##Computer Name##|##Source##|##Destination##|##Start Time##|\
                    ##End Time##|##Elapsed Time##|##Data Copied##|##Files Copied##|##Log Tail##|\
                    ##Command##|##Errors##|##Error Count##";
    check_with(
        &bare,
        "en",
        Mode::Text,
        template,
        "n/a|n/a|n/a|n/a|n/a|n/a|n/a|n/a|n/a|n/a|n/a|none|0",
    );
    check_with(
        &bare,
        "de",
        Mode::Text,
        template,
        "k. A.|k. A.|k. A.|k. A.|k. A.|k. A.|k. A.|k. A.|k. A.|k. A.|k. A.|keine|0",
    );
    // Empty or blank text counts as absent.
    check_result(|r| r.source = Some("  ".into()), "##Source##", "n/a");
    check_result(|r| r.log_tail = Some("\n".into()), "##Log Tail##", "n/a");
    // Times out of order: no elapsed time.
    check_result(
        |r| r.finished_at = Some(datetime!(2026-11-21 00:00 UTC)),
        "##Elapsed Time##",
        "n/a",
    );
}

#[test]
fn error_lines_one_per_line() {
    let errors = |r: &mut TaskResult| {
        r.errors = vec![
            "rsync: open \"/home/a\": Permission denied (13)\n".into(),
            "second".into(),
        ];
    };
    check_result(
        errors,
        "##Errors##",
        "rsync: open \"/home/a\": Permission denied (13)\nsecond",
    );
    check_result(|r| r.error_count = 1234, "##Error Count##", "1,234");
    check_result_de(|r| r.warning_count = 1234, "##Anzahl Warnungen##", "1.234");
}

// ---------------------------------------------------------------- formats

#[test]
fn sizes_use_decimal_units() {
    let cases = [
        (0, "0 bytes", "0 Bytes"),
        (1, "1 byte", "1 Byte"),
        (999, "999 bytes", "999 Bytes"),
        (1000, "1.0 kB", "1,0 kB"),
        (1049, "1.0 kB", "1,0 kB"),
        (1050, "1.1 kB", "1,1 kB"),
        (999_949, "999.9 kB", "999,9 kB"),
        (999_950, "1.0 MB", "1,0 MB"),
        (1_503_238_553, "1.5 GB", "1,5 GB"),
        (48_318_382_080, "48.3 GB", "48,3 GB"),
        (2_000_000_000_000, "2.0 TB", "2,0 TB"),
        (u64::MAX, "18.4 EB", "18,4 EB"),
    ];
    for (bytes, en, de) in cases {
        check_result(|r| r.bytes_copied = Some(bytes), "##Data Copied##", en);
        check_result_de(|r| r.bytes_copied = Some(bytes), "##Kopierte Daten##", de);
    }
}

#[test]
fn durations() {
    let cases = [
        (0, "0 s", "0 Sek."),
        (45, "45 s", "45 Sek."),
        (60, "1 min 00 s", "1 Min. 00 Sek."),
        (125, "2 min 05 s", "2 Min. 05 Sek."),
        (3725, "1 h 02 min 05 s", "1 Std. 02 Min. 05 Sek."),
        (
            2 * 86_400 + 3 * 3600 + 5,
            "2 d 03 h 00 min 05 s",
            "2 Tg. 03 Std. 00 Min. 05 Sek.",
        ),
    ];
    for (secs, en, de) in cases {
        let set = |r: &mut TaskResult| {
            r.finished_at = r.started_at.map(|t| t + Duration::seconds(secs));
        };
        check_result(set, "##Elapsed Time##", en);
        check_result_de(set, "##Dauer##", de);
    }
    // Fractions of a second are cut, not rounded.
    check_result(
        |r| r.finished_at = r.started_at.map(|t| t + Duration::milliseconds(999)),
        "##Elapsed Time##",
        "0 s",
    );
}

#[test]
fn counts_group_thousands() {
    let cases = [
        (0, "0", "0"),
        (999, "999", "999"),
        (1000, "1,000", "1.000"),
        (1_234_567, "1,234,567", "1.234.567"),
        (
            u64::MAX,
            "18,446,744,073,709,551,615",
            "18.446.744.073.709.551.615",
        ),
    ];
    for (n, en, de) in cases {
        check_result(|r| r.files_copied = Some(n), "##Files Copied##", en);
        check_result_de(|r| r.files_copied = Some(n), "##Files Copied##", de);
    }
}

#[test]
fn times_are_shown_in_the_context_offset() {
    let result = sample_result();
    let template = Template::compile("##Start Time##", &[]).unwrap();
    let cases = [
        (offset!(UTC), "en", "2026-11-21 01:00:05 +00:00"),
        (offset!(-5), "en", "2026-11-20 20:00:05 -05:00"),
        (offset!(+5:30), "en", "2026-11-21 06:30:05 +05:30"),
        (offset!(-0:30), "de", "21.11.2026 00:30:05 -00:30"),
        (offset!(+2), "de", "21.11.2026 03:00:05 +02:00"),
    ];
    for (offset, code, expected) in cases {
        let ctx = Context::new(&result, lang(code), offset);
        assert_eq!(template.render_to_string(&ctx, Mode::Text), expected);
    }
}

// ---------------------------------------------------------------- syntax

#[test]
fn names_ignore_case_and_separators() {
    for name in [
        "Task Name",
        "task name",
        "TASK NAME",
        "task_name",
        "Task-Name",
        "TaskName",
        " task  name ",
        "Backup-Name",
        "backup name",
        "BACKUP_NAME",
        "backupname",
    ] {
        check(&format!("##{name}##"), "Daily Backup");
    }
    check("##STATUS BEIM BEENDEN##", "Finished successfully");
    check("##exit-code##", "0");
    check("##kopierte_daten##", "1.5 GB");
}

#[test]
fn machine_keys_are_names_too() {
    for info in catalogue() {
        let key = info.id().key();
        let compiled = Template::compile(&format!("##{key}##"), &[]).unwrap();
        assert_eq!(compiled.values().collect::<Vec<_>>(), [info.id()], "{key}");
    }
}

#[test]
fn literal_text_and_escapes() {
    check("", "");
    check("plain text", "plain text");
    check("a # b", "a # b");
    check("#", "#");
    check("#Task Name#", "#Task Name#");
    check("\\##", "##");
    check("\\##Task Name\\##", "##Task Name##");
    check("\\#", "\\#");
    check("\\", "\\");
    check("C:\\Backups \\", "C:\\Backups \\");
    check("\\\\##", "\\##");
    check("\\## Summary", "## Summary");
    check(
        "a ##Task Name##, b ##Source## c",
        "a Daily Backup, b /home c",
    );
    check("##Task Name####Source##", "Daily Backup/home");
    check("##Task Name##\\####Source##", "Daily Backup##/home");
    check(
        "line 1\r\nline 2 ##Source##\r\n",
        "line 1\r\nline 2 /home\r\n",
    );
    check("Grüße, ##Task Name## ✓", "Grüße, Daily Backup ✓");
    // A lone # right before or after a value.
    check("###Task Name##", "#Daily Backup");
    check("##Task Name###", "Daily Backup#");
    check("###Task Name###", "#Daily Backup#");
}

// ---------------------------------------------------------------- errors

#[test]
fn unknown_names_suggest_the_nearest() {
    check_error(
        "##Tsk Name##",
        &[],
        "line 1, column 1: unknown value ##Tsk Name##; did you mean ##Task Name##?",
    );
    check_error(
        "Hello\n  ##Tsk Name##",
        &[],
        "line 2, column 3: unknown value ##Tsk Name##; did you mean ##Task Name##?",
    );
    check_error(
        "##Time##",
        &[],
        "line 1, column 1: unknown value ##Time##; \
         did you mean ##End Time##, ##Start Time## or ##Elapsed Time##?",
    );
    check_error(
        "##Name##",
        &[],
        "line 1, column 1: unknown value ##Name##; did you mean ##Task Name## or ##Computer Name##?",
    );
    check_error(
        "##Status##",
        &[],
        "line 1, column 1: unknown value ##Status##; did you mean ##Exit Status## or ##Status Color##?",
    );
    check_error(
        "##xyzzy##",
        &[],
        "line 1, column 1: unknown value ##xyzzy## (`notify template values` lists the known values)",
    );
    // Columns count characters, not bytes.
    check_error(
        "Grüße ✓ ##Foo##",
        &[],
        "line 1, column 9: unknown value ##Foo## (`notify template values` lists the known values)",
    );
    // The first error wins; later lines are not looked at.
    check_error(
        "ok ##Source##\n\n##Destinaton## ##Bad##",
        &[],
        "line 3, column 1: unknown value ##Destinaton##; did you mean ##Destination##?",
    );
}

#[test]
fn german_typos_get_german_suggestions() {
    check_error(
        "##Backup-Nam##",
        &[],
        "line 1, column 1: unknown value ##Backup-Nam##; did you mean ##Backup-Name##?",
    );
    check_error(
        "##Quele##",
        &[],
        "line 1, column 1: unknown value ##Quele##; did you mean ##Quelle##?",
    );
    check_error(
        "##Fehlr##",
        &[],
        "line 1, column 1: unknown value ##Fehlr##; did you mean ##Fehler##?",
    );
    check_error(
        "##Anzahl##",
        &[],
        "line 1, column 1: unknown value ##Anzahl##; \
         did you mean ##Anzahl Fehler## or ##Anzahl Warnungen##?",
    );
}

#[test]
fn error_details() {
    let e = Template::compile("x\ny ##Tsk Name##", &[]).unwrap_err();
    assert_eq!(e.kind(), TemplateErrorKind::UnknownValue);
    assert_eq!((e.line(), e.column()), (2, 3));
    assert_eq!(e.name(), "Tsk Name");
    assert_eq!(e.suggestions(), ["Task Name"]);
    let e = Template::compile("##Task Name", &[]).unwrap_err();
    assert_eq!(e.kind(), TemplateErrorKind::Unclosed);
    assert!(e.suggestions().is_empty());
    let e = Template::compile("a####", &[]).unwrap_err();
    assert_eq!(e.kind(), TemplateErrorKind::EmptyName);
    assert_eq!((e.line(), e.column()), (1, 2));
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().contains("empty value name"));
}

#[test]
fn unclosed_values() {
    check_error(
        "##Task Name",
        &[],
        "line 1, column 1: unclosed ##Task Name (a value ends with ##; write \\## for a literal ##)",
    );
    // A name cannot span a line break (LF or CRLF).
    check_error(
        "##Task\nName##",
        &[],
        "line 1, column 1: unclosed ##Task (a value ends with ##; write \\## for a literal ##)",
    );
    check_error(
        "ok\r\n##Task\r\nName##",
        &[],
        "line 2, column 1: unclosed ##Task (a value ends with ##; write \\## for a literal ##)",
    );
    // A Markdown heading needs its ## escaped.
    check_error(
        "Report\n## Summary\n",
        &[],
        "line 2, column 1: unclosed ## Summary (a value ends with ##; write \\## for a literal ##)",
    );
    check_error(
        "###",
        &[],
        "line 1, column 2: unclosed ## (a value ends with ##; write \\## for a literal ##)",
    );
    check_error(
        "### Heading",
        &[],
        "line 1, column 2: unclosed ## Heading (a value ends with ##; write \\## for a literal ##)",
    );
    check_error(
        "end ##",
        &[],
        "line 1, column 5: unclosed ## (a value ends with ##; write \\## for a literal ##)",
    );
    // The escape covers one ##: the second ## opens a value.
    check_error(
        "C:\\Backups\\##Task Name##",
        &[],
        "line 1, column 23: unclosed ## (a value ends with ##; write \\## for a literal ##)",
    );
    // Long rests of a line are shortened.
    check_error(
        &format!("##{}", "x".repeat(100)),
        &[],
        &format!(
            "line 1, column 1: unclosed ##{}… (a value ends with ##; write \\## for a literal ##)",
            "x".repeat(40)
        ),
    );
}

#[test]
fn empty_names() {
    check_error(
        "####",
        &[],
        "line 1, column 1: empty value name #### (write \\## for a literal ##)",
    );
    check_error(
        "a\n b ## ##",
        &[],
        "line 2, column 4: empty value name ## ## (write \\## for a literal ##)",
    );
    check_error(
        "##-_-##",
        &[],
        "line 1, column 1: empty value name ##-_-## (write \\## for a literal ##)",
    );
}

// ---------------------------------------------------------------- modes

#[test]
fn subject_folds_control_characters() {
    let evil = |r: &mut TaskResult| {
        r.task_name = "Daily\r\nBcc: everyone@example.com".into();
    };
    let mut result = sample_result();
    evil(&mut result);
    check_with(
        &result,
        "en",
        Mode::Subject,
        "##Task Name##",
        "Daily  Bcc: everyone@example.com",
    );
    result.task_name = "a\tb\u{0}c\u{7f}d\u{85}e\u{2028}f\u{2029}g\u{1b}[31m\u{9b}h".into();
    check_with(
        &result,
        "en",
        Mode::Subject,
        "##Task Name##",
        "a b c d e f g [31m h",
    );
    // Template text is folded too; other Unicode stays.
    check_with(
        &sample_result(),
        "de",
        Mode::Subject,
        "Grüße\r\n##Task Name##\t✓",
        "Grüße  Daily Backup ✓",
    );
    // Multi-line values become one line.
    check_with(
        &sample_result(),
        "en",
        Mode::Subject,
        "##Log Tail##",
        "Files:         120 new,    35 changed, 12190 unmodified \
         Dirs:            4 new,    18 changed,  1021 unmodified \
         Added to the repository: 201.003 MiB (180.327 MiB stored)  \
         processed 12345 files, 1.400 GiB in 1:02:05 \
         snapshot 5d2a4f3c saved",
    );
    // Text mode keeps them.
    check_with(
        &result,
        "en",
        Mode::Text,
        "##Task Name##",
        &result.task_name,
    );
}

#[test]
fn html_escapes_values_not_template_text() {
    let mut result = sample_result();
    result.task_name = "<b>\"Tom\" & 'Jerry'</b>".into();
    check_with(
        &result,
        "en",
        Mode::Html,
        "<h1 class=\"x\">##Task Name##</h1>",
        "<h1 class=\"x\">&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;</h1>",
    );
    result.errors = vec!["a < b".into(), "c > d".into()];
    check_with(
        &result,
        "en",
        Mode::Html,
        "<pre>##Errors##</pre>",
        "<pre>a &lt; b\nc &gt; d</pre>",
    );
    // Formatted values pass through unchanged.
    check_with(
        &sample_result(),
        "de",
        Mode::Html,
        "<td>##Dauer##</td>",
        "<td>1 Std. 02 Min. 05 Sek.</td>",
    );
    check_with(
        &result,
        "en",
        Mode::Text,
        "##Task Name##",
        "<b>\"Tom\" & 'Jerry'</b>",
    );
}

// ---------------------------------------------------------------- extras

#[test]
fn extra_values() {
    let with_extra = |r: &mut TaskResult| {
        r.extra
            .insert("Repository".into(), "s3:backups/home".into());
        r.extra.insert("snapshot_id".into(), "4f2a9c1e".into());
    };
    check_result(with_extra, "##Repository##", "s3:backups/home");
    check_result(
        with_extra,
        "##repository## ##Snapshot ID##",
        "s3:backups/home 4f2a9c1e",
    );
    check_result(with_extra, "##SNAPSHOT-ID##", "4f2a9c1e");
    // An extra allowed at compile time but missing at render time.
    let template = Template::compile("##Tag##", &["tag"]).unwrap();
    assert_eq!(template.extras().collect::<Vec<_>>(), ["tag"]);
    let result = sample_result();
    let ctx = Context::new(&result, lang("de"), OFFSET);
    assert_eq!(template.render_to_string(&ctx, Mode::Text), "k. A.");
    // Extras are escaped and folded like any value.
    let mut result = sample_result();
    result.extra.insert("note".into(), "<a>\nb".into());
    check_with(&result, "en", Mode::Html, "##note##", "&lt;a&gt;\nb");
    check_with(&result, "en", Mode::Subject, "##note##", "<a> b");
    // Catalogue names win over an extra of the same name.
    result.extra.insert("Source".into(), "from --set".into());
    check_with(&result, "en", Mode::Text, "##Source##", "/home");
}

#[test]
fn extras_are_suggested() {
    check_error(
        "##Repositry##",
        &["Repository"],
        "line 1, column 1: unknown value ##Repositry##; did you mean ##Repository##?",
    );
    check_error(
        "##Repository##",
        &[],
        "line 1, column 1: unknown value ##Repository## (`notify template values` lists the known values)",
    );
}

// ---------------------------------------------------------------- defaults

#[test]
fn default_templates_in_english() {
    let en = lang("en");
    assert_eq!(
        en.default_subject(),
        "##Computer Name##: ##Task Name##: ##Exit Status##"
    );
    let rendered = mail(Sources::default(), "en", 0);
    assert_eq!(
        rendered.subject,
        "fileserver: Daily Backup: Finished successfully"
    );
    assert_eq!(rendered.html, None);
    assert!(rendered.warnings.is_empty());
    assert_eq!(
        rendered.text,
        "\
Daily Backup: Finished successfully

Task name:      Daily Backup
Status:         Finished successfully
Exit code:      0
Computer:       fileserver
Source:         /home
Destination:    sftp:backup@nas:/srv/restic
Started:        2026-11-21 02:00:05 +01:00
Finished:       2026-11-21 03:02:10 +01:00
Elapsed time:   1 h 02 min 05 s
Snapshot:       5d2a4f3c
Data copied:    1.5 GB
Data added:     210.8 MB
Files copied:   12,345
New files:      120
Changed files:  35
Unchanged:      12,190
Errors:         0
Warnings:       0
Command:        restic -r sftp:backup@nas:/srv/restic backup /home

Log tail
--------
Files:         120 new,    35 changed, 12190 unmodified
Dirs:            4 new,    18 changed,  1021 unmodified
Added to the repository: 201.003 MiB (180.327 MiB stored)

processed 12345 files, 1.400 GiB in 1:02:05
snapshot 5d2a4f3c saved
"
    );
}

#[test]
fn default_templates_in_german_use_german_names() {
    let de = lang("de");
    assert_eq!(
        de.default_subject(),
        "##Computername##: ##Backup-Name##: ##Status beim Beenden##"
    );
    assert!(de.default_body().contains("##Protokollauszug##"));
    assert!(!de.default_body().contains("##Task Name##"));
    let rendered = mail(Sources::default(), "de", 0);
    assert_eq!(
        rendered.subject,
        "fileserver: Daily Backup: Erfolgreich abgeschlossen"
    );
    assert_eq!(
        rendered.text,
        "\
Daily Backup: Erfolgreich abgeschlossen

Backup-Name:       Daily Backup
Status:            Erfolgreich abgeschlossen
Exit-Code:         0
Computer:          fileserver
Quelle:            /home
Ziel:              sftp:backup@nas:/srv/restic
Beginn:            21.11.2026 02:00:05 +01:00
Ende:              21.11.2026 03:02:10 +01:00
Dauer:             1 Std. 02 Min. 05 Sek.
Snapshot:          5d2a4f3c
Kopierte Daten:    1,5 GB
Neue Daten:        210,8 MB
Kopierte Dateien:  12.345
Neue Dateien:      120
Geändert:          35
Unverändert:       12.190
Fehler:            0
Warnungen:         0
Befehl:            restic -r sftp:backup@nas:/srv/restic backup /home

Protokollauszug
---------------
Files:         120 new,    35 changed, 12190 unmodified
Dirs:            4 new,    18 changed,  1021 unmodified
Added to the repository: 201.003 MiB (180.327 MiB stored)

processed 12345 files, 1.400 GiB in 1:02:05
snapshot 5d2a4f3c saved
"
    );
}

#[test]
fn every_default_template_uses_every_important_value() {
    for l in locales() {
        let body = Template::compile(l.default_body(), &[]).unwrap();
        let used: Vec<ValueId> = body.values().collect();
        // All but the totals (shown as Data/Files Copied) and the colour.
        for id in ValueId::ALL {
            if matches!(
                id,
                ValueId::FilesProcessed | ValueId::DataProcessed | ValueId::StatusColor
            ) {
                continue;
            }
            assert!(used.contains(&id), "{} default body lacks {id:?}", l.code());
        }
        let html = Template::compile(l.default_html(), &[]).unwrap();
        let used: Vec<ValueId> = html.values().collect();
        for id in ValueId::ALL {
            if matches!(id, ValueId::FilesProcessed | ValueId::DataProcessed) {
                continue;
            }
            assert!(used.contains(&id), "{} default HTML lacks {id:?}", l.code());
        }
        let subject = Template::compile(l.default_subject(), &[]).unwrap();
        assert_eq!(
            subject.values().collect::<Vec<_>>(),
            [
                ValueId::ComputerName,
                ValueId::TaskName,
                ValueId::ExitStatus
            ]
        );
    }
}

#[test]
fn desktop_and_start_templates_compile_in_every_locale() {
    for l in locales() {
        for (what, text) in [
            ("desktop_summary", l.desktop_summary()),
            ("desktop_body", l.desktop_body()),
            ("start_summary", l.start_summary()),
            ("start_body", l.start_body()),
        ] {
            let t =
                Template::compile(text, &[]).unwrap_or_else(|e| panic!("{} {what}: {e}", l.code()));
            assert!(t.values().count() > 0, "{} {what} uses no value", l.code());
        }
        let summary = Template::compile(l.desktop_summary(), &[]).unwrap();
        assert_eq!(
            summary.values().collect::<Vec<_>>(),
            [ValueId::TaskName, ValueId::ExitStatus]
        );
    }
}

// ---------------------------------------------------------------- render_notification

#[test]
fn user_templates_are_used() {
    let rendered = mail(
        Sources {
            subject: src("email.subject", "[##Exit Status##] ##Task Name##"),
            body: src("body.txt", "##Task Name## took ##Elapsed Time##."),
            html: src("body.html", "<p>##Task Name##</p>"),
        },
        "en",
        0,
    );
    assert_eq!(
        (
            rendered.subject,
            rendered.text,
            rendered.html,
            rendered.warnings
        ),
        (
            "[Finished successfully] Daily Backup".to_owned(),
            "Daily Backup took 1 h 02 min 05 s.".to_owned(),
            Some("<p>Daily Backup</p>".to_owned()),
            Vec::<String>::new(),
        )
    );
}

#[test]
fn bad_subject_falls_back_to_the_default() {
    let rendered = mail(
        Sources {
            subject: src("email.subject", "##Tsk Name## done"),
            body: src("body.txt", "Body."),
            html: None,
        },
        "en",
        0,
    );
    assert_eq!(
        rendered.subject,
        "fileserver: Daily Backup: Finished successfully"
    );
    assert_eq!(
        rendered.warnings,
        ["email.subject: line 1, column 1: unknown value ##Tsk Name##; did you mean ##Task Name##?; \
          the default subject was used instead"]
    );
    assert_eq!(
        rendered.text,
        "Note: the template email.subject has an error (line 1, column 1: unknown value \
         ##Tsk Name##; did you mean ##Task Name##?); the default template was used instead.\n\nBody."
    );
}

#[test]
fn bad_body_falls_back_to_the_default() {
    let rendered = mail(
        Sources {
            subject: None,
            body: src("body.txt", "Hi\n##Task Name"),
            html: None,
        },
        "de",
        0,
    );
    assert_eq!(
        rendered.warnings,
        ["body.txt: line 2, column 1: unclosed ##Task Name (a value ends with ##; write \\## for \
          a literal ##); the default body was used instead"]
    );
    let notice = "Hinweis: Die Vorlage body.txt enthält einen Fehler (line 2, column 1: unclosed \
                  ##Task Name (a value ends with ##; write \\## for a literal ##)); stattdessen \
                  wurde die Standardvorlage verwendet.\n\n";
    assert!(rendered.text.starts_with(notice), "{}", rendered.text);
    let default = mail(Sources::default(), "de", 0);
    assert_eq!(&rendered.text[notice.len()..], default.text);
}

#[test]
fn bad_html_drops_the_html_part() {
    let rendered = mail(
        Sources {
            subject: None,
            body: src("body.txt", "Body."),
            html: src("body.html", "<p>##Nope##</p>"),
        },
        "en",
        0,
    );
    assert_eq!(rendered.html, None);
    assert_eq!(
        rendered.warnings,
        ["body.html: line 1, column 4: unknown value ##Nope## (`notify template values` lists the \
          known values); the mail is sent without an HTML part"]
    );
    assert_eq!(
        rendered.text,
        "Note: the HTML template body.html has an error (line 1, column 4: unknown value ##Nope## \
         (`notify template values` lists the known values)); this mail has no HTML part.\n\nBody."
    );
}

#[test]
fn notices_go_after_the_html_body_tag() {
    let rendered = mail(
        Sources {
            subject: src("email.subject", "##Oops##"),
            body: None,
            html: src(
                "body.html",
                "<html><BODY class=\"m\"><p>##Task Name##</p></BODY></html>",
            ),
        },
        "en",
        2,
    );
    assert_eq!(rendered.warnings.len(), 1);
    assert_eq!(
        rendered.html.as_deref(),
        Some(
            "<html><BODY class=\"m\"><p>Note: the template email.subject has an error (line 1, \
             column 1: unknown value ##Oops## (`notify template values` lists the known values)); \
             the default template was used instead.</p>\n<p>2 earlier notifications about this \
             task were held back since the last mail.</p>\n<p>Daily Backup</p></BODY></html>"
        )
    );
    // Without a body tag the notices go first.
    let rendered = mail(
        Sources {
            html: src("body.html", "<p>&</p>"),
            ..Sources::default()
        },
        "en",
        1,
    );
    assert_eq!(
        rendered.html.as_deref(),
        Some(
            "<p>1 earlier notification about this task was held back since the last mail.</p>\n\
             <p>&</p>"
        )
    );
}

#[test]
fn suppressed_notifications_are_counted() {
    let text = |code, n| {
        mail(
            Sources {
                body: src("b", "Body."),
                ..Sources::default()
            },
            code,
            n,
        )
        .text
    };
    assert_eq!(text("en", 0), "Body.");
    assert_eq!(
        text("en", 1),
        "1 earlier notification about this task was held back since the last mail.\n\nBody."
    );
    assert_eq!(
        text("en", 3),
        "3 earlier notifications about this task were held back since the last mail.\n\nBody."
    );
    assert_eq!(
        text("de", 1),
        "1 frühere Benachrichtigung zu dieser Aufgabe wurde seit der letzten Mail \
         zurückgehalten.\n\nBody."
    );
    assert_eq!(
        text("de", 12),
        "12 frühere Benachrichtigungen zu dieser Aufgabe wurden seit der letzten Mail \
         zurückgehalten.\n\nBody."
    );
}

#[test]
fn failure_streaks_are_told() {
    use notify_core::Streak;
    use notify_template::{render_notification_with, History};
    use time::macros::datetime;
    let text = |code, streak: Streak, suppressed| {
        let result = sample_result(); // finished 2026-11-21 02:02:10 UTC
        let ctx = Context::new(&result, lang(code), OFFSET);
        let sources = Sources {
            body: src("b", "Body."),
            ..Sources::default()
        };
        let history = History::new(suppressed, Some(streak));
        render_notification_with(&sources, &ctx, &[], &history).text
    };
    let since = datetime!(2026-11-20 22:02:10 UTC);
    let failing = Streak::new(since, 5, false);
    let recovered = Streak::new(since, 5, true);
    let t = text("en", failing, 3);
    assert!(
        t.starts_with(
            "3 earlier notifications about this task were held back since the last mail.\n"
        ),
        "{t}"
    );
    assert!(
        t.contains(
            "This task has now failed 5 times in a row, since 2026-11-20 23:02:10 +01:00.\n"
        ),
        "{t}"
    );
    assert_eq!(
        text("en", recovered, 0),
        "The task works again, after 5 failed runs in a row over 4 h 00 min 00 s \
         (since 2026-11-20 23:02:10 +01:00).\n\nBody."
    );
    assert_eq!(
        text("en", Streak::new(since, 1, true), 0),
        "The task works again, after one failed run (4 h 00 min 00 s ago, 2026-11-20 23:02:10 +01:00).\n\nBody."
    );
    let t = text("de", recovered, 0);
    assert!(
        t.starts_with(
            "Die Aufgabe läuft wieder, nach 5 fehlgeschlagenen Läufen in Folge über 4 Std."
        ),
        "{t}"
    );
    assert!(t.contains("(seit 20.11.2026 23:02:10 +01:00)"), "{t}");
}

#[test]
fn notification_extras() {
    let mut result = sample_result();
    result.extra.insert("Repository".into(), "s3:x".into());
    let ctx = Context::new(&result, lang("en"), OFFSET);
    let sources = Sources {
        subject: src("s", "##Task Name## to ##repository##"),
        body: src("b", "##Ticket##"),
        html: None,
    };
    // Keys of result.extra are allowed without being passed.
    let rendered = render_notification(&sources, &ctx, &["Ticket"], 0);
    assert_eq!(rendered.subject, "Daily Backup to s3:x");
    assert_eq!(rendered.text, "n/a");
    assert!(rendered.warnings.is_empty());
    // Not allowed: the body falls back.
    let rendered = render_notification(&sources, &ctx, &[], 0);
    assert_eq!(rendered.warnings.len(), 1);
}

#[test]
fn hostile_subject_values_cannot_add_headers() {
    let mut result = sample_result();
    result.task_name = "x\r\nBcc: a@example.com\r\n\r\nbody".into();
    result.computer_name = Some("host\u{2028}X-Evil: 1".into());
    let ctx = Context::new(&result, lang("en"), OFFSET);
    let rendered = render_notification(&Sources::default(), &ctx, &[], 0);
    assert_eq!(
        rendered.subject,
        "host X-Evil: 1: x  Bcc: a@example.com    body: Finished successfully"
    );
}

// ---------------------------------------------------------------- catalogue and locales

#[test]
fn locale_lookup() {
    for (code, expected) in [
        ("en", Some("en")),
        ("EN", Some("en")),
        ("en_US.UTF-8", Some("en")),
        ("de", Some("de")),
        ("DE", Some("de")),
        ("de-DE", Some("de")),
        ("de_DE.UTF-8", Some("de")),
        ("de_AT", Some("de")),
        ("de_CH@euro", Some("de")),
        (" de ", Some("de")),
        ("fr", None),
        ("", None),
        ("C", None),
        ("deu", None),
    ] {
        assert_eq!(locale(code).map(Locale::code), expected, "{code:?}");
    }
    let codes: Vec<_> = locales().iter().map(|l| l.code()).collect();
    assert_eq!(codes, ["en", "de"]);
    assert_eq!(lang("de").name(), "Deutsch");
    assert_eq!(lang("de").absent(), "k. A.");
}

#[test]
fn catalogue_entries() {
    let en = lang("en");
    let de = lang("de");
    assert_eq!(catalogue().len(), ValueId::ALL.len());
    for (info, id) in catalogue().iter().zip(ValueId::ALL) {
        assert_eq!(info.id(), id);
        assert_eq!(id.info(), info);
        assert_eq!(info.names(), [info.name(en), info.name(de)]);
        assert!(!info.description(en).is_empty() && !info.description(de).is_empty());
        assert!(!info.sample(en).is_empty());
        // Every name of every value compiles to that value.
        for name in info.names() {
            let t = Template::compile(&format!("##{name}##"), &[]).unwrap();
            assert_eq!(t.values().collect::<Vec<_>>(), [id], "{name}");
        }
    }
    let task = ValueId::TaskName.info();
    assert_eq!(task.names(), ["Task Name", "Backup-Name"]);
    assert_eq!(task.name(de), "Backup-Name");
    assert_eq!(ValueId::DataCopied.info().sample(en), "1.5 GB");
    assert_eq!(ValueId::DataCopied.info().sample(de), "1,5 GB");
    assert_eq!(
        ValueId::StartTime.info().sample(en),
        "2026-11-21 01:00:05 +00:00"
    );
    assert_eq!(
        ValueId::ElapsedTime.info().sample(de),
        "1 Std. 02 Min. 05 Sek."
    );
    assert_eq!(
        ValueId::ExitStatus.info().sample(de),
        "Erfolgreich abgeschlossen"
    );
}

#[test]
fn sample_result_is_complete() {
    let r = sample_result();
    assert_eq!(r.task_name, "Daily Backup");
    assert!(r.source.is_some() && r.destination.is_some() && r.log_tail.is_some());
    assert!(r.bytes_copied.is_some() && r.files_copied.is_some() && r.elapsed().is_some());
}

#[test]
fn escape_round_trips() {
    for text in [
        "",
        "##",
        "###",
        "####",
        "\\##",
        "a ## b",
        "#\\##",
        "## Heading\n\\\\##x##",
    ] {
        let template = Template::compile(&escape(text), &[]).unwrap();
        let result = sample_result();
        let ctx = Context::new(&result, lang("en"), OFFSET);
        assert_eq!(
            template.render_to_string(&ctx, Mode::Text),
            text,
            "{text:?}"
        );
    }
}

#[test]
fn render_appends_to_the_buffer() {
    let template = Template::compile("##Task Name##", &[]).unwrap();
    let result = sample_result();
    let ctx = Context::new(&result, lang("en"), OFFSET);
    let mut out = String::from("> ");
    template.render(&ctx, Mode::Text, &mut out);
    template.render(&ctx, Mode::Subject, &mut out);
    assert_eq!(out, "> Daily BackupDaily Backup");
}

// ------------------------------------------------- optional lines and blocks

#[test]
fn optional_values_leave_their_line_out_when_absent() {
    let bare = |r: &mut TaskResult| {
        r.source = None;
        r.destination = Some(String::new());
        r.extra.clear();
        r.exit_code = None;
    };
    check_result(bare, "a\nSource: ##?Source##\nb\n", "a\nb\n");
    check_result(bare, "a\nTo: ##?Destination##\nb", "a\nb");
    check_result(bare, "a\nSource: ##?Source##", "a\n");
    check_result(bare, "Source: ##?Source##\n", "");
    check_result(bare, "x ##?Snapshot ID## y\nz", "z");
    check_result(bare, "##?Exit Code##\n##Task Name##", "Daily Backup");
    // Present values render as usual.
    check("a\nSource: ##?Source##\nb", "a\nSource: /home\nb");
    check("Snapshot ##?Snapshot ID##.", "Snapshot 5d2a4f3c.");
    // A plain ##Name## still says n/a.
    check_result(bare, "Source: ##Source##", "Source: n/a");
    // Only the line of the absent value goes, also after a multi-line value.
    check_result(
        bare,
        "##Log Tail##\nsrc ##?Source##\nend",
        "Files:         120 new,    35 changed, 12190 unmodified\n\
         Dirs:            4 new,    18 changed,  1021 unmodified\n\
         Added to the repository: 201.003 MiB (180.327 MiB stored)\n\
         \n\
         processed 12345 files, 1.400 GiB in 1:02:05\n\
         snapshot 5d2a4f3c saved\nend",
    );
    // Extra values too.
    check_result(
        |r| {
            r.extra.insert("Ticket".into(), "OPS-1".into());
        },
        "T: ##?Ticket##\n",
        "T: OPS-1\n",
    );
    // In a subject an absent optional value is left out by itself.
    check_with(
        &{
            let mut r = sample_result();
            r.source = None;
            r
        },
        "en",
        Mode::Subject,
        "##Task Name## ##?Source##!",
        "Daily Backup !",
    );
}

#[test]
fn blocks_render_only_when_their_value_is_there() {
    let template = "head\n##if Errors##\nErrors:\n##Errors##\n##end##\ntail\n";
    check(template, "head\ntail\n");
    check_result(
        |r| r.errors = vec!["disk full".into()],
        template,
        "head\nErrors:\ndisk full\ntail\n",
    );
    // Markers inside a line keep the line.
    check("a ##if Source##[##Source##]##end## b", "a [/home] b");
    check("a ##if Archive##[##Archive##]##end## b", "a  b");
    // Indented markers on their own line vanish with their line.
    check("x\n  ##if Source##  \n  in\n  ##end##\ny", "x\n  in\ny");
    // Nested blocks, German names, any case.
    check("##IF Quelle##s##if Archiv##a##END##e##end##", "se");
    // Counts are there when above zero; extra values when set.
    check("##if Error Count##E##end##.", ".");
    check_result(
        |r| r.warning_count = 2,
        "##if Warning Count##W##end##.",
        "W.",
    );
}

#[test]
fn block_errors_say_where() {
    check_error(
        "a\n##end##",
        &[],
        "line 2, column 1: ##end## without an ##if Name## before it",
    );
    check_error(
        "##if Source##\nx",
        &[],
        "line 1, column 1: ##if ...## without its ##end## (a block ends with ##end##)",
    );
    check_error(
        "##if Sorce##x##end##",
        &[],
        "line 1, column 1: unknown value ##Sorce##; did you mean ##Source##?",
    );
    check_error(
        "x ##?Snapshot##",
        &[],
        "line 1, column 3: unknown value ##Snapshot##; did you mean ##Snapshot ID##?",
    );
}

#[test]
fn more_lines_than_kept_are_counted() {
    check_result(
        |r| {
            r.errors = vec!["one".into(), "two".into()];
            r.error_count = 7;
        },
        "##Errors##",
        "one\ntwo\n… and 5 more",
    );
    check_result_de(
        |r| {
            r.warnings = vec!["w".into()];
            r.warning_count = 3;
        },
        "##Warnungen##",
        "w\n… und 2 weitere",
    );
    check_result(|r| r.error_count = 4, "##Errors##", "none");
}

#[test]
fn default_body_leaves_out_what_is_unknown() {
    let mut result = TaskResult::new("Nightly", Outcome::Failure);
    result.exit_code = Some(1);
    result.errors = vec!["Fatal: unable to open config file".into()];
    result.error_count = 1;
    result.warnings = vec!["warning: slow disk".into()];
    result.warning_count = 1;
    for (code, absent) in [("en", "n/a"), ("de", "k. A.")] {
        let ctx = Context::new(&result, lang(code), OFFSET);
        let text = render_notification(&Sources::default(), &ctx, &[], 0).text;
        assert!(!text.contains(absent), "{code}: {text}");
        assert!(text.contains("Fatal: unable to open config file"), "{text}");
        assert!(text.contains("warning: slow disk"), "{text}");
        assert!(
            !text.contains("Log tail") && !text.contains("Protokollauszug"),
            "{text}"
        );
    }
    let ctx = Context::new(&result, lang("en"), OFFSET);
    assert_eq!(
        render_notification(&Sources::default(), &ctx, &[], 0).text,
        "\
Nightly: Failed

Task name:      Nightly
Status:         Failed
Exit code:      1
Errors:         1
Warnings:       1

Errors
------
Fatal: unable to open config file

Warnings
--------
warning: slow disk
"
    );
}

#[test]
fn default_html_is_a_page_with_the_values() {
    for l in locales() {
        let template = Template::compile(l.default_html(), &[]).unwrap();
        let mut result = sample_result();
        result.outcome = Outcome::Failure;
        result.errors = vec!["<b>bad</b> & worse".into()];
        result.error_count = 1;
        result.destination = None;
        let ctx = Context::new(&result, l, OFFSET);
        let html = template.render_to_string(&ctx, Mode::Html);
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("background:#c62828"), "{html}");
        assert!(
            html.contains("&lt;b&gt;bad&lt;/b&gt; &amp; worse"),
            "{html}"
        );
        assert!(html.contains("5d2a4f3c"), "{html}");
        assert!(!html.contains("n/a") && !html.contains("k. A."), "{html}");
        assert!(!html.contains("##"), "{html}");
        assert!(html.trim_end().ends_with("</html>"), "{html}");
    }
}

#[test]
fn given_up_notices_are_localized_and_reach_the_html() {
    assert_eq!(
        lang("de").given_up(2, "nas"),
        "2 frühere Benachrichtigung(en) über dieses Konto konnten nicht zugestellt werden \
         und wurden aufgegeben (siehe `notify queue list` auf nas)."
    );
    let page = notify_template::with_notices(
        "<html><body class=x><p>mail</p></body></html>",
        &[lang("en").given_up(1, "<host>")],
    );
    assert_eq!(
        page,
        "<html><body class=x><p>1 earlier notification(s) through this account could not be \
         delivered and were given up (see `notify queue list` on &lt;host&gt;).</p>\n\
         <p>mail</p></body></html>"
    );
}

#[test]
fn a_subject_is_capped_whatever_a_value_holds() {
    let mut result = sample_result();
    result.log_tail = Some("x".repeat(50_000));
    let ctx = Context::new(&result, lang("en"), OFFSET);
    let subject = |template: &'static str| {
        let sources = Sources {
            subject: src("s", template),
            body: src("b", "Body."),
            html: None,
        };
        render_notification(&sources, &ctx, &[], 0)
    };
    let long = subject("##Task Name##: ##Log Tail##");
    assert_eq!(
        long.subject.chars().count(),
        notify_template::MAX_SUBJECT_CHARS
    );
    assert!(long.subject.starts_with("Daily Backup: xxx"));
    assert!(long.subject.ends_with("x…"));
    assert!(long.warnings.iter().any(|w| w.contains("cut to 1000")));
    let exact = "y".repeat(notify_template::MAX_SUBJECT_CHARS);
    let same = subject(Box::leak(exact.clone().into_boxed_str()));
    assert_eq!(same.subject, exact, "a subject of the limit stays whole");
    assert!(same.warnings.is_empty());
}

// ---------------------------------------------------------------------------
// A check's findings: overdue, did not finish, still running

/// Renders `template` for the overdue sample in `code`.
#[track_caller]
fn check_overdue(code: &str, template: &str, expected: &str) {
    check_with(
        &notify_template::overdue_sample(),
        code,
        Mode::Text,
        template,
        expected,
    );
}

#[test]
fn an_overdue_finding_says_when_the_task_last_ran_and_was_expected() {
    check_overdue("en", "##Exit Status##", "Overdue");
    check_overdue("de", "##Status beim Beenden##", "Überfällig");
    check_overdue(
        "en",
        "##Last Run##",
        "2026-11-21 02:00:05 +01:00 (Finished successfully)",
    );
    check_overdue(
        "de",
        "##Letzter Lauf##",
        "21.11.2026 02:00:05 +01:00 (Erfolgreich abgeschlossen)",
    );
    check_overdue("en", "##Expected By##", "2026-11-22 02:00:00 +01:00");
    check_overdue("de", "##Erwartet bis##", "22.11.2026 02:00:00 +01:00");
    // Never `Errors: 0`: the finding is the error line.
    check_overdue("en", "##Error Count##", "1");
    check_overdue(
        "en",
        "##Errors##",
        "No run since 2026-11-21 02:00:05 +01:00 (Finished successfully); the next was \
         expected by 2026-11-22 02:00:00 +01:00.",
    );
    check_overdue(
        "de",
        "##Fehler##",
        "Kein Lauf seit 21.11.2026 02:00:05 +01:00 (Erfolgreich abgeschlossen); der nächste \
         wurde bis 22.11.2026 02:00:00 +01:00 erwartet.",
    );
    check_overdue("en", "##Status Color##", "#c62828");
    // A run's result has neither value.
    check("##Last Run## | ##Expected By##", "n/a | n/a");
}

#[test]
fn unfinished_and_still_running_findings() {
    use notify_core::{Silence, SilenceNotice};
    let start = datetime!(2026-12-05 02:00 UTC);
    let gone = SilenceNotice::new(Silence::DidNotFinish, start).into_result("Long");
    check_with(&gone, "en", Mode::Text, "##Exit Status##", "Did not finish");
    check_with(
        &gone,
        "de",
        Mode::Text,
        "##Status beim Beenden##",
        "Nicht beendet",
    );
    check_with(
        &gone,
        "en",
        Mode::Text,
        "##Start Time##: ##Errors##",
        "2026-12-05 03:00:00 +01:00: The run that started 2026-12-05 03:00:00 +01:00 did not \
         finish: its process is gone (killed, crashed, or the computer restarted).",
    );
    let long = SilenceNotice::new(Silence::StillRunning, start).into_result("Long");
    check_with(&long, "en", Mode::Text, "##Exit Status##", "Still running");
    check_with(
        &long,
        "de",
        Mode::Text,
        "##Status beim Beenden##",
        "Läuft noch",
    );
    // Told as a warning, not an error.
    check_with(
        &long,
        "en",
        Mode::Text,
        "##Error Count##/##Warning Count##: ##Warnings##",
        "0/1: The run that started 2026-12-05 03:00:00 +01:00 is still running, longer than \
         its max_runtime.",
    );
}

#[test]
fn the_default_body_of_an_overdue_finding() {
    let result = notify_template::overdue_sample();
    for (code, words) in [
        (
            "en",
            ["Overdue", "Last run:", "Expected by:", "Errors:         1"],
        ),
        (
            "de",
            [
                "Überfällig",
                "Letzter Lauf:",
                "Erwartet bis:",
                "Fehler:            1",
            ],
        ),
    ] {
        let ctx = Context::new(&result, lang(code), OFFSET);
        let rendered = render_notification(&Sources::default(), &ctx, &[], 0);
        assert!(rendered.subject.ends_with(words[0]), "{}", rendered.subject);
        for w in words {
            assert!(
                rendered.text.contains(w),
                "{code}: {w} in {}",
                rendered.text
            );
        }
    }
}

#[test]
fn a_recovery_after_being_missing_says_since_when() {
    let since = datetime!(2026-12-04 03:00 UTC);
    let mut streak = notify_core::Streak::new(since, 0, true);
    streak.silence = Some(notify_core::Silence::Overdue);
    let mut result = sample_result();
    result.finished_at = Some(since + Duration::hours(26));
    for (code, expected) in [
        (
            "en",
            "The task runs again; it was missing since 2026-12-04 04:00:00 +01:00 (1 d 02 h 00 min 00 s).",
        ),
        (
            "de",
            "Die Aufgabe läuft wieder; sie fehlte seit 04.12.2026 04:00:00 +01:00 (1 Tg. 02 Std. 00 Min. 00 Sek.).",
        ),
    ] {
        let ctx = Context::new(&result, lang(code), OFFSET);
        let rendered = notify_template::render_notification_with(
            &Sources::default(),
            &ctx,
            &[],
            &notify_template::History::new(0, Some(streak)),
        );
        assert!(
            rendered.text.starts_with(expected),
            "{code}: {}",
            rendered.text
        );
    }
}

// ---------------------------------------------------------------------------
// The digest

fn digest_sample() -> notify_template::Digest {
    use notify_template::{Digest, DigestRow, DigestStatus};
    let at = datetime!(2026-12-05 06:00 UTC);
    let mut rows = Vec::new();
    for (task, status) in [
        ("Photos", DigestStatus::Ok),
        ("Mail <archive>", DigestStatus::Ok),
        ("DB dump", DigestStatus::Failed),
        ("Laptop", DigestStatus::Overdue),
        ("Media", DigestStatus::Warning),
        ("Daily Backup", DigestStatus::Ok),
    ] {
        let mut row = DigestRow::new(task, status);
        row.last_run_at = Some(at - Duration::hours(3));
        row.duration = Some(Duration::seconds(65));
        row.bytes_copied = Some(1_503_238_553);
        row.runs = 1;
        if status == DigestStatus::Failed {
            row.first_error = Some("pg_dump: error: connection refused".into());
            row.failed_runs = 1;
            row.bytes_copied = None;
        }
        rows.push(row);
    }
    Digest::new("fileserver", at, Duration::DAY, rows)
}

#[test]
fn a_digest_counts_in_its_subject_and_lists_the_failing_first() {
    let d = digest_sample();
    let en = notify_template::render_digest(&d, lang("en"), OFFSET);
    assert_eq!(
        en.subject,
        "Backups on fileserver: 3 ok, 1 warning, 1 failed, 1 overdue"
    );
    let order: Vec<usize> = [
        "DB dump",
        "Laptop",
        "Media",
        "Daily Backup",
        "Mail <archive>",
        "Photos",
    ]
    .iter()
    .map(|t| {
        en.text
            .find(t)
            .unwrap_or_else(|| panic!("{t} in {}", en.text))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", en.text);
    assert!(en.text.contains("pg_dump: error: connection refused"));
    assert!(en.text.contains("1 (1 failed)"), "{}", en.text);
    assert!(en.text.contains("1.5 GB"), "{}", en.text);
    assert!(
        en.text.contains("2026-12-05 04:00:00 +01:00"),
        "{}",
        en.text
    );
    let html = en.html.unwrap();
    assert!(html.contains("Mail &lt;archive&gt;"), "escaped: {html}");
    assert!(html.contains("#c62828"));

    let de = notify_template::render_digest(&d, lang("de"), OFFSET);
    assert_eq!(
        de.subject,
        "Sicherungen auf fileserver: 3 ok, 1 mit Warnung, 1 fehlgeschlagen, 1 überfällig"
    );
    assert!(de.text.contains("Fehlgeschlagen"), "{}", de.text);
    assert!(de.text.contains("1,5 GB"), "{}", de.text);
    assert!(
        de.text.contains("05.12.2026 04:00:00 +01:00"),
        "{}",
        de.text
    );
}

#[test]
fn an_empty_digest_and_a_hostile_host_name() {
    let d = notify_template::Digest::new(
        "evil\r\nBcc: x@example.com",
        datetime!(2026-12-05 06:00 UTC),
        Duration::DAY,
        Vec::new(),
    );
    let r = notify_template::render_digest(&d, lang("en"), OFFSET);
    assert!(
        !r.subject.contains('\n') && !r.subject.contains('\r'),
        "{}",
        r.subject
    );
    assert!(r.subject.ends_with(": 0 ok"), "{}", r.subject);
}
