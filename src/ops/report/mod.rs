//! `latina report`: the learning state as one self-contained HTML file.
//!
//! The history is streamed from the database once (in rating order) into a
//! compact table; headline numbers, the version timeline and the decision
//! marks are computed in that pass, star counts per provider and the best
//! and worst renders come from SQL. Charts are inline SVG drawn here
//! (`svg`, `series`, `charts`), thumbnails are base64 JPEGs, and the file
//! is written atomically. Nothing in the page refers to the network.

mod charts;
mod html;
mod model;
mod series;
mod svg;
mod thumbnails;

pub use html::escape;

use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Workspace;
use crate::domain::learning::convergence;
use crate::error::{Error, Result};
use crate::optim::Bounds;
use crate::storage::write_atomically;
use crate::store::{Extreme, ProviderStars, Store};

pub use model::{CurvePoint, ModelView};
pub use thumbnails::{THUMBNAIL_SIDE, Thumbnail};

/// File name used when `--out` is a directory.
pub const DEFAULT_FILE_NAME: &str = "report.html";

/// What to write.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The HTML file (or an existing directory to write `report.html` into).
    pub out: PathBuf,
    /// Best and worst renders shown, each.
    pub thumbnails: usize,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportWritten {
    /// The file, absolute.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Rated experiments in the report.
    pub samples: u64,
}

/// The numbers at the top of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    /// Rated experiments (latest rating each).
    pub samples: u64,
    /// Highest latest rating.
    pub best: u8,
    /// Mean latest rating.
    pub average: f64,
    /// The original's convergence score, in [0, 1].
    pub convergence: f64,
    /// 1 while learning fast, 2 after 50 samples or a best of 4.
    pub phase: u8,
}

/// Whether the parameter charts have a model curve.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    /// Fewer than two ratings of configured providers.
    NotEnough,
    /// The GP could not be fitted; the charts show the points only.
    Failed(String),
    /// The fitted view.
    Fitted(ModelView),
}

/// One rated experiment in the compact table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservedPoint {
    /// Index into [`ParamData::providers`].
    pub provider: usize,
    /// init_strength, guidance_scale, controlnet_weight.
    pub values: [f64; 3],
    /// The latest rating.
    pub stars: u8,
}

/// Everything the parameter charts need.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamData {
    /// Provider names in order of first appearance.
    pub providers: Vec<String>,
    /// Every rated experiment, in rating order.
    pub points: Vec<ObservedPoint>,
    /// The configured bounds of the three parameters.
    pub bounds: [Bounds; 3],
}

/// One prompt version's row in the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSpan {
    /// Semantic version.
    pub version: String,
    /// Its status now.
    pub status: String,
    /// First and last position in rating order (0-based), count and mean
    /// rating; `None` without ratings.
    pub span: Option<(usize, usize, u64, f64)>,
}

/// A decision placed in rating order.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionMark {
    /// Ratings given before the decision.
    pub position: usize,
    /// `promote`, `reject`, `expire`, `activate`, `rollback`.
    pub decision: String,
    /// The version decided about.
    pub challenger: String,
    /// The champion at the time.
    pub champion: String,
}

/// Everything on the page, gathered from the database.
pub struct ReportData {
    /// The database file, as shown.
    pub database: String,
    /// When the report was made (HTTP date, UTC).
    pub generated_at: String,
    /// Headline numbers.
    pub headline: Headline,
    /// Latest ratings in rating order.
    pub stars: Vec<f64>,
    /// Every provider name seen, sorted (fixes each provider's colour).
    pub provider_names: Vec<String>,
    /// Star counts per provider.
    pub providers: Vec<ProviderStars>,
    /// Observations for the parameter charts.
    pub params: ParamData,
    /// The model's view.
    pub model: ModelState,
    /// Prompt versions, oldest first.
    pub versions: Vec<VersionSpan>,
    /// Decisions, oldest first.
    pub decisions: Vec<DecisionMark>,
    /// Best rated renders.
    pub best: Vec<Thumbnail>,
    /// Worst rated renders (none of the best).
    pub worst: Vec<Thumbnail>,
    /// Quality against cost and time per arm, as `status` computes it.
    pub cost_tradeoff: Option<crate::ops::status::CostTradeoff>,
}

/// Writes the report and says where.
///
/// # Errors
/// [`Error::NothingToReport`] when nothing is rated yet; [`Error::Io`] when
/// the output directory does not exist or the file cannot be written; a
/// database error.
pub fn report(ws: &Workspace, store: &mut Store, options: &ReportOptions) -> Result<ReportWritten> {
    let path = output_path(&options.out)?;
    let data = gather(ws, store, options.thumbnails)?;
    let charts = charts::draw(&data);
    let page = html::page(&data, &charts);
    write_atomically(&path, page.as_bytes())?;
    Ok(ReportWritten {
        path,
        bytes: page.len() as u64,
        samples: data.headline.samples,
    })
}

/// The report page as HTML, without writing it anywhere (`latina serve`
/// shows it on its dashboard).
///
/// # Errors
/// [`Error::NothingToReport`] when nothing is rated; a database error.
pub fn html_page(ws: &Workspace, store: &mut Store, thumbnails_each: usize) -> Result<String> {
    let mut data = gather(ws, store, thumbnails_each)?;
    // A page served to a studio's network names the file, not where it
    // lives on this machine (the path tells others the user's home).
    if let Some(name) = Path::new(&data.database).file_name() {
        data.database = name.to_string_lossy().into_owned();
    }
    let charts = charts::draw(&data);
    Ok(html::page(&data, &charts))
}

/// The absolute file to write; refuses a directory that does not exist
/// rather than creating it (a typo should not scatter reports around).
fn output_path(out: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(out).map_err(|e| Error::io("cannot resolve", out, e))?;
    if absolute.is_dir() {
        return Ok(absolute.join(DEFAULT_FILE_NAME));
    }
    let dir = absolute.parent().unwrap_or(Path::new("/"));
    if !dir.is_dir() {
        return Err(Error::io(
            "cannot write the report into",
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such directory (create it first)",
            ),
        ));
    }
    Ok(absolute)
}

/// Reads and computes everything the page shows.
///
/// # Errors
/// [`Error::NothingToReport`] when nothing is rated; a database error.
pub fn gather(ws: &Workspace, store: &mut Store, thumbnails_each: usize) -> Result<ReportData> {
    let mut decisions = store.decision_rows()?;
    decisions.sort_by_key(|d| d.created_at);
    let mut clock = DecisionClock::new(decisions.iter().map(|d| d.created_at).collect());
    let mut provider_index: HashMap<String, usize> = HashMap::new();
    let mut providers: Vec<String> = Vec::new();
    let mut version_index: HashMap<String, usize> = HashMap::new();
    let mut version_stats: Vec<(usize, usize, u64, u64)> = Vec::new();
    let mut points: Vec<ObservedPoint> = Vec::new();
    let mut last_version: Option<(String, usize)> = None;
    store.for_each_rated(|row| {
        let position = points.len();
        let provider = match provider_index.get(row.provider) {
            Some(&i) => i,
            None => {
                providers.push(row.provider.to_string());
                provider_index.insert(row.provider.to_string(), providers.len() - 1);
                providers.len() - 1
            }
        };
        // Consecutive ratings mostly share a version: skip the hash then.
        let version = match &last_version {
            Some((name, i)) if name == row.prompt_version => *i,
            _ => {
                let i = match version_index.get(row.prompt_version) {
                    Some(&i) => i,
                    None => {
                        version_stats.push((position, position, 0, 0));
                        version_index
                            .insert(row.prompt_version.to_string(), version_stats.len() - 1);
                        version_stats.len() - 1
                    }
                };
                last_version = Some((row.prompt_version.to_string(), i));
                i
            }
        };
        let stats = &mut version_stats[version];
        stats.1 = position;
        stats.2 += 1;
        stats.3 += u64::from(row.stars);
        clock.rated(row.rated_at);
        points.push(ObservedPoint {
            provider,
            values: [
                row.params.init_strength,
                row.params.guidance_scale,
                row.params.controlnet_weight,
            ],
            stars: row.stars,
        });
    })?;
    if points.is_empty() {
        return Err(Error::NothingToReport {
            database: store.path().to_path_buf(),
        });
    }
    let stars: Vec<f64> = points.iter().map(|p| f64::from(p.stars)).collect();
    let samples = stars.len() as u64;
    let best = points.iter().map(|p| p.stars).max().unwrap_or(0);
    let average = stars.iter().sum::<f64>() / stars.len() as f64;
    let headline = Headline {
        samples,
        best,
        average,
        convergence: convergence(samples, f64::from(best)),
        phase: crate::domain::Phase::of(samples, f64::from(best)).number(),
    };

    let decisions = decisions
        .into_iter()
        .zip(clock.positions())
        .map(|(d, position)| DecisionMark {
            position,
            decision: d.decision,
            challenger: d.challenger,
            champion: d.champion,
        })
        .collect();
    let versions = store
        .version_rows()?
        .into_iter()
        .map(|v| {
            let span = version_index.get(&v.version).map(|&i| {
                let (first, last, n, sum) = version_stats[i];
                (first, last, n, sum as f64 / n as f64)
            });
            VersionSpan {
                version: v.version,
                status: v.status,
                span,
            }
        })
        .collect();

    let model = match model::fit(ws, store) {
        Ok(Some(view)) => ModelState::Fitted(view),
        Ok(None) => ModelState::NotEnough,
        // A model failure should not cost the designer the rest of the report.
        Err(Error::Gp(e)) => ModelState::Failed(e.to_string()),
        Err(e) => return Err(e),
    };

    let best_renders = store.extreme_renders(Extreme::Best, thumbnails_each, &[])?;
    let exclude: Vec<String> = best_renders
        .iter()
        .map(|r| r.experiment_id.clone())
        .collect();
    let worst_renders = store.extreme_renders(Extreme::Worst, thumbnails_each, &exclude)?;
    let mut provider_names = providers.clone();
    let star_counts = store.star_counts_by_provider()?;
    provider_names.sort();
    Ok(ReportData {
        database: store.path().display().to_string(),
        generated_at: httpdate::fmt_http_date(std::time::SystemTime::now()),
        headline,
        stars,
        provider_names,
        providers: star_counts,
        params: ParamData {
            providers,
            points,
            bounds: ws.search_space()?.bounds(),
        },
        model,
        versions,
        decisions,
        best: thumbnails::thumbnails(&ws.storage, best_renders),
        worst: thumbnails::thumbnails(&ws.storage, worst_renders),
        cost_tradeoff: crate::ops::status::status(ws, store)?.cost_tradeoff,
    })
}

/// Places decisions in rating order: a decision's position is the number of
/// ratings given at or before its time. Ratings stream past once; each is
/// counted against the first decision not earlier than it, and a prefix sum
/// gives every decision's count, in O(log d) per rating.
struct DecisionClock {
    /// Decision times, ascending.
    times: Vec<Timestamp>,
    /// `first[k]`: ratings whose first decision at or after them is `k`.
    first: Vec<usize>,
}

impl DecisionClock {
    fn new(times: Vec<Timestamp>) -> Self {
        let first = vec![0; times.len() + 1];
        DecisionClock { times, first }
    }

    fn rated(&mut self, rated_at: Timestamp) {
        let k = self.times.partition_point(|t| *t < rated_at);
        self.first[k] += 1;
    }

    fn positions(&self) -> Vec<usize> {
        self.first[..self.times.len()]
            .iter()
            .scan(0, |acc, &c| {
                *acc += c;
                Some(*acc)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_placed_after_the_ratings_given_before_them() {
        let at =
            |s: &str| crate::domain::time::parse(&format!("2026-01-01T00:00:{s}.000Z")).unwrap();
        let mut clock = DecisionClock::new(vec![at("05"), at("05"), at("20")]);
        // Ratings at 01, 05 (same instant counts as before), 07, 10, 30:
        // the first two decisions come after 2 ratings, the third after 4.
        for s in ["01", "05", "07", "10", "30"] {
            clock.rated(at(s));
        }
        assert_eq!(clock.positions(), vec![2, 2, 4]);
        assert_eq!(
            DecisionClock::new(Vec::new()).positions(),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn output_is_refused_in_a_missing_directory_and_completed_for_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = output_path(&dir.path().join("nope/report.html")).unwrap_err();
        assert!(err.to_string().contains("no such directory"), "{err}");
        assert_eq!(
            output_path(dir.path()).unwrap(),
            dir.path().join(DEFAULT_FILE_NAME)
        );
        let file = dir.path().join("r.html");
        assert_eq!(output_path(&file).unwrap(), file);
    }
}
