//! ComfyUI's `/ws?clientId=…` websocket: connecting with the same client id
//! as the `POST /prompt` (execution events go only to that socket), and
//! reading events until the prompt ends. Unknown event types and binary
//! frames (previews) are skipped; a socket that closes or breaks is
//! reported as dropped, and the caller falls back to polling `/history`.

use futures_util::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::client::execution_error;
use crate::http::{Secret, redact};

/// An open websocket to the server.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The websocket URL for `base_url` (`http` → `ws`, `https` → `wss`).
pub fn ws_url(base_url: &str, client_id: &str) -> Option<String> {
    let base = base_url.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .map(|r| format!("ws://{r}"))
        .or_else(|| base.strip_prefix("https://").map(|r| format!("wss://{r}")))?;
    Some(format!("{rest}/ws?clientId={client_id}"))
}

/// Opens the websocket within `within`. No `Origin` header is sent
/// (ComfyUI refuses a loopback request whose Origin differs from Host).
///
/// # Errors
/// Why it could not connect, redacted.
pub async fn connect(
    base_url: &str,
    client_id: &str,
    auth: Option<&Secret>,
    within: Duration,
) -> Result<Socket, String> {
    let url = ws_url(base_url, client_id).ok_or("base_url is not http(s)")?;
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(token) = auth {
        let value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| "the token is not a valid header value".to_string())?;
        request.headers_mut().insert("authorization", value);
    }
    match tokio::time::timeout(within, tokio_tungstenite::connect_async(request)).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(redact::scrub(&e.to_string())),
        Err(_) => Err(format!("no answer within {} s", within.as_secs_f64())),
    }
}

/// What one text frame means for the prompt being followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// It started executing (or moved to another node).
    Running,
    /// It finished: `executing` with `node: null`, or `execution_success`.
    Finished,
    /// It failed (`execution_error`) or was interrupted.
    Failed(String),
    /// Anything else: status, progress, another prompt's events, unknown types.
    Other,
}

/// Reads one text frame.
pub fn read_event(text: &str, prompt_id: &str) -> Event {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return Event::Other;
    };
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    let data = message.get("data").cloned().unwrap_or(Value::Null);
    let ours = data.get("prompt_id").and_then(Value::as_str) == Some(prompt_id);
    if !ours {
        return Event::Other;
    }
    match kind {
        "execution_start" | "execution_cached" | "progress" | "executed" => Event::Running,
        "executing" if data.get("node").is_some_and(|n| !n.is_null()) => Event::Running,
        "executing" | "execution_success" => Event::Finished,
        "execution_error" => Event::Failed(execution_error(&data)),
        "execution_interrupted" => {
            let node = data.get("node_type").and_then(Value::as_str).unwrap_or("?");
            Event::Failed(format!(
                "interrupted on the ComfyUI server (at a {node} node)"
            ))
        }
        _ => Event::Other,
    }
}

/// How following a prompt over the socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The prompt finished; its result is in `/history`.
    Finished,
    /// It failed, with why.
    Failed(String),
    /// The socket closed or broke first, with why.
    Dropped(String),
}

/// Reads events until `prompt_id` ends or the socket drops; `running` is
/// called each time the prompt is seen executing.
pub async fn follow(socket: &mut Socket, prompt_id: &str, running: &(dyn Fn() + Sync)) -> End {
    loop {
        match socket.next().await {
            None => return End::Dropped("the websocket closed".into()),
            Some(Err(e)) => return End::Dropped(redact::scrub(&e.to_string())),
            Some(Ok(Message::Close(_))) => {
                return End::Dropped("the server closed the websocket".into());
            }
            Some(Ok(Message::Text(text))) => match read_event(text.as_str(), prompt_id) {
                Event::Finished => return End::Finished,
                Event::Failed(why) => return End::Failed(why),
                Event::Running => running(),
                Event::Other => {}
            },
            // Binary frames are previews; pings are answered by the library.
            Some(Ok(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_follow_the_base_urls_scheme() {
        assert_eq!(
            ws_url("http://127.0.0.1:8188/", "c1").as_deref(),
            Some("ws://127.0.0.1:8188/ws?clientId=c1")
        );
        assert_eq!(
            ws_url("https://gpu.example/comfy", "c1").as_deref(),
            Some("wss://gpu.example/comfy/ws?clientId=c1")
        );
        assert_eq!(ws_url("ftp://x", "c"), None);
    }

    #[test]
    fn events_are_read_for_this_prompt_only_and_unknown_types_are_skipped() {
        let p = "p-1";
        assert_eq!(
            read_event(
                r#"{"type":"status","data":{"status":{"exec_info":{"queue_remaining":1}},"sid":"c"}}"#,
                p
            ),
            Event::Other
        );
        assert_eq!(
            read_event(
                r#"{"type":"executing","data":{"node":"9","prompt_id":"p-1"}}"#,
                p
            ),
            Event::Running
        );
        assert_eq!(
            read_event(
                r#"{"type":"executing","data":{"node":null,"prompt_id":"p-2"}}"#,
                p
            ),
            Event::Other
        );
        assert_eq!(
            read_event(
                r#"{"type":"executing","data":{"node":null,"prompt_id":"p-1"}}"#,
                p
            ),
            Event::Finished
        );
        assert_eq!(
            read_event(
                r#"{"type":"execution_success","data":{"prompt_id":"p-1","timestamp":1}}"#,
                p
            ),
            Event::Finished
        );
        assert_eq!(
            read_event(
                r#"{"type":"progress_state","data":{"prompt_id":"p-1","nodes":{}}}"#,
                p
            ),
            Event::Other
        );
        assert_eq!(read_event("not json", p), Event::Other);
        assert_eq!(
            read_event(
                r#"{"type":"execution_error","data":{"prompt_id":"p-1","node_id":"4","node_type":"CLIPTextEncode","exception_type":"RuntimeError","exception_message":"bad clip"}}"#,
                p
            ),
            Event::Failed(
                "execution failed at node 4 (CLIPTextEncode): RuntimeError: bad clip".into()
            )
        );
        assert!(matches!(
            read_event(r#"{"type":"execution_interrupted","data":{"prompt_id":"p-1","node_id":"9","node_type":"KSampler","executed":[]}}"#, p),
            Event::Failed(m) if m.contains("interrupted")
        ));
    }
}
