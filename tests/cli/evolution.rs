//! Prompt evolution through the binary: evolve when due, dry runs, the
//! champion/challenger trial with its decisions, `latina prompts`, and
//! concurrent `evolve` processes.

use crate::harness::{Env, stderr_of};

/// Enhances the sample room `batches` times and rates every variant with
/// `stars(i)` and `comment(i)`; returns the experiment ids in order.
fn rate_batches(
    env: &Env,
    batches: usize,
    stars: impl Fn(usize) -> u8,
    comment: impl Fn(usize) -> &'static str,
) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..batches {
        let report = env.enhance("images/coffee.jpg");
        for v in report["variants"].as_array().unwrap() {
            let id = v["experiment_id"].as_str().unwrap().to_string();
            let i = ids.len();
            env.latina()
                .args(["rate", &id, &stars(i).to_string(), "--comment", comment(i)])
                .assert()
                .success();
            ids.push(id);
        }
    }
    ids
}

fn no_inline_evolution(env: &Env) {
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[evolution]\non_rate = false\n",
    )
    .unwrap();
}

const COMPLAINTS: [&str; 4] = [
    "se ve muy plano, sin profundidad",
    "too dark, needs light",
    "muy oscura la sala",
    "flat and dull",
];

#[test]
fn evolve_is_one_line_when_not_due_and_creates_one_challenger_when_due() {
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 2, |_| 2, |i| COMPLAINTS[i % 4]);
    let out = env.latina().arg("evolve").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("not due: 4 rated samples"), "{stdout}");

    // A dry run shows the proposal and saves nothing.
    let dry = env.json(&["evolve", "--force", "--dry-run"]);
    assert_eq!(dry["outcome"], "proposed");
    assert_eq!(dry["proposal"]["new_version"], "1.1.0");
    let issues: Vec<&str> = dry["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issue"].as_str().unwrap())
        .collect();
    assert!(
        issues.contains(&"flat_look") && issues.contains(&"too_dark"),
        "{issues:?}"
    );
    assert_eq!(env.count("prompt_versions"), 1);
    assert_eq!(env.count("evolutions"), 0);

    rate_batches(&env, 3, |_| 2, |i| COMPLAINTS[i % 4]);
    let created = env.json(&["evolve"]);
    assert_eq!(created["outcome"], "created", "{created}");
    assert_eq!(created["trigger_sample"], 10);
    let prompt = created["proposal"]["new_prompt"].as_str().unwrap();
    assert!(
        prompt.contains("depth") && prompt.contains("bright"),
        "{prompt}"
    );
    // Due no more for this trigger, and a challenger is on trial.
    let again = env.json(&["evolve"]);
    assert_eq!(again["outcome"], "not_due");
    let versions = env.json(&["prompts", "list"]);
    let statuses: Vec<(&str, &str)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("1.0.0", "champion"), ("1.1.0", "challenger")]);
    let status = env.json(&["status"]);
    let pe = &status["prompt_evolution"];
    assert_eq!(pe["current_version"], "1.0.0");
    assert_eq!(pe["challenger"]["challenger"], "1.1.0");
    assert_eq!(pe["last_evolution"]["trigger_sample"], 10);
    assert_eq!(pe["next_evolution_at_sample"], 20);
    assert_eq!(pe["samples_since_last"], 0);
}

#[test]
fn a_clearly_better_challenger_is_promoted_and_a_worse_one_rolled_back() {
    for (challenger_stars, expected_status, expected_champion) in
        [(5u8, "champion", "1.1.0"), (1u8, "rejected", "1.0.0")]
    {
        let env = Env::new();
        no_inline_evolution(&env);
        rate_batches(&env, 5, |_| 3, |i| COMPLAINTS[i % 4]);
        assert_eq!(env.json(&["evolve"])["outcome"], "created");
        // Rate new variants by the prompt each used: the simulated designer
        // sees a real difference between the versions.
        for _ in 0..30 {
            let report = env.enhance("images/coffee.jpg");
            for v in report["variants"].as_array().unwrap() {
                let id = v["experiment_id"].as_str().unwrap();
                let version: String = env.scalar(&format!(
                    "SELECT prompt_version FROM experiments WHERE id = '{id}'"
                ));
                let stars = if version == "1.1.0" {
                    challenger_stars
                } else {
                    3
                };
                env.latina()
                    .args(["rate", id, &stars.to_string()])
                    .assert()
                    .success();
            }
            let status: String =
                env.scalar("SELECT status FROM prompt_versions WHERE version = '1.1.0'");
            if status != "challenger" {
                break;
            }
            // The cron entry point decides the trial.
            env.latina().args(["-q", "evolve"]).assert().success();
        }
        let versions = env.json(&["prompts", "list"]);
        let challenger = &versions.as_array().unwrap()[1];
        assert_eq!(challenger["status"], expected_status, "{versions}");
        let champion = versions
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["status"] == "champion")
            .unwrap();
        assert_eq!(champion["version"], expected_champion);
        // The decision is recorded with its numbers, after the minimum ratings.
        let row = env.rows("SELECT decision, challenger_n, prob_better FROM prompt_decisions");
        assert_eq!(row.len(), 1, "{row:?}");
        let decision = row[0][0].clone().unwrap();
        let n: i64 = row[0][1].as_deref().unwrap().parse().unwrap();
        let prob: f64 = row[0][2].as_deref().unwrap().parse().unwrap();
        assert_eq!(
            decision,
            if challenger_stars == 5 {
                "promote"
            } else {
                "reject"
            }
        );
        assert!(n >= 10, "decided after {n} ratings");
        assert!(if challenger_stars == 5 {
            prob >= 0.8
        } else {
            prob <= 0.2
        });
    }
}

#[test]
fn prompts_show_diff_export_activate_and_rollback() {
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 5, |_| 2, |i| COMPLAINTS[i % 4]);
    env.json(&["evolve"]);
    let diff = env.json(&["prompts", "diff", "1.0.0", "v1.1.0"]);
    assert!(
        diff["prompt"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["op"] == "added")
    );
    let out = env
        .latina()
        .args(["prompts", "show", "../../etc/passwd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a version"));

    let export = env.path("export");
    env.latina()
        .args(["prompts", "export", export.to_str().unwrap()])
        .assert()
        .success();
    let current: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export.join("current.json")).unwrap()).unwrap();
    assert_eq!(current["version"], "1.0.0");
    assert!(export.join("versions/v1.1.0.json").is_file());

    // Rollback while a challenger is on trial ends its trial.
    let rolled = env.json(&["prompts", "rollback"]);
    assert_eq!(rolled["rejected_challenger"], "1.1.0");
    let activated = env.json(&["prompts", "activate", "1.1.0"]);
    assert_eq!(activated["replaced"], "1.0.0");
    let back = env.json(&["prompts", "rollback"]);
    assert_eq!(back["champion"], "1.0.0");
    assert_eq!(back["replaced"], "1.1.0");
}

#[test]
fn rate_evolves_inline_when_due() {
    let env = Env::new();
    let ids = rate_batches(&env, 5, |_| 2, |i| COMPLAINTS[i % 4]);
    assert_eq!(ids.len(), 10);
    // The tenth rating triggered the evolution inside `rate`.
    assert_eq!(env.count("prompt_versions"), 2);
    assert_eq!(env.count("evolutions"), 1);
}

#[test]
fn concurrent_evolve_and_rate_processes_make_exactly_one_version() {
    let env = Env::new();
    no_inline_evolution(&env);
    let ids = rate_batches(&env, 5, |_| 2, |i| COMPLAINTS[i % 4]);
    let mut children = Vec::new();
    for (i, id) in ids.iter().take(6).enumerate() {
        let mut cmd = env.latina_process();
        if i % 2 == 0 {
            cmd.args(["--json", "evolve"]);
        } else {
            cmd.args(["rate", id, "3", "--comment", "still flat"]);
        }
        children.push(
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let mut created = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
        if String::from_utf8_lossy(&out.stdout).contains("\"outcome\":\"created\"") {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(env.count("prompt_versions"), 2);
    assert_eq!(env.count("evolutions"), 1);
}

/// A fake OpenAI-compatible server answering every chat completion with `content`.
fn fake_llm(rt: &tokio::runtime::Runtime, content: &str) -> wiremock::MockServer {
    use wiremock::matchers::{header, method, path};
    let server = rt.block_on(wiremock::MockServer::start());
    let body = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content, "refusal": null}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    });
    rt.block_on(
        wiremock::Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer llm-key-5150"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(body))
            .mount(&server),
    );
    server
}

fn llm_config(env: &Env, server: &wiremock::MockServer) {
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "[evolution]\non_rate = false\nevolver = \"llm\"\n\n[evolution.llm]\nbase_url = \"{}/v1\"\nmodel = \"test-model\"\napi_key_env = \"LLM_KEY\"\nmax_attempts = 2\n",
            server.uri()
        ),
    )
    .unwrap();
}

#[test]
fn the_llm_evolver_creates_a_validated_challenger_and_a_bad_answer_saves_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let good = serde_json::json!({
        "new_version": "1.2.0",
        "new_prompt": "Professional interior photograph, bright, strong sense of depth",
        "negative_prompt": "flat lighting, underexposed",
        "reasoning": "designers find it flat and dark",
        "changes": ["added depth", "added brightness"]
    })
    .to_string();
    let server = fake_llm(&rt, &format!("```json\n{good}\n```"));
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 3, |_| 2, |i| COMPLAINTS[i % 4]);
    llm_config(&env, &server);
    let out = env
        .latina()
        .env("LLM_KEY", "llm-key-5150")
        .args(["-vv", "--json", "evolve", "--force"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "created");
    assert_eq!(report["evolver"], "llm:test-model");
    assert_eq!(report["proposal"]["new_version"], "1.2.0");
    assert!(!stderr.contains("llm-key-5150"));
    let requests = rt.block_on(server.received_requests()).unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["model"], "test-model");
    assert_eq!(sent["response_format"]["type"], "json_object");
    let user = sent["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("plano") || user.contains("dark"),
        "comments reach the LLM"
    );

    // A path-like version is refused every time: nothing saved, the failure recorded.
    let bad = good.replace("1.2.0", "../../etc/passwd");
    let server = fake_llm(&rt, &bad);
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 3, |_| 2, |i| COMPLAINTS[i % 4]);
    llm_config(&env, &server);
    let out = env
        .latina()
        .env("LLM_KEY", "llm-key-5150")
        .args(["evolve", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("after 2 attempts"), "{stderr}");
    assert_eq!(rt.block_on(server.received_requests()).unwrap().len(), 2);
    assert_eq!(env.count("prompt_versions"), 1);
    let outcome: String = env.scalar("SELECT outcome FROM evolutions");
    assert_eq!(outcome, "failed");
    match env.studio() {
        Some(studio) => assert_eq!(studio.db.dump().matches("llm-key-5150").count(), 0),
        None => assert!(
            !std::fs::read(env.db_path())
                .unwrap()
                .windows(12)
                .any(|w| w == b"llm-key-5150")
        ),
    }
}

/// A fake OpenAI-compatible server answering chat completions with each of
/// `contents` once, in order, then with the last one.
fn fake_llm_sequence(rt: &tokio::runtime::Runtime, contents: &[String]) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = rt.block_on(wiremock::MockServer::start());
    for (i, content) in contents.iter().enumerate() {
        let body = serde_json::json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
        });
        let mock = wiremock::Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(body));
        let mock = if i + 1 < contents.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        rt.block_on(mock.mount(&server));
    }
    server
}

fn statuses(env: &Env) -> Vec<(String, String)> {
    env.json(&["prompts", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Issue 5, version clash: a rejected sibling keeps its number. The rule
/// evolver skips past it; the LLM is told and retries; only when every
/// attempt clashes does the evolution fail, with nothing saved.
#[test]
fn a_version_that_exists_already_is_never_reused() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 5, |_| 2, |i| COMPLAINTS[i % 4]);
    assert_eq!(env.json(&["evolve"])["proposal"]["new_version"], "1.1.0");
    env.latina()
        .args(["prompts", "rollback"])
        .assert()
        .success();
    // The same comments lead the rules to the same fix: a fresh number.
    let again = env.json(&["evolve", "--force"]);
    assert_eq!(again["outcome"], "created", "{again}");
    assert_eq!(again["proposal"]["new_version"], "1.2.0");
    env.latina()
        .args(["prompts", "rollback"])
        .assert()
        .success();

    let evolution = |version: &str| {
        serde_json::json!({
            "new_version": version,
            "new_prompt": "Professional interior photograph, bright, strong sense of depth",
            "negative_prompt": "flat lighting, underexposed",
            "reasoning": "designers find it flat and dark",
            "changes": ["added depth"]
        })
        .to_string()
    };
    let server = fake_llm_sequence(&rt, &[evolution("1.1.0"), evolution("1.3.0")]);
    llm_config(&env, &server);
    let created = env
        .latina()
        .env("LLM_KEY", "llm-key-5150")
        .args(["--json", "evolve", "--force"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr_of(&created));
    let report: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(report["proposal"]["new_version"], "1.3.0", "{report}");
    let requests = rt.block_on(server.received_requests()).unwrap();
    assert_eq!(requests.len(), 2);
    let retry: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    let retry = retry["messages"][1]["content"].as_str().unwrap();
    assert!(
        retry.contains("version 1.1.0 already exists (the highest existing version is 1.2.0)"),
        "{retry}"
    );
    env.latina()
        .args(["prompts", "rollback"])
        .assert()
        .success();
    let before = statuses(&env);
    assert_eq!(
        before,
        [
            ("1.0.0".to_string(), "champion".to_string()),
            ("1.1.0".into(), "rejected".into()),
            ("1.2.0".into(), "rejected".into()),
            ("1.3.0".into(), "rejected".into()),
        ]
    );

    // Every attempt clashes: one line, exit 1, no new version.
    let server = fake_llm_sequence(&rt, &[evolution("1.2.0")]);
    llm_config(&env, &server);
    let failed = env
        .latina()
        .env("LLM_KEY", "llm-key-5150")
        .args(["evolve", "--force"])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let stderr = stderr_of(&failed);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("after 2 attempts") && stderr.contains("1.2.0 already exists"),
        "{stderr}"
    );
    assert_eq!(statuses(&env), before);
    let outcome: String = env.scalar("SELECT outcome FROM evolutions ORDER BY id DESC LIMIT 1");
    assert_eq!(outcome, "failed");
}

/// A fake `/v1/embeddings` that checks the key and gives every input
/// containing "plano" or "dark" the vector [1, 0] and every other [0, 1]:
/// a grouping the offline TF-IDF would never make (it pairs "plano" with
/// "flat" and "dark" with "oscura").
fn fake_embeddings(rt: &tokio::runtime::Runtime, status: u16) -> wiremock::MockServer {
    use wiremock::matchers::{header, method, path};
    let server = rt.block_on(wiremock::MockServer::start());
    let respond = move |request: &wiremock::Request| {
        if status != 200 {
            return wiremock::ResponseTemplate::new(status).set_body_json(serde_json::json!({
                "error": {"message": "Incorrect API key", "code": "invalid_api_key"}
            }));
        }
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let data: Vec<serde_json::Value> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let text = text.as_str().unwrap();
                let v = if text.contains("plano") || text.contains("dark") {
                    [1.0, 0.0]
                } else {
                    [0.0, 1.0]
                };
                serde_json::json!({"object": "embedding", "index": i, "embedding": v})
            })
            .collect();
        wiremock::ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"object": "list", "data": data}))
    };
    rt.block_on(
        wiremock::Mock::given(method("POST"))
            .and(path("/v1/embeddings"))
            .and(header("authorization", "Bearer emb-key-0451"))
            .respond_with(respond)
            .mount(&server),
    );
    server
}

fn embeddings_config(env: &Env, server: &wiremock::MockServer) {
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "[evolution]\non_rate = false\n\n[evolution.embeddings]\nbase_url = \"{}/v1\"\nmodel = \"embed-test\"\napi_key_env = \"EMB_KEY\"\nthreshold = 0.9\n",
            server.uri()
        ),
    )
    .unwrap();
}

/// The groups, each as its sorted distinct examples, largest first.
fn groups(report: &serde_json::Value) -> Vec<(u64, Vec<String>)> {
    report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut examples: Vec<String> = c["examples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
                .collect();
            examples.sort();
            examples.dedup();
            (c["size"].as_u64().unwrap(), examples)
        })
        .collect()
}

/// Issue 5: `[evolution.embeddings]` groups the comments with the served
/// vectors; a failing endpoint falls back to the offline TF-IDF with one
/// warning line that never shows the key.
#[test]
fn comments_are_grouped_by_the_embeddings_endpoint_or_offline_when_it_fails() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = fake_embeddings(&rt, 200);
    let env = Env::new();
    no_inline_evolution(&env);
    // plano, dark, oscura, flat, plano, dark
    rate_batches(&env, 3, |_| 2, |i| COMPLAINTS[i % 4]);
    embeddings_config(&env, &server);
    let out = env
        .latina()
        .env("EMB_KEY", "emb-key-0451")
        .args(["--json", "evolve", "--force", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).is_empty(), "{}", stderr_of(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        groups(&report),
        [
            (
                4,
                vec![COMPLAINTS[0].to_string(), COMPLAINTS[1].to_string()]
            ),
            (
                2,
                vec![COMPLAINTS[3].to_string(), COMPLAINTS[2].to_string()]
            ),
        ]
    );
    let requests = rt.block_on(server.received_requests()).unwrap();
    assert_eq!(requests.len(), 1);
    let sent: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["model"], "embed-test");
    let mut inputs: Vec<&str> = sent["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    inputs.sort_unstable();
    let mut expected: Vec<&str> = (0..6).map(|i| COMPLAINTS[i % 4]).collect();
    expected.sort_unstable();
    assert_eq!(inputs, expected);

    // The endpoint refuses the key: one warning line, the offline groups
    // (by issue: flat with plano, dark with oscura).
    let refusing = fake_embeddings(&rt, 401);
    embeddings_config(&env, &refusing);
    let out = env
        .latina()
        .env("EMB_KEY", "emb-key-0451")
        .args(["--json", "evolve", "--force", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("comments grouped offline") && stderr.contains("key rejected"),
        "{stderr}"
    );
    assert!(!stderr.contains("emb-key-0451"));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let offline = groups(&report);
    assert!(
        offline
            .iter()
            .any(|(_, e)| e.contains(&COMPLAINTS[0].to_string())
                && e.contains(&COMPLAINTS[3].to_string())),
        "{offline:?}"
    );

    // No key in the environment: offline, saying which variable.
    let out = env
        .latina()
        .args(["--json", "evolve", "--force", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stderr_of(&out).contains("EMB_KEY is not set"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(rt.block_on(refusing.received_requests()).unwrap().len(), 1);
}

/// Issue 13, defect 7: two (here eight) concurrent forced evolutions on one
/// database collided and the loser printed SQLite's raw
/// `UNIQUE constraint failed`. One evolution at a time: exactly one new
/// version, every process exits 0, and no raw SQL error on any stderr.
#[test]
fn issue13_concurrent_forced_evolutions_make_one_version_without_a_raw_sql_error() {
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 3, |_| 2, |i| COMPLAINTS[i % 4]);
    for round in 0..2 {
        if round == 1 {
            // Again after a rollback: the same champion and comments.
            env.latina()
                .args(["prompts", "rollback"])
                .assert()
                .success();
        }
        let before = env.count("prompt_versions");
        // Staggered starts: later processes read the trigger after an
        // earlier one claimed it, which is when a second trigger was taken.
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::thread::sleep(std::time::Duration::from_millis(15));
                env.latina_process()
                    .args(["evolve", "--force"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut lines = Vec::new();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = stderr_of(&out);
            assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
            assert!(!stderr.contains("constraint"), "{stderr}");
            assert!(!stderr.contains("database error"), "{stderr}");
            lines.push(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        assert_eq!(env.count("prompt_versions"), before + 1, "{lines:#?}");
        let created = lines.iter().filter(|l| l.contains("now on trial")).count();
        assert_eq!(created, 1, "{lines:#?}");
        // The others say why they did nothing, in one line each.
        for line in lines.iter().filter(|l| !l.contains("now on trial")) {
            assert_eq!(line.lines().count(), 1, "{line}");
            assert!(
                line.contains("on trial") || line.contains("another latina process"),
                "{line}"
            );
        }
    }
}

/// Issue 13, defect 7, deterministically: while one `evolve --force` waits
/// on a slow LLM with its claim taken, a second one started later took the
/// next trigger, got the same answer, and failed on SQLite's unique key
/// (exit 1, raw `UNIQUE constraint failed`). Now the second one sees the
/// live claim, says so in one line and exits 0; one version is created.
#[test]
fn issue13_an_evolution_started_during_another_is_told_not_a_sql_error() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = serde_json::json!({
        "new_version": "1.1.0",
        "new_prompt": "Professional interior photograph, bright, strong sense of depth",
        "negative_prompt": "flat lighting, underexposed",
        "reasoning": "designers find it flat and dark",
        "changes": ["added depth"]
    })
    .to_string();
    let body = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer}}],
    });
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(
                wiremock::ResponseTemplate::new(200)
                    .set_body_json(body)
                    .set_delay(std::time::Duration::from_millis(1500)),
            )
            .mount(&server),
    );
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 3, |_| 2, |i| COMPLAINTS[i % 4]);
    llm_config(&env, &server);
    let spawn = || {
        env.latina_process()
            .env("LLM_KEY", "llm-key-5150")
            .args(["evolve", "--force"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let second = spawn();
    let outs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    for out in &outs {
        let stderr = stderr_of(out);
        assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
        assert!(!stderr.contains("constraint"), "{stderr}");
    }
    let second_says = String::from_utf8_lossy(&outs[1].stdout);
    assert!(
        second_says.contains("another latina process"),
        "{second_says}"
    );
    assert_eq!(env.count("prompt_versions"), 2);
}

/// Issue 13, defect 10: a cron `latina evolve` that was due while nobody
/// complained exited 1. It says "nothing to change" in one line, exits 0,
/// and records the evolution so that it is not due again at once.
#[test]
fn issue13_due_evolution_without_complaints_exits_0_and_is_recorded() {
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 5, |_| 3, |_| "");
    let out = env.latina().arg("evolve").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("nothing to change"), "{stdout}");
    let row = env.rows("SELECT trigger_sample, outcome FROM evolutions");
    assert_eq!(row, vec![vec![Some("10".into()), Some("skipped".into())]]);
    assert_eq!(env.count("prompt_versions"), 1);
    let again = env.latina().arg("evolve").output().unwrap();
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).starts_with("not due"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(env.json(&["evolve"])["next_at_sample"], 20);
}

/// `a, b` and `A ,  b` are one prompt.
fn normalised(text: &str) -> String {
    let mut spaced = String::new();
    for c in text.to_lowercase().chars() {
        if ",.;:!?()".contains(c) {
            spaced.push_str(&format!(" {c} "));
        } else {
            spaced.push(c);
        }
    }
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn prompt_texts(env: &Env) -> Vec<(String, String)> {
    env.json(&["prompts", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                normalised(v["prompt"].as_str().unwrap()),
                normalised(v["negative_prompt"].as_str().unwrap()),
            )
        })
        .collect()
}

/// Issue 13, defect 10: after its proposal was rejected, the rule evolver
/// proposed the same text again word for word under a new number; an LLM
/// answer repeating a rejected text (respaced, re-cased) was saved too.
/// No proposal ever repeats an existing version's text.
#[test]
fn issue13_a_rejected_prompt_is_never_proposed_again() {
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 5, |_| 2, |i| COMPLAINTS[i % 4]);
    assert_eq!(env.json(&["evolve"])["outcome"], "created");
    env.latina()
        .args(["prompts", "rollback"])
        .assert()
        .success();
    let again = env.json(&["evolve", "--force"]);
    let created_again = match again["outcome"].as_str() {
        Some("created") => true,
        Some("unchanged") => false,
        other => panic!("{other:?}: {again}"),
    };
    let texts = prompt_texts(&env);
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        texts.len(),
        "a text was proposed twice: {texts:#?}"
    );

    // The LLM repeats the rejected 1.1.0 with other spacing and case: asked
    // again, then a clean failure that saves nothing.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rejected = env.json(&["prompts", "show", "1.1.0"]);
    let echo = serde_json::json!({
        "new_version": "2.0.0",
        "new_prompt": rejected["prompt"].as_str().unwrap().to_uppercase().replace(", ", " ,"),
        "negative_prompt": rejected["negative_prompt"],
        "reasoning": "the same again",
        "changes": ["nothing new"]
    })
    .to_string();
    if created_again {
        env.latina()
            .args(["prompts", "rollback"])
            .assert()
            .success();
    }
    let before = env.count("prompt_versions");
    let server = fake_llm_sequence(&rt, &[echo]);
    llm_config(&env, &server);
    let out = env
        .latina()
        .env("LLM_KEY", "llm-key-5150")
        .args(["evolve", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("repeats version 1.1.0"), "{stderr}");
    assert_eq!(rt.block_on(server.received_requests()).unwrap().len(), 2);
    assert_eq!(env.count("prompt_versions"), before);
}

/// Issue 13, defect 10: `prompts list` showed a rejected version's mean
/// above the champion's without saying why (here it was rolled back by
/// hand after good ratings). Each decided version says what decided it.
#[test]
fn issue13_prompts_list_says_why_a_rejected_version_outscores_the_champion() {
    let env = Env::new();
    no_inline_evolution(&env);
    rate_batches(&env, 5, |_| 2, |i| COMPLAINTS[i % 4]);
    assert_eq!(env.json(&["evolve"])["outcome"], "created");
    // Rate the challenger's renders well, then roll it back by hand.
    for _ in 0..6 {
        let report = env.enhance("images/coffee.jpg");
        for v in report["variants"].as_array().unwrap() {
            let id = v["experiment_id"].as_str().unwrap();
            let version: String = env.scalar(&format!(
                "SELECT prompt_version FROM experiments WHERE id = '{id}'"
            ));
            let stars = if version == "1.1.0" { "5" } else { "2" };
            env.latina().args(["rate", id, stars]).assert().success();
        }
    }
    env.latina()
        .args(["prompts", "rollback"])
        .assert()
        .success();
    let list = env.json(&["prompts", "list"]);
    let rejected = &list[1];
    assert_eq!(rejected["status"], "rejected");
    assert!(rejected["mean_rating"].as_f64() > list[0]["mean_rating"].as_f64());
    assert_eq!(rejected["decision"]["decision"], "rollback", "{rejected}");
    let out = env.latina().args(["prompts", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("1.1.0")).unwrap();
    assert!(line.contains("rolled back by hand"), "{text}");
}

/// Issue 13, defect 4 (the inline part): with `on_rate` and a hanging LLM,
/// the rating that made evolution due blocked the designer for the LLM's
/// whole timeout and retries. The rating returns within a few seconds,
/// saved, with one line saying the evolution is left for `latina evolve`;
/// nothing is left claimed, so the cron run can do it.
#[test]
fn issue13_inline_evolution_with_a_hanging_llm_does_not_block_the_rating() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(120)),
            )
            .mount(&server),
    );
    let env = Env::new();
    no_inline_evolution(&env);
    let ids = rate_batches(&env, 5, |_| 2, |i| COMPLAINTS[i % 4]);
    // Undo the tenth rating's effect by rating it last, with on_rate on.
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "[evolution]\non_rate = true\nevolver = \"llm\"\n\n[evolution.llm]\nbase_url = \"{}/v1\"\nmodel = \"test-model\"\napi_key_env = \"LLM_KEY\"\ntimeout_secs = 20\nmax_attempts = 1\n",
            server.uri()
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = env
        .latina()
        .env("LLM_KEY", "llm-key-5150")
        .args(["rate", &ids[9], "3", "--comment", "still flat"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(took.as_secs_f64() < 8.0, "rate took {took:?}");
    let stderr = stderr_of(&out);
    assert!(stderr.contains("latina evolve"), "{stderr}");
    assert_eq!(env.count("ratings"), 11);
    assert_eq!(env.count("evolutions"), 0);
    assert_eq!(env.count("prompt_versions"), 1);
    assert!(!rt.block_on(server.received_requests()).unwrap().is_empty());
}
