//! The raw-SQLite reference alone (see `ceiling/mod.rs`):
//!
//!   cargo bench --bench sqlite_ceiling -- [--users N] [--seconds S] [--dir PATH]
//!
//! The load bench runs the same code beside trophyd and prints the ratio.

#[path = "ceiling/mod.rs"]
mod ceiling;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut users = 10_000u64;
    let mut seconds = 10.0f64;
    let mut dir = std::env::temp_dir();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--users" => users = value().parse().unwrap_or(users).max(1),
            "--seconds" => seconds = value().parse().unwrap_or(seconds),
            "--dir" => dir = value().into(),
            _ => {} // cargo's --bench and the like
        }
    }
    let work = dir.join(format!("trophyd-ceiling-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("creating {}: {e}", work.display());
        return ExitCode::FAILURE;
    }
    let result = ceiling::run(&work, users, seconds);
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(c) => {
            println!(
                "raw SQLite ceiling: {users} users, {} events/commit, synchronous=FULL: {:.0} events/s ({} events in {:.1} s)",
                ceiling::EVENTS_PER_COMMIT,
                c.rate(),
                c.events,
                c.elapsed.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ceiling failed: {e}");
            ExitCode::FAILURE
        }
    }
}
