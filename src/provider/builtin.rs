//! The built-in engines as providers: offline, in-process, on blocking threads.

use std::sync::Arc;

use super::{BoxFuture, ImageProvider, ProgressFn, RenderOutput, RenderRequest, Stage};
use crate::error::{Error, Result};
use crate::imaging::{Engine, StyleIntent, encode, render};

/// A built-in engine under a configured arm name.
pub struct BuiltinEngine {
    name: String,
    engine: Engine,
}

impl BuiltinEngine {
    /// An arm called `name` that renders with `engine`.
    pub fn new(name: String, engine: Engine) -> Self {
        BuiltinEngine { name, engine }
    }

    /// Renders synchronously (what the async call runs on a blocking thread).
    pub fn render_blocking(&self, request: &RenderRequest, progress: &ProgressFn) -> RenderOutput {
        progress(Stage::Analysing);
        let analysis = request.source.analysis();
        progress(Stage::Generating);
        let style = StyleIntent::from_prompt(&request.prompt, &request.negative_prompt);
        let plan = self.engine.plan(
            &request.params,
            &style,
            &analysis.stats,
            request.source.grayscale,
        );
        let pixels = render::render(&request.source.rgb, analysis, &plan);
        progress(Stage::Encoding);
        RenderOutput {
            bytes: encode::jpeg(&pixels, request.jpeg_quality),
            extension: "jpg",
            pixels: Some(pixels),
            cost_usd: Some(0.0),
        }
    }
}

impl ImageProvider for BuiltinEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn render(
        self: Arc<Self>,
        request: RenderRequest,
        progress: ProgressFn,
    ) -> BoxFuture<Result<RenderOutput>> {
        Box::pin(async move {
            let name = self.name.clone();
            tokio::task::spawn_blocking(move || self.render_blocking(&request, &progress))
                .await
                .map_err(|e| Error::Provider {
                    provider: name,
                    message: format!("the built-in engine stopped unexpectedly: {e}"),
                })
        })
    }
}
