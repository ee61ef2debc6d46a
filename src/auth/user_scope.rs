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
        // A path segment decodes `%XX` only, as actix's router does (`+` is a plus).
        ["v1", "users", id, ..] => out.push(
            percent_encoding::percent_decode_str(id)
                .decode_utf8_lossy()
                .into_owned(),
        ),
        ["v1", "users"] if method == "POST" => out.extend(text(body, &["id"])),
        ["v1", "metrics", _, "event"] | ["v1", "achievements", _, "complete"]
            if method == "POST" =>
        {
            out.extend(text(body, &["user", "id"]))
        }
        // The query decodes as the handler's `web::Query` does (`+` is a space). One
        // that does not parse names no one here and is refused by the handler.
        ["v1", "streaks"] => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(query).unwrap_or_default();
            for (_, list) in pairs.iter().filter(|(k, _)| k == "userIds") {
                out.extend(
                    list.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
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
        // In a path `+` is a plus, as the handler's path extractor reads it: a key for
        // "a b" must not reach "a+b".
        assert_eq!(
            named_users("GET", "/v1/users/a+b/streak", "", None),
            vec!["a+b"]
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
        assert_eq!(
            named_users("GET", "/v1/streaks", "userIds=a+b", None),
            vec!["a b"]
        );
        assert!(named_users("GET", "/v1/achievements", "", None).is_empty());
        assert!(named_users("GET", "/v1/streaks/rankings", "", None).is_empty());
    }
}
