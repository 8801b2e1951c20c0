//! Best k of N (issue 15, items 3 and 5): `enhance --candidates N` renders
//! N, shows `enhance.show`, keeps the rest unshown and out of the rating
//! queue; `enhance.budget_usd` caps N on paid arms.

use serde_json::Value;

use crate::harness::{Env, one_line_failure, sample_room, stdout_of};

fn shown(report: &Value) -> Vec<&Value> {
    report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["shown"] == true)
        .collect()
}

#[test]
fn candidates_render_n_and_show_two_labelled_a_and_b_the_rest_wait_unshown() {
    let env = Env::new();
    let report = env.json(&[
        "enhance",
        sample_room().to_str().unwrap(),
        "--candidates",
        "6",
    ]);
    let variants = report["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 6, "{report}");
    assert_eq!(report["candidates"], 6);
    let shown = shown(&report);
    assert_eq!(shown.len(), 2);
    assert_eq!(
        shown
            .iter()
            .map(|v| v["option"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["A", "B"]
    );
    // Every candidate was rendered and says why it was (not) shown.
    for v in variants {
        assert_eq!(v["status"], "done", "{v}");
        assert!(v["shortlist"].is_string(), "{v}");
    }
    // The preview holds the original and the two shown renders only: three
    // panels of the photo's 4:3 shape side by side, 12 px apart, between
    // the label band and the title band (90 px with the margins).
    let preview = image::open(report["preview"].as_str().unwrap()).unwrap();
    let panel_h = f64::from(preview.height()) - 90.0;
    let panels = (f64::from(preview.width()) - 12.0) / (panel_h * 4.0 / 3.0 + 12.0);
    assert!((panels - 3.0).abs() < 0.1, "{panels} panels");

    // The rating queue offers the shown ones only.
    let queue = env.json(&["rate"]);
    let queued: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["experiment_id"].as_str().unwrap())
        .collect();
    assert_eq!(queued.len(), 2, "{queue}");
    for v in &shown {
        assert!(queued.contains(&v["experiment_id"].as_str().unwrap()));
    }

    // An unshown candidate can still be looked at and rated.
    let unshown = variants.iter().find(|v| v["shown"] == false).unwrap();
    let id = unshown["experiment_id"].as_str().unwrap();
    let detail = env.json(&["show", id]);
    assert_eq!(detail["shortlist"]["shown"], false, "{detail}");
    let text = stdout_of(&env.latina().args(["show", id]).output().unwrap());
    assert!(text.contains("not shown"), "{text}");
    env.latina().args(["rate", id, "4"]).assert().success();
}

/// Offline (built-in engines only) and with nothing configured, `enhance`
/// renders 8 candidates and shows 2; with a paid arm configured it renders
/// only what it shows.
#[test]
fn offline_enhance_renders_eight_candidates_by_default() {
    let env = Env::new();
    let out = env
        .latina()
        .env_remove("LATINA_ENHANCE__CANDIDATES")
        .args(["--json", "enhance", "--no-rate"])
        .arg(sample_room())
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["candidates"], 8, "{report}");
    assert_eq!(report["variants"].as_array().unwrap().len(), 8);
    assert_eq!(shown(&report).len(), 2);

    // A paid arm (no key here: its variants fall back to the built-in
    // engine) makes the default the shown count.
    let paid = Env::new();
    std::fs::write(
        paid.path("cwd/latina.toml"),
        "[enhance]\nfallback = \"tone\"\n\n\
         [[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n\n\
         [[providers]]\nname = \"leo\"\ntype = \"leonardo\"\nprice_per_image = 0.05\n",
    )
    .unwrap();
    let out = paid
        .latina()
        .env_remove("LATINA_ENHANCE__CANDIDATES")
        .args(["--json", "enhance", "--no-rate"])
        .arg(sample_room())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["candidates"], 2, "{report}");
}

#[test]
fn without_candidates_enhance_is_plain_a_and_b() {
    let env = Env::new();
    let report = env.enhance("images/room_hotel_desk.jpg");
    assert_eq!(report["variants"].as_array().unwrap().len(), 2);
    assert_eq!(shown(&report).len(), 2);
    assert!(report["variants"][0]["shortlist"].is_null());
}

#[test]
fn a_budget_caps_the_candidates_by_the_dearest_arms_price_and_says_so() {
    let env = Env::new();
    // The paid arm has no key here: its variants fall back to the built-in
    // engine, but its price still bounds what a photo may cost.
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[enhance]\nbudget_usd = 0.10\nfallback = \"tone\"\n\n\
         [[providers]]\nname = \"tone\"\ntype = \"builtin-tone\"\n\n\
         [[providers]]\nname = \"leo\"\ntype = \"leonardo\"\nprice_per_image = 0.05\n",
    )
    .unwrap();
    let report = env.json(&[
        "enhance",
        sample_room().to_str().unwrap(),
        "--candidates",
        "6",
    ]);
    assert_eq!(report["candidates"], 2, "{report}");
    assert_eq!(report["variants"].as_array().unwrap().len(), 2);
    let note = report["budget_note"].as_str().unwrap();
    assert!(note.contains("$0.10") && note.contains("leo"), "{note}");
}

#[test]
fn fewer_candidates_than_shown_is_a_config_error_naming_the_key() {
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        "[enhance]\nshow = 3\ncandidates = 2\n",
    )
    .unwrap();
    let out = env
        .latina()
        .args(["enhance", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("enhance.candidates"), "{line}");
    assert_eq!(env.count("experiments"), 0);
}

#[test]
fn status_sets_each_arms_predicted_quality_against_its_price_and_time() {
    let env = Env::new();
    for stars in [2, 3, 4, 2, 3, 5] {
        let report = env.enhance("images/room_hotel_desk.jpg");
        for v in report["variants"].as_array().unwrap() {
            let id = v["experiment_id"].as_str().unwrap();
            let given = if v["provider"] == "tone" { stars } else { 2 };
            env.latina()
                .args(["rate", id, &given.to_string()])
                .assert()
                .success();
        }
    }
    let status = env.json(&["status"]);
    let t = &status["cost_tradeoff"];
    let arms = t["arms"].as_array().unwrap_or_else(|| panic!("{status}"));
    assert_eq!(arms.len(), 2, "{t}");
    for a in arms {
        // Built-in engines are free; their time is measured.
        assert_eq!(a["price_usd"], 0.0, "{a}");
        assert_eq!(a["price_source"], "free");
        assert!(a["seconds"].as_f64().unwrap() > 0.0, "{a}");
        // Free arms differ only by quality and time: the better one is on
        // the front, and the other is on it only if it is faster.
        let quality = a["best"]["predicted_mean"].as_f64().unwrap();
        let other = arms.iter().find(|b| b != &a).unwrap();
        let (q, s) = (
            other["best"]["predicted_mean"].as_f64().unwrap(),
            other["seconds"].as_f64().unwrap(),
        );
        let mine = a["seconds"].as_f64().unwrap();
        let beaten = q >= quality && s <= mine && (q > quality || s < mine);
        assert_eq!(a["on_front"], !beaten, "{t}");
    }
    let text = stdout_of(&env.latina().arg("status").output().unwrap());
    assert!(text.contains("Quality against cost"), "{text}");
    // The report carries the same table.
    let page = env.path("cwd/report.html");
    env.latina()
        .args(["report", "--out", page.to_str().unwrap()])
        .assert()
        .success();
    let html = std::fs::read_to_string(page).unwrap();
    let table = &html[html.find("id=\"cost-tradeoff\"").expect("cost table")..];
    assert_eq!(
        table[..table.find("</table>").unwrap()]
            .matches("<tr><td>")
            .count(),
        2
    );
}

/// A provider whose renders break the room: the photo mirrored, walls and
/// furniture on the wrong side.
fn mirrored_room_answer() -> wiremock::ResponseTemplate {
    use base64::Engine as _;
    let photo = image::open(sample_room()).unwrap().into_rgb8();
    let mirrored = image::imageops::flip_horizontal(&photo);
    let mut bytes = Vec::new();
    mirrored
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "images": [base64::engine::general_purpose::STANDARD.encode(bytes)],
        "info": "{}"
    }))
}

#[test]
fn a_render_that_breaks_the_rooms_structure_is_guarded_never_shown_and_says_why() {
    use wiremock::matchers::{method, path};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(wiremock::MockServer::start());
    rt.block_on(
        wiremock::Mock::given(method("POST"))
            .and(path("/sdapi/v1/img2img"))
            .respond_with(mirrored_room_answer())
            .mount(&server),
    );
    let env = Env::new();
    std::fs::write(
        env.path("cwd/latina.toml"),
        format!(
            "[[providers]]\nname = \"gpu\"\ntype = \"sd-webui\"\nbase_url = \"{}\"\n\
             controlnet_model = \"m\"\ntimeout_secs = 5\n",
            server.uri()
        ),
    )
    .unwrap();
    let report = env.json(&["enhance", sample_room().to_str().unwrap()]);
    let variants = report["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    for v in variants {
        assert_eq!(v["status"], "done", "{v}");
        assert_eq!(v["guarded"], true, "{v}");
        assert_eq!(v["shown"], false, "{v}");
        let reason = v["shortlist"].as_str().unwrap();
        assert!(reason.starts_with("guarded: structure 0."), "{reason}");
        let id = v["experiment_id"].as_str().unwrap();
        let detail = env.json(&["show", id]);
        let s = &detail["shortlist"];
        assert_eq!(s["guarded"], true);
        assert!(s["guard_structure"].as_f64().unwrap() < s["guard_threshold"].as_f64().unwrap());
    }
    // Nothing to rate, and no preview of renders nobody should see.
    assert_eq!(env.json(&["rate"]).as_array().unwrap().len(), 0);
    assert!(report["preview"].is_null(), "{report}");
    // The text output says what happened.
    let text = stdout_of(
        &env.latina()
            .args(["enhance", "--no-rate", sample_room().to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert!(text.contains("0 of 2 candidates shown"), "{text}");
    assert!(text.contains("guarded: structure"), "{text}");
}
