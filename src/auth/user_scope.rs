//! Which users an application-API request acts for, so that a per-user key can be held to
//! its own user (docs/behaviour/api.md#application-keys: anything else
//! is 403). Pure: the middleware hands in
//! the method, path, query and (for writes) the JSON body.

use serde_json::Value;

/// The user ids `path`/`query`/`body` name. Requests that name no user (catalogue reads,
/// leaderboards) name none; a body that is not JSON names none and fails in its handler.
pub fn named_users(method: &str, path: &str, query: &str, body: Option<&Value>) -> Vec<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut out = Vec::new();
    match segments.as_slice() {
        ["v1", "users", id, ..] => out.push(percent_decode(id)),
        ["v1", "users"] if method == "POST" => out.extend(text(body, &["id"])),
        ["v1", "metrics", _, "event"] | ["v1", "achievements", _, "complete"]
            if method == "POST" =>
        {
            out.extend(text(body, &["user", "id"]))
        }
        ["v1", "streaks"] => {
            for pair in query.split('&') {
                if let Some(list) = pair.strip_prefix("userIds=") {
                    out.extend(
                        percent_decode(list)
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    );
                }
            }
        }
        _ => {}
    }
    out
}

/// Whether reading the body is needed to know whom the request acts for.
pub fn needs_body(method: &str, path: &str) -> bool {
    method == "POST"
        && (path.trim_end_matches('/') == "/v1/users"
            || path.ends_with("/event")
            || path.ends_with("/complete"))
}

fn text(body: Option<&Value>, pointer: &[&str]) -> Option<String> {
    let mut v = body?;
    for key in pointer {
        v = v.get(key)?;
    }
    v.as_str().map(str::to_owned)
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_paths_name_their_user_decoded() {
        assert_eq!(
            named_users("GET", "/v1/users/a%20b/metrics", "", None),
            vec!["a b"]
        );
        assert_eq!(
            named_users("GET", "/v1/users/alice/wrapped", "year=2031", None),
            vec!["alice"]
        );
    }

    #[test]
    fn writes_name_the_user_in_their_body() {
        let event = json!({"user": {"id": "bob"}, "value": 1});
        assert_eq!(
            named_users("POST", "/v1/metrics/lessons/event", "", Some(&event)),
            vec!["bob"]
        );
        let create = json!({"id": "carol"});
        assert_eq!(
            named_users("POST", "/v1/users", "", Some(&create)),
            vec!["carol"]
        );
        assert!(named_users("POST", "/v1/metrics/lessons/event", "", None).is_empty());
        assert!(needs_body("POST", "/v1/achievements/x/complete"));
        assert!(!needs_body("GET", "/v1/users/x"));
    }

    #[test]
    fn streak_lists_name_every_user_and_catalogue_reads_none() {
        assert_eq!(
            named_users("GET", "/v1/streaks", "userIds=a,b%2Cc", None),
            vec!["a", "b", "c"]
        );
        assert!(named_users("GET", "/v1/achievements", "", None).is_empty());
        assert!(named_users("GET", "/v1/streaks/rankings", "", None).is_empty());
    }
}
