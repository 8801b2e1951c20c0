//! ComfyUI's HTTP routes as latina uses them: upload the photo, queue the
//! workflow, read `/history`, build `/view` URLs, cancel (`/queue` delete,
//! `/interrupt`) and read `/object_info` for `doctor`; and the wording of
//! its answers (validation errors, failed executions).
//!
//! `POST /prompt` starts GPU work: it goes through the HTTP layer as a
//! job-creating request, so a timeout or a 5xx after it was sent is never
//! followed by a second submit.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

use crate::error::Result;
use crate::http::{HttpClient, RequestKind, Secret, StatusVerdict, one_line, redact};

/// The most time cancelling a prompt may add after a render's deadline or
/// Ctrl-C (three short calls).
pub const CANCEL_BUDGET: Duration = Duration::from_secs(4);

/// A file ComfyUI wrote, as `/history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageRef {
    /// File name.
    pub filename: String,
    /// Folder below the type's directory, often empty.
    #[serde(default)]
    pub subfolder: String,
    /// `output`, `temp` or `input`.
    #[serde(rename = "type", default = "output_type")]
    pub kind: String,
}

fn output_type() -> String {
    "output".into()
}

#[derive(Deserialize)]
struct Uploaded {
    name: String,
    #[serde(default)]
    subfolder: String,
}

#[derive(Deserialize)]
struct Queued {
    prompt_id: String,
}

/// The routes of one server.
pub struct Api {
    base: String,
    auth: Option<Secret>,
}

impl Api {
    /// The server at `base_url`, with the proxy's token if one is configured.
    pub fn new(base_url: &str, auth: Option<Secret>) -> Self {
        Api {
            base: base_url.trim_end_matches('/').to_string(),
            auth,
        }
    }

    /// The token for the proxy, if any.
    pub fn auth(&self) -> Option<&Secret> {
        self.auth.as_ref()
    }

    /// The server's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, http: &HttpClient, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = http.request(method, &self.url(path));
        match &self.auth {
            Some(token) => builder.bearer_auth(token.expose()),
            None => builder,
        }
    }

    /// `POST /upload/image`: returns the name to put in `LoadImage.image`
    /// (the server may rename the file, e.g. `room (1).png`).
    ///
    /// # Errors
    /// [`crate::Error::Provider`] when the upload fails or the answer has no name.
    pub async fn upload(&self, http: &HttpClient, jpeg: &[u8], filename: &str) -> Result<String> {
        let what = "POST /upload/image";
        // Sending the same file again is harmless: ComfyUI keeps one copy
        // when the content matches.
        let response = http
            .send_reading(
                what,
                RequestKind::Idempotent,
                || {
                    let part = Part::bytes(jpeg.to_vec())
                        .file_name(filename.to_string())
                        .mime_str("image/jpeg")
                        .unwrap_or_else(|_| {
                            Part::bytes(jpeg.to_vec()).file_name(filename.to_string())
                        });
                    let form = Form::new().part("image", part).text("type", "input");
                    self.request(http, Method::POST, "/upload/image")
                        .multipart(form)
                },
                &read_status,
            )
            .await?;
        let answer: Uploaded = http.read_json(what, response).await?;
        if answer.name.trim().is_empty() {
            return Err(http.error(what, "the answer has no file name"));
        }
        Ok(if answer.subfolder.is_empty() {
            answer.name
        } else {
            format!("{}/{}", answer.subfolder, answer.name)
        })
    }

    /// `POST /prompt`: queues the workflow; returns the server's `prompt_id`.
    ///
    /// # Errors
    /// [`crate::Error::Provider`] with the validation error (node and
    /// message), or the failure, and whether the job may exist.
    pub async fn submit(
        &self,
        http: &HttpClient,
        workflow: &Value,
        client_id: &str,
    ) -> Result<String> {
        let what = "POST /prompt";
        let body = json!({"prompt": workflow, "client_id": client_id});
        let response = http
            .send_reading(
                what,
                RequestKind::CreatesJob,
                || self.request(http, Method::POST, "/prompt").json(&body),
                &read_status,
            )
            .await?;
        let queued: Queued = http.read_json(what, response).await?;
        if queued.prompt_id.trim().is_empty() {
            return Err(http.error(what, "the answer has no prompt_id"));
        }
        Ok(queued.prompt_id)
    }

    /// `GET /history/{id}`: the entry once the prompt has finished, `None`
    /// while it is queued or running (`{}`).
    ///
    /// # Errors
    /// [`crate::Error::Provider`] when the server cannot be read.
    pub async fn history(&self, http: &HttpClient, prompt_id: &str) -> Result<Option<Value>> {
        let what = "GET /history";
        let path = format!("/history/{prompt_id}");
        let response = http
            .send_reading(
                what,
                RequestKind::Idempotent,
                || self.request(http, Method::GET, &path),
                &read_status,
            )
            .await?;
        let mut all: Value = http.read_json(what, response).await?;
        Ok(all.get_mut(prompt_id).map(Value::take))
    }

    /// The `/view` URL of a file ComfyUI wrote.
    pub fn view_url(&self, image: &ImageRef) -> String {
        let mut url = reqwest::Url::parse(&self.url("/view"))
            .unwrap_or_else(|_| reqwest::Url::parse("http://invalid/view").expect("a valid URL"));
        url.query_pairs_mut()
            .append_pair("filename", &image.filename)
            .append_pair("subfolder", &image.subfolder)
            .append_pair("type", &image.kind);
        url.to_string()
    }

    /// `GET /object_info`: every node class the server has, with its inputs.
    ///
    /// # Errors
    /// [`crate::Error::Provider`] when the server cannot be read.
    pub async fn object_info(&self, http: &HttpClient) -> Result<Value> {
        let what = "GET /object_info";
        let response = http
            .send_reading(
                what,
                RequestKind::Idempotent,
                || self.request(http, Method::GET, "/object_info"),
                &read_status,
            )
            .await?;
        http.read_json(what, response).await
    }

    /// Stops `prompt_id`: deletes it from the queue and, when it is the one
    /// running (or the queue cannot be read), interrupts it. Best effort,
    /// at most [`CANCEL_BUDGET`] past the render's deadline; says what was done.
    pub async fn cancel(&self, http: &HttpClient, prompt_id: &str) -> &'static str {
        tokio::time::timeout(CANCEL_BUDGET, self.cancel_calls(http, prompt_id))
            .await
            .unwrap_or("could not reach ComfyUI to cancel it; it may still run")
    }

    async fn cancel_calls(&self, http: &HttpClient, prompt_id: &str) -> &'static str {
        let quick = Duration::from_secs(2);
        let running = match self
            .request(http, Method::GET, "/queue")
            .timeout(quick)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => r.json::<Value>().await.ok().map(|q| {
                q.get("queue_running")
                    .and_then(Value::as_array)
                    .is_some_and(|items| {
                        items
                            .iter()
                            .any(|item| item.get(1).and_then(Value::as_str) == Some(prompt_id))
                    })
            }),
            _ => None,
        };
        let deleted = self
            .request(http, Method::POST, "/queue")
            .json(&json!({"delete": [prompt_id]}))
            .timeout(quick)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if running == Some(false) {
            return if deleted {
                "deleted it from ComfyUI's queue"
            } else {
                "could not delete it from ComfyUI's queue"
            };
        }
        // Newer servers interrupt only when this prompt is the one running.
        let interrupted = self
            .request(http, Method::POST, "/interrupt")
            .json(&json!({"prompt_id": prompt_id}))
            .timeout(quick)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if interrupted {
            "interrupted it on ComfyUI"
        } else {
            "could not interrupt it on ComfyUI; it may still run"
        }
    }
}

/// The first image of a finished history entry: the `SaveImage` node
/// `save`'s, else any other output image.
///
/// # Errors
/// A sentence: the execution's error (node, class and message) when it
/// failed, or that it finished without an image.
pub fn finished_image(entry: &Value, save: &str) -> std::result::Result<ImageRef, String> {
    let status = entry.get("status");
    if status
        .and_then(|s| s.get("status_str"))
        .and_then(Value::as_str)
        == Some("error")
    {
        let error = status
            .and_then(|s| s.get("messages"))
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter().find_map(|m| {
                    let data = m.get(1)?;
                    (m.get(0)?.as_str()? == "execution_error").then(|| execution_error(data))
                })
            });
        return Err(error.unwrap_or_else(|| "the execution failed".into()));
    }
    let images_of = |node: &Value| -> Option<ImageRef> {
        let first = node.get("images")?.as_array()?.first()?;
        serde_json::from_value(first.clone()).ok()
    };
    let outputs = entry.get("outputs").and_then(Value::as_object);
    outputs
        .and_then(|o| o.get(save).and_then(images_of))
        .or_else(|| {
            outputs.and_then(|o| {
                o.values()
                    .filter_map(images_of)
                    .find(|i| i.kind == "output")
            })
        })
        .ok_or_else(|| "the workflow finished without an image".into())
}

/// An `execution_error` event's data in one line:
/// `node 9 (KSampler): <exception_type>: <exception_message>`.
pub fn execution_error(data: &Value) -> String {
    let field = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("");
    let node = match data.get("node_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "?".into(),
    };
    let kind = field("exception_type");
    let message = one_line(&redact::scrub(field("exception_message")), 240);
    let message = if kind.is_empty() {
        message
    } else {
        format!("{kind}: {message}")
    };
    format!(
        "execution failed at node {node} ({}): {message}",
        one_line(field("node_type"), 60)
    )
}

/// Words a failed ComfyUI answer. A 400 from `POST /prompt` is a
/// validation error: its `error` (a string, or an object with `message`
/// and `details`) and each node's errors, naming the node and its class.
/// Validation errors are permanent.
pub fn read_status(status: StatusCode, body: &[u8]) -> StatusVerdict {
    let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
        return StatusVerdict::plain(status, body);
    };
    let mut parts = Vec::new();
    match parsed.get("error") {
        Some(Value::String(s)) => parts.push(s.clone()),
        Some(Value::Object(e)) => {
            let message = e.get("message").and_then(Value::as_str).unwrap_or("");
            let details = e.get("details").and_then(Value::as_str).unwrap_or("");
            parts.push(
                match (message.is_empty(), details.is_empty() || details == message) {
                    (false, false) => format!("{message} ({details})"),
                    (false, true) => message.to_string(),
                    _ => details.to_string(),
                },
            );
        }
        _ => {}
    }
    if let Some(nodes) = parsed.get("node_errors").and_then(Value::as_object) {
        for (id, node) in nodes {
            let class = node
                .get("class_type")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let errors: Vec<String> = node
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| {
                    let message = e.get("message").and_then(Value::as_str).unwrap_or("");
                    match e.get("details").and_then(Value::as_str) {
                        Some(d) if !d.is_empty() => format!("{message}: {d}"),
                        _ => message.to_string(),
                    }
                })
                .collect();
            parts.push(format!("node {id} ({class}): {}", errors.join("; ")));
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    if parts.is_empty() {
        return StatusVerdict::plain(status, body);
    }
    let text = one_line(&redact::scrub(&parts.join("; ")), 400);
    StatusVerdict {
        message: format!("HTTP {status}: {text}"),
        permanent: status == StatusCode::BAD_REQUEST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_name_the_node_and_message_whether_error_is_a_string_or_an_object() {
        let body = br#"{"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {}}, "node_errors": {"1": {"errors": [{"type": "value_not_in_list", "message": "Value not in list", "details": "ckpt_name: 'sd15.safetensors' not in (list of length 2)", "extra_info": {}}], "dependent_outputs": ["11"], "class_type": "CheckpointLoaderSimple"}}}"#;
        let v = read_status(StatusCode::BAD_REQUEST, body);
        assert_eq!(
            v.message,
            "HTTP 400 Bad Request: Prompt outputs failed validation; node 1 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'sd15.safetensors' not in (list of length 2)"
        );
        assert!(v.permanent);
        let v = read_status(
            StatusCode::BAD_REQUEST,
            br#"{"error": "no prompt", "node_errors": []}"#,
        );
        assert_eq!(v.message, "HTTP 400 Bad Request: no prompt");
        let v = read_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            b"500 Internal Server Error\n\nServer got itself in trouble",
        );
        assert!(
            v.message.starts_with("HTTP 500") && !v.permanent,
            "{}",
            v.message
        );
    }

    #[test]
    fn a_history_entry_gives_the_save_nodes_image_or_the_execution_error() {
        let ok = serde_json::json!({
            "outputs": {
                "7": {"images": [{"filename": "preview.png", "subfolder": "", "type": "temp"}]},
                "11": {"images": [{"filename": "latina_00001_.png", "subfolder": "", "type": "output"}]}
            },
            "status": {"status_str": "success", "completed": true, "messages": []}
        });
        assert_eq!(
            finished_image(&ok, "11").unwrap().filename,
            "latina_00001_.png"
        );
        assert_eq!(
            finished_image(&ok, "12").unwrap().filename,
            "latina_00001_.png"
        );
        let failed = serde_json::json!({
            "outputs": {},
            "status": {"status_str": "error", "completed": false, "messages": [
                ["execution_start", {"prompt_id": "p"}],
                ["execution_error", {"prompt_id": "p", "node_id": "9", "node_type": "KSampler", "exception_type": "torch.OutOfMemoryError", "exception_message": "CUDA out of memory"}]
            ]}
        });
        assert_eq!(
            finished_image(&failed, "11").unwrap_err(),
            "execution failed at node 9 (KSampler): torch.OutOfMemoryError: CUDA out of memory"
        );
        let empty = serde_json::json!({"outputs": {}, "status": {"status_str": "success"}});
        assert!(
            finished_image(&empty, "11")
                .unwrap_err()
                .contains("without an image")
        );
    }

    #[test]
    fn view_urls_carry_the_file_subfolder_and_type_encoded() {
        let api = Api::new("http://127.0.0.1:8188/", None);
        let url = api.view_url(&ImageRef {
            filename: "latina 1&2.png".into(),
            subfolder: "a/b".into(),
            kind: "output".into(),
        });
        assert_eq!(
            url,
            "http://127.0.0.1:8188/view?filename=latina+1%262.png&subfolder=a%2Fb&type=output"
        );
    }
}
