//! `run_due` with fake jobs on a real writer over an in-memory database.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::{DueHints, Job, NextDue, Scheduler};
use crate::catalog::{Catalog, CatalogHandle};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::settings::{ConfigSource, RuntimeSettings};
use crate::writer::{WriteCtx, Writer, WriterEnv};

type Log = Arc<Mutex<Vec<(&'static str, DateTime<Utc>)>>>;

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
}

/// A fake job: records each run as (name, until) and answers with `next(until)`.
struct Fake {
    name: &'static str,
    log: Log,
    next: Box<dyn Fn(DateTime<Utc>) -> NextDue + Send + Sync>,
}

impl Job for Fake {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, _ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        self.log.lock().unwrap().push((self.name, until));
        (self.next)(until)
    }
}

/// Due every `period_seconds` from `first`.
fn periodic(
    name: &'static str,
    first: DateTime<Utc>,
    period_seconds: i64,
    log: &Log,
) -> Arc<dyn Job> {
    let period = Duration::seconds(period_seconds);
    Arc::new(Fake {
        name,
        log: log.clone(),
        next: Box::new(move |until| {
            let mut next = first;
            while next <= until {
                next += period;
            }
            Ok(Some(next))
        }),
    })
}

/// Reports a fixed answer every time.
fn fixed(name: &'static str, answer: Result<Option<DateTime<Utc>>, ()>, log: &Log) -> Arc<dyn Job> {
    let failed = || ApiError::internal("this job always fails");
    Arc::new(Fake {
        name,
        log: log.clone(),
        next: Box::new(move |_| answer.map_err(|()| failed())),
    })
}

fn writer(hints: &DueHints) -> Writer {
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    crate::db::migrate(&mut conn).unwrap();
    let catalog = CatalogHandle::new(Catalog::load(&conn).unwrap());
    let env = WriterEnv {
        clock: Clock::test(t(0)),
        catalog,
        settings: Arc::new(RuntimeSettings::new(Config::default(), ConfigSource::Demo)),
        wake_delivery: Arc::new(tokio::sync::Notify::new()),
        wake_notifications: Arc::new(tokio::sync::Notify::new()),
        due_hints: hints.clone(),
        shared: crate::writer::Shared::default().with(crate::leaderboards::RankIndex::default()),
    };
    Writer::start(conn, env).unwrap().0
}

fn scheduler(jobs: Vec<Arc<dyn Job>>) -> (Scheduler, DueHints) {
    let hints = DueHints::default();
    (Scheduler::new(writer(&hints), hints.clone(), jobs), hints)
}

fn taken(log: &Log) -> Vec<(&'static str, DateTime<Utc>)> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn catch_up_runs_every_job_once_up_to_now() {
    let log = Log::default();
    let (s, _) = scheduler(vec![
        periodic("a", t(-3600), 60, &log),
        periodic("b", t(-7200), 10, &log),
    ]);
    s.run_due(t(0)).await.unwrap();
    assert_eq!(taken(&log), vec![("a", t(0)), ("b", t(0))]);
    // Nothing more is due at the same time.
    s.run_due(t(0)).await.unwrap();
    assert!(taken(&log).is_empty());
}

#[tokio::test]
async fn jobs_interleave_in_time_order_each_run_up_to_the_next_others_due_time() {
    let log = Log::default();
    let (s, _) = scheduler(vec![
        periodic("a", t(0), 30, &log),
        periodic("b", t(0), 45, &log),
    ]);
    s.run_due(t(0)).await.unwrap();
    taken(&log);
    // a is due at 30, 60, 90; b at 45, 90.
    s.run_due(t(100)).await.unwrap();
    assert_eq!(
        taken(&log),
        vec![("a", t(45)), ("b", t(60)), ("a", t(90)), ("b", t(100)),]
    );
    assert_eq!(s.next_due().await, Some(t(120)));
}

#[tokio::test]
async fn a_job_claiming_to_be_due_in_the_past_does_not_spin() {
    let log = Log::default();
    let (s, _) = scheduler(vec![
        fixed("stuck", Ok(Some(t(-1))), &log),
        fixed("also-stuck", Ok(Some(t(-1))), &log),
    ]);
    s.run_due(t(0)).await.unwrap();
    assert_eq!(taken(&log).len(), 2);
    tokio::time::timeout(std::time::Duration::from_secs(5), s.run_due(t(86_400)))
        .await
        .expect("run_due finished")
        .unwrap();
    // Each runs once more and is deferred again instead of the two taking turns a
    // millisecond apart across the whole day.
    assert_eq!(
        taken(&log),
        vec![
            ("stuck", t(0) + Duration::milliseconds(1)),
            ("also-stuck", t(86_400))
        ]
    );
}

#[tokio::test]
async fn a_failing_job_does_not_hold_up_the_others() {
    let log = Log::default();
    let (s, _) = scheduler(vec![
        fixed("broken", Err(()), &log),
        periodic("fine", t(0), 60, &log),
    ]);
    assert!(s.run_due(t(0)).await.is_err());
    assert_eq!(taken(&log), vec![("broken", t(0)), ("fine", t(0))]);
    // The broken job stays due, is retried at the next call, and again does not stop
    // the other one.
    assert!(s.run_due(t(120)).await.is_err());
    assert_eq!(taken(&log), vec![("broken", t(60)), ("fine", t(120))]);
}

#[tokio::test]
async fn a_hint_brings_a_job_forward() {
    let log = Log::default();
    let (s, hints) = scheduler(vec![fixed("idle", Ok(None), &log)]);
    s.run_due(t(0)).await.unwrap();
    taken(&log);
    s.run_due(t(60)).await.unwrap();
    assert!(taken(&log).is_empty(), "nothing scheduled");
    hints.due_by("idle", t(90));
    hints.due_by("idle", t(80));
    assert_eq!(s.next_due().await, Some(t(80)));
    s.run_due(t(70)).await.unwrap();
    assert!(taken(&log).is_empty(), "not due yet");
    s.run_due(t(100)).await.unwrap();
    assert_eq!(taken(&log), vec![("idle", t(100))]);
}

/// Runs lent jobs due at each of `times` inside one writer command.
struct Between {
    jobs: super::InlineJobs,
    times: Vec<DateTime<Utc>>,
}

impl crate::writer::Command for Between {
    type Output = super::InlineJobs;

    fn apply(mut self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError> {
        for at in self.times {
            ctx.now = at;
            self.jobs.run_due(ctx, at)?;
        }
        Ok(self.jobs)
    }
}

#[tokio::test]
async fn lent_jobs_run_in_one_command_as_run_due_would_and_come_back() {
    let log = Log::default();
    let hints = DueHints::default();
    let writer = writer(&hints);
    let s = Scheduler::new(
        writer.clone(),
        hints.clone(),
        vec![
            periodic("a", t(0), 30, &log),
            fixed("hinted", Ok(None), &log),
        ],
    );
    s.run_due(t(0)).await.unwrap();
    taken(&log);
    // A hint left while the jobs are lent (by an event of the command, say) is seen at
    // the next step of the same command.
    hints.due_by("hinted", t(50));
    let jobs = s.lend().await;
    let jobs = writer
        .execute(Between {
            jobs,
            times: vec![t(10), t(40), t(70)],
        })
        .await
        .unwrap();
    assert_eq!(
        taken(&log),
        vec![("a", t(40)), ("hinted", t(60)), ("a", t(70))]
    );
    s.resume(jobs).await;
    assert_eq!(s.next_due().await, Some(t(90)));
}
