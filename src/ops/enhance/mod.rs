//! `latina enhance`: one photo in, N rated-later variants out.
//!
//! Order matters for "nothing lost, nothing half-written": the photo is
//! decoded and checked first (a rejected input writes nothing), its room
//! context measured (see `ops::context`), its copy written under the data
//! dir, then the batch and its experiments are
//! recorded as `running` in one transaction, the variants are rendered
//! concurrently, and each experiment is updated as its render lands (or
//! fails). A process killed mid-render leaves `running` rows that name
//! their process; the next writer marks them interrupted (see the store).

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Workspace;
use super::context::{ContextOverrides, ask_in_context, backfill_photo_features, photo_limits};
use crate::domain::RenderFeatures;
use crate::domain::evidence::{PhotoFeatures, RoomContext};
use crate::domain::{
    BatchId, ExperimentId, ExperimentStatus, Explanation, ImageMeta, Method, Params, option_label,
};
use crate::error::{Error, Result};
use crate::imaging::{LoadedImage, encode, load, preview};
use crate::provider::{self, ImageProvider, ProgressFn, RenderRequest, SourcePhoto, Stage};
use crate::storage::Role;
use crate::store::{
    ExperimentUpdate, Fallback, NewBatch, NewContext, NewExperiment, NewImage, Store,
};

mod triage;

use triage::{apply_verdicts, candidate_count, candidate_views, score};

/// What to enhance.
#[derive(Debug, Clone)]
pub struct EnhanceOptions {
    /// The designer's photo.
    pub image: PathBuf,
    /// Project, type, room, style.
    pub meta: ImageMeta,
    /// `--context key=value` settings: tags, and features that replace the
    /// measured ones.
    pub context: ContextOverrides,
    /// The designer who will judge the variants: suggestions are for their
    /// scale and taste (`None`: the studio's view).
    pub designer: Option<String>,
    /// `--candidates N`: render N and show the best `enhance.show` (`None`:
    /// the config's `enhance.candidates`).
    pub candidates: Option<u32>,
    /// Cancelled on Ctrl-C, SIGTERM or SIGHUP: renders still running are
    /// stopped (remote jobs cancelled where the API can) and recorded as failed.
    pub cancel: CancellationToken,
    /// What cancelled them ("Ctrl-C", "SIGTERM", …), set before `cancel`
    /// fires; recorded errors read `cancelled (<reason>)`.
    pub cancel_reason: Arc<OnceLock<&'static str>>,
    /// Reads the environment variables the config names for provider keys
    /// (the CLI passes the process environment; ops never read it).
    pub env: fn(&str) -> Option<String>,
}

/// How long a provider may take to wind down (cancel its remote job) after
/// Ctrl-C before its render is abandoned.
const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Progress of one enhance, for the CLI's bars.
#[derive(Debug, Clone)]
pub enum EnhanceEvent {
    /// The photo was decoded; renders are about to start.
    Planned {
        /// (option, provider) of each variant.
        variants: Vec<(String, String)>,
    },
    /// A variant reached a stage.
    Stage {
        /// A, B, …
        option: String,
        /// Where it is.
        stage: Stage,
    },
    /// A variant finished (`ok`) or failed.
    Finished {
        /// A, B, …
        option: String,
        /// Whether a render was written.
        ok: bool,
    },
}

/// Receives [`EnhanceEvent`]s, possibly from render threads.
pub type EventSink = Arc<dyn Fn(EnhanceEvent) + Send + Sync>;

/// One variant of the result.
#[derive(Debug, Clone, Serialize)]
pub struct VariantReport {
    /// Rate it with this id (or a unique prefix).
    pub experiment_id: ExperimentId,
    /// A, B, …
    pub option: String,
    /// The provider arm that rendered it.
    pub provider: String,
    /// When the chosen provider failed and the fallback arm rendered
    /// instead: which one failed and why.
    pub fallback_from: Option<String>,
    /// The parameters used.
    pub params: Params,
    /// How the optimizer chose them.
    pub method: Method,
    /// The model's prediction and the arm choice behind them.
    pub explanation: Explanation,
    /// The prompt version used.
    pub prompt_version: String,
    /// `done` or `failed`.
    pub status: ExperimentStatus,
    /// The render, when done.
    pub output: Option<PathBuf>,
    /// Why it failed.
    pub error: Option<String>,
    /// Render wall time in milliseconds.
    pub latency_ms: u64,
    /// What the render cost in US dollars, when known.
    pub cost_usd: Option<f64>,
    /// Whether the designer is shown it (the best `enhance.show` of the
    /// candidates); an unshown one waits in `latina show`.
    pub shown: bool,
    /// Why it was shown or not, when more candidates were rendered than
    /// shown or the structure guard held it back.
    pub shortlist: Option<String>,
    /// Whether the structure guard held it back.
    pub guarded: bool,
}

/// The result of enhancing one photo.
#[derive(Debug, Clone, Serialize)]
pub struct EnhanceReport {
    /// The designer's file.
    pub image: PathBuf,
    /// Its copy under the data dir.
    pub original: PathBuf,
    /// The batch id.
    pub batch_id: BatchId,
    /// The variants, A first.
    pub variants: Vec<VariantReport>,
    /// The side-by-side preview (original | A | B …), if any render succeeded.
    pub preview: Option<PathBuf>,
    /// Whether the renders were cancelled (Ctrl-C, SIGTERM, SIGHUP) while
    /// variants were rendering.
    pub cancelled: bool,
    /// The room context the variants were asked for: tags and the photo's
    /// features (overrides applied).
    pub context: RoomContext,
    /// Candidates rendered (the variants listed, shown or not).
    pub candidates: usize,
    /// What the budget did to the number of candidates, if anything.
    pub budget_note: Option<String>,
}

impl EnhanceReport {
    /// Whether at least one variant was rendered.
    pub fn any_succeeded(&self) -> bool {
        self.variants
            .iter()
            .any(|v| v.status == ExperimentStatus::Done)
    }
}

/// Enhances one photo into the configured number of variants.
///
/// # Errors
/// [`Error::Image`] for a rejected photo (nothing recorded), [`Error::Io`]
/// when the data dir is not writable, database errors. Provider failures do
/// not fail the call: they are recorded on their variant.
pub async fn enhance(
    ws: &Workspace,
    store: &mut Store,
    options: &EnhanceOptions,
    on_event: EventSink,
) -> Result<EnhanceReport> {
    let cfg = &ws.config.enhance;
    let limits = photo_limits(ws);
    let meta = options.context.tags(&options.meta)?;
    // Providers first: a missing key or bad setting must fail before
    // anything is written, unless a fallback arm can render in its place
    // (then one warning line per unavailable arm).
    let (providers, unavailable) = provider::from_config_with_fallback(
        &ws.config.providers,
        &options.env,
        cfg.fallback.as_deref(),
    )?;
    let unavailable: Vec<String> = unavailable
        .iter()
        .map(|e| {
            tracing::warn!(
                "{}; its variants are rendered by the fallback arm {}",
                crate::http::redact::scrub(&e.to_string()),
                cfg.fallback.as_deref().unwrap_or_default()
            );
            match e {
                Error::Provider { provider, .. } => provider.clone(),
                _ => String::new(),
            }
        })
        .collect();
    // The user's ONNX image model, when configured, loads before anything
    // is written: a broken file fails here, not after the renders.
    super::embedding::embedder(ws)?;
    let started = Instant::now();
    let loaded = load::load(&options.image, &limits)?;
    tracing::info!(
        image = %options.image.display(),
        width = loaded.rgb.width(),
        height = loaded.rgb.height(),
        ms = started.elapsed().as_millis() as u64,
        "photo decoded and checked"
    );

    let measured = measure(&loaded);
    let context = RoomContext {
        features: options.context.features(Some(measured))?,
        room: meta.room.clone(),
        style: meta.style.clone(),
    };
    let (original, image) = keep_photo(ws, &options.image, &loaded)?;

    let show = cfg.variants as usize;
    let (count, budget_note) = candidate_count(ws, store, options.candidates, show)?;
    backfill_photo_features(ws, store)?;
    super::render_features::backfill_render_features(ws, store)?;
    let prompts = ws.prompts_for(store, count)?;
    let suggestions = ask_in_context(ws, store, count, &context, options.designer.as_deref())?;
    for s in &suggestions {
        tracing::info!(
            provider = %s.trial.provider,
            init_strength = s.trial.params.init_strength,
            guidance_scale = s.trial.params.guidance_scale,
            controlnet_weight = s.trial.params.controlnet_weight,
            method = s.method.as_str(),
            "suggested"
        );
    }

    let batch_id = BatchId::random();
    let experiments: Vec<NewExperiment> = suggestions
        .iter()
        .enumerate()
        .map(|(i, s)| NewExperiment {
            id: ExperimentId::random(),
            option: option_label(i),
            trial: s.trial.clone(),
            prompt_version: prompts[i].version.clone(),
            method: s.method,
            explanation: s.explanation,
            status: ExperimentStatus::Running,
        })
        .collect();
    store.create_batch_in_context(
        &NewBatch {
            id: batch_id.clone(),
            image: Some(image),
            meta,
            experiments: experiments.clone(),
        },
        &NewContext {
            photo: Some(measured),
            batch: context.features,
            overridden: options.context.overridden(),
            made_for: options.designer.clone(),
        },
    )?;
    on_event(EnhanceEvent::Planned {
        variants: experiments
            .iter()
            .map(|e| (e.option.clone(), e.trial.provider.clone()))
            .collect(),
    });

    let source = Arc::new(SourcePhoto::new(
        loaded.rgb,
        loaded.grayscale,
        loaded.bytes,
        loaded.format,
    ));
    let fallback: Option<Arc<dyn ImageProvider>> = cfg
        .fallback
        .as_ref()
        .and_then(|name| providers.iter().find(|p| p.name() == name).cloned());
    // Scaling the photo for network providers is per-photo work: done once
    // here, so every variant of the batch finds it ready.
    let mut sides: Vec<u32> = experiments
        .iter()
        .filter_map(|e| {
            providers
                .iter()
                .find(|p| p.name() == e.trial.provider)
                .and_then(|p| p.upload_side())
        })
        .collect();
    sides.sort_unstable();
    sides.dedup();
    if !sides.is_empty() {
        let prepared = Arc::clone(&source);
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            for side in sides {
                prepared.upload_image(side);
            }
        })
        .await
        .map_err(|e| Error::Provider {
            provider: "internal".into(),
            message: format!("preparing the photo failed: {e}"),
        })?;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "photo scaled for upload"
        );
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, e) in experiments.iter().enumerate() {
        let provider: Option<Arc<dyn ImageProvider>> = providers
            .iter()
            .find(|p| p.name() == e.trial.provider)
            .cloned();
        let request = RenderRequest {
            source: Arc::clone(&source),
            params: e.trial.params,
            prompt: prompts[index].prompt.clone(),
            negative_prompt: prompts[index].negative_prompt.clone(),
            jpeg_quality: cfg.jpeg_quality,
            cancel: options.cancel.clone(),
        };
        let name = e.trial.provider.clone();
        let progress: ProgressFn = {
            let option = e.option.clone();
            let sink = Arc::clone(&on_event);
            let provider = e.trial.provider.clone();
            Arc::new(move |stage: Stage| {
                tracing::info!(option = %option, provider = %provider, stage = stage.label(), "variant stage");
                sink(EnhanceEvent::Stage {
                    option: option.clone(),
                    stage,
                })
            })
        };
        let fallback = fallback.clone().filter(|f| f.name() != name);
        // Already warned about once, above.
        let known_unavailable = unavailable.contains(&name);
        let slots = Arc::clone(&slots);
        let cancel = options.cancel.clone();
        let reason = Arc::clone(&options.cancel_reason);
        tasks.spawn(async move {
            let label = || format!("cancelled ({})", reason.get().copied().unwrap_or("Ctrl-C"));
            let cancelled = || Error::Provider {
                provider: name.clone(),
                message: label(),
            };
            // Closed only when the command ends; a permit is always granted.
            let _permit = tokio::select! {
                permit = slots.acquire_owned() => permit.ok(),
                () = cancel.cancelled() => return (index, Err(cancelled()), 0, None),
            };
            let started = Instant::now();
            let result = match provider {
                Some(p) => {
                    let render = p.render(request.clone(), Arc::clone(&progress));
                    // The provider sees the cancellation itself and cancels its
                    // remote job; this only abandons one that does not return.
                    let abandon = async {
                        cancel.cancelled().await;
                        tokio::time::sleep(CANCEL_GRACE).await;
                    };
                    tokio::select! {
                        result = render => result,
                        () = abandon => Err(cancelled()),
                    }
                }
                None => Err(Error::Provider {
                    provider: name.clone(),
                    message: "not configured".into(),
                }),
            };
            // Whatever a provider says when cancelled (e.g. that the job may
            // still be billed) is kept, under one recognisable prefix.
            let result = match result {
                Err(e) if cancel.is_cancelled() => {
                    let detail = crate::provider::error_detail(e);
                    let label = label();
                    Err(Error::Provider {
                        provider: name.clone(),
                        message: if detail.starts_with(&label) {
                            detail
                        } else {
                            format!("{label}: {detail}")
                        },
                    })
                }
                other => other,
            };
            let (result, fell_back, latency_ms) = match (result, fallback) {
                (Err(err), Some(f)) if !cancel.is_cancelled() => {
                    if known_unavailable {
                        tracing::info!(provider = %name, fallback = f.name(), error = %err, "provider unavailable; using the fallback");
                    } else {
                        tracing::warn!(provider = %name, fallback = f.name(), error = %err, "provider failed; using the fallback");
                    }
                    // The time lost on the failed provider is its own: it
                    // goes into the fallback record, not into the latency
                    // of the arm that rendered.
                    let waited_ms = millis(started.elapsed());
                    let fallback = Fallback {
                        provider: f.name().to_string(),
                        from: name,
                        error: crate::http::redact::scrub(&format!(
                            "{err} (failed after {waited_ms} ms)"
                        )),
                        waited_ms,
                    };
                    let fallback_started = Instant::now();
                    match f.render(request, progress).await {
                        Ok(output) => (Ok(output), Some(fallback), millis(fallback_started.elapsed())),
                        // Both failed: the row stays the failed provider's,
                        // with its own wait as its latency.
                        Err(second) => (
                            Err(Error::Provider {
                                provider: fallback.from.clone(),
                                message: format!("{}; the fallback failed too: {second}", fallback.error),
                            }),
                            Some(fallback),
                            waited_ms,
                        ),
                    }
                }
                (result, _) => (result, None, millis(started.elapsed())),
            };
            (index, result, latency_ms, fell_back)
        });
    }

    let mut reports: Vec<Option<VariantReport>> = vec![None; experiments.len()];
    let mut pixels: Vec<Option<image::RgbImage>> = vec![None; experiments.len()];
    let mut features: Vec<Option<RenderFeatures>> = vec![None; experiments.len()];
    // The photo's share of every render's features, computed once.
    let quality = crate::imaging::quality::QualityReference::new(&source.rgb);
    while let Some(joined) = tasks.join_next().await {
        let (index, result, latency_ms, fell_back) = joined.map_err(|e| Error::Provider {
            provider: "internal".into(),
            message: format!("render task failed: {e}"),
        })?;
        let e = &experiments[index];
        let outcome = result.and_then(|output| {
            // Written through to the bucket, if any, before the row names
            // it: a failed upload fails this variant, never leaves a row
            // pointing at a missing object.
            let name = format!("{}.{}", e.id, output.extension);
            let reference = ws.storage.put(Role::Renders, &name, &output.bytes)?;
            Ok((ws.storage.path_of(Role::Renders, &name), reference, output))
        });
        let mut cost_usd = None;
        let (update, output_path, error) = match outcome {
            Ok((path, reference, output)) => {
                cost_usd = output.cost_usd;
                // What the arm that rendered (the fallback, if it stood in)
                // applied of this variant's knobs and what it ignored.
                let rendered_by = fell_back
                    .as_ref()
                    .map_or(&e.trial.provider, |f| &f.provider);
                let knobs = providers
                    .iter()
                    .find(|p| p.name() == rendered_by.as_str())
                    .map(|p| p.knobs().applied(&e.trial.params));
                pixels[index] = match output.pixels {
                    Some(p) => Some(p),
                    None => image::load_from_memory(&output.bytes)
                        .ok()
                        .map(|i| i.into_rgb8()),
                };
                (
                    ExperimentUpdate::Done {
                        output_path: reference,
                        latency_ms,
                        fallback: fell_back.clone(),
                        cost_usd,
                        knobs,
                    },
                    Some(path),
                    None,
                )
            }
            Err(err) => {
                // Final guard: nothing stored or printed carries a secret.
                let message = crate::http::redact::scrub(&err.to_string());
                (
                    ExperimentUpdate::Failed {
                        error: message.clone(),
                        latency_ms,
                    },
                    None,
                    Some(message),
                )
            }
        };
        store.finish_experiment(&e.id, &update)?;
        if let Some(render) = &pixels[index] {
            features[index] = Some(super::render_features::record(
                store, &quality, &e.id, render,
            )?);
        }
        tracing::info!(option = %e.option, provider = %e.trial.provider, latency_ms, ok = output_path.is_some(), "variant finished");
        on_event(EnhanceEvent::Finished {
            option: e.option.clone(),
            ok: output_path.is_some(),
        });
        let rendered_by = match (&fell_back, &output_path) {
            (Some(f), Some(_)) => f.provider.clone(),
            _ => e.trial.provider.clone(),
        };
        reports[index] = Some(VariantReport {
            experiment_id: e.id.clone(),
            option: e.option.clone(),
            provider: rendered_by,
            fallback_from: fell_back
                .as_ref()
                .filter(|_| output_path.is_some())
                .map(|f| format!("{}: {}", f.from, f.error)),
            params: e.trial.params,
            method: e.method,
            explanation: e.explanation,
            prompt_version: e.prompt_version.clone(),
            status: if output_path.is_some() {
                ExperimentStatus::Done
            } else {
                ExperimentStatus::Failed
            },
            output: output_path,
            error,
            latency_ms,
            cost_usd,
            shown: true,
            shortlist: None,
            guarded: false,
        });
    }

    for (e, render) in experiments.iter().zip(&pixels) {
        if let Some(render) = render
            && let Err(err) = super::embedding::embed_and_store(ws, store, &e.id, render)
        {
            tracing::warn!("{err}; render {} is kept without its embedding", e.id);
        }
    }
    let mut reports: Vec<VariantReport> = reports.into_iter().flatten().collect();
    // Cancelled: everything that landed stays shown, as rendered.
    if !options.cancel.is_cancelled() {
        let guard = super::shortlist::guard(ws, store)?;
        let mut views = candidate_views(&experiments, &reports, &features, guard.as_ref());
        // The reward model ranks only when there is a choice to make.
        let unranked = if count > show {
            score(
                ws,
                store,
                &mut views,
                &experiments,
                &features,
                &context,
                options,
            )?
        } else {
            String::new()
        };
        let ranked = super::shortlist::ranked_by_reward(&views, show);
        let verdicts = super::shortlist::decide(&views, show, ranked, &unranked);
        let needed = count > show || verdicts.iter().any(|v| v.guarded);
        if needed {
            let labels = store.record_shortlist(&batch_id, &verdicts, count > show)?;
            apply_verdicts(&mut reports, &verdicts, &labels);
        }
    }
    // In the order shown, under the labels the designer rates them by.
    let rendered: Vec<(&image::RgbImage, &str)> = reports
        .iter()
        .filter(|r| r.shown)
        .filter_map(|r| {
            let i = experiments.iter().position(|e| e.id == r.experiment_id)?;
            Some((pixels[i].as_ref()?, r.option.as_str()))
        })
        .collect();
    let preview = if rendered.is_empty() {
        None
    } else {
        let mut panels = vec![&source.rgb];
        let mut labels = vec!["ORIGINAL"];
        for &(pixels, option) in &rendered {
            panels.push(pixels);
            labels.push(option);
        }
        let title = options
            .image
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sheet = preview::labelled(&panels, &labels, &title, cfg.preview_height);
        let name = format!("{batch_id}.jpg");
        let reference = ws
            .storage
            .put(Role::Previews, &name, &encode::jpeg(&sheet, 85))?;
        store.set_preview(&batch_id, &reference)?;
        Some(ws.storage.path_of(Role::Previews, &name))
    };

    Ok(EnhanceReport {
        image: options.image.clone(),
        original,
        batch_id,
        variants: reports,
        preview,
        cancelled: options.cancel.is_cancelled(),
        context,
        candidates: count,
        budget_note,
    })
}

/// The photo's room-context features, measured on a small copy.
pub(super) fn measure(loaded: &LoadedImage) -> PhotoFeatures {
    let started = Instant::now();
    let features = crate::imaging::context::photo_features(&loaded.rgb);
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        brightness = features.brightness,
        "photo features measured"
    );
    features
}

/// Writes latina's copy of a checked photo under the data dir (once per
/// content hash) and returns its path and the row that records it.
pub(super) fn keep_photo(
    ws: &Workspace,
    source: &Path,
    loaded: &LoadedImage,
) -> Result<(PathBuf, NewImage)> {
    // Named by content hash: a photo already kept (here or, with a
    // bucket, by any client) is not written or sent again.
    let name = format!("{}.{}", &loaded.sha256[..16], loaded.extension());
    let reference = ws.storage.put_once(Role::Originals, &name, &loaded.bytes)?;
    let original = ws.storage.path_of(Role::Originals, &name);
    let (width, height) = loaded.rgb.dimensions();
    let image = NewImage {
        sha256: loaded.sha256.clone(),
        stored_path: reference,
        source_path: absolute(source).display().to_string(),
        format: loaded.extension().to_string(),
        width,
        height,
        bytes: loaded.bytes.len() as u64,
    };
    Ok((original, image))
}

/// Whole milliseconds, saturating (a render does not last 584 million years).
fn millis(elapsed: std::time::Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
