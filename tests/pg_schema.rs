//! The PostgreSQL schema (src/store/pg/0001_base.sql) behaves like the
//! SQLite one latina's migrations build: the same write SQL, run on both
//! from seeded random sequences, leaves every table and view identical row
//! for row; the compatibility functions give SQLite's answers; tallies kept
//! by concurrent transactions match a recount.
//!
//! Needs a server: `LATINA_TEST_POSTGRES_URL` (+ `LATINA_TEST_PGPASSWORD`),
//! as `.ci/start-postgres` writes them. Without it each test prints a note
//! and passes, unless `LATINA_REQUIRE_POSTGRES=1` (CI), where it fails.

#[path = "pg_schema/twin.rs"]
mod twin;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use twin::{PgDb, Twin, Val};

/// Columns stamped with "now": equal only in form across the two
/// databases, so compared as "NULL or a timestamp of latina's form".
fn is_stamp(column: &str) -> bool {
    column.ends_with("_at")
}

fn stamp_form(v: &Val) -> bool {
    match v {
        Val::Null => true,
        Val::Text(s) => {
            let b = s.as_bytes();
            b.len() == 24
                && b.iter().enumerate().all(|(i, c)| match i {
                    4 | 7 => *c == b'-',
                    10 => *c == b'T',
                    13 | 16 => *c == b':',
                    19 => *c == b'.',
                    23 => *c == b'Z',
                    _ => c.is_ascii_digit(),
                })
        }
        _ => false,
    }
}

/// Names of SQLite's tables, views or indexes (not its own).
fn lite_names(t: &Twin, kind: &str) -> Vec<String> {
    t.lite_rows(&format!(
        "SELECT name FROM sqlite_master WHERE type = '{kind}' AND name NOT LIKE 'sqlite_%'
         AND sql IS NOT NULL ORDER BY name"
    ))
    .into_iter()
    .map(|r| match &r[0] {
        Val::Text(s) => s.clone(),
        other => panic!("{other:?}"),
    })
    .collect()
}

fn pg_names(t: &mut Twin, sql: &str) -> Vec<String> {
    t.pg_rows(sql)
        .into_iter()
        .map(|r| match &r[0] {
            Val::Text(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Every table and view of the SQLite schema, read from both databases
/// with SQLite's column list, timestamps reduced to their form, rows
/// sorted: the two must be equal.
fn assert_same_contents(t: &mut Twin, context: &str) {
    let mut relations = lite_names(t, "table");
    relations.extend(lite_names(t, "view"));
    for relation in relations {
        let columns: Vec<String> = t
            .lite_rows(&format!(
                "SELECT name FROM pragma_table_info('{relation}') ORDER BY cid"
            ))
            .into_iter()
            .map(|r| match &r[0] {
                Val::Text(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        let sql = format!("SELECT {} FROM {relation}", columns.join(", "));
        let read = |rows: Vec<Vec<Val>>, side: &str| {
            let mut rows: Vec<Vec<Val>> = rows
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .zip(&columns)
                        .map(|(v, c)| {
                            if is_stamp(c) {
                                assert!(stamp_form(&v), "{side} {relation}.{c} = {v:?}");
                                Val::Text(if v == Val::Null { "null" } else { "stamp" }.into())
                            } else {
                                v
                            }
                        })
                        .collect()
                })
                .collect();
            rows.sort_by_key(|r| format!("{r:?}"));
            rows
        };
        let lite = read(t.lite_rows(&sql), "sqlite");
        let pg = read(t.pg_rows(&sql), "postgres");
        if lite != pg {
            let only_lite: Vec<_> = lite.iter().filter(|r| !pg.contains(r)).collect();
            let only_pg: Vec<_> = pg.iter().filter(|r| !lite.contains(r)).collect();
            panic!(
                "{context}: {relation} differs ({} vs {} rows)\n  columns {columns:?}\n  only sqlite: {only_lite:?}\n  only postgres: {only_pg:?}",
                lite.len(),
                pg.len()
            );
        }
    }
}

/// What latina writes, one random step at a time, tracking just enough to
/// pick valid targets. Ids are never reused: only rows below the newest
/// are deleted, because SQLite hands a deleted newest id out again and a
/// PostgreSQL identity never does.
struct Studio {
    rng: StdRng,
    batches: Vec<String>,
    /// (experiment id, batch id, status)
    experiments: Vec<(String, String, &'static str)>,
    champion: String,
    challenger: Option<String>,
    versions: u32,
    evolutions: i64,
}

const PROVIDERS: [&str; 4] = ["tone", "flux", "sdxl", "leonardo"];
const DESIGNERS: [Option<&str>; 4] = [Some("ana"), Some("bo"), Some("cy"), None];

impl Studio {
    fn new(seed: u64) -> Studio {
        Studio {
            rng: StdRng::seed_from_u64(seed),
            batches: Vec::new(),
            experiments: Vec::new(),
            champion: "1.0.0".into(),
            challenger: None,
            versions: 0,
            evolutions: 0,
        }
    }

    fn designer(&mut self) -> Val {
        DESIGNERS[self.rng.random_range(0..DESIGNERS.len())].into()
    }

    fn maybe<T: Into<Val>>(&mut self, p: f64, v: T) -> Val {
        if self.rng.random_bool(p) {
            v.into()
        } else {
            Val::Null
        }
    }

    fn pick_experiment(&mut self, statuses: &[&str]) -> Option<String> {
        let ids: Vec<&String> = self
            .experiments
            .iter()
            .filter(|e| statuses.contains(&e.2))
            .map(|e| &e.0)
            .collect();
        (!ids.is_empty()).then(|| ids[self.rng.random_range(0..ids.len())].clone())
    }

    fn ids(t: &Twin, sql: &str) -> Vec<i64> {
        t.lite_rows(sql)
            .into_iter()
            .map(|r| match r[0] {
                Val::Int(v) => v,
                ref other => panic!("{other:?}"),
            })
            .collect()
    }

    /// An id of `table` that is not the newest (see the type's comment).
    fn older_id(&mut self, t: &Twin, table: &str) -> Option<i64> {
        let ids = Self::ids(
            t,
            &format!("SELECT id FROM {table} WHERE id < (SELECT max(id) FROM {table})"),
        );
        (!ids.is_empty()).then(|| ids[self.rng.random_range(0..ids.len())])
    }

    fn setup(&mut self, t: &mut Twin) {
        t.ok(
            "INSERT INTO prompt_versions (version, prompt, negative_prompt, parent, status, reasoning, changes)
             VALUES (?1, ?2, ?3, ?4, 'champion', ?5, ?6)",
            &["1.0.0".into(), "a bright room".into(), "".into(), Val::Null, Val::Null, "[]".into()],
        );
        for i in 1..=3 {
            t.ok(
                "INSERT INTO images (sha256, stored_path, source_path, format, width, height, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (sha256) DO NOTHING",
                &[
                    format!("{i:064x}").into(),
                    format!("images/{i}.png").into(),
                    format!("/home/ana/Fotos/Salón {i}.PNG").into(),
                    "png".into(),
                    Val::Int(640 + i),
                    Val::Int(480),
                    Val::Int(1000 * i),
                ],
            );
            t.ok(
                "INSERT INTO photo_features (image_id, brightness, contrast, warmth, colourfulness, clutter, window_light)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (image_id) DO NOTHING",
                &[Val::Int(i), 0.1.into(), 0.2.into(), 0.3.into(), 0.4.into(), 0.5.into(), 0.6.into()],
            );
        }
    }

    fn step(&mut self, t: &mut Twin) {
        let roll = self.rng.random_range(0..100);
        match roll {
            0..=9 => self.new_batch(t),
            10..=24 => self.finish(t),
            25..=27 => self.recover(t),
            28..=51 => self.rate(t),
            52..=54 => self.rate_twice_in_one_statement(t),
            55..=63 => self.prefer(t),
            64..=69 => self.shortlist(t),
            70..=74 => self.evolve(t),
            75..=77 => self.decide(t),
            78..=87 => self.hand_edit_rating(t),
            88..=93 => self.hand_delete_rating(t),
            94..=95 => self.hand_edit_preference(t),
            96..=97 => self.hand_edit_experiment_stars(t),
            _ => self.invalid(t),
        }
    }

    fn new_batch(&mut self, t: &mut Twin) {
        let n = self.batches.len() + 1;
        let batch = format!("b{n:03}");
        let photo = self.rng.random_range(1..=3_i64);
        let image = self.maybe(0.8, photo);
        let project = self.maybe(0.5, "Casa Sol");
        let made_for = self.maybe(0.5, "ana");
        t.batch("BEGIN");
        t.ok(
            "INSERT INTO batches (id, image_id, project, kind, room, style, made_for)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                batch.clone().into(),
                image,
                project,
                "kitchen".into(),
                "Kitchen".into(),
                Val::Null,
                made_for,
            ],
        );
        if self.rng.random_bool(0.5) {
            t.ok(
                "INSERT INTO batch_contexts (batch_id, brightness, contrast, warmth, colourfulness, clutter, window_light, overridden)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &[batch.clone().into(), 0.7.into(), 0.5.into(), 0.25.into(), 0.5.into(), 0.125.into(), 1.0.into(), "warmth".into()],
            );
        }
        let options = self.rng.random_range(2..=4);
        for o in 0..options {
            let id = format!("{batch}-{o}");
            let status = if self.rng.random_bool(0.85) {
                "running"
            } else {
                "proposed"
            };
            let running = status == "running";
            let provider = PROVIDERS[self.rng.random_range(0..PROVIDERS.len())];
            let params = [
                id.clone().into(),
                batch.clone().into(),
                ["A", "B", "C", "D"][o].into(),
                provider.into(),
                self.rng.random_range(0.1..0.9).into(),
                self.rng.random_range(3.0..12.0).into(),
                self.rng.random_range(0.0..1.0).into(),
                self.champion.clone().into(),
                if o == 0 { "gp" } else { "random" }.into(),
                status.into(),
                self.maybe(0.5, "ucb"),
                self.maybe(0.5, 0.75),
                self.maybe(0.5, 3.5),
                self.maybe(0.5, 0.5),
                self.maybe(0.5, 0.0625),
                if running { Val::Int(4242) } else { Val::Null },
                if running {
                    "studio-1".into()
                } else {
                    Val::Null
                },
                if running { "12345".into() } else { Val::Null },
            ];
            t.ok(
                "INSERT INTO experiments (id, batch_id, option, provider, init_strength,
                     guidance_scale, controlnet_weight, prompt_version, method, status,
                     arm_rule, arm_score, predicted_mean, predicted_sd, expected_improvement,
                     owner_pid, owner_host, owner_start)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                     ?16, ?17, ?18)",
                &params,
            );
            self.experiments.push((id, batch.clone(), status));
        }
        t.batch("COMMIT");
        self.batches.push(batch);
    }

    fn finish(&mut self, t: &mut Twin) {
        let Some(id) = self.pick_experiment(&["running", "proposed"]) else {
            return;
        };
        let done = self.rng.random_bool(0.85);
        let status = if done { "done" } else { "failed" };
        let (provider, fallback_from, fallback_latency) = if self.rng.random_bool(0.2) {
            let old = t.lite_rows(&format!(
                "SELECT provider FROM experiments WHERE id = '{id}'"
            ));
            let to = PROVIDERS[self.rng.random_range(0..PROVIDERS.len())];
            let waited = self.rng.random_range(-5..4000_i64);
            (Val::from(to), old[0][0].clone(), self.maybe(0.8, waited))
        } else {
            (Val::Null, Val::Null, Val::Null)
        };
        // Halves of a nano-dollar exercise SQLite's round-half-away-from-zero.
        let cost = if self.rng.random_bool(0.3) {
            Val::Null
        } else if self.rng.random_bool(0.5) {
            Val::Real(self.rng.random_range(0..40) as f64 * 0.5e-9)
        } else {
            Val::Real(self.rng.random_range(0.0..0.2))
        };
        let latency = self.rng.random_range(-3..90_000_i64);
        let latency = self.maybe(0.9, latency);
        let params = [
            id.clone().into(),
            status.into(),
            if done {
                Val::from(format!("renders/{id}.png"))
            } else {
                Val::Null
            },
            if done {
                Val::Null
            } else {
                "HTTP 500: upstream".into()
            },
            latency,
            provider,
            fallback_from,
            if done { cost } else { Val::Null },
            fallback_latency,
            self.maybe(0.5, "{\"denoise\":0.6}"),
        ];
        t.ok(
            "UPDATE experiments SET status = ?2, output_path = ?3, error = ?4, latency_ms = ?5,
                 provider = coalesce(?6, provider), fallback_from = ?7, cost_usd = ?8,
                 fallback_latency_ms = ?9, applied_knobs = ?10,
                 finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?1",
            &params,
        );
        for e in &mut self.experiments {
            if e.0 == id {
                e.2 = status;
            }
        }
    }

    fn recover(&mut self, t: &mut Twin) {
        let Some(id) = self.pick_experiment(&["running", "proposed"]) else {
            return;
        };
        let changed = t.ok(
            "UPDATE experiments SET status = 'failed', error = ?2,
                 finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ?1 AND status = 'running'",
            &[
                id.clone().into(),
                "interrupted: latina (pid 4242) is gone".into(),
            ],
        );
        if changed == 1 {
            for e in &mut self.experiments {
                if e.0 == id {
                    e.2 = "failed";
                }
            }
        }
    }

    fn rate(&mut self, t: &mut Twin) {
        let Some(id) = self.pick_experiment(&["done"]) else {
            return;
        };
        let stars = self.rng.random_range(1..=5_i64);
        let comment = self.maybe(0.3, "más luz");
        let by = self.designer();
        t.ok(
            "INSERT INTO ratings (experiment_id, stars, comment, rated_by) VALUES (?1, ?2, ?3, ?4)",
            &[id.into(), Val::Int(stars), comment, by],
        );
    }

    /// Import-like multi-row inserts: one designer twice on one render, and
    /// a render of the same photo, in one statement.
    fn rate_twice_in_one_statement(&mut self, t: &mut Twin) {
        let Some(id) = self.pick_experiment(&["done"]) else {
            return;
        };
        let batch = self
            .experiments
            .iter()
            .find(|e| e.0 == id)
            .unwrap()
            .1
            .clone();
        let other = self
            .experiments
            .iter()
            .find(|e| e.1 == batch && e.0 != id)
            .map(|e| e.0.clone());
        let by = self.designer();
        t.ok(
            "INSERT INTO ratings (experiment_id, stars, comment, rated_by)
             VALUES (?1, ?2, NULL, ?3), (?1, ?4, NULL, ?3), (?5, ?2, NULL, ?3)",
            &[
                id.clone().into(),
                Val::Int(self.rng.random_range(1..=5)),
                by,
                Val::Int(self.rng.random_range(1..=5)),
                other.unwrap_or(id).into(),
            ],
        );
    }

    fn prefer(&mut self, t: &mut Twin) {
        let Some(a) = self.pick_experiment(&["done"]) else {
            return;
        };
        let batch = self
            .experiments
            .iter()
            .find(|e| e.0 == a)
            .unwrap()
            .1
            .clone();
        let same: Vec<String> = self
            .experiments
            .iter()
            .filter(|e| e.1 == batch && e.0 != a && e.2 == "done")
            .map(|e| e.0.clone())
            .collect();
        let b = if !same.is_empty() && self.rng.random_bool(0.8) {
            same[self.rng.random_range(0..same.len())].clone()
        } else {
            match self.pick_experiment(&["done"]) {
                Some(b) if b != a => b,
                _ => return,
            }
        };
        let tie = Val::Int(self.rng.random_bool(0.2).into());
        let by = self.designer();
        let comment = self.maybe(0.2, "la B tiene mejor luz");
        t.ok(
            "INSERT INTO preferences (better_id, worse_id, tie, rated_by, comment)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[a.into(), b.into(), tie, by, comment],
        );
    }

    /// The shortlist's relabelling: every option parked, then relabelled in
    /// the shown-first order, with the guard's verdicts.
    fn shortlist(&mut self, t: &mut Twin) {
        if self.batches.is_empty() {
            return;
        }
        let batch = self.batches[self.rng.random_range(0..self.batches.len())].clone();
        let mut ids: Vec<String> = self
            .experiments
            .iter()
            .filter(|e| e.1 == batch)
            .map(|e| e.0.clone())
            .collect();
        for i in (1..ids.len()).rev() {
            ids.swap(i, self.rng.random_range(0..=i));
        }
        t.batch("BEGIN");
        t.ok(
            "UPDATE experiments SET option = '~' || seq WHERE batch_id = ?1",
            &[batch.into()],
        );
        for (index, id) in ids.into_iter().enumerate() {
            let shown = self.rng.random_bool(0.7);
            let guarded = !shown && self.rng.random_bool(0.5);
            let params = [
                id.into(),
                ["A", "B", "C", "D"][index].into(),
                Val::Int(shown.into()),
                if shown {
                    Val::Null
                } else {
                    "structure below threshold".into()
                },
                self.maybe(0.7, 3.25),
                self.maybe(0.7, 0.5),
                self.maybe(0.5, 0.62),
                self.maybe(0.5, 0.7),
                Val::Int(guarded.into()),
            ];
            t.ok(
                "UPDATE experiments SET option = coalesce(?2, option), shown = ?3,
                     shortlist_reason = ?4, reward_mean = ?5, reward_sd = ?6,
                     guard_structure = ?7, guard_threshold = ?8, guarded = ?9
                 WHERE id = ?1
                 RETURNING option",
                &params,
            );
        }
        t.batch("COMMIT");
    }

    fn evolve(&mut self, t: &mut Twin) {
        self.evolutions += 1;
        t.batch("BEGIN");
        t.ok(
            "INSERT INTO evolutions (trigger_sample, parent_version, evolver, outcome)
             VALUES (?1, ?2, ?3, 'pending')",
            &[
                Val::Int(self.evolutions * 10),
                self.champion.clone().into(),
                "rules".into(),
            ],
        );
        let claim = Self::ids(t, "SELECT max(id) FROM evolutions")[0];
        if self.challenger.is_none() && self.rng.random_bool(0.7) {
            self.versions += 1;
            let version = format!("1.{}.0", self.versions);
            t.ok(
                "INSERT INTO prompt_versions (version, prompt, negative_prompt, parent, status, reasoning, changes)
                 VALUES (?1, ?2, ?3, ?4, 'challenger', ?5, ?6)",
                &[
                    version.clone().into(),
                    format!("a bright room, v{}", self.versions).into(),
                    "blurry".into(),
                    self.champion.clone().into(),
                    "darker renders rated low".into(),
                    "[\"add: bright\"]".into(),
                ],
            );
            t.ok(
                "UPDATE evolutions SET outcome = 'created', new_version = ?2, issues = ?3,
                     reasoning = ?4, changes = ?5,
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ?1",
                &[
                    Val::Int(claim),
                    version.clone().into(),
                    "[\"dark\"]".into(),
                    "too dark".into(),
                    "[\"add: bright\"]".into(),
                ],
            );
            self.challenger = Some(version);
        } else {
            t.ok(
                "UPDATE evolutions SET outcome = ?2, detail = ?3,
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ?1",
                &[Val::Int(claim), "failed".into(), "no issues found".into()],
            );
        }
        t.batch("COMMIT");
    }

    fn decide(&mut self, t: &mut Twin) {
        let Some(challenger) = self.challenger.take() else {
            return;
        };
        let promote = self.rng.random_bool(0.5);
        t.batch("BEGIN");
        if promote {
            t.ok(
                "UPDATE prompt_versions SET status = 'retired' WHERE version = ?1",
                &[self.champion.clone().into()],
            );
            t.ok(
                "UPDATE prompt_versions SET status = 'champion' WHERE version = ?1",
                &[challenger.clone().into()],
            );
        } else {
            t.ok(
                "UPDATE prompt_versions SET status = 'rejected' WHERE version = ?1",
                &[challenger.clone().into()],
            );
        }
        t.ok(
            "INSERT INTO prompt_decisions (champion, challenger, decision, champion_n, champion_mean,
                 challenger_n, challenger_mean, difference, t, df, prob_better)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &[
                self.champion.clone().into(),
                challenger.clone().into(),
                if promote { "promote" } else { "reject" }.into(),
                Val::Int(12),
                3.25.into(),
                Val::Int(9),
                3.75.into(),
                0.5.into(),
                1.25.into(),
                17.5.into(),
                0.875.into(),
            ],
        );
        t.batch("COMMIT");
        if promote {
            self.champion = challenger;
        }
    }

    /// Hand edits latina never makes, which the triggers must survive:
    /// stars, designer, render, comment of one rating; stars of all of a
    /// render's ratings at once.
    fn hand_edit_rating(&mut self, t: &mut Twin) {
        let ids = Self::ids(t, "SELECT id FROM ratings");
        if ids.is_empty() {
            return;
        }
        let id = Val::Int(ids[self.rng.random_range(0..ids.len())]);
        match self.rng.random_range(0..5) {
            0 => t.ok(
                "UPDATE ratings SET stars = ?2 WHERE id = ?1",
                &[id, Val::Int(self.rng.random_range(1..=5))],
            ),
            1 => {
                let by = self.designer();
                t.ok("UPDATE ratings SET rated_by = ?2 WHERE id = ?1", &[id, by])
            }
            2 => {
                let Some(to) = self.pick_experiment(&["done"]) else {
                    return;
                };
                t.ok(
                    "UPDATE ratings SET experiment_id = ?2 WHERE id = ?1",
                    &[id, to.into()],
                )
            }
            3 => t.ok(
                "UPDATE ratings SET comment = ?2 WHERE id = ?1",
                &[id, "edited".into()],
            ),
            _ => {
                let Some(e) = self.pick_experiment(&["done"]) else {
                    return;
                };
                t.ok(
                    "UPDATE ratings SET stars = ?2 WHERE experiment_id = ?1",
                    &[e.into(), Val::Int(self.rng.random_range(1..=5))],
                )
            }
        };
    }

    fn hand_delete_rating(&mut self, t: &mut Twin) {
        if self.rng.random_bool(0.7) {
            let Some(id) = self.older_id(t, "ratings") else {
                return;
            };
            t.ok("DELETE FROM ratings WHERE id = ?1", &[Val::Int(id)]);
        } else {
            let Some(e) = self.pick_experiment(&["done"]) else {
                return;
            };
            t.ok(
                "DELETE FROM ratings WHERE experiment_id = ?1 AND id < (SELECT max(id) FROM ratings)",
                &[e.into()],
            );
        }
    }

    fn hand_edit_preference(&mut self, t: &mut Twin) {
        let Some(id) = self.older_id(t, "preferences") else {
            return;
        };
        if self.rng.random_bool(0.5) {
            t.ok("DELETE FROM preferences WHERE id = ?1", &[Val::Int(id)]);
        } else {
            let by = self.designer();
            t.ok(
                "UPDATE preferences SET rated_by = ?2 WHERE id = ?1",
                &[Val::Int(id), by],
            );
        }
    }

    /// Several rows of one batch change stars in one statement: the pair
    /// tallies must follow SQLite's row-by-row order.
    fn hand_edit_experiment_stars(&mut self, t: &mut Twin) {
        if self.batches.is_empty() {
            return;
        }
        let batch = self.batches[self.rng.random_range(0..self.batches.len())].clone();
        t.ok(
            "UPDATE experiments SET stars = CASE WHEN stars IS NULL THEN ?2 WHEN option = 'A' THEN NULL ELSE 6 - stars END
             WHERE batch_id = ?1 AND status = 'done'",
            &[batch.into(), Val::Int(self.rng.random_range(1..=5))],
        );
    }

    /// Rejected on both, leaving nothing behind.
    fn invalid(&mut self, t: &mut Twin) {
        let Some(id) = self.pick_experiment(&["done"]) else {
            return;
        };
        let err = t
            .run(
                "INSERT INTO ratings (experiment_id, stars, comment, rated_by) VALUES (?1, ?2, ?3, ?4)",
                &[id.into(), Val::Int(6), Val::Null, "ana".into()],
            )
            .expect_err("six stars is refused");
        assert!(err.contains("CHECK") || err.contains("check"), "{err}");
        // The failed insert still took an id from PostgreSQL's sequence
        // (SQLite takes none); put it back so later ids stay comparable.
        t.pg.batch_execute(
            "SELECT setval(pg_get_serial_sequence('ratings', 'id'),
                               coalesce((SELECT max(id) FROM ratings), 0) + 1, false)",
        )
        .unwrap();
    }
}

#[test]
fn same_writes_leave_the_same_rows_on_both() {
    let Some(server) = twin::server() else { return };
    for seed in 1..=6 {
        let mut t = Twin::new(&server);
        let mut studio = Studio::new(seed);
        studio.setup(&mut t);
        for step in 0..220 {
            studio.step(&mut t);
            if step % 55 == 54 {
                assert_same_contents(&mut t, &format!("seed {seed}, step {step}"));
            }
        }
        // The sequence must have reached the paths it is about.
        let count = |t: &Twin, sql: &str| Studio::ids(t, sql)[0];
        assert!(
            count(&t, "SELECT count(*) FROM ratings") > 30,
            "seed {seed}"
        );
        assert!(
            count(&t, "SELECT count(*) FROM agreement_tallies WHERE items > 0") > 0,
            "seed {seed}"
        );
        assert!(
            count(
                &t,
                "SELECT coalesce(sum(comparisons), 0) FROM provider_tallies"
            ) > 0,
            "seed {seed}"
        );
        assert!(
            count(&t, "SELECT count(*) FROM preferences") > 3,
            "seed {seed}"
        );
        assert_same_contents(&mut t, &format!("seed {seed}, end"));
    }
}

#[test]
fn schema_has_sqlites_tables_views_indexes_and_columns() {
    let Some(server) = twin::server() else { return };
    let mut t = Twin::new(&server);
    let tables = lite_names(&t, "table");
    let pg_tables = pg_names(
        &mut t,
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'latina_schema'
         ORDER BY 1",
    );
    assert_eq!(pg_tables, tables);
    let views = pg_names(
        &mut t,
        "SELECT table_name::text FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1",
    );
    assert_eq!(views, lite_names(&t, "view"));
    // Named indexes; PostgreSQL's own for keys and UNIQUE are left out, as
    // SQLite's sqlite_autoindex_* are.
    let indexes = pg_names(
        &mut t,
        "SELECT indexname::text FROM pg_indexes i WHERE schemaname = 'public'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
         ORDER BY 1",
    );
    assert_eq!(indexes, lite_names(&t, "index"));
    for table in tables {
        let lite = t.lite_rows(&format!(
            "SELECT name, CASE upper(type) WHEN 'INTEGER' THEN 'bigint' WHEN 'REAL' THEN 'double precision'
                                           WHEN 'BLOB' THEN 'bytea' ELSE lower(type) END,
                    \"notnull\" OR pk > 0
             FROM pragma_table_info('{table}') ORDER BY cid"
        ));
        let pg = t.pg_rows(&format!(
            "SELECT column_name::text, data_type::text, (is_nullable = 'NO')::int
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = '{table}' AND column_name <> 'rowid'
             ORDER BY ordinal_position"
        ));
        assert_eq!(pg, lite, "{table}: (name, type, not null)");
    }
}

#[test]
fn strftime_now_is_sqlites_form_fixed_per_statement() {
    let Some(server) = twin::server() else { return };
    let mut t = Twin::new(&server);
    let sql = "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
    let lite = t.lite_rows(sql).remove(0).remove(0);
    let pg = t.pg_rows(sql).remove(0).remove(0);
    for v in [&lite, &pg] {
        assert!(stamp_form(v), "{v:?}");
        assert_ne!(v, &Val::Null);
    }
    // Both clocks read now, within a few seconds of each other.
    let at = |v: &Val| match v {
        Val::Text(s) => s.parse::<jiff::Timestamp>().unwrap(),
        other => panic!("{other:?}"),
    };
    let gap = at(&pg).duration_since(at(&lite)).as_secs_f64().abs();
    assert!(gap < 5.0, "{gap} s apart");
    // SQLite's 'now' holds for a whole statement; so does this one, across
    // rows 2 ms apart (clock_timestamp() would give 20 values).
    let distinct = t.pg_rows(
        "SELECT count(DISTINCT s)::bigint FROM
           (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS s, pg_sleep(0.002)
            FROM generate_series(1, 20)) x",
    );
    assert_eq!(distinct, vec![vec![Val::Int(1)]]);
    // Any other form is an error, not a silently wrong string.
    let err = t.pg.query("SELECT strftime('%s', 'now')", &[]).unwrap_err();
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("only strftime"),
        "{err}"
    );
    let err =
        t.pg.query("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', '2020-01-01')", &[])
            .unwrap_err();
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("only strftime"),
        "{err}"
    );
}

#[test]
fn compatibility_functions_answer_as_sqlite_does() {
    let Some(server) = twin::server() else { return };
    let mut t = Twin::new(&server);
    for sql in [
        "SELECT ifnull(NULL, 3), ifnull(2, 3), ifnull(NULL, 'x')",
        "SELECT max(2, 5), min(2, 5), max('b', 'a'), min('b', 'a')",
        "SELECT max(NULL, 5), min(3, NULL)",
        "SELECT instr('Salón Kitchen', 'Kit'), instr('abc', 'z'), instr(NULL, 'a')",
        "SELECT instr(lower('/Fotos/SALA 2.PNG'), lower('sala'))",
        "SELECT sum(x > 2), sum(x = 1), sum(x IS NULL), coalesce(sum(x > 100), 0)
         FROM (SELECT 1 AS x UNION ALL SELECT 5 UNION ALL SELECT 7 UNION ALL SELECT NULL) v",
        "SELECT sum(x > 2) FROM (SELECT 1 AS x) v WHERE x > 1",
        "SELECT value FROM json_each('[\"e1\", \"e\\\"2\", \"é3\"]') ORDER BY key",
        "SELECT count(*) FROM json_each('[]')",
        "SELECT 'Kitchen' = 'kitchen' COLLATE NOCASE, 'Kitchen' = 'kitchens' COLLATE NOCASE",
        "SELECT max(x), min(x), count(*) FROM (SELECT 3 AS x UNION ALL SELECT 9) v",
    ] {
        let lite = t.lite_rows(sql);
        let pg = t.pg_rows(sql);
        assert_eq!(pg, lite, "{sql}");
    }
    // Text ordering is bytewise on both (the columns are COLLATE "C").
    t.ok(
        "INSERT INTO rater_tallies (rated_by, ratings, star_sum) VALUES (?1, 1, 1), (?2, 1, 1), (?3, 1, 1), (?4, 1, 1)",
        &["bo".into(), "Ana".into(), "ana".into(), "Émile".into()],
    );
    let sql = "SELECT rated_by FROM rater_tallies ORDER BY rated_by";
    assert_eq!(t.pg_rows(sql), t.lite_rows(sql));
}

/// Four transactions rate renders of one photo at once: the first holds its
/// locks while a rating of the other render (same-photo pairs), another
/// designer's rating of the same render (raters of one item) and the same
/// designer's (first ratings) queue behind it. Each must see what the
/// others committed, so every tally equals a recount from the rows.
#[test]
fn concurrent_ratings_all_land_in_the_tallies() {
    let Some(server) = twin::server() else { return };
    let db = PgDb::create(&server);
    let mut setup = db.connect();
    setup
        .batch_execute(
            "INSERT INTO prompt_versions (version, prompt, negative_prompt, status) VALUES ('1.0.0', 'p', '', 'champion');
             INSERT INTO batches (id) VALUES ('b1');
             INSERT INTO experiments (id, batch_id, option, provider, init_strength, guidance_scale,
                                      controlnet_weight, prompt_version, method, status)
             VALUES ('e1', 'b1', 'A', 'tone', 0.2, 7, 0.8, '1.0.0', 'random', 'done'),
                    ('e2', 'b1', 'B', 'flux', 0.3, 8, 0.9, '1.0.0', 'random', 'done');",
        )
        .unwrap();
    let rate = "INSERT INTO ratings (experiment_id, stars, rated_by) VALUES ($1, $2, $3)";
    for round in 0..6_i64 {
        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        let first_designer = format!("a{round}");
        std::thread::scope(|s| {
            let mut a = db.connect();
            let by = first_designer.clone();
            let first = s.spawn(move || {
                let mut tx = a.transaction().unwrap();
                tx.execute(rate, &[&"e1", &(1 + round % 5), &by]).unwrap();
                held_tx.send(()).unwrap();
                // Hold the locks while the others queue behind them.
                std::thread::sleep(std::time::Duration::from_millis(300));
                tx.commit().unwrap();
            });
            held_rx.recv().unwrap();
            let others: Vec<_> = [
                ("e2", "bo".to_string()),
                ("e1", "cy".to_string()),
                ("e1", first_designer),
            ]
            .into_iter()
            .map(|(experiment, by)| {
                let mut c = db.connect();
                s.spawn(move || {
                    let mut tx = c.transaction().unwrap();
                    tx.execute(rate, &[&experiment, &(5 - round % 5), &by])
                        .unwrap();
                    tx.commit().unwrap();
                })
            })
            .collect();
            first.join().unwrap();
            for o in others {
                o.join().unwrap();
            }
        });
    }
    let mut c = db.connect();
    let check = |c: &mut postgres::Client, kept: &str, recount: &str| {
        let kept_rows = twin::pg_rows(c, kept);
        let recounted = twin::pg_rows(c, recount);
        assert_eq!(
            kept_rows, recounted,
            "\n  kept: {kept}\n  recount: {recount}"
        );
        kept_rows
    };
    let counts = check(
        &mut c,
        "SELECT id, rating_count, rating_id, stars FROM experiments ORDER BY id",
        "SELECT e.id, count(r.id), max(r.id),
                (SELECT stars FROM ratings WHERE id = max(r.id))
         FROM experiments e JOIN ratings r ON r.experiment_id = e.id GROUP BY e.id ORDER BY e.id",
    );
    assert_eq!(counts[0][1], Val::Int(18), "e1: three ratings each round");
    assert_eq!(counts[1][1], Val::Int(6), "e2: bo each round");
    check(
        &mut c,
        "SELECT rated_by, ratings, star_sum FROM rater_tallies ORDER BY 1",
        "SELECT rated_by, count(*), sum(stars)::bigint FROM ratings GROUP BY 1 ORDER BY 1",
    );
    check(
        &mut c,
        "SELECT experiment_id, rated_by, rating_id, stars FROM rater_latest ORDER BY 1, 2",
        "SELECT DISTINCT ON (experiment_id, rated_by) experiment_id, rated_by, id, stars
         FROM ratings ORDER BY 1, 2, id DESC",
    );
    let latest = "(SELECT DISTINCT ON (experiment_id, rated_by) experiment_id, rated_by, stars
                   FROM ratings WHERE rated_by IS NOT NULL ORDER BY experiment_id, rated_by, id DESC)";
    check(
        &mut c,
        "SELECT raters, items, star_sum, item_sum_sq, star_sq, n1, n2, n3, n4, n5
         FROM agreement_tallies WHERE items <> 0 ORDER BY 1",
        &format!(
            "SELECT k, count(*), sum(t)::bigint, sum(t * t)::bigint, sum(q)::bigint,
                    sum(c1)::bigint, sum(c2)::bigint, sum(c3)::bigint, sum(c4)::bigint, sum(c5)::bigint
             FROM (SELECT count(*) AS k, sum(stars) AS t, sum(stars * stars) AS q,
                          count(*) FILTER (WHERE stars = 1) AS c1, count(*) FILTER (WHERE stars = 2) AS c2,
                          count(*) FILTER (WHERE stars = 3) AS c3, count(*) FILTER (WHERE stars = 4) AS c4,
                          count(*) FILTER (WHERE stars = 5) AS c5
                   FROM {latest} l GROUP BY experiment_id) i
             WHERE k >= 2 GROUP BY k ORDER BY k"
        ),
    );
    let pairs = check(
        &mut c,
        "SELECT provider, comparisons, wins, ties FROM provider_tallies ORDER BY 1",
        "SELECT a.provider, count(*), count(*) FILTER (WHERE a.stars > b.stars),
                count(*) FILTER (WHERE a.stars = b.stars)
         FROM experiments a JOIN experiments b ON b.batch_id = a.batch_id AND b.provider <> a.provider
         WHERE a.stars IS NOT NULL AND b.stars IS NOT NULL GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(pairs.len(), 2, "both providers compared: {pairs:?}");
    check(
        &mut c,
        "SELECT star_groups FROM judgement_tallies",
        "SELECT count(*) FROM (SELECT DISTINCT experiment_id, coalesce(rated_by, '') FROM ratings) g",
    );
}
