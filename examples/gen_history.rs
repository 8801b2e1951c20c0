//! Writes a synthetic but realistic `latina export` file, for benchmarks of
//! the dashboard commands on years of history:
//!
//! ```sh
//! cargo run --release --example gen_history -- --experiments 100000 --out /tmp/h.jsonl --seed 7
//! latina --db /tmp/h.db import /tmp/h.jsonl
//! ```
//!
//! `--experiments` is the number of rated experiments; about 1.5 % more
//! failed renders and 1 % unrated ones come on top. The history spans three
//! years (2023-11-01 to 2026-11-01): photos enhanced in batches of two
//! variants (a photo is often enhanced again), a few `suggest` batches
//! without a photo, three provider arms of different quality (`tone`,
//! `detail`, `leonardo` with cost and network latency, some of its failures
//! rendered by a fallback arm), parameters anywhere in the default search
//! space with ratings that peak near one setting, five designers with their
//! own bias, a second and third opinion on some renders, re-ratings, comments
//! in Spanish and English, and prompt evolution: evolutions (created,
//! skipped, failed), challengers on trial that are promoted, rejected or
//! expire, and the decisions with their numbers. The same seed writes the
//! same bytes.

use clap::Parser;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::io::BufWriter;
use std::path::PathBuf;

use latina::ops::transfer::ExportWriter;
use latina::store::{
    BatchRow, EvolutionRow, ExperimentRow, ImageRow, PromptDecisionRow, PromptVersionRow, RatingRow,
};

#[derive(Parser)]
struct Args {
    /// Rated experiments to generate.
    #[arg(long, default_value_t = 100_000)]
    experiments: usize,
    /// The export file to write.
    #[arg(long)]
    out: PathBuf,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// 2023-11-01T00:00:00Z and three years on, in Unix milliseconds.
const START_MS: i64 = 1_698_796_800_000;
const SPAN_MS: i64 = 3 * 365 * 86_400_000;

const PROVIDERS: [(&str, f64); 3] = [("tone", 2.9), ("detail", 3.3), ("leonardo", 3.8)];
const RATERS: [(&str, f64); 5] = [
    ("ana", 0.0),
    ("bob", -0.4),
    ("carmen", 0.3),
    ("diego", -0.1),
    ("elena", 0.2),
];
const LOW: [&str; 8] = [
    "se ve muy plano, sin profundidad",
    "muy oscura la sala",
    "too dark, needs light",
    "colores apagados",
    "flat and dull",
    "las paredes se ven torcidas",
    "textura borrosa en el sofá, \"plástico\"",
    "sombras raras, poco realista",
];
const MID: [&str; 5] = [
    "bien, pero falta luz natural",
    "ok, a bit oversaturated",
    "correcto; la madera se ve algo artificial",
    "decent, the window is blown out",
    "casi, le falta contraste",
];
const HIGH: [&str; 5] = [
    "¡perfecto! muy realista",
    "great light, keep this",
    "me encanta la iluminación cálida",
    "looks like a real photo",
    "excelente, el cliente lo aprueba",
];
const ROOMS: [&str; 5] = ["living_room", "kitchen", "bedroom", "bathroom", "office"];
const STYLES: [&str; 4] = ["nordic", "mediterranean", "industrial", "minimal"];
const ISSUES: [&str; 6] = [
    "flat_look",
    "too_dark",
    "dull_colors",
    "blurry_texture",
    "harsh_shadows",
    "distorted_geometry",
];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let file = std::fs::File::create(&args.out)?;
    let mut out = ExportWriter::new(BufWriter::with_capacity(1 << 16, file))?;

    let rated_target = args.experiments;
    let failed_target = rated_target * 15 / 1000;
    let unrated_target = rated_target / 100;
    let total = rated_target + failed_target + unrated_target;
    let batches = total.div_ceil(2);
    let gap = SPAN_MS / batches as i64;

    // Prompt history: an evolution every so many batches; each creates a
    // challenger tried for a while, then promoted, rejected or expired.
    let n_evolutions = (batches / 1500).clamp(3, 60);
    let mut versions = vec![Version {
        row: PromptVersionRow {
            version: "1.0.0".into(),
            prompt: "Professional interior photograph of the same room, photorealistic".into(),
            negative_prompt: "cartoon, blurry, distorted geometry".into(),
            parent: None,
            status: "champion".into(),
            reasoning: Some("Base prompt".into()),
            changes: vec![],
            created_at: stamp(START_MS - 86_400_000),
        },
        quality: 0.0,
    }];
    // (first batch, version index): who is champion from then on.
    let mut reigns = vec![(0usize, 0usize)];
    // (first batch, end batch, version index): challengers on trial.
    let mut trials = Vec::new();
    let mut evolutions = Vec::new();
    let mut decisions = Vec::new();
    let mut champion = 0usize;
    let (mut major, mut minor, mut patch) = (1u32, 0u32, 0u32);
    let every = batches / (n_evolutions + 1);
    for e in 1..=n_evolutions {
        let at = e * every;
        let at_ms = START_MS + at as i64 * gap;
        // Ratings so far, rounded down to the evolution cadence of 10.
        let trigger = (at * 2 * rated_target / total) as i64 / 10 * 10;
        let roll: f64 = rng.random();
        if roll < 0.15 {
            let (outcome, detail) = if roll < 0.1 {
                (
                    "skipped",
                    "the last 10 ratings average 4.60 (skip_above 4.5)",
                )
            } else {
                ("failed", "llm: the endpoint answered 503 three times")
            };
            evolutions.push(EvolutionRow {
                trigger_sample: trigger,
                parent_version: versions[champion].row.version.clone(),
                new_version: None,
                evolver: "rules".into(),
                outcome: outcome.into(),
                issues: serde_json::json!([]),
                reasoning: None,
                changes: vec![],
                detail: Some(detail.into()),
                created_at: stamp(at_ms),
                finished_at: Some(stamp(at_ms + 900)),
            });
            continue;
        }
        if rng.random::<f64>() < 0.1 {
            (major, minor, patch) = (major + 1, 0, 0);
        } else if rng.random::<f64>() < 0.6 {
            (minor, patch) = (minor + 1, 0);
        } else {
            patch += 1;
        }
        let version = format!("{major}.{minor}.{patch}");
        let issue = ISSUES[rng.random_range(0..ISSUES.len())];
        let change = format!("address {issue}");
        let trial_batches = rng.random_range(every / 4..every * 3 / 4).max(1);
        let quality = Normal::new(0.0, 0.25).unwrap().sample(&mut rng);
        let parent = versions[champion].row.version.clone();
        versions.push(Version {
            row: PromptVersionRow {
                version: version.clone(),
                prompt: format!(
                    "{} and {}",
                    versions[champion].row.prompt,
                    issue.replace('_', " ")
                ),
                negative_prompt: versions[champion].row.negative_prompt.clone(),
                parent: Some(parent.clone()),
                status: "challenger".into(),
                reasoning: Some(format!("recent comments report {issue}")),
                changes: vec![change.clone()],
                created_at: stamp(at_ms + 800),
            },
            quality: versions[champion].quality + quality,
        });
        evolutions.push(EvolutionRow {
            trigger_sample: trigger,
            parent_version: parent.clone(),
            new_version: Some(version.clone()),
            evolver: if e % 3 == 0 {
                "llm:gpt-4o-mini".into()
            } else {
                "rules".into()
            },
            outcome: "created".into(),
            issues: serde_json::json!([{
                "issue": issue,
                "count": rng.random_range(3..9),
                "mean_stars": 2.0 + rng.random::<f64>(),
            }]),
            reasoning: Some(format!("recent comments report {issue}")),
            changes: vec![change],
            detail: None,
            created_at: stamp(at_ms),
            finished_at: Some(stamp(at_ms + 800)),
        });
        let new = versions.len() - 1;
        let end = at + trial_batches;
        trials.push((at, end, new));
        if end >= batches {
            break; // still on trial when the history ends
        }
        let champion_mean = 3.2 + versions[champion].quality;
        let challenger_mean = 3.2 + versions[new].quality;
        let difference = challenger_mean - champion_mean;
        let decision = if difference >= 0.1 {
            versions[champion].row.status = "retired".into();
            versions[new].row.status = "champion".into();
            reigns.push((end, new));
            champion = new;
            "promote"
        } else if difference <= -0.2 {
            versions[new].row.status = "rejected".into();
            "reject"
        } else {
            versions[new].row.status = "retired".into();
            "expire"
        };
        let t = difference / 0.2;
        decisions.push(PromptDecisionRow {
            champion: parent,
            challenger: version,
            decision: decision.into(),
            champion_n: rng.random_range(20..60),
            champion_mean: champion_mean.clamp(1.0, 5.0),
            challenger_n: rng.random_range(10..40),
            challenger_mean: challenger_mean.clamp(1.0, 5.0),
            difference: Some(difference),
            t: Some(t),
            df: Some(rng.random_range(12.0..50.0)),
            prob_better: Some(1.0 / (1.0 + (-1.7 * t).exp())),
            created_at: stamp(START_MS + end as i64 * gap),
        });
    }

    // Photos: a new one for about a third of the batches, reused otherwise.
    let mut images: Vec<ImageRow> = Vec::new();
    let mut batch_rows = Vec::with_capacity(batches);
    let mut experiments = Vec::with_capacity(total);
    let mut ratings: Vec<(i64, RatingRow)> = Vec::with_capacity(total * 5 / 4);
    let noise = Normal::new(0.0, 0.6).unwrap();
    let (mut rated, mut failed, mut unrated) = (0usize, 0usize, 0usize);
    for b in 0..batches {
        let at_ms = START_MS + b as i64 * gap + rng.random_range(0..gap.max(1));
        let batch_id = hex(&mut rng, 32);
        let suggest = rng.random::<f64>() < 0.04;
        let image = if suggest {
            None
        } else if images.is_empty() || rng.random::<f64>() < 0.35 {
            let sha = hex(&mut rng, 64);
            let (width, height) =
                [(4000, 3000), (1024, 768), (3024, 4032), (1920, 1080)][rng.random_range(0..4)];
            images.push(ImageRow {
                stored_path: format!("/home/ana/.local/share/latina/originals/{}.jpg", &sha[..16]),
                source_path: format!("/home/ana/fotos/proyecto{}/sala_{}.jpg", b % 97, b % 13),
                sha256: sha.clone(),
                format: "jpeg".into(),
                width,
                height,
                bytes: rng.random_range(200_000..4_000_000),
                created_at: stamp(at_ms),
                // Generated photos have no pixels to measure.
                features: None,
            });
            Some(sha)
        } else {
            let back = rng.random_range(0..images.len().min(50));
            Some(images[images.len() - 1 - back].sha256.clone())
        };
        batch_rows.push(BatchRow {
            id: batch_id.clone(),
            image_sha256: image.clone(),
            project: image
                .as_ref()
                .map(|_| format!("casa-{}", ["lopez", "garcia", "marti", "ruiz"][b % 4])),
            kind: image.as_ref().map(|_| "lighting".into()),
            room: image.as_ref().map(|_| ROOMS[b % ROOMS.len()].into()),
            style: image.as_ref().map(|_| STYLES[b % STYLES.len()].into()),
            preview_path: image
                .as_ref()
                .map(|_| format!("/home/ana/.local/share/latina/previews/{batch_id}.jpg")),
            created_at: stamp(at_ms),
            made_for: None,
        });
        let rater = rng.random_range(0..RATERS.len());
        for option in ["A", "B"] {
            if experiments.len() >= total {
                break;
            }
            let id = hex(&mut rng, 32);
            let arm = rng.random_range(0..PROVIDERS.len());
            let params = [
                rng.random_range(0.1..0.5),
                rng.random_range(5.0..12.0),
                rng.random_range(0.7..0.99),
            ];
            let reigning = reigns
                .iter()
                .rev()
                .find(|(from, _)| *from <= b)
                .map_or(0, |r| r.1);
            let on_trial = trials
                .iter()
                .find(|(from, end, _)| (*from..*end).contains(&b))
                .map(|t| t.2);
            let version = match on_trial {
                Some(c) if rng.random::<f64>() < 0.3 => c,
                _ => reigning,
            };
            let want_fail = !suggest && failed < failed_target && rng.random::<f64>() < 0.02;
            let want_unrated =
                !want_fail && unrated < unrated_target && rng.random::<f64>() < 0.012;
            let done_ms = at_ms + rng.random_range(30..200);
            let (provider, fallback, error, status, latency, cost) = if suggest {
                (PROVIDERS[arm].0, None, None, "proposed", None, None)
            } else if want_fail {
                failed += 1;
                (
                    PROVIDERS[arm].0,
                    None,
                    Some("provider timed out after 120 s".to_string()),
                    "failed",
                    Some(120_000),
                    None,
                )
            } else if arm == 2 && rng.random::<f64>() < 0.02 {
                (
                    "tone",
                    Some("leonardo"),
                    Some("leonardo: 429 Too Many Requests (failed after 1840 ms)".to_string()),
                    "done",
                    Some(rng.random_range(40..200)),
                    Some(0.0),
                )
            } else if arm == 2 {
                (
                    "leonardo",
                    None,
                    None,
                    "done",
                    Some(rng.random_range(8_000..25_000)),
                    Some(0.015),
                )
            } else {
                (
                    PROVIDERS[arm].0,
                    None,
                    None,
                    "done",
                    Some(rng.random_range(30..250)),
                    Some(0.0),
                )
            };
            let gp = b > 3;
            experiments.push(ExperimentRow {
                id: id.clone(),
                batch_id: batch_id.clone(),
                option: option.into(),
                provider: provider.into(),
                init_strength: params[0],
                guidance_scale: params[1],
                controlnet_weight: params[2],
                prompt_version: versions[version].row.version.clone(),
                method: if gp { "gp_ei" } else { "initial_design" }.into(),
                status: status.into(),
                output_path: (status == "done")
                    .then(|| format!("/home/ana/.local/share/latina/renders/{id}.jpg")),
                latency_ms: latency,
                error,
                created_at: stamp(at_ms),
                finished_at: (status != "proposed").then(|| stamp(done_ms)),
                arm_rule: Some(if gp { "thompson" } else { "design" }.into()),
                arm_score: gp.then(|| rng.random::<f64>()),
                predicted_mean: gp.then(|| 2.5 + 1.5 * rng.random::<f64>()),
                predicted_sd: gp.then(|| 0.2 + 0.6 * rng.random::<f64>()),
                expected_improvement: gp.then(|| 0.2 * rng.random::<f64>()),
                fallback_from: fallback.map(str::to_string),
                cost_usd: cost,
                fallback_latency_ms: fallback.map(|_| 1840),
                render_features: None,
                shortlist: None,
                applied_knobs: None,
            });
            if status == "failed" {
                continue;
            }
            if want_unrated || rated >= rated_target {
                unrated += 1;
                continue;
            }
            rated += 1;
            // Quality: the arm, the prompt, a peak near (0.3, 8.5, 0.85).
            let distance = ((params[0] - 0.3) / 0.2).powi(2)
                + ((params[1] - 8.5) / 3.5).powi(2)
                + ((params[2] - 0.85) / 0.15).powi(2);
            let arm_quality = PROVIDERS
                .iter()
                .find(|(name, _)| *name == provider)
                .map_or(3.0, |(_, q)| *q);
            let quality = arm_quality + versions[version].quality + 1.2 * (-distance).exp() - 0.4;
            let mut when = done_ms + rng.random_range(60_000..2 * 86_400_000);
            let mut raters = vec![rater];
            if rng.random::<f64>() < 0.15 {
                for _ in 0..rng.random_range(1..3) {
                    let other = rng.random_range(0..RATERS.len());
                    if !raters.contains(&other) {
                        raters.push(other);
                    }
                }
            }
            if rng.random::<f64>() < 0.05 {
                raters.push(rater); // the same designer changes their mind later
            }
            for r in raters {
                let stars = (quality + RATERS[r].1 + noise.sample(&mut rng))
                    .round()
                    .clamp(1.0, 5.0) as i64;
                let comment = (rng.random::<f64>() < 0.4).then(|| {
                    let pool: &[&str] = match stars {
                        1 | 2 => &LOW,
                        3 => &MID,
                        _ => &HIGH,
                    };
                    pool[rng.random_range(0..pool.len())].to_string()
                });
                ratings.push((
                    when,
                    RatingRow {
                        experiment_id: id.clone(),
                        stars,
                        comment,
                        rated_by: Some(RATERS[r].0.into()),
                        rated_at: stamp(when),
                    },
                ));
                when += rng.random_range(60_000..10 * 86_400_000);
            }
        }
    }

    for image in &images {
        out.image(image)?;
    }
    for version in &versions {
        out.prompt_version(&version.row)?;
    }
    for batch in &batch_rows {
        out.batch(batch)?;
    }
    for experiment in &experiments {
        out.experiment(experiment)?;
    }
    // The file's rating order is the database's: by time, so the last
    // rating of an experiment is its latest.
    ratings.sort_by_key(|(when, _)| *when);
    for (_, rating) in &ratings {
        out.rating(rating)?;
    }
    for evolution in &evolutions {
        out.evolution(evolution)?;
    }
    for decision in &decisions {
        out.prompt_decision(decision)?;
    }
    let counts = out.finish()?;
    eprintln!(
        "wrote {}: {} experiments ({rated} rated, {failed} failed, {unrated} unrated), {} ratings, {} images, {} prompt versions, {} evolutions, {} decisions",
        args.out.display(),
        counts.experiments,
        counts.ratings,
        counts.images,
        counts.prompt_versions,
        counts.evolutions,
        counts.prompt_decisions
    );
    Ok(())
}

struct Version {
    row: PromptVersionRow,
    /// How much better (in stars) renders with it are than with 1.0.0.
    quality: f64,
}

/// `n` random lowercase hex digits.
fn hex(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("a hex digit"))
        .collect()
}

/// Unix milliseconds as SQLite writes times: `2026-11-26T21:48:31.123Z`.
fn stamp(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}
