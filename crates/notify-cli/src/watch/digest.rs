//! The digest: one mail over every task, on demand (`notify digest`) or at
//! `digest_at` each day or week (`digest = "daily"`), sent by the check.

use notify_queue::HistoryStore;
use notify_template::{Digest, DigestRow, DigestStatus};
use time::{Duration, OffsetDateTime};

use crate::app::cli::DeliveryArgs;
use crate::app::config::{ClockTime, DigestEvery};
use crate::app::error::CliError;
use crate::app::{schedule, Env};
use crate::pipeline::{self, Connect};

use super::overview::{self, TaskRow};

/// The digest of every task at `now`, runs counted over `period`.
pub fn build(env: &Env<'_>, now: OffsetDateTime, period: Duration) -> Digest {
    let rows = overview::rows(env, now);
    let (histories, _) = HistoryStore::new(env.data_dir).all();
    let from = now - period;
    let digest_rows = rows
        .iter()
        .map(|r| {
            let mut row = DigestRow::new(r.task.clone(), status(r));
            row.last_run_at = r.last_started_at.or(r.last_finished_at);
            row.duration = r.last_duration_seconds.map(Duration::seconds_f64);
            row.bytes_copied = r.bytes_copied;
            row.first_error = r.first_error.clone();
            if let Some(h) = histories.iter().find(|h| h.task == r.task) {
                let cancelled_is_error = env
                    .loaded
                    .config
                    .for_task(&r.task)
                    .settings
                    .cancelled_is_error
                    .unwrap_or(true);
                for run in h
                    .runs
                    .iter()
                    .filter(|run| run.at() >= from && run.at() <= now)
                {
                    row.runs += 1;
                    if run.is_failing(cancelled_is_error) {
                        row.failed_runs += 1;
                    }
                }
            }
            row
        })
        .collect();
    Digest::new(crate::app::computer_name(), now, period, digest_rows)
}

/// Where a task stands in the digest.
fn status(r: &TaskRow) -> DigestStatus {
    if r.overdue {
        return DigestStatus::Overdue;
    }
    if r.running {
        return DigestStatus::Running;
    }
    match r.last_outcome {
        None => DigestStatus::NoRun,
        Some(_) if r.failing => DigestStatus::Failed,
        Some("warning") => DigestStatus::Warning,
        Some(_) => DigestStatus::Ok,
    }
}

/// Builds and sends the digest over `period` (or shows it, for a dry run).
pub async fn send(
    env: &Env<'_>,
    connect: &dyn Connect,
    flags: &DeliveryArgs,
    period: Duration,
) -> Result<u8, CliError> {
    let digest = build(env, OffsetDateTime::now_utc(), period);
    pipeline::send_digest(env, connect, flags, &digest).await
}

/// The default period of a digest: a day, or a week for a weekly one.
pub fn default_period(every: Option<DigestEvery>) -> Duration {
    match every {
        Some(DigestEvery::Weekly) => Duration::WEEK,
        _ => Duration::DAY,
    }
}

/// When the scheduled digest of the day (or week) containing `now` is due:
/// `digest_at` local time (07:00 when unset), on Monday for a weekly one.
pub fn slot(
    every: DigestEvery,
    at: Option<ClockTime>,
    now: OffsetDateTime,
    tz: &jiff::tz::TimeZone,
) -> Option<OffsetDateTime> {
    let at = at.unwrap_or(ClockTime { hour: 7, minute: 0 });
    let today = jiff::Timestamp::from_second(now.unix_timestamp())
        .ok()?
        .to_zoned(tz.clone())
        .date();
    let day = match every {
        DigestEvery::Daily => today,
        DigestEvery::Weekly => {
            let back = today.weekday().to_monday_zero_offset();
            today
                .checked_sub(jiff::Span::new().days(i64::from(back)))
                .ok()?
        }
        DigestEvery::Off => return None,
    };
    let when = day
        .at(
            i8::try_from(at.hour).ok()?,
            i8::try_from(at.minute).ok()?,
            0,
            0,
        )
        .to_zoned(tz.clone())
        .ok()?;
    OffsetDateTime::from_unix_timestamp(when.timestamp().as_second()).ok()
}

/// Sends the scheduled digest when its time has come and it has not gone
/// out since (a stamp in the data directory says when it last did).
pub async fn send_when_due(env: &Env<'_>, connect: &dyn Connect, now: OffsetDateTime) {
    let settings = &env.loaded.config.email;
    let Some(every) = settings.digest.filter(|e| *e != DigestEvery::Off) else {
        return;
    };
    let Some(slot) = slot(every, settings.digest_at, now, &schedule::local_zone()) else {
        return;
    };
    let stamp = env.data_dir.join(crate::app::paths::DIGEST_STAMP);
    let last = std::fs::read_to_string(&stamp).ok().and_then(|t| {
        OffsetDateTime::parse(t.trim(), &time::format_description::well_known::Rfc3339).ok()
    });
    if now < slot || last.is_some_and(|l| l >= slot) {
        return;
    }
    // Stamped first: two checks at once send one digest.
    let text = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let written = notify_queue::files::create_private_dir(env.data_dir).and_then(|()| {
        notify_queue::files::write_atomic(
            &stamp,
            text.as_bytes(),
            notify_queue::files::Durability::Lazy,
        )
    });
    if let Err(e) = written {
        env.ui.warn(&format!(
            "cannot write {}: {e}; no digest sent",
            stamp.display()
        ));
        return;
    }
    let period = default_period(Some(every));
    if let Err(e) = send(env, connect, &DeliveryArgs::default(), period).await {
        env.ui.warn(&format!("the {every} digest: {}", e.message()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_digest_slot_is_local_and_weekly_on_monday() {
        let tz = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let at = Some(ClockTime {
            hour: 7,
            minute: 30,
        });
        // Saturday 5 December 2026, 10:00 local (09:00 UTC).
        let now = datetime!(2026-12-05 09:00 UTC);
        assert_eq!(
            slot(DigestEvery::Daily, at, now, &tz),
            Some(datetime!(2026-12-05 06:30 UTC))
        );
        assert_eq!(
            slot(DigestEvery::Weekly, at, now, &tz),
            Some(datetime!(2026-11-30 06:30 UTC))
        );
        // In summer time.
        assert_eq!(
            slot(
                DigestEvery::Daily,
                None,
                datetime!(2026-07-01 12:00 UTC),
                &tz
            ),
            Some(datetime!(2026-07-01 05:00 UTC))
        );
        assert_eq!(slot(DigestEvery::Off, at, now, &tz), None);
    }
}
