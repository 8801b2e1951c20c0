//! `latina doctor`: is everything in place to render and learn? Config,
//! data dir, database, and for each provider arm its key (present or not,
//! never shown), its base URL reachable and the key accepted; and the
//! prompt-evolution endpoints in use (the LLM when `evolver = "llm"`, the
//! embeddings endpoint when configured): key set, key accepted, model listed;
//! and the ONNX image model of `reward.embedding_model`, loaded as `enhance`
//! would load it (its input shape and embedding size), when configured.

use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Workspace;
use crate::config::{EvolverKind, ProviderConfig};
use crate::llm;
use crate::provider::{self, Check};
use crate::store::{Health, OpenMode, Store};

/// How long one provider's checks may take in all.
const PROVIDER_CHECK_BUDGET: Duration = Duration::from_secs(20);

/// Everything the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// The config file read, or none (defaults and environment).
    pub config_file: Option<PathBuf>,
    /// The data directory and whether latina can write there.
    pub data_dir: Finding,
    /// The database file.
    pub database: DatabaseFinding,
    /// The bucket, when `storage` names one: a probe object written, read
    /// back and deleted.
    pub storage: Option<StorageFinding>,
    /// One block per provider arm, in config order.
    pub providers: Vec<ProviderFinding>,
    /// The LLM evolver's and the embeddings endpoints, when in use.
    pub endpoints: Vec<EndpointFinding>,
    /// The ONNX image model of `reward.embedding_model`.
    pub embedding_model: EmbeddingModelFinding,
}

/// The user's ONNX image model, loaded as `enhance` loads it.
#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingModelFinding {
    /// The file; `None` when `reward.embedding_model` is not set (fine).
    pub path: Option<PathBuf>,
    /// Not configured, or loaded and optimised for its input.
    pub ok: bool,
    /// What was found, or why it cannot be used.
    pub detail: String,
    /// Its input, `[1, 3, H, W]`, when it loaded.
    pub input_shape: Option<[u32; 4]>,
    /// Length of its embeddings, when it loaded.
    pub dims: Option<usize>,
    /// SHA-256 of the file, when it loaded.
    pub sha256: Option<String>,
}

/// One OpenAI-compatible endpoint used by prompt evolution.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointFinding {
    /// `llm` or `embeddings`.
    pub role: String,
    /// API root.
    pub base_url: String,
    /// The configured model.
    pub model: String,
    /// The variable the key is read from (`None`: no key is sent).
    pub key_env: Option<String>,
    /// Whether that variable is set (its value is never read out).
    pub key_present: Option<bool>,
    /// Key set, `GET /models` answered, model listed.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// Whether every check passed.
    pub fn all_ok(&self) -> bool {
        self.data_dir.ok
            && self.database.ok
            && self.storage.as_ref().is_none_or(|s| s.ok)
            && self.providers.iter().all(|p| p.checks.iter().all(|c| c.ok))
            && self.endpoints.iter().all(|e| e.checks.iter().all(|c| c.ok))
            && self.embedding_model.ok
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The path concerned.
    pub path: PathBuf,
    /// Whether it is fine.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// The database's state.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseFinding {
    /// The file.
    pub path: PathBuf,
    /// Fine, or not created yet (also fine).
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// Schema and contents, when it opened.
    pub health: Option<Health>,
}

/// The object store's probe.
#[derive(Debug, Clone, Serialize)]
pub struct StorageFinding {
    /// Bucket, endpoint and region (never a key).
    pub storage: String,
    /// Whether write, read back and delete all worked.
    pub ok: bool,
    /// What was done, or the first step's failure.
    pub detail: String,
}

/// One provider arm.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderFinding {
    /// Arm name.
    pub name: String,
    /// `type` in the config.
    pub kind: String,
    /// Base URL of a network provider.
    pub base_url: Option<String>,
    /// The variable its secret is read from, if any.
    pub secret_env: Option<String>,
    /// Whether that variable is set (its value is never read out).
    pub secret_present: Option<bool>,
    /// The checks, the first being whether the client could be built.
    pub checks: Vec<Check>,
}

/// Runs every check. Provider checks run concurrently, each within a
/// time budget, so one unreachable host does not hold up the rest.
pub async fn doctor(ws: &Workspace, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> DoctorReport {
    let data_dir = check_data_dir(&ws.paths.data_dir);
    let database = check_database(ws);
    let storage = check_storage(&ws.storage);
    let mut handles = Vec::new();
    for config in &ws.config.providers {
        let built = provider::build(config, env);
        let finding = ProviderFinding {
            name: config.name().to_string(),
            kind: config.kind().to_string(),
            base_url: config.base_url().map(str::to_string),
            secret_env: config.secret_env().map(str::to_string),
            secret_present: config
                .secret_env()
                .map(|var| env(var).is_some_and(|v| !v.trim().is_empty())),
            checks: Vec::new(),
        };
        handles.push(tokio::spawn(check_provider(config.clone(), built, finding)));
    }
    let evolution = &ws.config.evolution;
    let mut endpoint_handles = Vec::new();
    let mut wanted: Vec<(&str, &str, &str, &str, u64)> = Vec::new();
    if evolution.evolver == EvolverKind::Llm {
        let l = &evolution.llm;
        wanted.push(("llm", &l.base_url, &l.model, &l.api_key_env, l.timeout_secs));
    }
    if let Some(e) = &evolution.embeddings {
        wanted.push((
            "embeddings",
            &e.base_url,
            &e.model,
            &e.api_key_env,
            e.timeout_secs,
        ));
    }
    for (role, base_url, model, key_env, timeout_secs) in wanted {
        let key_env = (!key_env.is_empty()).then(|| key_env.to_string());
        let key = key_env
            .as_deref()
            .map(|var| env(var).filter(|v| !v.trim().is_empty()));
        let finding = EndpointFinding {
            role: role.to_string(),
            base_url: base_url.to_string(),
            model: model.to_string(),
            key_present: key.as_ref().map(Option::is_some),
            key_env,
            checks: Vec::new(),
        };
        let policy = crate::http::HttpPolicy {
            request_timeout: Duration::from_secs(timeout_secs).min(PROVIDER_CHECK_BUDGET),
            ..crate::http::HttpPolicy::default()
        };
        endpoint_handles.push(tokio::spawn(check_endpoint(finding, key, policy)));
    }
    let mut providers = Vec::new();
    for handle in handles {
        if let Ok(finding) = handle.await {
            providers.push(finding);
        }
    }
    let mut endpoints = Vec::new();
    for handle in endpoint_handles {
        if let Ok(finding) = handle.await {
            endpoints.push(finding);
        }
    }
    DoctorReport {
        config_file: ws.config_file.clone(),
        data_dir,
        database,
        storage,
        providers,
        endpoints,
        embedding_model: check_embedding_model(ws),
    }
}

fn check_embedding_model(ws: &Workspace) -> EmbeddingModelFinding {
    let path = ws.config.reward.embedding_model.clone();
    let mut finding = EmbeddingModelFinding {
        path: path.clone(),
        ok: true,
        detail: "not configured (set [reward] embedding_model to an ONNX image model)".into(),
        input_shape: None,
        dims: None,
        sha256: None,
    };
    if path.is_none() {
        return finding;
    }
    match super::embedding::embedder(ws) {
        Ok(Some(model)) => {
            let (h, w) = model.input_size();
            finding.detail = format!(
                "input [1, 3, {h}, {w}] float32, {}-value embeddings",
                model.dims()
            );
            finding.input_shape = Some([1, 3, h, w]);
            finding.dims = Some(model.dims());
            finding.sha256 = Some(model.sha256().to_string());
        }
        Ok(None) => {}
        Err(e) => {
            finding.ok = false;
            finding.detail = e.to_string();
        }
    }
    finding
}

/// `key`: `None` when no key is configured, `Some(None)` when its variable
/// is unset (then nothing is sent).
async fn check_endpoint(
    mut finding: EndpointFinding,
    key: Option<Option<String>>,
    policy: crate::http::HttpPolicy,
) -> EndpointFinding {
    let name = format!("{}:{}", finding.role, finding.model);
    let secret = match (key, &finding.key_env) {
        (Some(None), Some(var)) => {
            finding.checks.push(Check {
                what: "configuration".into(),
                ok: false,
                detail: format!("environment variable {var} is not set (the key is read from it)"),
            });
            return finding;
        }
        (Some(Some(value)), _) => Some(provider::Secret::new(value.trim().to_string())),
        _ => None,
    };
    let checks = llm::check_endpoint(&name, &finding.base_url, &finding.model, secret, policy);
    match tokio::time::timeout(PROVIDER_CHECK_BUDGET, checks).await {
        Ok(checks) => finding.checks.extend(checks),
        Err(_) => finding.checks.push(Check {
            what: "reachability".into(),
            ok: false,
            detail: format!("no answer within {} s", PROVIDER_CHECK_BUDGET.as_secs()),
        }),
    }
    finding
}

async fn check_provider(
    config: ProviderConfig,
    built: crate::error::Result<Arc<dyn provider::ImageProvider>>,
    mut finding: ProviderFinding,
) -> ProviderFinding {
    let provider = match built {
        Ok(p) => p,
        Err(e) => {
            finding.checks.push(Check {
                what: "configuration".into(),
                ok: false,
                detail: provider::error_detail(e),
            });
            return finding;
        }
    };
    if config.is_builtin() {
        finding.checks.push(Check {
            what: "built in".into(),
            ok: true,
            detail: "renders offline, in-process".into(),
        });
        return finding;
    }
    match tokio::time::timeout(PROVIDER_CHECK_BUDGET, provider.check()).await {
        Ok(checks) => finding.checks.extend(checks),
        Err(_) => finding.checks.push(Check {
            what: "reachability".into(),
            ok: false,
            detail: format!("no answer within {} s", PROVIDER_CHECK_BUDGET.as_secs()),
        }),
    }
    finding
}

fn check_storage(storage: &crate::storage::Storage) -> Option<StorageFinding> {
    if !storage.is_remote() {
        return None;
    }
    let (ok, detail) = match storage.probe() {
        Ok(Some(probe)) => (true, format!("wrote, read back and deleted {}", probe.key)),
        Ok(None) => (true, "no bucket".into()),
        Err(e) => (false, crate::http::redact::scrub(&e.to_string())),
    };
    Some(StorageFinding {
        storage: storage.describe(),
        ok,
        detail,
    })
}

fn check_data_dir(dir: &std::path::Path) -> Finding {
    let probe = dir.join(format!(".latina-doctor-{}", std::process::id()));
    let result = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&probe, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe));
    Finding {
        path: dir.to_path_buf(),
        ok: result.is_ok(),
        detail: match result {
            Ok(()) => "writable".into(),
            Err(e) => format!("not writable: {e}"),
        },
    }
}

fn check_database(ws: &Workspace) -> DatabaseFinding {
    let path = PathBuf::from(ws.paths.database.shown());
    if ws.paths.database.file().is_some_and(|file| !file.exists()) {
        return DatabaseFinding {
            path,
            ok: true,
            detail: "not created yet (the first `latina enhance` creates it)".into(),
            health: None,
        };
    }
    match Store::open_at(&ws.paths.database, OpenMode::ReadOnly).and_then(|s| s.health()) {
        Ok(health) => DatabaseFinding {
            path,
            ok: health.quick_check == "ok",
            detail: if health.quick_check == "ok" {
                format!(
                    "{}schema {}, {} experiments, {} ratings",
                    health
                        .server
                        .as_ref()
                        .map(|s| {
                            let tls = s.tls.as_deref().map_or("not encrypted".into(), |v| {
                                format!("encrypted ({})", v.replace("TLSv", "TLS "))
                            });
                            format!("PostgreSQL {}, {tls}, ", s.server_version)
                        })
                        .unwrap_or_default(),
                    health.schema_version,
                    health.experiments,
                    health.ratings
                )
            } else {
                format!("integrity check failed: {}", health.quick_check)
            },
            health: Some(health),
        },
        Err(e) => DatabaseFinding {
            path,
            ok: false,
            detail: e.to_string(),
            health: None,
        },
    }
}
