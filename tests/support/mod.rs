//! Test support shared by the provider and LLM client suites
//! (`tests/{leonardo,replicate,sdwebui,llm_evolver,http_conformance}.rs`,
//! each with `mod support;`): the photo and render request every suite
//! sends, a fast retry policy, request filters for the fake servers, and a
//! raw TCP server for the faults wiremock cannot play (a dropped
//! connection).
#![allow(dead_code)] // each suite uses a different part

use latina::domain::Params;
use latina::http::HttpPolicy;
use latina::provider::{ProgressFn, RenderRequest, SourcePhoto};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::{MockServer, Request};

/// The test photo (a real JPEG from the fixtures), decoded.
pub fn photo() -> Arc<SourcePhoto> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images/coffee.jpg");
    let bytes = std::fs::read(path).unwrap();
    let rgb = image::load_from_memory(&bytes).unwrap().into_rgb8();
    Arc::new(SourcePhoto::new(
        rgb,
        false,
        bytes,
        image::ImageFormat::Jpeg,
    ))
}

/// The parameters most tests send.
pub fn params() -> Params {
    Params {
        init_strength: 0.35,
        guidance_scale: 8.5,
        controlnet_weight: 0.9,
    }
}

/// A render request for [`photo`] with these prompts and parameters.
pub fn render_request(prompt: &str, negative: &str, params: Params) -> RenderRequest {
    RenderRequest {
        source: photo(),
        params,
        prompt: prompt.into(),
        negative_prompt: negative.into(),
        jpeg_quality: 90,
        cancel: tokio_util::sync::CancellationToken::new(),
    }
}

/// A progress sink that ignores everything.
pub fn no_progress() -> ProgressFn {
    Arc::new(|_| {})
}

/// Fast backoff (20 ms, at most 2 s) and a 5 s deadline per call.
pub fn quick_policy() -> HttpPolicy {
    HttpPolicy {
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..HttpPolicy::default()
    }
}

/// The requests `server` received with this method and path.
pub async fn requests_to(server: &MockServer, verb: &str, at: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .collect()
}

/// A JPEG of `width × height` in one colour.
pub fn jpeg_bytes(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, image::ImageFormat::Jpeg)
}

/// A PNG of `width × height` in one colour.
pub fn png_bytes(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, image::ImageFormat::Png)
}

fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 180, 160]));
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

/// A canned answer of [`RawServer`]: a status and a JSON body.
#[derive(Clone)]
pub struct Canned {
    /// e.g. 200.
    pub status: u16,
    /// The body (sent as `application/json`).
    pub body: String,
}

/// A plain TCP server that speaks just enough HTTP/1.1: it answers the
/// paths it was given with canned JSON and, for the one `drop_path`,
/// reads the request and closes the connection without a word (what a
/// crashing gateway does). It counts the requests per path.
pub struct RawServer {
    /// `http://127.0.0.1:port`.
    pub uri: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl RawServer {
    /// Starts the server on the current tokio runtime.
    pub async fn start(answers: HashMap<String, Canned>, drop_path: &str) -> RawServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let shared = Arc::clone(&counts);
        let drop_path = drop_path.to_string();
        let answers = Arc::new(answers);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let counts = Arc::clone(&shared);
                let answers = Arc::clone(&answers);
                let drop_path = drop_path.clone();
                tokio::spawn(serve(socket, answers, drop_path, counts));
            }
        });
        RawServer { uri, counts }
    }

    /// Requests received for `path`.
    pub fn count(&self, path: &str) -> usize {
        self.counts.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    answers: Arc<HashMap<String, Canned>>,
    drop_path: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
) {
    let mut buffer = Vec::new();
    loop {
        // The head.
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
        let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let path = target.split('?').next().unwrap_or("").to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..head_end + length);
        *counts.lock().unwrap().entry(path.clone()).or_default() += 1;
        if path == drop_path {
            return; // the socket closes without an answer
        }
        let canned = answers.get(&path).cloned().unwrap_or(Canned {
            status: 404,
            body: "{}".into(),
        });
        let answer = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
            canned.status,
            canned.body.len(),
            canned.body
        );
        if socket.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}
