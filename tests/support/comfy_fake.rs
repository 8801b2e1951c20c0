//! A fake ComfyUI server on one port, shared by `tests/comfyui.rs` and the
//! CLI suite: HTTP routes (axum) and the `/ws?clientId=` websocket
//! (tokio-tungstenite), diverted by a listener that peeks at each
//! connection's request line.
//!
//! It checks what the real server checks: the upload's multipart `image`
//! part must have a filename (400 otherwise) and is renamed `<stem> (1).png`
//! as ComfyUI does when the name is taken; `POST /prompt` needs a `prompt`
//! object and a `client_id`, and its `LoadImage.image` must name an
//! uploaded file (400 with `node_errors` otherwise). Execution events go
//! only to the socket whose clientId equals the prompt's `client_id`, mixed
//! with an unknown event type and a binary preview frame.
#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response as WsResponse,
};

/// How the fake's websocket behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsMode {
    /// Events are sent as ComfyUI sends them.
    Events,
    /// The upgrade is refused (404): the client must poll `/history`.
    Refuse,
    /// The socket is closed right after the prompt is queued.
    DropAfterQueue,
    /// The socket stays open and says nothing.
    Silent,
}

/// How a queued prompt ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It renders the PNG.
    Success,
    /// `execution_error` at the KSampler.
    ExecutionError,
    /// It runs forever (until interrupted).
    Hang,
}

/// What a test sets up.
#[derive(Debug, Clone)]
pub struct Script {
    /// The websocket's behaviour.
    pub ws: WsMode,
    /// `POST /prompt`'s answer when not 200: status and body.
    pub prompt_error: Option<(u16, Value)>,
    /// How the prompt ends.
    pub outcome: Outcome,
    /// `GET /history/{id}` answers `{}` this many times after completion.
    pub history_pending_polls: usize,
    /// `GET /object_info`'s answer.
    pub object_info: Value,
    /// The token the server demands as `Authorization: Bearer`, if any.
    pub token: Option<String>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            ws: WsMode::Events,
            prompt_error: None,
            outcome: Outcome::Success,
            history_pending_polls: 0,
            object_info: json!({}),
            token: None,
        }
    }
}

/// One upload as received.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The `image` part's filename.
    pub filename: String,
    /// The `image` part's content type.
    pub content_type: String,
    /// The `image` part's bytes.
    pub bytes: Vec<u8>,
    /// The other fields (`type`, …).
    pub fields: HashMap<String, String>,
    /// The name answered.
    pub name: String,
}

/// What the fake saw and holds.
#[derive(Default)]
pub struct Seen {
    /// Uploads, in order.
    pub uploads: Mutex<Vec<Upload>>,
    /// `POST /prompt` bodies, in order (answered or not).
    pub prompts: Mutex<Vec<Value>>,
    /// clientIds of the websockets opened.
    pub ws_clients: Mutex<Vec<String>>,
    /// `POST /queue` bodies.
    pub queue_posts: Mutex<Vec<Value>>,
    /// `POST /interrupt` bodies.
    pub interrupts: Mutex<Vec<Value>>,
    /// `GET /history/{id}` calls.
    pub history_gets: AtomicUsize,
    /// `GET /view` query strings.
    pub views: Mutex<Vec<HashMap<String, String>>>,
    /// Requests refused for a missing or wrong token.
    pub unauthorized: AtomicUsize,
    sockets: Mutex<HashMap<String, mpsc::UnboundedSender<Message>>>,
    finished: Mutex<HashMap<String, Value>>,
    running: Mutex<Vec<String>>,
    pending: Mutex<HashMap<String, usize>>,
}

struct Shared {
    script: Script,
    seen: Arc<Seen>,
    png: Vec<u8>,
}

/// A running fake.
pub struct Fake {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// What it saw.
    pub seen: Arc<Seen>,
}

/// Starts a fake on a free port (on the current tokio runtime), serving
/// `png` as the render.
pub async fn start(script: Script, png: Vec<u8>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let shared = Arc::new(Shared {
        script,
        seen: Arc::clone(&seen),
        png,
    });
    let app = Router::new()
        .route("/upload/image", post(upload))
        .route("/prompt", post(prompt))
        .route("/history/{id}", get(history))
        .route("/view", get(view))
        .route("/queue", get(queue_get).post(queue_post))
        .route("/interrupt", post(interrupt))
        .route("/object_info", get(object_info_route))
        .with_state(Arc::clone(&shared));
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let diverter = Arc::clone(&shared);
    // Each connection is sorted on its own task, so a slow client never
    // holds up the next one.
    tokio::spawn(async move {
        while let Ok((stream, from)) = listener.accept().await {
            let shared = Arc::clone(&diverter);
            let tx = tx.clone();
            tokio::spawn(async move {
                if is_websocket(&stream).await {
                    serve_socket(stream, shared).await;
                } else {
                    let _ = tx.send((stream, from));
                }
            });
        }
    });
    let listener = Diverting { rx, addr };
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Fake { base, seen }
}

/// Whether the connection's request line is `GET /ws?…` (waits up to 5 s
/// for its first bytes).
async fn is_websocket(stream: &TcpStream) -> bool {
    let mut head = [0u8; 8];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let seen = stream.peek(&mut head).await.unwrap_or(0);
        if seen >= 8 {
            return &head == b"GET /ws?";
        }
        if seen == 0 || tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Hands axum the connections that are not websockets.
struct Diverting {
    rx: mpsc::UnboundedReceiver<(TcpStream, std::net::SocketAddr)>,
    addr: std::net::SocketAddr,
}

impl axum::serve::Listener for Diverting {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (TcpStream, std::net::SocketAddr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The acceptor stopped: wait forever, as a listener with no
            // more connections does.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        Ok(self.addr)
    }
}

// The handshake callback's error type is tungstenite's own response.
#[allow(clippy::result_large_err)]
async fn serve_socket(stream: TcpStream, shared: Arc<Shared>) {
    let client = Arc::new(Mutex::new(None::<String>));
    let found = Arc::clone(&client);
    let refuse = shared.script.ws == WsMode::Refuse;
    let token = shared.script.token.clone();
    let callback = move |req: &Request, resp: WsResponse| -> Result<WsResponse, ErrorResponse> {
        let authorized = token.as_ref().is_none_or(|t| {
            req.headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                == Some(format!("Bearer {t}").as_str())
        });
        if refuse || !authorized || req.headers().contains_key("origin") {
            let mut no = ErrorResponse::new(Some("no websocket here".into()));
            *no.status_mut() = if authorized {
                tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND
            } else {
                tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED
            };
            return Err(no);
        }
        let id = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("clientId="))
            .map(str::to_string);
        *found.lock().unwrap() = id;
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let Some(client_id) = client.lock().unwrap().clone() else {
        return;
    };
    shared
        .seen
        .ws_clients
        .lock()
        .unwrap()
        .push(client_id.clone());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let status = json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id}});
    let _ = ws.send(Message::text(status.to_string())).await;
    shared.seen.sockets.lock().unwrap().insert(client_id, tx);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Message::Close(_)) | None => { let _ = ws.close(None).await; return; }
                Some(m) => if ws.send(m).await.is_err() { return; },
            },
            incoming = ws.next() => if !matches!(incoming, Some(Ok(_))) { return; },
        }
    }
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let ok = shared.script.token.as_ref().is_none_or(|t| {
        headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(format!("Bearer {t}").as_str())
    });
    if !ok {
        shared.seen.unauthorized.fetch_add(1, Ordering::SeqCst);
    }
    ok
}

/// A JSON answer (axum's `json` feature is not enabled in this crate).
struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        (
            [("content-type", "application/json")],
            serde_json::to_vec(&self.0).unwrap_or_default(),
        )
            .into_response()
    }
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, "401: Unauthorized").into_response()
}

/// One part of a multipart body.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: String,
    bytes: Vec<u8>,
}

/// A minimal multipart/form-data reader.
fn parts(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut out = Vec::new();
    let mut rest = body;
    let start = find(rest, d)?;
    rest = &rest[start + d.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(out);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        rest = &rest[head_end + 4..];
        let end = find(rest, d)?;
        let content = rest[..end].strip_suffix(b"\r\n")?.to_vec();
        rest = &rest[end + d.len()..];
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or("");
        let attr = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|kv| kv.strip_prefix(&format!("{key}=\"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        let ctype = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("Content-Type: ")
                    .or_else(|| l.strip_prefix("content-type: "))
            })
            .unwrap_or("")
            .trim()
            .to_string();
        out.push(Part {
            name: attr("name")?,
            filename: attr("filename"),
            content_type: ctype,
            bytes: content,
        });
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn upload(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("multipart/form-data; boundary=") {
        return (StatusCode::BAD_REQUEST, "expected multipart").into_response();
    }
    let Some(parts) = parts(content_type, &body) else {
        return (StatusCode::BAD_REQUEST, "malformed multipart").into_response();
    };
    let mut fields = HashMap::new();
    let mut image = None;
    for part in parts {
        if part.name == "image" {
            image = Some((part.filename, part.content_type, part.bytes));
        } else {
            fields.insert(part.name, String::from_utf8_lossy(&part.bytes).to_string());
        }
    }
    let Some((Some(filename), ctype, bytes)) = image.filter(|(_, _, b)| !b.is_empty()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let stem = filename
        .rsplit_once('.')
        .map_or(filename.as_str(), |(s, _)| s);
    let name = format!("{stem} (1).png");
    shared.seen.uploads.lock().unwrap().push(Upload {
        filename: filename.clone(),
        content_type: ctype,
        bytes,
        fields,
        name: name.clone(),
    });
    Json(json!({"name": name, "subfolder": "", "type": "input"})).into_response()
}

fn send(shared: &Shared, client: &str, message: Message) {
    if shared.script.ws == WsMode::Silent {
        return;
    }
    if let Some(tx) = shared.seen.sockets.lock().unwrap().get(client) {
        let _ = tx.send(message);
    }
}

async fn prompt(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad json").into_response();
    };
    shared.seen.prompts.lock().unwrap().push(body.clone());
    if let Some((status, answer)) = &shared.script.prompt_error {
        return (StatusCode::from_u16(*status).unwrap(), Json(answer.clone())).into_response();
    }
    let (Some(graph), Some(client)) = (
        body.get("prompt").and_then(Value::as_object),
        body.get("client_id").and_then(Value::as_str),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "no prompt", "node_errors": []})),
        )
            .into_response();
    };
    let uploaded: Vec<String> = shared
        .seen
        .uploads
        .lock()
        .unwrap()
        .iter()
        .map(|u| u.name.clone())
        .collect();
    for (id, node) in graph {
        if node["class_type"] == "LoadImage" {
            let image = node["inputs"]["image"].as_str().unwrap_or("");
            if !uploaded.iter().any(|u| u == image) {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({
                        "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}},
                        "node_errors": {id: {"errors": [{"type": "custom_validation_failed", "message": "Failed to validate prompt for output 11", "details": format!("Invalid image file: {image}"), "extra_info": {}}], "dependent_outputs": ["11"], "class_type": "LoadImage"}}
                    })),
                )
                    .into_response();
            }
        }
    }
    let n = shared.seen.prompts.lock().unwrap().len();
    let prompt_id = format!("fake-prompt-{n}");
    let save = graph
        .iter()
        .find(|(_, node)| node["class_type"] == "SaveImage")
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    tokio::spawn(execute(
        Arc::clone(&shared),
        prompt_id.clone(),
        client.to_string(),
        save,
    ));
    Json(json!({"prompt_id": prompt_id, "number": n, "node_errors": {}})).into_response()
}

/// Runs the prompt: events to the client's socket, then the history entry.
async fn execute(shared: Arc<Shared>, id: String, client: String, save: String) {
    // The socket may still be registering.
    for _ in 0..100 {
        if shared.seen.sockets.lock().unwrap().contains_key(&client)
            || shared.script.ws == WsMode::Refuse
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if shared.script.ws == WsMode::DropAfterQueue {
        send(&shared, &client, Message::Close(None));
    }
    shared.seen.running.lock().unwrap().push(id.clone());
    let event =
        |kind: &str, data: Value| Message::text(json!({"type": kind, "data": data}).to_string());
    send(
        &shared,
        &client,
        event("execution_start", json!({"prompt_id": id, "timestamp": 1})),
    );
    // Another client's prompt finishing must not end ours.
    send(
        &shared,
        &client,
        event(
            "executing",
            json!({"node": null, "prompt_id": "someone-else"}),
        ),
    );
    send(
        &shared,
        &client,
        event(
            "executing",
            json!({"node": "9", "display_node": "9", "prompt_id": id}),
        ),
    );
    send(
        &shared,
        &client,
        event("progress_state", json!({"prompt_id": id, "nodes": {}})),
    );
    let mut preview = vec![0, 0, 0, 1, 0, 0, 0, 2];
    preview.extend_from_slice(&shared.png);
    send(&shared, &client, Message::binary(preview));
    send(
        &shared,
        &client,
        event(
            "progress",
            json!({"value": 1, "max": 2, "prompt_id": id, "node": "9"}),
        ),
    );
    let entry = match shared.script.outcome {
        Outcome::Hang => return,
        Outcome::Success => {
            tokio::time::sleep(Duration::from_millis(30)).await;
            send(
                &shared,
                &client,
                event(
                    "executed",
                    json!({"node": save, "prompt_id": id, "output": {"images": [{"filename": "latina_00001_.png", "subfolder": "", "type": "output"}]}}),
                ),
            );
            send(
                &shared,
                &client,
                event("executing", json!({"node": null, "prompt_id": id})),
            );
            send(
                &shared,
                &client,
                event(
                    "execution_success",
                    json!({"prompt_id": id, "timestamp": 2}),
                ),
            );
            json!({
                "prompt": [0, id, {}, {}, [save]],
                "outputs": {save.clone(): {"images": [{"filename": "latina_00001_.png", "subfolder": "", "type": "output"}]}},
                "status": {"status_str": "success", "completed": true, "messages": []}
            })
        }
        Outcome::ExecutionError => {
            let data = json!({"prompt_id": id, "node_id": "9", "node_type": "KSampler", "executed": [], "exception_type": "torch.OutOfMemoryError", "exception_message": "CUDA out of memory. Tried to allocate 2.00 GiB", "traceback": [], "current_inputs": {}, "current_outputs": {}});
            send(&shared, &client, event("execution_error", data.clone()));
            json!({
                "prompt": [0, id, {}, {}, [save]],
                "outputs": {},
                "status": {"status_str": "error", "completed": false, "messages": [["execution_error", data]]}
            })
        }
    };
    shared.seen.running.lock().unwrap().retain(|r| r != &id);
    shared
        .seen
        .pending
        .lock()
        .unwrap()
        .insert(id.clone(), shared.script.history_pending_polls);
    shared.seen.finished.lock().unwrap().insert(id, entry);
}

async fn history(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    shared.seen.history_gets.fetch_add(1, Ordering::SeqCst);
    let mut pending = shared.seen.pending.lock().unwrap();
    if let Some(left) = pending.get_mut(&id)
        && *left > 0
    {
        *left -= 1;
        return Json(json!({})).into_response();
    }
    drop(pending);
    match shared.seen.finished.lock().unwrap().get(&id) {
        Some(entry) => Json(json!({id: entry})).into_response(),
        None => Json(json!({})).into_response(),
    }
}

async fn view(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    shared.seen.views.lock().unwrap().push(query.clone());
    if query.get("filename").map(String::as_str) == Some("latina_00001_.png")
        && query.get("type").map(String::as_str) == Some("output")
    {
        ([("content-type", "image/png")], shared.png.clone()).into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn queue_get(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    let running: Vec<Value> = shared
        .seen
        .running
        .lock()
        .unwrap()
        .iter()
        .map(|id| json!([0, id, {}, {}, ["11"]]))
        .collect();
    Json(json!({"queue_running": running, "queue_pending": []})).into_response()
}

async fn queue_post(AxumState(shared): AxumState<Arc<Shared>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.seen.queue_posts.lock().unwrap().push(body);
    StatusCode::OK.into_response()
}

async fn interrupt(AxumState(shared): AxumState<Arc<Shared>>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(id) = body.get("prompt_id").and_then(Value::as_str) {
        shared.seen.running.lock().unwrap().retain(|r| r != id);
    }
    shared.seen.interrupts.lock().unwrap().push(body);
    StatusCode::OK.into_response()
}

async fn object_info_route(
    AxumState(shared): AxumState<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    Json(shared.script.object_info.clone()).into_response()
}

/// An `/object_info` answer with every class of the shipped workflow and
/// the given checkpoint and ControlNet lists, less the classes in `without`.
pub fn object_info(checkpoints: &[&str], controlnets: &[&str], without: &[&str]) -> Value {
    let mut info = serde_json::Map::new();
    for class in [
        "CheckpointLoaderSimple",
        "LoadImage",
        "VAEEncode",
        "CLIPTextEncode",
        "ControlNetLoader",
        "MiDaS-DepthMapPreprocessor",
        "ControlNetApplyAdvanced",
        "KSampler",
        "VAEDecode",
        "SaveImage",
    ] {
        if !without.contains(&class) {
            info.insert(
                class.into(),
                json!({"input": {"required": {}}, "name": class}),
            );
        }
    }
    if let Some(node) = info.get_mut("CheckpointLoaderSimple") {
        node["input"]["required"]["ckpt_name"] = json!([checkpoints]);
    }
    if let Some(node) = info.get_mut("ControlNetLoader") {
        node["input"]["required"]["control_net_name"] = json!([controlnets]);
    }
    Value::Object(info)
}
