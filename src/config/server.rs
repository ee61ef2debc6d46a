//! `[server]`, `[auth]` and `[limits]`: how the process runs, as opposed to what it counts.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono_tz::Tz;

use super::keys::parse_api_key;
use super::model::{ApiKey, AuthConfig, Checkpoints, Durability, LimitsConfig, ServerConfig};
use super::reader::{Sink, Table};
use crate::domain::choices::Choice;

pub(crate) const SERVER_KEYS: &[&str] = &[
    "listen",
    "data",
    "multi_tenant",
    "durability",
    "idempotency_ttl_days",
    "default_timezone",
    "metrics_auth",
    "control_ratio",
    "checkpoints",
];

pub(crate) const AUTH_KEYS: &[&str] = &["api_keys", "admin_keys"];

pub(crate) const LIMITS_KEYS: &[&str] = &[
    "events_per_second",
    "reads_per_second",
    "points_changed_window_seconds",
    "leaderboard_changed_window_seconds",
    "leaderboard_rank_changed_window_seconds",
    "writer_queue",
    "body_timeout_ms",
];

pub(crate) fn read_server(root: &Table<'_, '_>, sink: &mut Sink) -> ServerConfig {
    let mut server = ServerConfig::default();
    let Some(t) = root.section(sink, "server", "[server]", SERVER_KEYS) else {
        return server;
    };
    if let Some(listen) = t.opt_str(sink, "listen") {
        match check_listen(listen) {
            Ok(()) => server.listen = listen.to_owned(),
            Err(message) => sink.report(t.value_at("listen"), format!("\"listen\" {message}")),
        }
    }
    if let Some(data) = t.opt_str(sink, "data") {
        if data.is_empty() {
            sink.report(t.value_at("data"), "\"data\" must not be empty");
        }
        server.data = PathBuf::from(data);
    }
    if let Some(multi_tenant) = t.opt_bool(sink, "multi_tenant") {
        server.multi_tenant = multi_tenant;
    }
    if let Some(durability) = t.opt_choice(sink, "durability", Durability::CHOICES) {
        server.durability = durability;
    }
    if let Some(days) = t.opt_u32(sink, "idempotency_ttl_days", 0, u32::MAX) {
        server.idempotency_ttl_days = days;
    }
    if let Some(zone) = t.opt_str(sink, "default_timezone") {
        match parse_timezone(zone) {
            Ok(tz) => server.default_timezone = tz,
            Err(message) => sink.report(t.value_at("default_timezone"), message),
        }
    }
    if let Some(metrics_auth) = t.opt_bool(sink, "metrics_auth") {
        server.metrics_auth = metrics_auth;
    }
    if let Some(ratio) = t.opt_float(sink, "control_ratio") {
        if (0.0..=1.0).contains(&ratio) {
            server.control_ratio = ratio;
        } else {
            sink.report(
                t.value_at("control_ratio"),
                "\"control_ratio\" must be between 0 and 1",
            );
        }
    }
    if let Some(checkpoints) = t.opt_choice(sink, "checkpoints", Checkpoints::CHOICES) {
        server.checkpoints = checkpoints;
    }
    server
}

/// `host:port`: a socket address, or a host name with a port (`localhost:8080`). Port 0 is allowed:
/// it asks the system for a free port, which the tests rely on.
pub(crate) fn check_listen(listen: &str) -> Result<(), String> {
    if listen.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad =
        || format!("must be an address with a port, like \"127.0.0.1:8080\", found \"{listen}\"");
    let (host, port) = listen.rsplit_once(':').ok_or_else(bad)?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if host_ok && port.parse::<u16>().is_ok() {
        Ok(())
    } else {
        Err(bad())
    }
}

pub(crate) fn parse_timezone(zone: &str) -> Result<Tz, String> {
    zone.parse::<Tz>().map_err(|_| {
        format!("unknown time zone \"{zone}\": use an IANA name such as \"Europe/Paris\"")
    })
}

pub(crate) fn read_auth(root: &Table<'_, '_>, sink: &mut Sink) -> AuthConfig {
    let Some(t) = root.section(sink, "auth", "[auth]", AUTH_KEYS) else {
        return AuthConfig::default();
    };
    AuthConfig {
        api_keys: read_keys(&t, sink, "api_keys"),
        admin_keys: read_keys(&t, sink, "admin_keys"),
    }
}

fn read_keys(t: &Table<'_, '_>, sink: &mut Sink, key: &str) -> Vec<ApiKey> {
    let mut keys = Vec::new();
    for (text, at) in t.opt_str_list(sink, key).unwrap_or_default() {
        match parse_api_key(text) {
            Ok(parsed) => keys.push(parsed),
            Err(message) => sink.report(at, message),
        }
    }
    keys
}

pub(crate) fn read_limits(root: &Table<'_, '_>, sink: &mut Sink) -> LimitsConfig {
    let mut limits = LimitsConfig::default();
    let Some(t) = root.section(sink, "limits", "[limits]", LIMITS_KEYS) else {
        return limits;
    };
    let fields: [(&str, &mut u32); 5] = [
        ("events_per_second", &mut limits.events_per_second),
        ("reads_per_second", &mut limits.reads_per_second),
        (
            "points_changed_window_seconds",
            &mut limits.points_changed_window_seconds,
        ),
        (
            "leaderboard_changed_window_seconds",
            &mut limits.leaderboard_changed_window_seconds,
        ),
        (
            "leaderboard_rank_changed_window_seconds",
            &mut limits.leaderboard_rank_changed_window_seconds,
        ),
    ];
    for (key, field) in fields {
        if let Some(n) = t.opt_u32(sink, key, 0, u32::MAX) {
            *field = n;
        }
    }
    if let Some(n) = t.opt_u32(sink, "writer_queue", 1, 1_000_000) {
        limits.writer_queue = n;
    }
    if let Some(n) = t.opt_u32(sink, "body_timeout_ms", 100, 600_000) {
        limits.body_timeout_ms = n;
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_socket_addresses_and_host_names() {
        for good in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::1]:80",
            "localhost:8080",
            "my-host.lan:1",
        ] {
            assert!(check_listen(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "8080",
            "localhost",
            "localhost:http",
            "a b:80",
            ":80",
            "host:70000",
            "::1:80x",
        ] {
            assert!(check_listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(parse_timezone("America/New_York").is_ok());
        assert!(parse_timezone("UTC").is_ok());
        assert!(parse_timezone("Mars/Olympus").is_err());
    }
}
