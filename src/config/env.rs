//! `TROPHYD_*` environment variables, layered over the file (defaults, then TOML, then the
//! environment) so that a container can change deployment settings without editing the file.

use std::path::PathBuf;

use super::keys::parse_api_key;
use super::model::{ApiKey, Config, Durability};
use super::server::{check_listen, parse_timezone};
use crate::domain::choices::Choice;

pub(crate) fn apply(
    config: &mut Config,
    vars: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    // An empty variable counts as unset: compose files often pass `VAR=${VAR}` for optional ones.
    let var = |name: &str| vars(name).filter(|value| !value.trim().is_empty());
    let mut errors = Vec::new();
    let mut next = config.clone();

    if let Some(listen) = var("TROPHYD_LISTEN") {
        match check_listen(&listen) {
            Ok(()) => next.server.listen = listen,
            Err(message) => errors.push(format!("TROPHYD_LISTEN {message}")),
        }
    }
    if let Some(data) = var("TROPHYD_DATA") {
        next.server.data = PathBuf::from(data);
    }
    if let Some(durability) = var("TROPHYD_DURABILITY") {
        match Durability::parse(&durability) {
            Some(chosen) => next.server.durability = chosen,
            None => errors.push(format!(
                "TROPHYD_DURABILITY must be \"full\" or \"normal\", found \"{durability}\""
            )),
        }
    }
    if let Some(multi_tenant) = var("TROPHYD_MULTI_TENANT") {
        match multi_tenant.as_str() {
            "true" => next.server.multi_tenant = true,
            "false" => next.server.multi_tenant = false,
            other => errors.push(format!(
                "TROPHYD_MULTI_TENANT must be \"true\" or \"false\", found \"{other}\""
            )),
        }
    }
    if let Some(zone) = var("TROPHYD_DEFAULT_TIMEZONE") {
        match parse_timezone(&zone) {
            Ok(tz) => next.server.default_timezone = tz,
            Err(message) => errors.push(format!("TROPHYD_DEFAULT_TIMEZONE: {message}")),
        }
    }
    for (name, keys) in [
        ("TROPHYD_API_KEYS", &mut next.auth.api_keys),
        ("TROPHYD_ADMIN_KEYS", &mut next.auth.admin_keys),
    ] {
        if let Some(list) = var(name) {
            match parse_key_list(&list) {
                Ok(parsed) => *keys = parsed,
                Err(message) => errors.push(format!("{name}: {message}")),
            }
        }
    }

    if errors.is_empty() {
        *config = next;
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// Comma-separated, blanks around each key ignored; the same `sha256:` rule as the file.
fn parse_key_list(list: &str) -> Result<Vec<ApiKey>, String> {
    let mut problems = Vec::new();
    let mut keys = Vec::new();
    for (position, key) in list.split(',').map(str::trim).enumerate() {
        if key.is_empty() {
            continue;
        }
        match parse_api_key(key) {
            Ok(parsed) => keys.push(parsed),
            Err(message) => problems.push(format!("key {}: {message}", position + 1)),
        }
    }
    if problems.is_empty() {
        Ok(keys)
    } else {
        Err(problems.join("; "))
    }
}
