//! `latina report` on databases built with enhance, suggest and rate.

use base64::Engine as _;
use serde_json::Value;

use crate::harness::{Env, one_line_failure, stdout_of};

const MALICIOUS: &str = "<script>alert(1)</script>";

/// Three photos (six rendered variants) rated 5, 4, 3, 2, 1, 4 in that
/// order, the 1 with a malicious comment, and one `suggest` point (no
/// render file) rated 3. Returns the rendered variants in rating order.
fn rated_database(env: &Env) -> Vec<Value> {
    let mut variants = Vec::new();
    for photo in ["room_hotel_desk.jpg", "room_hotel_bed.jpg", "coffee.jpg"] {
        let report = env.enhance(&format!("images/{photo}"));
        variants.extend(report["variants"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(variants.len(), 6);
    for (v, stars) in variants.iter().zip(["5", "4", "3", "2", "1", "4"]) {
        let id = v["experiment_id"].as_str().unwrap();
        let comment = if stars == "1" {
            MALICIOUS.to_string()
        } else {
            format!("rated {stars}, muy plano")
        };
        env.latina()
            .args(["rate", id, stars, "--comment", &comment, "--by", "ana"])
            .assert()
            .success();
    }
    let suggested = env.json(&["suggest"]);
    let id = suggested[0]["experiment_id"].as_str().unwrap();
    env.latina()
        .args(["rate", id, "3", "--by", "luis"])
        .assert()
        .success();
    variants
}

fn stat<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!(r#"id="{id}">"#))
        .unwrap_or_else(|| panic!("no {id}"))
        + id.len()
        + 6;
    &html[start..start + html[start..].find('<').unwrap()]
}

#[test]
fn report_is_one_self_contained_file_with_six_charts_and_the_right_numbers() {
    let env = Env::new();
    let variants = rated_database(&env);
    // The 4-star render of the first photo's second variant loses its file.
    let lost = variants[1]["output"].as_str().unwrap();
    env.delete_stored(lost);

    let out = env.latina().arg("report").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let written = env.path("cwd/report.html");
    assert_eq!(
        stdout_of(&out).trim(),
        written.canonicalize().unwrap().to_str().unwrap(),
        "prints the absolute path of the default report.html in the cwd"
    );
    let html = std::fs::read_to_string(&written).unwrap();
    assert!(
        !env.path("cwd/report.html.part").exists(),
        "no temp file left"
    );

    assert_eq!(
        html.matches("<svg").count(),
        6,
        "time, providers, three parameters, prompt versions"
    );
    let without_xmlns = html.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
    for scheme in ["http://", "https://"] {
        let at = without_xmlns.find(scheme);
        assert!(
            at.is_none(),
            "no network references: {}",
            &without_xmlns[at.unwrap_or(0).saturating_sub(200)..][..300.min(without_xmlns.len())]
        );
    }
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "no scripts at all"
    );
    assert!(!html.contains("<link"), "no external stylesheets");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the malicious comment is shown as text"
    );

    // Headline: 7 rated (6 renders + 1 suggestion), best 5, mean 22/7,
    // convergence 0.6·7/50 + 0.4·min(5/4, 1) = 0.484.
    assert_eq!(stat(&html, "stat-samples"), "7");
    assert_eq!(stat(&html, "stat-best"), "5");
    assert_eq!(stat(&html, "stat-average"), "3.14");
    assert_eq!(stat(&html, "stat-convergence"), "48%");

    // Thumbnails: best 4 (5, 4, 4, 3 stars) and the 2 left for worst (1, 2);
    // the suggestion has no file. One of the 4-star files is gone.
    let uris: Vec<&str> = html
        .split(r#"src="data:image/jpeg;base64,"#)
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(uris.len(), 5, "six renders, one file missing");
    let thumb = image::load_from_memory(
        &base64::engine::general_purpose::STANDARD
            .decode(uris[0])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(thumb.width().max(thumb.height()), 240);
    assert!(
        html.contains("file not found"),
        "placeholder for the lost file"
    );
    let best_section =
        &html[html.find("Best rated renders").unwrap()..html.find("Worst rated renders").unwrap()];
    assert!(best_section.find("★★★★★").unwrap() < best_section.find("★★★☆☆").unwrap());
    assert_eq!(best_section.matches("<figure>").count(), 4);
    let worst_section = &html[html.find("Worst rated renders").unwrap()..];
    assert_eq!(worst_section.matches("<figure>").count(), 2);
    assert!(worst_section.contains("★☆☆☆☆"));

    // Per-provider counts add up to the ratings, and the model has a curve.
    let n_total: u64 = html
        .match_indices(">n ")
        .map(|(i, _)| {
            let rest = &html[i + 3..];
            rest[..rest.find(' ').unwrap()].parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(n_total, 7);
    assert!(html.contains("GP mean ± sd"), "model curve drawn");
    assert!(html.contains("v1.0.0"), "prompt timeline row");
    assert!(html.len() < 2_000_000);
}

#[test]
fn report_json_names_the_file_and_its_size_and_a_directory_gets_report_html() {
    let env = Env::new();
    rated_database(&env);
    std::fs::create_dir(env.path("cwd/reports")).unwrap();
    let json = env.json(&["report", "--out", "reports"]);
    let path = env.path("cwd/reports/report.html");
    assert_eq!(
        json["path"].as_str().unwrap(),
        path.canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(
        json["bytes"].as_u64().unwrap(),
        std::fs::metadata(&path).unwrap().len()
    );
    assert_eq!(json["samples"], 7);
}

#[test]
fn report_with_nothing_rated_says_so_in_one_line_and_writes_nothing() {
    let env = Env::new();
    env.json(&["suggest"]);
    let out = env.latina().arg("report").output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("nothing to report yet"), "{line}");
    assert!(!env.path("cwd/report.html").exists());
}

#[test]
fn report_without_a_database_is_the_usual_error() {
    let env = Env::on_sqlite();
    let out = env.latina().arg("report").output().unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("no database at"), "{line}");
    assert!(
        !env.db_path().exists(),
        "a read command creates no database"
    );
}

#[test]
fn report_into_a_missing_directory_is_refused_without_creating_it() {
    let env = Env::new();
    rated_database(&env);
    let out = env
        .latina()
        .args(["report", "--out", "missing/sub/report.html"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("missing/sub"), "{line}");
    assert!(line.contains("no such directory"), "{line}");
    assert!(!env.path("cwd/missing").exists());
}
