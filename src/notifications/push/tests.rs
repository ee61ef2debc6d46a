//! Tests: token shapes, the JWTs (decoded and their signatures verified with the public
//! half of the key), and each provider against a fake server on 127.0.0.1 that records
//! every request: plain HTTP/1.1 for Expo and FCM (and Google's token endpoint), HTTP/2
//! cleartext with prior knowledge for APNs, which speaks nothing else.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256,
};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{jwt, provider_for, Provider, Push, PushMessage, PushOutcome};
use crate::config::{ApnsDef, ExpoDef, FcmDef, PushConfig};

/// A 2048-bit RSA key made with `openssl genpkey -algorithm RSA -pkeyopt
/// rsa_keygen_bits:2048`, for tests only (ring cannot generate RSA keys).
const RSA_TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCowQelqecvLid6
btw3bBRFYxD8ulRvNBwwlabRpqd46oNQZMRTRelEHVp/3JX5BQiad5LK1XV2KrDk
Q+YunyXqevGIncJmD3XrhoRJNWwoCY9Jt0bLTbm1Yu63SzxsLB4Lk12P36LnWB6I
ifjyUWn1ggCjzJwfD3WS6rANYPVVd+tbQGrbh93XiZbNBharXvPlFFrLgkLQLmsZ
wl53iStX2+X8ixNbvAY/fQJOHm19gBjDe/+uZ57zKVg6ED8ZCgpvvfjhGAQXXNO2
BTcgNLv1p3M818/Q5o2wcwLEASO7dCcaBzoVw4cm/Adh7RGKfT4RQbMkIpP0dOnc
9FZmWx43AgMBAAECggEASkfZZV8Bv59JylclARJGY/qE3jHoe6CM7gfZi7wXSJ61
mXwZfOwvjwd6sAB5VUkVbeTHTRgjoZWOEpQerJPqHSnrym5ixQj2J2upLA5jYsY+
d7zAYTn/zitTl4P6/0R2HzNJQky2yK1dl01gMs2KXgJQ5MjqSbPE1ZwPTXxJ0UoG
MSzqKSQBOse1A/Uw+FXwdI2z4XWtnFQghF+R8kvsI6vJPQq4Eeg1GNnwuluo8P3d
uQUY6eepQ2uVFgsYOAOYSm4ZjJSvuYL9GoiT2G6QnCygm9gvC8V8AXLaKQ2JkkWr
E84RQRTLFWYkfqrmXxUgHjYYS7uq3aK2gYd9uCl0rQKBgQDaN3PaQs/Q+VEu12Ri
TqlWxr78foQJDCjKhZZw27OJ/pmkmhp75bhLW6xEQ4MIlj7fYLePHyDoxXOEi+U2
V3VMu2v6GzT1dBLgoQByAS9ddu/ZZCNeYaXla5ECEXcn6Vdy+m2O9zbWcN0ceDPN
B3XWr2EatUxa42ljagueIl3JSwKBgQDF+SBUkhRchDENGDVWVbMXQ4Yo2qgb+YuA
THeEJfahNvgn/OoPuUdo1ERy1p9kzw5weUdKh29mCfUPcD3xYoavmlwRUrFPUg1U
GGFfuC2VGb+PBAa/kqEnSW6gqmCbOwspGYG+MFQmpOKNLQpPtzowfNcAl3IaS/74
p2Z5gEZ3RQKBgQCmB9sWDg+gqJGkWi3+vmsJo15dLsW3PJEsxkeYxxDrxdOQ8c+E
xVxbufxwVA220tozi5seQkj/0nv6NZbIqfKN12xod5rrxs02LEnydARd0MjdVtuy
TAm1bQp/0Fog++GVkgUZ6e7HakhSCQMg1LRMDFSNxbO605y0D1OXlf5V0QKBgC+L
S9tjlaY+TPVjGfQY8sCkg8St9m95d6ohMxa2c0t2QxR/ZcrO6Tpgt+uIZZE1NLeI
OLnKWtN7krHZd9bPnZ7wiCnU3SY6g17t1/y/45qKK3nyMpixYyhnNz04jajZ/i0p
pgIB40PAl3PmHDLWww+/+3Z16H4uQBaBRVfqmYGtAoGAPJVteEt64BuJDcYLfHnL
eEa67oE7helFfGNdoG3+veY039L3TBEiLDdu2OVXRFjcNmTNBLBnJ//TNjM6Heqa
wzN9RCTK3Y2Jq9Zq92y87VF+76plw0Umsr3ZahCq1zwtxfmz7s6fP2YtJRdqTAU1
GAWsr6N4019M/mO2dIHYAvk=
-----END PRIVATE KEY-----
";

const APNS_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const EXPO_TOKEN: &str = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]";
const FCM_TOKEN: &str = "fcm-token:APA91bHun4MxP5egoKMwt2KZFBaFUH";

fn message() -> PushMessage {
    PushMessage {
        title: "Achievement unlocked".into(),
        body: "You earned \"First steps\"".into(),
        data: json!({"kind": "achievement", "id": "first-steps"}),
    }
}

// ---------------------------------------------------------------- token shapes

#[test]
fn provider_for_reads_the_token_shape() {
    assert_eq!(provider_for(EXPO_TOKEN), Some(Provider::Expo));
    assert_eq!(provider_for("ExpoPushToken[abc]"), Some(Provider::Expo));
    assert_eq!(provider_for(APNS_TOKEN), Some(Provider::Apns));
    assert_eq!(
        provider_for(&APNS_TOKEN.to_uppercase()),
        Some(Provider::Apns)
    );
    // 63 and 65 hex digits, and 64 characters that are not all hex: FCM.
    assert_eq!(provider_for(&APNS_TOKEN[1..]), Some(Provider::Fcm));
    assert_eq!(provider_for(&format!("{APNS_TOKEN}0")), Some(Provider::Fcm));
    assert_eq!(
        provider_for(&format!("{}g", &APNS_TOKEN[1..])),
        Some(Provider::Fcm)
    );
    // An Expo prefix without the closing bracket is not an Expo token.
    assert_eq!(provider_for("ExponentPushToken[abc"), Some(Provider::Fcm));
    assert_eq!(provider_for(FCM_TOKEN), Some(Provider::Fcm));
    assert_eq!(provider_for(""), None);
    assert_eq!(provider_for(&"a".repeat(4096)), Some(Provider::Fcm));
    assert_eq!(provider_for(&"a".repeat(4097)), None);
    // The limit is in characters, not bytes.
    assert_eq!(provider_for(&"é".repeat(4096)), Some(Provider::Fcm));
    assert_eq!(provider_for(&"é".repeat(4097)), None);
}

// ---------------------------------------------------------------- keys and JWTs

fn pem(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn ec_test_key_pem() -> String {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    pem("PRIVATE KEY", pkcs8.as_ref())
}

/// The header and claims of a JWT, checking its signature with `verify`.
fn decode_jwt(token: &str, verify: impl Fn(&[u8], &[u8]) -> bool) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);
    assert!(verify(signed.as_bytes(), &signature), "bad signature");
    // A changed claim no longer verifies.
    let forged = format!(
        "{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(b"{\"iss\":\"x\"}")
    );
    assert!(
        !verify(forged.as_bytes(), &signature),
        "forged claims verify"
    );
    (header, claims)
}

fn rs256_verifier(key_pem: &str) -> impl Fn(&[u8], &[u8]) -> bool {
    let key = jwt::rsa_key(key_pem).unwrap();
    let public = key.public().as_ref().to_vec();
    move |signed, signature| {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
            .verify(signed, signature)
            .is_ok()
    }
}

fn es256_verifier(key_pem: &str) -> impl Fn(&[u8], &[u8]) -> bool {
    let key = jwt::ec_key(key_pem).unwrap();
    let public = key.public_key().as_ref().to_vec();
    move |signed, signature| {
        signature.len() == 64
            && UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
                .verify(signed, signature)
                .is_ok()
    }
}

#[test]
fn pem_decoding() {
    let der = jwt::pem_to_der("junk\n-----BEGIN X-----\nAAEC\nAw==\n-----END X-----\n").unwrap();
    assert_eq!(der, vec![0, 1, 2, 3]);
    assert!(jwt::pem_to_der("AAECAw==").is_err());
    assert!(jwt::pem_to_der("-----BEGIN X-----\nAAECAw==\n").is_err());
    assert!(jwt::pem_to_der("-----BEGIN X-----\n-----END X-----\n").is_err());
    assert!(jwt::pem_to_der("-----BEGIN X-----\n*not base64*\n-----END X-----\n").is_err());
    // Keys of the wrong kind are refused, not misused.
    assert!(jwt::ec_key(RSA_TEST_KEY).is_err());
    assert!(jwt::rsa_key(&ec_test_key_pem()).is_err());
    assert!(
        jwt::rsa_key("-----BEGIN PRIVATE KEY-----\nAAECAw==\n-----END PRIVATE KEY-----").is_err()
    );
}

#[test]
fn rs256_jwt_has_the_claims_and_verifies() {
    let key = jwt::rsa_key(RSA_TEST_KEY).unwrap();
    let claims = json!({"iss": "a@b.c", "aud": "https://x/token", "iat": 10, "exp": 3610});
    let token = jwt::rs256(&key, &claims).unwrap();
    let (header, decoded) = decode_jwt(&token, rs256_verifier(RSA_TEST_KEY));
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(decoded, claims);
}

#[test]
fn es256_jwt_has_the_claims_and_verifies() {
    let key_pem = ec_test_key_pem();
    let key = jwt::ec_key(&key_pem).unwrap();
    let claims = json!({"iss": "TEAM123", "iat": 1_700_000_000});
    let token = jwt::es256(&key, "KEY123", &claims).unwrap();
    let (header, decoded) = decode_jwt(&token, es256_verifier(&key_pem));
    assert_eq!(header, json!({"alg": "ES256", "kid": "KEY123"}));
    assert_eq!(decoded, claims);
    // Another key's public half does not verify it.
    let (other, _) = (ec_test_key_pem(), ());
    let verify_other = es256_verifier(&other);
    let parts: Vec<&str> = token.rsplitn(2, '.').collect();
    let signature = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
    assert!(!verify_other(parts[1].as_bytes(), &signature));
}

// ---------------------------------------------------------------- fake servers

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Names lowercased.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The fields of a form-encoded body.
    fn form(&self) -> HashMap<String, String> {
        std::str::from_utf8(&self.body)
            .unwrap()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect()
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A status and a JSON body.
type Reply = (u16, String);
type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

struct Fake {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Fake {
    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

/// Replies from `replies` in turn, the last one again once they run out.
fn scripted(replies: Vec<(u16, Value)>) -> Handler {
    let replies = Mutex::new(replies);
    Arc::new(move |_| {
        let mut replies = replies.lock().unwrap();
        let (status, body) = if replies.len() > 1 {
            replies.remove(0)
        } else {
            replies[0].clone()
        };
        (status, body.to_string())
    })
}

async fn fake_server(h2c: bool, handler: Handler) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (handler, log) = (handler.clone(), log.clone());
            if h2c {
                tokio::spawn(serve_h2c(socket, handler, log));
            } else {
                tokio::spawn(serve_http1(socket, handler, log));
            }
        }
    });
    Fake { url, requests }
}

/// One HTTP/1.1 request per connection, answered with `connection: close`.
async fn serve_http1(mut socket: TcpStream, handler: Handler, log: Arc<Mutex<Vec<Request>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    let (status, reply) = handler(&request);
    log.lock().unwrap().push(request);
    let answer = format!(
        "HTTP/1.1 {status} Fake\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
    let _ = socket.write_all(answer.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// HTTP/2 without TLS, prior knowledge: the client's first bytes are the h2 preface.
async fn serve_h2c(socket: TcpStream, handler: Handler, log: Arc<Mutex<Vec<Request>>>) {
    let Ok(mut connection) = h2::server::handshake(socket).await else {
        return;
    };
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        let (handler, log) = (handler.clone(), log.clone());
        // Streams only progress while `accept` polls the connection: each runs apart.
        tokio::spawn(async move {
            let (parts, mut body) = request.into_parts();
            let mut bytes = Vec::new();
            while let Some(Ok(data)) = body.data().await {
                let _ = body.flow_control().release_capacity(data.len());
                bytes.extend_from_slice(&data);
            }
            let request = Request {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                headers: parts
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect(),
                body: bytes,
            };
            let (status, reply) = handler(&request);
            log.lock().unwrap().push(request);
            let response = ::http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(())
                .unwrap();
            let mut stream = respond.send_response(response, false).unwrap();
            stream.send_data(bytes::Bytes::from(reply), true).unwrap();
        });
    }
}

fn user_agent_ok(request: &Request) -> bool {
    request.header("user-agent") == concat!("trophyd/", env!("CARGO_PKG_VERSION"))
}

// ---------------------------------------------------------------- configuration

#[test]
fn push_is_shareable_between_tasks() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Push>();
    let push = Push::new(&PushConfig::default()).unwrap();
    assert_eq!(
        format!("{push:?}"),
        "Push { expo: false, fcm: false, apns: false }"
    );
}

#[tokio::test]
async fn nothing_configured_sends_nothing() {
    let push = Push::new(&PushConfig::default()).unwrap();
    for token in [EXPO_TOKEN, FCM_TOKEN, APNS_TOKEN, ""] {
        assert!(!push.can_send(token));
        assert!(matches!(
            push.send(token, &message()).await,
            PushOutcome::Failed(_)
        ));
    }
}

#[test]
fn bad_key_files_are_named() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing.json");
    let fcm = |file: &PathBuf| PushConfig {
        fcm: Some(FcmDef {
            service_account_file: file.clone(),
            url: "http://127.0.0.1:9".into(),
        }),
        ..PushConfig::default()
    };
    let apns = |file: &PathBuf| PushConfig {
        apns: Some(ApnsDef {
            key_file: file.clone(),
            key_id: "K".into(),
            team_id: "T".into(),
            bundle_id: "b".into(),
            url: "http://127.0.0.1:9".into(),
        }),
        ..PushConfig::default()
    };
    let error = |config: PushConfig| Push::new(&config).err().unwrap();

    let e = error(fcm(&missing));
    assert!(e.contains("missing.json"), "{e}");
    let e = error(apns(&missing));
    assert!(e.contains("missing.json"), "{e}");

    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "{").unwrap();
    let e = error(fcm(&not_json));
    assert!(
        e.contains("not.json") && e.contains("service account"),
        "{e}"
    );

    let no_key = dir.path().join("nokey.json");
    std::fs::write(
        &no_key,
        json!({"project_id": "p", "client_email": "e"}).to_string(),
    )
    .unwrap();
    let e = error(fcm(&no_key));
    assert!(e.contains("nokey.json") && e.contains("private_key"), "{e}");

    let ec_in_fcm = dir.path().join("ec.json");
    let account = json!({"project_id": "p", "client_email": "e", "private_key": ec_test_key_pem()});
    std::fs::write(&ec_in_fcm, account.to_string()).unwrap();
    let e = error(fcm(&ec_in_fcm));
    assert!(e.contains("ec.json") && e.contains("RSA"), "{e}");

    let rsa_p8 = dir.path().join("AuthKey.p8");
    std::fs::write(&rsa_p8, RSA_TEST_KEY).unwrap();
    let e = error(apns(&rsa_p8));
    assert!(e.contains("AuthKey.p8") && e.contains("P-256"), "{e}");
}

// ---------------------------------------------------------------- Expo

async fn expo_push(fake: &Fake, access_token: Option<&str>) -> Push {
    Push::new(&PushConfig {
        expo: Some(ExpoDef {
            access_token: access_token.map(str::to_string),
            url: format!("{}/--/api/v2/push/send", fake.url),
        }),
        ..PushConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn expo_sends_the_message() {
    let ok = json!({"data": [{"status": "ok", "id": "XXXX-XXXX"}]});
    let fake = fake_server(false, scripted(vec![(200, ok)])).await;
    let push = expo_push(&fake, Some("expo-secret")).await;
    assert!(push.can_send(EXPO_TOKEN));
    assert!(!push.can_send(FCM_TOKEN));

    assert_eq!(push.send(EXPO_TOKEN, &message()).await, PushOutcome::Sent);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/--/api/v2/push/send");
    assert_eq!(request.header("authorization"), "Bearer expo-secret");
    assert_eq!(request.header("accept"), "application/json");
    assert_eq!(request.header("content-type"), "application/json");
    assert!(user_agent_ok(request), "{:?}", request.headers);
    assert_eq!(
        request.json(),
        json!([{
            "to": EXPO_TOKEN,
            "title": "Achievement unlocked",
            "body": "You earned \"First steps\"",
            "data": {"kind": "achievement", "id": "first-steps"},
            "sound": "default",
        }])
    );

    // Without an access token, no authorization header.
    let push = expo_push(&fake, None).await;
    assert_eq!(push.send(EXPO_TOKEN, &message()).await, PushOutcome::Sent);
    assert!(!fake.requests()[1].headers.contains_key("authorization"));
}

fn ticket_error(code: &str) -> (u16, Value) {
    (
        200,
        json!({"data": [{
            "status": "error",
            "message": "\"ExponentPushToken[xxx]\" is not a registered push notification recipient",
            "details": {"error": code},
        }]}),
    )
}

#[tokio::test]
async fn expo_answers_become_outcomes() {
    let fake = fake_server(
        false,
        scripted(vec![
            ticket_error("DeviceNotRegistered"),
            ticket_error("MessageRateExceeded"),
            ticket_error("MessageTooBig"),
            ticket_error("InvalidCredentials"),
            (500, json!({"errors": [{"code": "INTERNAL_SERVER_ERROR"}]})),
            (429, json!({"errors": [{"code": "TOO_MANY_REQUESTS"}]})),
            (400, json!({"errors": [{"code": "VALIDATION_ERROR"}]})),
            (200, json!({"unexpected": true})),
        ]),
    )
    .await;
    let push = expo_push(&fake, None).await;
    let outcomes = send_each(&push, EXPO_TOKEN, 8).await;
    assert_eq!(
        variants(&outcomes),
        ["invalid", "retry", "failed", "failed", "retry", "retry", "failed", "retry"],
        "{outcomes:?}"
    );
    assert!(
        reason(&outcomes[0]).contains("DeviceNotRegistered"),
        "{outcomes:?}"
    );
    assert!(reason(&outcomes[4]).contains("500"), "{outcomes:?}");
}

#[tokio::test]
async fn unreachable_provider_is_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let push = Push::new(&PushConfig {
        expo: Some(ExpoDef {
            access_token: None,
            url,
        }),
        ..PushConfig::default()
    })
    .unwrap();
    let outcome = push.send(EXPO_TOKEN, &message()).await;
    assert!(matches!(outcome, PushOutcome::Retry(_)), "{outcome:?}");
}

#[tokio::test]
async fn an_endless_answer_is_cut_and_a_bad_header_is_not_retried() {
    // 1 MiB of JSON: read up to the bound, so it no longer parses; an unreadable ticket.
    let huge = json!({"data": [{"status": "ok", "id": "x".repeat(1 << 20)}]});
    let fake = fake_server(false, scripted(vec![(200, huge)])).await;
    let push = expo_push(&fake, None).await;
    let outcome = push.send(EXPO_TOKEN, &message()).await;
    assert!(matches!(outcome, PushOutcome::Retry(_)), "{outcome:?}");

    // An access token that cannot be a header value never will be.
    let push = expo_push(&fake, Some("bad\ntoken")).await;
    let outcome = push.send(EXPO_TOKEN, &message()).await;
    assert!(matches!(outcome, PushOutcome::Failed(_)), "{outcome:?}");
    assert_eq!(fake.requests().len(), 1);
}

// ---------------------------------------------------------------- FCM

const FCM_SEND_PATH: &str = "/v1/projects/proj-1/messages:send";

/// A fake Google: `/token` hands out `ya29.fake-<n>`, the send path answers `send`.
async fn fake_google(token_status: u16, send: Handler) -> Fake {
    let issued = Mutex::new(0);
    let handler: Handler = Arc::new(move |request| {
        if request.path == "/token" {
            let mut issued = issued.lock().unwrap();
            *issued += 1;
            if token_status != 200 {
                return (token_status, json!({"error": "unavailable"}).to_string());
            }
            let body = json!({
                "access_token": format!("ya29.fake-{issued}"),
                "expires_in": 3599,
                "token_type": "Bearer",
            });
            (200, body.to_string())
        } else {
            send(request)
        }
    });
    fake_server(false, handler).await
}

fn fcm_push(fake: &Fake, dir: &TempDir) -> Push {
    let file = dir.path().join("service-account.json");
    let account = json!({
        "type": "service_account",
        "project_id": "proj-1",
        "private_key_id": "0123",
        "private_key": RSA_TEST_KEY,
        "client_email": "push@proj-1.iam.gserviceaccount.com",
        "token_uri": format!("{}/token", fake.url),
    });
    std::fs::write(&file, account.to_string()).unwrap();
    Push::new(&PushConfig {
        fcm: Some(FcmDef {
            service_account_file: file,
            url: fake.url.clone(),
        }),
        ..PushConfig::default()
    })
    .unwrap()
}

fn fcm_error(status: u16, rpc_status: &str, message: &str, code: Option<&str>) -> (u16, Value) {
    let details = match code {
        Some(code) => json!([{
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": code,
        }]),
        None => json!([]),
    };
    (
        status,
        json!({"error": {"code": status, "message": message, "status": rpc_status, "details": details}}),
    )
}

#[tokio::test]
async fn fcm_gets_an_access_token_and_sends() {
    let dir = TempDir::new().unwrap();
    let sent = json!({"name": "projects/proj-1/messages/0:1500415314455276%31bd1c96"});
    let fake = fake_google(200, scripted(vec![(200, sent)])).await;
    let push = fcm_push(&fake, &dir);
    assert!(push.can_send(FCM_TOKEN));
    assert!(!push.can_send(APNS_TOKEN));

    let mut message = message();
    message.data = json!({"kind": "achievement", "count": 3});
    assert_eq!(push.send(FCM_TOKEN, &message).await, PushOutcome::Sent);

    // The token request: a form with an RS256 assertion from the service account.
    let token_requests = fake.requests_to("/token");
    assert_eq!(token_requests.len(), 1);
    let request = &token_requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let form = request.form();
    assert_eq!(
        form.get("grant_type").map(String::as_str),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    let (header, claims) = decode_jwt(&form["assertion"], rs256_verifier(RSA_TEST_KEY));
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], "push@proj-1.iam.gserviceaccount.com");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    assert_eq!(claims["aud"], format!("{}/token", fake.url));
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - chrono::Utc::now().timestamp()).abs() < 60);
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600);

    // The send: the access token as bearer, data values as strings.
    let sends = fake.requests_to(FCM_SEND_PATH);
    assert_eq!(sends.len(), 1);
    let request = &sends[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("authorization"), "Bearer ya29.fake-1");
    assert_eq!(request.header("content-type"), "application/json");
    assert!(user_agent_ok(request));
    assert_eq!(
        request.json(),
        json!({"message": {
            "token": FCM_TOKEN,
            "notification": {"title": "Achievement unlocked", "body": "You earned \"First steps\""},
            "data": {"kind": "achievement", "count": "3"},
        }})
    );

    // The access token is cached: a second send (from a clone) asks for none.
    let clone = push.clone();
    assert_eq!(clone.send(FCM_TOKEN, &message).await, PushOutcome::Sent);
    assert_eq!(fake.requests_to("/token").len(), 1);
    let sends = fake.requests_to(FCM_SEND_PATH);
    assert_eq!(sends[1].header("authorization"), "Bearer ya29.fake-1");
}

#[tokio::test]
async fn fcm_answers_become_outcomes() {
    let dir = TempDir::new().unwrap();
    let fake = fake_google(
        200,
        scripted(vec![
            fcm_error(
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                Some("UNREGISTERED"),
            ),
            fcm_error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
                Some("INVALID_ARGUMENT"),
            ),
            fcm_error(
                400,
                "INVALID_ARGUMENT",
                "Invalid value at 'message.data[0].value'",
                Some("INVALID_ARGUMENT"),
            ),
            fcm_error(500, "INTERNAL", "Internal error", Some("INTERNAL")),
            fcm_error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded",
                Some("QUOTA_EXCEEDED"),
            ),
            fcm_error(
                403,
                "PERMISSION_DENIED",
                "SenderId mismatch",
                Some("SENDER_ID_MISMATCH"),
            ),
            fcm_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                None,
            ),
            (200, json!({"name": "projects/proj-1/messages/1"})),
        ]),
    )
    .await;
    let push = fcm_push(&fake, &dir);
    let outcomes = send_each(&push, FCM_TOKEN, 8).await;
    assert_eq!(
        variants(&outcomes),
        ["invalid", "invalid", "failed", "retry", "retry", "failed", "retry", "sent"],
        "{outcomes:?}"
    );
    assert!(reason(&outcomes[3]).contains("500"), "{outcomes:?}");

    // One access token until the 401, then a new one for the last send.
    assert_eq!(fake.requests_to("/token").len(), 2);
    let sends = fake.requests_to(FCM_SEND_PATH);
    assert_eq!(sends[6].header("authorization"), "Bearer ya29.fake-1");
    assert_eq!(sends[7].header("authorization"), "Bearer ya29.fake-2");
}

#[tokio::test]
async fn fcm_token_endpoint_failure_is_retried_without_sending() {
    let dir = TempDir::new().unwrap();
    let fake = fake_google(503, scripted(vec![(200, json!({}))])).await;
    let push = fcm_push(&fake, &dir);
    let outcome = push.send(FCM_TOKEN, &message()).await;
    assert!(
        matches!(&outcome, PushOutcome::Retry(r) if r.contains("access token")),
        "{outcome:?}"
    );
    assert!(fake.requests_to(FCM_SEND_PATH).is_empty());
    // Nothing was cached: the next send asks again.
    push.send(FCM_TOKEN, &message()).await;
    assert_eq!(fake.requests_to("/token").len(), 2);
}

// ---------------------------------------------------------------- APNs

fn apns_push(fake: &Fake, dir: &TempDir, key_pem: &str) -> Push {
    let key_file = dir.path().join("AuthKey_KEY123.p8");
    std::fs::write(&key_file, key_pem).unwrap();
    Push::new(&PushConfig {
        apns: Some(ApnsDef {
            key_file,
            key_id: "KEY123".into(),
            team_id: "TEAM123".into(),
            bundle_id: "com.example.app".into(),
            url: fake.url.clone(),
        }),
        ..PushConfig::default()
    })
    .unwrap()
}

fn apns_reason(status: u16, reason: &str) -> (u16, Value) {
    (status, json!({"reason": reason}))
}

#[tokio::test]
async fn apns_sends_over_h2c_with_a_provider_token() {
    let dir = TempDir::new().unwrap();
    let key_pem = ec_test_key_pem();
    let fake = fake_server(true, scripted(vec![(200, json!({}))])).await;
    let push = apns_push(&fake, &dir, &key_pem);
    assert!(push.can_send(APNS_TOKEN));
    assert!(!push.can_send(EXPO_TOKEN));

    let mut message = message();
    message.data = json!({"kind": "achievement", "aps": "ignored"});
    assert_eq!(push.send(APNS_TOKEN, &message).await, PushOutcome::Sent);
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/3/device/{APNS_TOKEN}"));
    assert_eq!(request.header("apns-topic"), "com.example.app");
    assert_eq!(request.header("apns-push-type"), "alert");
    assert_eq!(request.header("apns-priority"), "10");
    assert!(user_agent_ok(request));
    assert_eq!(
        request.json(),
        json!({
            "aps": {
                "alert": {"title": "Achievement unlocked", "body": "You earned \"First steps\""},
                "sound": "default",
            },
            "kind": "achievement",
        })
    );
    let jwt = request
        .header("authorization")
        .strip_prefix("bearer ")
        .unwrap()
        .to_string();
    let (header, claims) = decode_jwt(&jwt, es256_verifier(&key_pem));
    assert_eq!(header, json!({"alg": "ES256", "kid": "KEY123"}));
    assert_eq!(claims["iss"], "TEAM123");
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - chrono::Utc::now().timestamp()).abs() < 60);

    // The provider token is reused.
    assert_eq!(push.send(APNS_TOKEN, &message).await, PushOutcome::Sent);
    assert_eq!(
        fake.requests()[1].header("authorization"),
        format!("bearer {jwt}")
    );
}

#[tokio::test]
async fn apns_answers_become_outcomes() {
    let dir = TempDir::new().unwrap();
    let fake = fake_server(
        true,
        scripted(vec![
            (
                410,
                json!({"reason": "Unregistered", "timestamp": 1_700_000_000_000_u64}),
            ),
            apns_reason(400, "BadDeviceToken"),
            apns_reason(400, "DeviceTokenNotForTopic"),
            apns_reason(500, "InternalServerError"),
            apns_reason(429, "TooManyRequests"),
            apns_reason(400, "BadTopic"),
            apns_reason(413, "PayloadTooLarge"),
            apns_reason(403, "ExpiredProviderToken"),
            (200, json!({})),
        ]),
    )
    .await;
    let push = apns_push(&fake, &dir, &ec_test_key_pem());
    let outcomes = send_each(&push, APNS_TOKEN, 9).await;
    assert_eq!(
        variants(&outcomes),
        ["invalid", "invalid", "invalid", "retry", "retry", "failed", "failed", "retry", "sent"],
        "{outcomes:?}"
    );
    assert!(
        reason(&outcomes[0]).contains("Unregistered"),
        "{outcomes:?}"
    );
    assert!(reason(&outcomes[3]).contains("500"), "{outcomes:?}");

    // The same provider token until Apple called it expired, then a new one.
    let requests = fake.requests();
    let auth: Vec<&str> = requests.iter().map(|r| r.header("authorization")).collect();
    assert!(auth[..8].iter().all(|a| *a == auth[0]), "{auth:?}");
    assert_ne!(auth[8], auth[7]);
}

#[tokio::test]
async fn apns_payload_over_the_limit_is_not_sent() {
    let dir = TempDir::new().unwrap();
    let fake = fake_server(true, scripted(vec![(200, json!({}))])).await;
    let push = apns_push(&fake, &dir, &ec_test_key_pem());
    let mut message = message();
    message.body = "x".repeat(5000);
    let outcome = push.send(APNS_TOKEN, &message).await;
    assert!(matches!(outcome, PushOutcome::Failed(_)), "{outcome:?}");
    assert!(fake.requests().is_empty());
}

/// The variant of each outcome, to compare a run of sends in one assertion.
/// The outcomes of `n` sends of the test message to `token`, one after the other.
async fn send_each(push: &Push, token: &str, n: usize) -> Vec<PushOutcome> {
    let mut outcomes = Vec::with_capacity(n);
    for _ in 0..n {
        outcomes.push(push.send(token, &message()).await);
    }
    outcomes
}

fn variants(outcomes: &[PushOutcome]) -> Vec<&'static str> {
    outcomes
        .iter()
        .map(|o| match o {
            PushOutcome::Sent => "sent",
            PushOutcome::InvalidToken(_) => "invalid",
            PushOutcome::Retry(_) => "retry",
            PushOutcome::Failed(_) => "failed",
        })
        .collect()
}

fn reason(outcome: &PushOutcome) -> &str {
    match outcome {
        PushOutcome::Sent => "",
        PushOutcome::InvalidToken(r) | PushOutcome::Retry(r) | PushOutcome::Failed(r) => r,
    }
}
