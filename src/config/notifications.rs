//! `[emails]` and `[push]`: the lifecycle messages (achievement, streak reminder, recap,
//! reactivation), and how they leave the server (SMTP, Expo, FCM, APNs).

use std::path::PathBuf;

use super::model::{
    ApnsDef, EmailsConfig, ExpoDef, FcmDef, MessageTemplates, PushConfig, ReactivationDef,
    RecapDef, RecapFrequency, SmtpDef, StreakReminderDef,
};
use super::reader::{Sink, Table};

pub(crate) const EMAILS_KEYS: &[&str] = &[
    "smtp_url",
    "from",
    "public_url",
    "rate_per_second",
    "achievement",
    "streak_reminder",
    "recap",
    "reactivation",
];
const TEMPLATE_KEYS: [&str; 3] = ["subject", "text_template", "html_template"];
pub(crate) const PUSH_KEYS: &[&str] = &["expo", "fcm", "apns"];
const EXPO_KEYS: &[&str] = &["access_token", "url"];
const FCM_KEYS: &[&str] = &["service_account_file", "url"];
const APNS_KEYS: &[&str] = &["key_file", "key_id", "team_id", "bundle_id", "url"];

pub(crate) const RECAP_FREQUENCIES: [(&str, RecapFrequency); 4] = [
    ("daily", RecapFrequency::Daily),
    ("weekly", RecapFrequency::Weekly),
    ("monthly", RecapFrequency::Monthly),
    ("yearly", RecapFrequency::Yearly),
];

pub const DEFAULT_STREAK_REMINDER_HOUR: u32 = 18;
pub const DEFAULT_RECAP_HOUR: u32 = 9;
pub const DEFAULT_REACTIVATION_DAYS: [u32; 4] = [3, 7, 14, 30];
pub const DEFAULT_EMAILS_PER_SECOND: u32 = 10;
/// Reactivation messages a user can be sent in one quiet spell.
pub const MAX_REACTIVATION_STEPS: usize = 10;
pub const MAX_REACTIVATION_DAYS: i64 = 365;
pub const DEFAULT_EXPO_URL: &str = "https://exp.host/--/api/v2/push/send";
pub const DEFAULT_FCM_URL: &str = "https://fcm.googleapis.com";
pub const DEFAULT_APNS_URL: &str = "https://api.push.apple.com";

pub(crate) fn read_emails(root: &Table<'_, '_>, sink: &mut Sink) -> EmailsConfig {
    let mut emails = EmailsConfig::default();
    let Some(t) = root.section(sink, "emails", "[emails]", EMAILS_KEYS) else {
        return emails;
    };
    let smtp_url = t.opt_str(sink, "smtp_url");
    if let Some(url) = smtp_url {
        if let Err(message) = check_smtp_url(url) {
            sink.report(t.value_at("smtp_url"), format!("\"smtp_url\" {message}"));
        }
    }
    let from = t.opt_str(sink, "from");
    if let Some(from) = from {
        if let Err(message) = check_mailbox(from) {
            sink.report(t.value_at("from"), format!("\"from\" {message}"));
        }
    }
    if smtp_url.is_some() && from.is_none() {
        t.missing(sink, "from");
    }
    if smtp_url.is_none() {
        t.only_with(sink, &["from", "rate_per_second"], "\"smtp_url\"");
    }
    let rate_per_second = t
        .opt_u32(sink, "rate_per_second", 1, 10_000)
        .unwrap_or(DEFAULT_EMAILS_PER_SECOND);
    if let (Some(url), Some(from)) = (smtp_url, from) {
        emails.smtp = Some(SmtpDef {
            url: url.to_owned(),
            from: from.to_owned(),
            rate_per_second,
        });
    }
    if let Some(url) = t.opt_str(sink, "public_url") {
        match check_http_url(url) {
            Ok(()) => emails.public_url = Some(url.trim_end_matches('/').to_owned()),
            Err(message) => sink.report(
                t.value_at("public_url"),
                format!("\"public_url\" {message}"),
            ),
        }
    }

    if let Some(m) = t.section(sink, "achievement", "[emails.achievement]", &TEMPLATE_KEYS) {
        emails.achievement = Some(read_templates(&m, sink));
    }
    if let Some(m) = t.section(
        sink,
        "streak_reminder",
        "[emails.streak_reminder]",
        &with_templates(&["local_hour"]),
    ) {
        emails.streak_reminder = Some(StreakReminderDef {
            local_hour: m
                .opt_u32(sink, "local_hour", 0, 23)
                .unwrap_or(DEFAULT_STREAK_REMINDER_HOUR),
            templates: read_templates(&m, sink),
        });
    }
    if let Some(m) = t.section(
        sink,
        "recap",
        "[emails.recap]",
        &with_templates(&["frequency", "local_hour"]),
    ) {
        let frequency = m.req_choice(sink, "frequency", &RECAP_FREQUENCIES);
        let local_hour = m
            .opt_u32(sink, "local_hour", 0, 23)
            .unwrap_or(DEFAULT_RECAP_HOUR);
        let templates = read_templates(&m, sink);
        if let Some(frequency) = frequency {
            emails.recap = Some(RecapDef {
                frequency,
                local_hour,
                templates,
            });
        }
    }
    if let Some(m) = t.section(
        sink,
        "reactivation",
        "[emails.reactivation]",
        &with_templates(&["after_days"]),
    ) {
        let after_days = read_after_days(&m, sink);
        emails.reactivation = Some(ReactivationDef {
            after_days,
            templates: read_templates(&m, sink),
        });
    }
    emails
}

fn with_templates(keys: &[&'static str]) -> Vec<&'static str> {
    keys.iter().chain(TEMPLATE_KEYS.iter()).copied().collect()
}

fn read_templates(t: &Table<'_, '_>, sink: &mut Sink) -> MessageTemplates {
    let subject = t.opt_str(sink, "subject").map(str::to_owned);
    if subject.as_deref().is_some_and(|s| s.trim().is_empty()) {
        sink.report(t.value_at("subject"), "\"subject\" must not be empty");
    }
    let path = |sink: &mut Sink, key: &str| {
        let p = t.opt_str(sink, key)?;
        if p.is_empty() {
            sink.report(t.value_at(key), format!("\"{key}\" must not be empty"));
            return None;
        }
        Some(PathBuf::from(p))
    };
    MessageTemplates {
        subject,
        text_template: path(sink, "text_template"),
        html_template: path(sink, "html_template"),
    }
}

fn read_after_days(t: &Table<'_, '_>, sink: &mut Sink) -> Vec<u32> {
    let Some(listed) = t.opt_int_list(sink, "after_days") else {
        return DEFAULT_REACTIVATION_DAYS.to_vec();
    };
    if listed.is_empty() {
        sink.report(
            t.value_at("after_days"),
            "\"after_days\" is empty: leave out [emails.reactivation] to turn reactivation off",
        );
    }
    if listed.len() > MAX_REACTIVATION_STEPS {
        sink.report(
            t.value_at("after_days"),
            format!("\"after_days\" lists more than {MAX_REACTIVATION_STEPS} days"),
        );
    }
    let mut days = Vec::with_capacity(listed.len());
    for (n, at) in listed {
        if !(1..=MAX_REACTIVATION_DAYS).contains(&n) {
            sink.report(
                at,
                format!("each item of \"after_days\" must be between 1 and {MAX_REACTIVATION_DAYS}, found {n}"),
            );
            continue;
        }
        let n = n as u32;
        if days.last().is_some_and(|&last| last >= n) {
            sink.report(
                at,
                format!(
                    "\"after_days\" must increase: {n} follows {}",
                    days.last().copied().unwrap_or(0)
                ),
            );
            continue;
        }
        days.push(n);
    }
    days
}

pub(crate) fn read_push(root: &Table<'_, '_>, sink: &mut Sink) -> PushConfig {
    let mut push = PushConfig::default();
    let Some(t) = root.section(sink, "push", "[push]", PUSH_KEYS) else {
        return push;
    };
    if let Some(p) = t.section(sink, "expo", "[push.expo]", EXPO_KEYS) {
        let access_token = p.opt_str(sink, "access_token").map(str::to_owned);
        if access_token.as_deref() == Some("") {
            sink.report(
                p.value_at("access_token"),
                "\"access_token\" must not be empty",
            );
        }
        push.expo = Some(ExpoDef {
            access_token,
            url: read_url(&p, sink, DEFAULT_EXPO_URL),
        });
    }
    if let Some(p) = t.section(sink, "fcm", "[push.fcm]", FCM_KEYS) {
        let file = p.req_nonempty(sink, "service_account_file");
        let url = read_url(&p, sink, DEFAULT_FCM_URL);
        if let Some(file) = file {
            push.fcm = Some(FcmDef {
                service_account_file: PathBuf::from(file),
                url,
            });
        }
    }
    if let Some(p) = t.section(sink, "apns", "[push.apns]", APNS_KEYS) {
        let key_file = p.req_nonempty(sink, "key_file");
        let key_id = p.req_nonempty(sink, "key_id");
        let team_id = p.req_nonempty(sink, "team_id");
        let bundle_id = p.req_nonempty(sink, "bundle_id");
        let url = read_url(&p, sink, DEFAULT_APNS_URL);
        if let (Some(key_file), Some(key_id), Some(team_id), Some(bundle_id)) =
            (key_file, key_id, team_id, bundle_id)
        {
            push.apns = Some(ApnsDef {
                key_file: PathBuf::from(key_file),
                key_id: key_id.to_owned(),
                team_id: team_id.to_owned(),
                bundle_id: bundle_id.to_owned(),
                url,
            });
        }
    }
    push
}

fn read_url(t: &Table<'_, '_>, sink: &mut Sink, default: &str) -> String {
    let Some(url) = t.opt_str(sink, "url") else {
        return default.to_owned();
    };
    if let Err(message) = check_http_url(url) {
        sink.report(t.value_at("url"), format!("\"url\" {message}"));
    }
    url.trim_end_matches('/').to_owned()
}

fn check_http_url(url: &str) -> Result<(), String> {
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .ok_or_else(|| format!("must start with http:// or https://, found \"{url}\""))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("has no host".into());
    }
    Ok(())
}

/// `smtp://[user:password@]host[:port]` or `smtps://…`, nothing after the authority.
fn check_smtp_url(url: &str) -> Result<(), String> {
    let rest = ["smtp://", "smtps://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .ok_or_else(|| format!("must start with smtp:// or smtps://, found \"{url}\""))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err("must be smtp[s]://[user:password@]host[:port] with nothing after it".into());
    }
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => (host, Some(port)),
        _ => (host_port, None),
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(format!("has an invalid port \"{port}\""));
        }
    }
    Ok(())
}

/// `Name <local@domain>` or `local@domain`: what an email's From: header needs.
fn check_mailbox(from: &str) -> Result<(), String> {
    let address = match (from.rfind('<'), from.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        (None, None) => from.trim(),
        _ => {
            return Err(format!(
                "must be \"Name <address>\" or \"address\", found \"{from}\""
            ))
        }
    };
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !address.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!("has no valid address: \"{from}\"")),
    }
}
