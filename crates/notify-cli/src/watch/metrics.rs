//! The `[metrics]` textfile (SPEC section 11): written when a run starts
//! and ends, after `send`, `check` and `queue flush`, whatever the task's
//! level (`never` included): it is a side effect of recording runs, not a
//! destination.

use std::cell::OnceCell;

use notify_queue::metrics::{self, TaskMetrics};
use notify_queue::{HistoryStore, Queue, Summary};
use time::OffsetDateTime;

use crate::app::{process, schedule, Env};

/// Writes every `[metrics]` textfile from the task index, under the index's
/// lock (so that concurrent notify processes leave the newest state).
/// A file that cannot be written is a warning; nothing else depends on it.
pub fn write(env: &Env<'_>, now: OffsetDateTime) {
    let config = &env.loaded.config;
    if config.metrics.0.is_empty() {
        return;
    }
    let store = HistoryStore::new(env.data_dir);
    let (failures, warnings) = store.with_index(|index| {
        let running = store.running().0;
        let started = |task: &str| {
            running
                .iter()
                .filter(|e| e.task == task && process::is_running(&e.run))
                .map(|e| e.run.started_at)
                .max()
        };
        // A task whose first run is going on is not in the index yet.
        let mut new: Vec<(String, Summary)> = Vec::new();
        for e in running.iter().filter(|e| !index.contains_key(&e.task)) {
            // Two first runs of one task at once: one series.
            if !new.iter().any(|(t, _)| *t == e.task) {
                new.push((e.task.clone(), Summary::new(e.run.started_at)));
            }
        }
        let tz = OnceCell::new();
        let tasks: Vec<TaskMetrics<'_>> = index
            .iter()
            .chain(new.iter().map(|(t, s)| (t, s)))
            .map(|(task, summary)| {
                let running_since = started(task);
                let settings = config.for_task(task).settings;
                let overdue = settings.expectation().is_some_and(|e| {
                    schedule::due(
                        &e,
                        &settings,
                        summary.last_start.max(running_since),
                        Some(summary.first_seen_at),
                        now,
                        tz.get_or_init(schedule::local_zone),
                    )
                    .is_some_and(|(_, late)| late)
                });
                TaskMetrics {
                    task,
                    summary,
                    overdue,
                    running: running_since.is_some(),
                }
            })
            .collect();
        let text = metrics::render(&tasks, Queue::new(env.data_dir).pending_count());
        config
            .metrics
            .0
            .iter()
            .filter_map(|m| {
                metrics::write_textfile(&m.textfile, &text)
                    .err()
                    .map(|e| (m.textfile.clone(), e))
            })
            .collect::<Vec<_>>()
    });
    for w in warnings {
        env.ui.verbose(&w);
    }
    for (path, e) in failures {
        let hint = if path
            .parent()
            .is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir())
        {
            " (create the directory node_exporter's --collector.textfile.directory names, \
             or point metrics.textfile at it)"
        } else {
            ""
        };
        env.ui.warn(&format!(
            "cannot write the metrics textfile {}: {}{hint}",
            path.display(),
            e.io_error()
        ));
    }
}
