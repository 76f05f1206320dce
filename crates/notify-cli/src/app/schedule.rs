//! When a task is expected to run: `expect_every = "24h"` or
//! `expect_cron = "0 3 * * *"` (in the machine's own time zone, daylight
//! saving included), with `grace` and `max_runtime`.
//!
//! Cron expressions are parsed and evaluated by croner; the zone's rules
//! come from jiff (the system zone: `TZ`, else `/etc/localtime`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// A parsed `expect_cron` expression, with its text.
#[derive(Clone)]
pub struct CronSchedule {
    text: String,
    cron: croner::Cron,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.text)
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl CronSchedule {
    /// Parses a five-field cron expression (`minute hour day month
    /// weekday`, names and `@daily`-style nicknames allowed).
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .build();
        let cron = parser.parse(trimmed).map_err(|e| {
            format!(
                "`{text}` is not a cron expression ({e}); write five fields, minute hour \
                 day-of-month month day-of-week, e.g. `0 3 * * *` for 03:00 every day or \
                 `30 2 * * MON-FRI` for 02:30 on weekdays"
            )
        })?;
        Ok(CronSchedule {
            text: trimmed.to_owned(),
            cron,
        })
    }

    /// The first time the expression matches after `after` (exclusive),
    /// in zone `tz`.
    pub fn next_after(
        &self,
        after: OffsetDateTime,
        tz: &jiff::tz::TimeZone,
    ) -> Option<OffsetDateTime> {
        let zoned = to_jiff(after)?.to_zoned(tz.clone());
        let next = self.cron.find_next_occurrence(&zoned, false).ok()?;
        from_jiff(next.timestamp())
    }
}

impl<'de> Deserialize<'de> for CronSchedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CronSchedule;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cron expression such as \"0 3 * * *\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CronSchedule, E> {
                CronSchedule::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// When a task is expected to run.
#[derive(Debug, Clone)]
pub enum Expectation {
    /// At most this long after the last run started.
    Every(Duration),
    /// At each time the cron expression gives.
    Cron(Box<CronSchedule>),
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Every(d) => {
                write!(f, "every {}", crate::app::config::HumanDuration(*d))
            }
            Expectation::Cron(c) => write!(f, "cron `{c}`"),
        }
    }
}

impl Expectation {
    /// When the next run is due after one that started at `last`.
    pub fn due_after(
        &self,
        last: OffsetDateTime,
        tz: &jiff::tz::TimeZone,
    ) -> Option<OffsetDateTime> {
        match self {
            Expectation::Every(d) => last.checked_add(*d),
            Expectation::Cron(c) => c.next_after(last, tz),
        }
    }

    /// How long one interval is around `at` (for the default grace): the
    /// fixed interval, or the gap between the cron expression's next two
    /// times.
    pub fn interval(&self, at: OffsetDateTime, tz: &jiff::tz::TimeZone) -> Duration {
        match self {
            Expectation::Every(d) => *d,
            Expectation::Cron(c) => c
                .next_after(at, tz)
                .and_then(|a| c.next_after(a, tz).map(|b| b - a))
                .unwrap_or(Duration::DAY),
        }
    }
}

/// When a task with `expectation` is next due, and whether it is overdue
/// at `now`: from its last start (a run going on counts), else from when
/// notify first heard of it.
pub fn due(
    expectation: &Expectation,
    settings: &crate::app::config::Settings,
    last_start: Option<OffsetDateTime>,
    first_seen: Option<OffsetDateTime>,
    now: OffsetDateTime,
    tz: &jiff::tz::TimeZone,
) -> Option<(OffsetDateTime, bool)> {
    let base = last_start.or(first_seen)?;
    let due = expectation.due_after(base, tz)?;
    let grace = settings.grace.map_or_else(
        || notify_core::default_grace(expectation.interval(base, tz)),
        |g| g.0,
    );
    Some((due, notify_core::overdue(last_start, due, grace, now)))
}

/// The machine's time zone: `TZ` (a zone name such as `Europe/Berlin`, a
/// file as `:/path`, or a POSIX rule such as `CET-1CEST,M3.5.0,M10.5.0/3`),
/// else `/etc/localtime`; UTC when it cannot be told.
///
/// The zone file is read directly: asking jiff for the system zone by name
/// walks the whole zoneinfo directory, which would make a check with
/// nothing to do twice as slow.
pub fn local_zone() -> jiff::tz::TimeZone {
    use jiff::tz::TimeZone;
    const ZONEINFO: &str = "/usr/share/zoneinfo";
    let file = |path: &std::path::Path| {
        std::fs::read(path)
            .ok()
            .and_then(|data| TimeZone::tzif(&path.display().to_string(), &data).ok())
    };
    match std::env::var(crate::app::env_vars::TZ) {
        Ok(tz) if !tz.trim().is_empty() => {
            let tz = tz.trim();
            if let Some(path) = tz.strip_prefix(':').filter(|p| p.starts_with('/')) {
                if let Some(zone) = file(std::path::Path::new(path)) {
                    return zone;
                }
            }
            let name = tz.trim_start_matches(':');
            let plain = !name.is_empty()
                && !name.starts_with('/')
                && name.split('/').all(|part| part != ".." && !part.is_empty());
            if plain {
                if let Some(zone) = file(&std::path::Path::new(ZONEINFO).join(name)) {
                    return zone;
                }
            }
            if name == "UTC" || name == "UTC0" {
                return TimeZone::UTC;
            }
            TimeZone::posix(name)
                .or_else(|_| TimeZone::try_system())
                .unwrap_or(TimeZone::UTC)
        }
        _ => file(std::path::Path::new("/etc/localtime"))
            .or_else(|| TimeZone::try_system().ok())
            .unwrap_or(TimeZone::UTC),
    }
}

fn to_jiff(t: OffsetDateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(t.unix_timestamp(), i32::try_from(t.nanosecond()).ok()?).ok()
}

fn from_jiff(t: jiff::Timestamp) -> Option<OffsetDateTime> {
    let nanos = i128::from(t.as_second()) * 1_000_000_000 + i128::from(t.subsec_nanosecond());
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Central European time with its daylight saving rules, from a POSIX
    /// TZ string (no zoneinfo database needed).
    fn berlin() -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
    }

    #[test]
    fn cron_times_are_local_across_daylight_saving_changes() {
        let daily = CronSchedule::parse("0 3 * * *").unwrap();
        let tz = berlin();
        // 03:00 local is 02:00 UTC in winter, 01:00 UTC in summer.
        assert_eq!(
            daily.next_after(datetime!(2026-03-27 12:00 UTC), &tz),
            Some(datetime!(2026-03-28 02:00 UTC))
        );
        // The night the clocks go forward (02:00 → 03:00 on 29 March 2026):
        // 03:00 exists, in summer time.
        assert_eq!(
            daily.next_after(datetime!(2026-03-28 12:00 UTC), &tz),
            Some(datetime!(2026-03-29 01:00 UTC))
        );
        // So the run after a Saturday 03:00 run is due 23 hours later.
        let exp = Expectation::Cron(Box::new(daily.clone()));
        assert_eq!(
            exp.due_after(datetime!(2026-03-28 02:00 UTC), &tz),
            Some(datetime!(2026-03-29 01:00 UTC))
        );
        // And back in October (03:00 → 02:00 on 25 October 2026): 25 hours.
        assert_eq!(
            exp.due_after(datetime!(2026-10-24 01:00 UTC), &tz),
            Some(datetime!(2026-10-25 02:00 UTC))
        );
        // A time in the hour that is skipped in March: 02:30 does not
        // exist that night; croner runs it in the gap's place, not a day late.
        let half_past_two = CronSchedule::parse("30 2 * * *").unwrap();
        let next = half_past_two
            .next_after(datetime!(2026-03-28 12:00 UTC), &tz)
            .unwrap();
        assert!(
            next < datetime!(2026-03-29 12:00 UTC),
            "not skipped to the next day: {next}"
        );
    }

    #[test]
    fn every_is_a_fixed_interval_from_the_last_start() {
        let exp = Expectation::Every(Duration::hours(24));
        let tz = berlin();
        assert_eq!(
            exp.due_after(datetime!(2026-03-28 02:00 UTC), &tz),
            Some(datetime!(2026-03-29 02:00 UTC))
        );
        assert_eq!(
            exp.interval(datetime!(2026-03-28 02:00 UTC), &tz),
            Duration::DAY
        );
        let hourly = Expectation::Cron(Box::new(CronSchedule::parse("@hourly").unwrap()));
        assert_eq!(
            hourly.interval(datetime!(2026-03-28 02:10 UTC), &tz),
            Duration::HOUR
        );
    }

    #[test]
    fn the_zone_of_a_tz_rule_keeps_its_daylight_saving() {
        // A POSIX rule needs no zoneinfo database.
        let tz = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let daily = CronSchedule::parse("0 3 * * *").unwrap();
        assert_eq!(
            daily.next_after(datetime!(2026-07-01 12:00 UTC), &tz),
            Some(datetime!(2026-07-02 01:00 UTC))
        );
    }

    #[test]
    fn a_bad_expression_says_what_to_write() {
        for bad in ["0 3 * *", "61 * * * *", "0 3 * * * *", "tomorrow", ""] {
            let err = CronSchedule::parse(bad).unwrap_err();
            assert!(err.contains("is not a cron expression"), "{bad}: {err}");
            assert!(err.contains("`0 3 * * *`"), "{bad}: {err}");
        }
        assert_eq!(
            CronSchedule::parse(" 0 3 * * MON-FRI ")
                .unwrap()
                .to_string(),
            "0 3 * * MON-FRI"
        );
    }
}
