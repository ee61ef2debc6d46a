//! The command line as users run it: `check`, `init`, `backup`, and the serve banner.

use std::process::Command;

#[path = "support/process.rs"]
mod process;

use process::{Trophyd, BIN};

fn run(args: &[&str], dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("TROPHYD_LISTEN")
        .output()
        .expect("run trophyd");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn init_writes_the_example_once_and_check_accepts_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _) = run(&["init", "trophy.toml"], dir.path());
    assert_eq!(code, 0);
    let written = std::fs::read_to_string(dir.path().join("trophy.toml")).expect("written");
    assert_eq!(written, trophyd::config::EXAMPLE_CONFIG);
    let (code, text) = run(&["init", "trophy.toml"], dir.path());
    assert_eq!(code, 1, "init must refuse to overwrite: {text}");
    assert!(text.contains("already exists"));
    let (code, text) = run(&["check", "--config", "trophy.toml"], dir.path());
    assert_eq!(code, 0, "{text}");
    // Without --config, ./trophy.toml is picked up.
    let (code, text) = run(&["check"], dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("trophy.toml: ok"), "{text}");
}

#[test]
fn check_reports_every_problem_with_its_line_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = "[server]\nbogus = 1\ndurability = \"sometimes\"\n\n[[metrics]]\nkey = \"lessons\"\nname = \"Lessons\"\n\n[[achievements]]\nkey = \"a\"\nname = \"A\"\ntrigger = \"metric\"\nmetric = \"nope\"\nmetric_value = 1\n";
    std::fs::write(dir.path().join("bad.toml"), config).expect("write");
    let (code, text) = run(&["check", "--config", "bad.toml"], dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("bad.toml:2:"),
        "unknown key on line 2: {text}"
    );
    assert!(text.contains("bogus"), "{text}");
    assert!(text.contains("bad.toml:3:"), "bad enum on line 3: {text}");
    assert!(
        text.contains("bad.toml:13:"),
        "bad reference on line 13: {text}"
    );
}

#[test]
fn check_reads_the_files_notifications_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = "[emails]\nsmtp_url = \"smtp://127.0.0.1:2525\"\nfrom = \"a@acme.test\"\n\n[emails.achievement]\ntext_template = \"achievement.txt\"\n\n[push.fcm]\nservice_account_file = \"fcm.json\"\n";
    std::fs::write(dir.path().join("trophy.toml"), config).expect("write");
    std::fs::write(dir.path().join("achievement.txt"), "Hi {{ user.name }").expect("write");
    let (code, text) = run(&["check"], dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("achievement.txt"),
        "the template is named: {text}"
    );
    std::fs::write(dir.path().join("achievement.txt"), "Hi {{ user.name }}").expect("write");
    let (code, text) = run(&["check"], dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("fcm.json"),
        "the missing key file is named: {text}"
    );
}

#[test]
fn serve_prints_the_address_first_then_generated_keys_and_backup_copies_the_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("trophy.db");
    let server = Trophyd::start(|c| {
        c.arg("--data").arg(&db).current_dir(dir.path());
    });
    let port: u16 = server
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert!(port > 0);
    let keys = [server.next_line(), server.next_line()];
    assert!(
        keys[0].contains("application API key") && keys[0].contains("tr_live_"),
        "{keys:?}"
    );
    assert!(
        keys[1].contains("admin API key") && keys[1].contains("tr_admin_"),
        "{keys:?}"
    );
    // Only the hash is stored, never the key itself.
    let app_key = keys[0].rsplit(' ').next().expect("key").to_owned();
    let raw = std::fs::read(&db).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&raw).contains(&app_key));

    let copy = dir.path().join("copy.db");
    let (code, text) = run(
        &[
            "backup",
            "--data",
            db.to_str().expect("path"),
            copy.to_str().expect("path"),
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{text}");
    let conn = rusqlite::Connection::open(&copy).expect("open copy");
    let keys_stored: i64 = conn
        .query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0))
        .expect("count");
    assert_eq!(keys_stored, 2);
}

/// A supervisor may send SIGTERM the moment it reads the address; that must be a clean stop
/// (exit 0 with the database checkpointed), not a kill.
#[test]
fn sigterm_right_after_the_listening_line_stops_cleanly() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        // The server still prints its generated keys after the address, while it stops.
        let mut server = Trophyd::start(|c| {
            c.arg("--data")
                .arg(dir.path().join("trophy.db"))
                .current_dir(dir.path());
        });
        let exit = server.terminate();
        assert_eq!(exit.code(), Some(0), "{exit:?}");
        assert!(
            !dir.path().join("trophy.db-wal").exists()
                || std::fs::metadata(dir.path().join("trophy.db-wal"))
                    .map(|m| m.len())
                    .unwrap_or(0)
                    == 0,
            "the WAL was checkpointed at shutdown"
        );
    }
}

/// Under `checkpoints = "external"` (Litestream) the WAL is another process's to checkpoint:
/// after writes and a clean stop it still holds frames, where "self" truncates it.
#[test]
fn external_checkpoints_leave_the_wal_to_litestream_even_at_shutdown() {
    for (mode, wal_kept) in [("external", true), ("self", false)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("trophy.toml");
        std::fs::write(&config, format!("[server]\ncheckpoints = \"{mode}\"\n")).expect("write");
        let mut server = Trophyd::start(|c| {
            c.arg("--config")
                .arg(&config)
                .arg("--data")
                .arg(dir.path().join("trophy.db"))
                .current_dir(dir.path());
        });
        // Startup wrote the schema and the generated keys; give the background checkpointer
        // (self) time to run, so "external" is shown to differ by more than timing.
        std::thread::sleep(std::time::Duration::from_millis(400));
        let exit = server.terminate();
        assert_eq!(exit.code(), Some(0), "{mode}: {exit:?}");
        let wal = std::fs::metadata(dir.path().join("trophy.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
        assert_eq!(
            wal > 0,
            wal_kept,
            "{mode}: WAL of {wal} bytes after a clean stop"
        );
    }
}
