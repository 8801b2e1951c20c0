//! The resolved configuration and paths every op works in.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::PathBuf;

use crate::config::Config;
use crate::domain::Evidence;
use crate::error::{Error, Result};
use crate::optim::{Bounds, Optimizer, OptimizerSettings, SearchSpace, SecondLook, Suggestion};
use crate::optim::{FittedHyperparameters, ModelKind, ModelQuery};
use crate::prompts;
use crate::storage::Storage;
use crate::store::{Location, OpenMode, PromptVersion, Store};

/// Where latina keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Renders, originals and previews live under here.
    pub data_dir: PathBuf,
    /// The SQLite file, or the studio's PostgreSQL server.
    pub database: Location,
}

impl Paths {
    /// Copies of the designers' photos, by content hash.
    pub fn originals(&self) -> PathBuf {
        self.data_dir.join("originals")
    }
    /// One file per rendered experiment.
    pub fn renders(&self) -> PathBuf {
        self.data_dir.join("renders")
    }
    /// One side-by-side image per batch.
    pub fn previews(&self) -> PathBuf {
        self.data_dir.join("previews")
    }
    /// Small copies of renders and originals for `latina serve`, made once.
    pub fn thumbnails(&self) -> PathBuf {
        self.data_dir.join("thumbnails")
    }
}

/// Configuration, paths and the seed, resolved once by the CLI.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The effective configuration.
    pub config: Config,
    /// Resolved paths.
    pub paths: Paths,
    /// Seed for the optimizer (`--seed`, `LATINA_SEED` or the config).
    pub seed: Option<u64>,
    /// The config file read, if any (`None`: defaults and environment only).
    pub config_file: Option<PathBuf>,
    /// Where image files are written and read (the data dir, or a bucket
    /// with the data dir as its cache).
    pub storage: Storage,
}

impl Workspace {
    /// Opens the database and seeds the base prompt on first use.
    pub fn open_store(&self, mode: OpenMode) -> Result<Store> {
        let mut store = Store::open_at(&self.paths.database, mode)?;
        if !store.is_read_only() {
            store.seed_prompt(&prompts::base_prompt())?;
        }
        Ok(store)
    }

    /// The search space from the configured arms and bounds, each arm
    /// searched over the knobs its provider honours.
    pub fn search_space(&self) -> Result<SearchSpace> {
        let o = &self.config.optimizer;
        let bounds = |[low, high]: [f64; 2]| Bounds::new(low, high);
        SearchSpace::new(
            self.config
                .providers
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
            [
                bounds(o.init_strength)?,
                bounds(o.guidance_scale)?,
                bounds(o.controlnet_weight)?,
            ],
        )?
        .with_honoured(
            self.config
                .providers
                .iter()
                .map(|p| crate::provider::knobs_of(p).honoured())
                .collect(),
        )
    }

    /// The optimizer rebuilt from every rated experiment in the database.
    ///
    /// With a seed, the random stream depends on the seed and on how many
    /// experiments exist, so the same seed and history give the same
    /// suggestions while successive runs still differ.
    pub fn optimizer(&self, store: &Store) -> Result<Optimizer> {
        let mut optimizer = self.optimizer_without_ratings(store)?;
        match self.config.optimizer.model {
            ModelKind::Studio => optimizer.tell_evidence(self.evidence(store)?),
            ModelKind::Regression => {
                for observation in store.rated_trials()? {
                    optimizer.tell(observation);
                }
            }
        }
        Ok(optimizer)
    }

    /// Every designer's judgements, each render in its room's context.
    pub fn evidence(&self, store: &Store) -> Result<Evidence> {
        with_contexts(store, store.evidence()?)
    }

    /// The optimizer's settings as the config gives them.
    pub fn optimizer_settings(&self) -> OptimizerSettings {
        let o = &self.config.optimizer;
        OptimizerSettings {
            n_initial_points: o.n_initial_points as usize,
            strategy: o.strategy,
            model: o.model,
            batch: o.batch,
            bandit: o.bandit,
            reward: o.reward,
            xi: o.xi,
            candidates: o.candidates as usize,
            space_filling: o.space_filling,
            max_model_points: o.max_model_points as usize,
            arm_warmup: o.arm_warmup as usize,
            second_look: SecondLook {
                renders: o.second_look as usize,
                ..OptimizerSettings::default().second_look
            },
            ..OptimizerSettings::default()
        }
    }

    fn optimizer_without_ratings(&self, store: &Store) -> Result<Optimizer> {
        let rng = self.rng(store, 0)?;
        let settings = self.optimizer_settings();
        let cached = store
            .cached_model(&self.model_cache_key())?
            .and_then(|(_, json)| serde_json::from_str::<FittedHyperparameters>(&json).ok());
        // The views (`status`, `report`) draw from their own stream, so a
        // seeded view is the same whether the model was fitted or cached.
        Ok(Optimizer::new(self.search_space()?, settings, rng)
            .with_view_rng(self.rng(store, 0x0171_E3A5)?)
            .with_cached_hyperparameters(cached))
    }

    /// The optimizer told only the ratings its model is fitted on (the most
    /// recent window), for read commands that look at the model but do not
    /// ask: with years of ratings this reads hundreds of rows, not all.
    pub fn model_only_optimizer(&self, store: &Store) -> Result<Optimizer> {
        let limit = self.config.optimizer.max_model_points as usize;
        if self.config.optimizer.model == ModelKind::Studio {
            let (recent, total) = store.evidence_tail(limit)?;
            let told = recent.judgements();
            let mut optimizer = self
                .optimizer_without_ratings(store)?
                .with_earlier_ratings((total as usize).saturating_sub(told));
            optimizer.tell_evidence(with_contexts(store, recent)?);
            return Ok(optimizer);
        }
        let (recent, total) = store.rated_trials_tail(limit)?;
        let mut optimizer = self
            .optimizer_without_ratings(store)?
            .with_earlier_ratings(total as usize - recent.len());
        for observation in recent {
            optimizer.tell(observation);
        }
        Ok(optimizer)
    }

    /// Asks the optimizer rebuilt from the database for `count` suggestions
    /// (conditioned on every pending experiment) and caches the fitted
    /// hyperparameters for the next run.
    pub fn ask(&self, store: &mut Store, count: usize) -> Result<Vec<Suggestion>> {
        self.ask_for(store, count, &ModelQuery::default())
    }

    /// [`Workspace::ask`] for one designer in one room.
    pub fn ask_for(
        &self,
        store: &mut Store,
        count: usize,
        query: &ModelQuery,
    ) -> Result<Vec<Suggestion>> {
        let mut optimizer = self.optimizer(store)?.for_query(query.clone());
        let pending = store.pending_trials()?;
        let suggestions = optimizer.ask(count, &pending)?;
        self.save_fitted(store, &optimizer)?;
        Ok(suggestions)
    }

    /// Fits the model on the newest ratings and caches its hyperparameters,
    /// for a store whose history arrived all at once (`import`): read
    /// commands open the store read-only and cannot save a fit, so without
    /// this every `status` and `report` after an import fits afresh (0.26 s
    /// instead of 44 ms on 100,000 ratings) until something asks for a
    /// suggestion or the dashboard is opened.
    pub fn warm_model_cache(&self, store: &mut Store) -> Result<()> {
        let mut optimizer = self.model_only_optimizer(store)?;
        if optimizer.model()?.is_some() {
            self.save_fitted(store, &optimizer)?;
        }
        Ok(())
    }

    /// Caches the hyperparameters the optimizer fitted, unless they are the
    /// cached ones already.
    pub fn save_fitted(&self, store: &mut Store, optimizer: &Optimizer) -> Result<()> {
        let Some(fitted) = optimizer.fitted_hyperparameters() else {
            return Ok(());
        };
        let key = self.model_cache_key();
        let json = serde_json::to_string(fitted).expect("hyperparameters serialise");
        if store
            .cached_model(&key)?
            .is_some_and(|(_, cached)| cached == json)
        {
            return Ok(());
        }
        store.save_model(&key, fitted.observations as u64, &json)
    }

    /// The prompt for each of `count` new variants: the champion, or while a
    /// challenger is on trial, the challenger for a `challenger_share` of
    /// them (drawn at random; reproducible with a seed like the optimizer).
    pub fn prompts_for(&self, store: &Store, count: usize) -> Result<Vec<PromptVersion>> {
        let champion = store
            .champion_prompt()?
            .ok_or_else(|| Error::Optimizer("no prompt version in the database".into()))?;
        let Some(challenger) = store.challenger()? else {
            return Ok(vec![champion; count]);
        };
        let mut rng = self.rng(store, 0x5EED_C0DE)?;
        let share = self.config.evolution.challenger_share;
        Ok((0..count)
            .map(|_| {
                if rng.random::<f64>() < share {
                    challenger.prompt.clone()
                } else {
                    champion.clone()
                }
            })
            .collect())
    }

    /// With a seed, a stream that depends on the seed, the number of
    /// experiments so far and `salt` (one per use); fresh randomness without.
    fn rng(&self, store: &Store, salt: u64) -> Result<StdRng> {
        Ok(match self.seed {
            Some(seed) => {
                let history = store.experiment_count()?;
                StdRng::seed_from_u64(seed ^ history.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt)
            }
            None => rand::make_rng(),
        })
    }

    /// Cached hyperparameters are only valid for the same arms and bounds.
    fn model_cache_key(&self) -> String {
        let o = &self.config.optimizer;
        let arms: Vec<&str> = self.config.providers.iter().map(|p| p.name()).collect();
        format!(
            "gp:{}:{:?}:{:?}:{:?}",
            arms.join(","),
            o.init_strength,
            o.guidance_scale,
            o.controlnet_weight
        )
    }
}

/// The evidence with each render's full room context (its batch's tags and
/// the features its photo was measured to have or the batch was asked for).
fn with_contexts(store: &Store, mut evidence: Evidence) -> Result<Evidence> {
    let ids: Vec<_> = evidence.renders.iter().map(|r| r.id.clone()).collect();
    let contexts = store.render_contexts(&ids)?;
    for render in &mut evidence.renders {
        if let Some(context) = contexts.get(&render.id) {
            render.context = context.clone();
        }
    }
    Ok(evidence)
}
