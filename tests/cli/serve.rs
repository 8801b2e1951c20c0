//! `latina serve` through the real binary and real HTTP: the queue and a
//! rating landing, and every refusal the security rules promise (path
//! traversal, absolute paths, unknown ids, missing CSRF secret, foreign
//! origins, oversized bodies, bad ratings, the LAN token and name), each
//! checked to have written nothing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use crate::harness::{Env, one_line_failure};

pub fn room(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/rooms")
        .join(name)
}

/// `latina enhance --no-rate` on a sample room; returns the variants' ids
/// in option order.
pub fn render(env: &Env, name: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["enhance", "--no-rate"];
    args.extend_from_slice(extra);
    let path = room(name);
    args.push(path.to_str().unwrap());
    let report = env.json(&args);
    report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["experiment_id"].as_str().unwrap().to_string())
        .collect()
}

/// A running `latina serve`, stopped with SIGTERM when dropped.
pub struct Server {
    child: Child,
    /// The base URL it printed, ending in `/` (a generated token's query removed).
    pub base: String,
    /// The first line it printed on stdout.
    pub printed: String,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Server {
    pub fn start(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut cmd = env.latina_process();
        cmd.args(["serve", "--port", "0"]).args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let printed = line.trim().to_string();
        let url = printed
            .strip_prefix("latina serve: ")
            .unwrap_or_else(|| panic!("no URL printed: {printed:?}"));
        let base = url.split('?').next().unwrap().to_string();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            child,
            base,
            printed,
            rt,
            client,
        }
    }

    /// The base URL as reached over loopback (a 0.0.0.0 bind prints 0.0.0.0).
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.base.replace("0.0.0.0", "127.0.0.1"),
            path.trim_start_matches('/')
        )
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request)
    }

    /// Posts `body` as a form (already encoded).
    pub fn post(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Reply {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request)
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.rt.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.text().await.unwrap();
            Reply {
                status,
                headers,
                body,
            }
        })
    }

    /// The CSRF secret the pages carry (read from the queue page).
    pub fn csrf(&self, headers: &[(&str, &str)]) -> String {
        let page = self.get("/", headers).body;
        let marker = r#"<meta name="csrf" content=""#;
        let start = page.find(marker).expect("csrf meta") + marker.len();
        page[start..start + 32].to_string()
    }

    /// Sends a signal and waits for the exit status.
    pub fn stop(mut self, signal: i32) -> std::process::ExitStatus {
        // kill(1) on our own child: the crate forbids `unsafe`, so no libc::kill.
        let sent = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn serve_queue_shows_each_batch_beside_its_original_and_a_rating_lands_through_rate() {
    let env = Env::new();
    let desk = render(&env, "room_hotel_desk.jpg", &[]);
    let bed = render(&env, "room_hotel_bed.jpg", &["--room", "bedroom"]);
    let server = Server::start(&env, &[], &[]);
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.printed
    );
    let page = server.get("/", &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("4 unrated renders in 2 batches"),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("<b>ORIGINAL</b>").count(), 2);
    for id in desk.iter().chain(&bed) {
        assert!(page.body.contains(&format!(r#"data-id="{id}""#)), "{id}");
    }
    // The newest batch comes first, A before B.
    let at = |id: &str| page.body.find(&format!(r#"data-id="{id}""#)).unwrap();
    assert!(at(&bed[0]) < at(&bed[1]) && at(&bed[1]) < at(&desk[0]));
    assert!(page.body.contains("room_hotel_bed.jpg") && page.body.contains("bedroom"));

    // Thumbnails are JPEGs, made once into the data dir's cache.
    let thumb = server.get(&format!("/thumb/render/{}", bed[0]), &[]);
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.headers["content-type"], "image/jpeg");
    let cached = env
        .data()
        .join(format!("thumbnails/render-{}-480.jpg", bed[0]));
    assert!(cached.is_file());

    let csrf = server.csrf(&[]);
    let reply = server.post(
        "/rate",
        form(&[
            ("csrf", &csrf),
            ("id", &bed[1]),
            ("stars", "4"),
            ("comment", "muy plano <b>"),
            ("designer", "Ana"),
        ]),
        &[("accept", "application/json")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], 1);
    let shown = env.json(&["show", &bed[1]]);
    assert_eq!(shown["rating"]["stars"], 4);
    assert_eq!(shown["rating"]["rated_by"], "Ana");
    assert_eq!(shown["rating"]["comment"], "muy plano <b>");
    // The rated render leaves the queue; the comment is escaped on its page.
    let page = server.get("/", &[]).body;
    assert!(!page.contains(&format!(r#"data-id="{}""#, bed[1])));
    let detail = server.get(&format!("/experiment/{}", bed[1]), &[]);
    assert_eq!(detail.status, 200);
    assert!(
        detail.body.contains("muy plano &lt;b&gt;"),
        "{}",
        detail.body
    );
    assert!(detail.body.contains("init_strength") && detail.body.contains("Prompt"));
}

#[test]
fn serve_history_searches_by_photo_room_and_designer() {
    let env = Env::new();
    let desk = render(&env, "room_hotel_desk.jpg", &["--project", "Hotel Sol"]);
    let bed = render(
        &env,
        "room_hotel_bed.jpg",
        &["--room", "bedroom", "--style", "nordic"],
    );
    env.latina()
        .args(["rate", &desk[0], "3", "--by", "luis"])
        .assert()
        .success();
    let server = Server::start(&env, &[], &[]);
    let rows = |query: &str| {
        let body = server.get(&format!("/history{query}"), &[]).body;
        let mut found: Vec<&String> = desk
            .iter()
            .chain(&bed)
            .filter(|id| body.contains(&format!("/experiment/{id}")))
            .collect();
        found.sort();
        found.len()
    };
    assert_eq!(rows(""), 4);
    assert_eq!(rows("?photo=BED"), 2);
    assert_eq!(rows("?room=bedroom"), 2);
    assert_eq!(rows("?style=nordic&room=bedroom"), 2);
    assert_eq!(rows("?style=baroque"), 0);
    assert_eq!(rows("?project=hotel+sol"), 2);
    assert_eq!(rows("?designer=luis"), 1);
    assert_eq!(rows("?designer=ana"), 0);
}

#[test]
fn serve_images_are_found_only_by_id_never_by_path() {
    let env = Env::new();
    let ids = render(&env, "room_hotel_desk.jpg", &[]);
    let server = Server::start(&env, &[], &[]);
    assert_eq!(
        server.get(&format!("/image/render/{}", ids[0]), &[]).status,
        200
    );
    assert_eq!(
        server
            .get(&format!("/image/original/{}", ids[0]), &[])
            .status,
        200
    );
    for path in [
        "/image/render/..%2f..%2f..%2fetc%2fpasswd",
        "/image/render/..%2F..%2Flatina.db",
        "/thumb/original/%2Fetc%2Fpasswd",
        "/image/render/%2e%2e",
        "/image/..%2f..%2fetc/passwd",
        "/image/secret/0123",
        "/image/render/0123456789abcdef0123456789abcdef",
        "/experiment/..%2f..%2fetc%2fpasswd",
        "/experiment/0123456789abcdef0123456789abcdef",
    ] {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert!(!reply.body.contains("root:"), "{path}");
    }
}

#[test]
fn serve_refuses_bad_and_cross_site_posts_and_writes_nothing() {
    let env = Env::new();
    let ids = render(&env, "room_hotel_desk.jpg", &[]);
    let server = Server::start(&env, &[], &[]);
    let csrf = server.csrf(&[]);
    let id = ids[0].as_str();
    let post = |fields: &[(&str, &str)], headers: &[(&str, &str)]| {
        server.post("/rate", form(fields), headers).status
    };
    assert_eq!(
        post(&[("csrf", &csrf), ("id", id), ("stars", "abc")], &[]),
        400
    );
    assert_eq!(
        post(&[("csrf", &csrf), ("id", id), ("stars", "9")], &[]),
        400
    );
    assert_eq!(
        post(&[("csrf", &csrf), ("id", id), ("stars", "0")], &[]),
        400
    );
    assert_eq!(
        post(&[("csrf", &csrf), ("id", id), ("stars", "4.5")], &[]),
        400
    );
    assert_eq!(post(&[("csrf", &csrf), ("id", id)], &[]), 400);
    assert_eq!(post(&[("id", id), ("stars", "4")], &[]), 403);
    assert_eq!(
        post(
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("id", id),
                ("stars", "4")
            ],
            &[]
        ),
        403
    );
    let good = [("csrf", csrf.as_str()), ("id", id), ("stars", "4")];
    assert_eq!(post(&good, &[("origin", "http://evil.example")]), 403);
    assert_eq!(post(&good, &[("sec-fetch-site", "cross-site")]), 403);
    assert_eq!(
        post(
            &[
                ("csrf", &csrf),
                ("id", "0123456789abcdef0123456789abcdef"),
                ("stars", "4")
            ],
            &[]
        ),
        404
    );
    assert_eq!(
        post(&[("csrf", &csrf), ("id", "../x"), ("stars", "4")], &[]),
        404
    );
    let long = "a".repeat(100 * 1024);
    assert_eq!(
        post(
            &[
                ("csrf", &csrf),
                ("id", id),
                ("stars", "4"),
                ("comment", &long)
            ],
            &[]
        ),
        413
    );
    assert_eq!(env.count("ratings"), 0);
    // The same post from the page's own origin is recorded.
    let own = server.url("/");
    let own = own.trim_end_matches('/');
    assert_eq!(
        post(&good, &[("origin", own), ("sec-fetch-site", "same-origin")]),
        303
    );
    assert_eq!(env.count("ratings"), 1);
}

#[test]
fn serve_on_a_lan_bind_requires_the_token_and_each_designers_name() {
    let env = Env::new();
    let ids = render(&env, "room_hotel_desk.jpg", &[]);
    let token = "s3cret-studio-token";
    let server = Server::start(
        &env,
        &["--bind", "0.0.0.0"],
        &[("LATINA_SERVE_TOKEN", token)],
    );
    assert!(
        !server.printed.contains(token),
        "a token from the environment is never printed"
    );
    assert_eq!(server.get("/", &[]).status, 401);
    assert_eq!(
        server.get(&format!("/image/render/{}", ids[0]), &[]).status,
        401
    );
    assert_eq!(
        server.get("/", &[("authorization", "Bearer wrong")]).status,
        401
    );
    assert_eq!(server.get("/?token=wrong", &[]).status, 401);
    assert_eq!(
        server.get("/", &[("cookie", "latina_token=wrong")]).status,
        401
    );
    // The token in the URL is traded for a cookie.
    let first = server.get(&format!("/?token={token}"), &[]);
    assert_eq!(first.status, 303);
    let cookie = first.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with(&format!("latina_token={token};")) && cookie.contains("HttpOnly"));
    let auth = format!("latina_token={token}");
    let with = [("cookie", auth.as_str())];
    assert_eq!(server.get("/", &with).status, 200);
    let csrf = server.csrf(&with);
    let nameless = form(&[("csrf", &csrf), ("id", &ids[0]), ("stars", "4")]);
    assert_eq!(server.post("/rate", nameless.clone(), &[]).status, 401);
    assert_eq!(server.post("/rate", nameless, &with).status, 400);
    assert_eq!(env.count("ratings"), 0);
    let named = form(&[
        ("csrf", &csrf),
        ("id", &ids[0]),
        ("stars", "4"),
        ("designer", "Bea"),
    ]);
    assert_eq!(server.post("/rate", named, &with).status, 303);
    assert_eq!(env.json(&["show", &ids[0]])["rating"]["rated_by"], "Bea");
}

#[test]
fn serve_on_a_lan_bind_without_a_configured_token_prints_a_fresh_one() {
    let env = Env::new();
    let server = Server::start(&env, &["--bind", "0.0.0.0"], &[]);
    let token = server
        .printed
        .split("?token=")
        .nth(1)
        .expect("token in the URL")
        .to_string();
    assert_eq!(token.len(), 32);
    assert_eq!(server.get("/", &[]).status, 401);
    assert_eq!(
        server
            .get("/", &[("authorization", &format!("Bearer {token}"))])
            .status,
        200
    );
}

#[test]
fn serve_stops_cleanly_on_ctrl_c() {
    let env = Env::new();
    let server = Server::start(&env, &[], &[]);
    assert_eq!(server.get("/dashboard", &[]).status, 200);
    let status = server.stop(2);
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serve_refuses_a_bind_that_is_not_an_address() {
    let env = Env::new();
    let out = env
        .latina()
        .args(["serve", "--bind", "my-laptop"])
        .output()
        .unwrap();
    let line = one_line_failure(&out);
    assert!(line.contains("`my-laptop` is not an IP address"), "{line}");
}

#[test]
fn serve_dashboard_shows_status_numbers_and_the_report_charts() {
    let env = Env::new();
    let ids = render(&env, "room_hotel_desk.jpg", &[]);
    env.latina().args(["rate", &ids[0], "4"]).assert().success();
    env.latina().args(["rate", &ids[1], "2"]).assert().success();
    let server = Server::start(&env, &[], &[]);
    let page = server.get("/dashboard", &[]).body;
    assert!(page.contains(r#"id="samples">2<"#), "{page}");
    assert!(page.contains(r#"id="average">3.00<"#), "{page}");
    assert!(page.contains(r#"src="/dashboard/report""#));
    let report = server.get("/dashboard/report", &[]).body;
    assert!(report.contains("<svg") && report.contains("Rating over time"));
    assert!(report.contains(r#"id="stat-samples">2<"#));
    // The served page names the database file, not where it lives (on a
    // server: the database's name, never its password).
    match env.studio() {
        Some(studio) => {
            let url = studio.db.url();
            assert!(report.contains(url.rsplit('/').next().unwrap()));
            assert!(studio.db.password.is_empty() || !report.contains(&studio.db.password));
        }
        None => {
            let db = env.db_path();
            let dir = db.parent().unwrap().to_str().unwrap();
            assert!(!report.contains(dir), "the report shows {dir}");
            assert!(report.contains(db.file_name().unwrap().to_str().unwrap()));
        }
    }
    // The charts are redrawn when the activity mark moves, not before.
    let mark = |s: &Server| s.get("/api/mark", &[]).body;
    let before = mark(&server);
    assert_eq!(mark(&server), before);
    assert_eq!(server.get("/dashboard/report", &[]).body, report);
    let more = render(&env, "room_hotel_bed.jpg", &[]);
    env.latina()
        .args(["rate", &more[0], "5"])
        .assert()
        .success();
    assert_ne!(mark(&server), before);
    let redrawn = server.get("/dashboard/report", &[]).body;
    assert!(redrawn.contains(r#"id="stat-samples">3<"#));
    let json: serde_json::Value =
        serde_json::from_str(&server.get("/api/status", &[]).body).unwrap();
    let cli = env.json(&["status"]);
    assert_eq!(
        json["phase1"]["total_samples"],
        cli["phase1"]["total_samples"]
    );
    assert_eq!(json["avg_rating"], cli["avg_rating"]);
    assert_eq!(json["unrated"], cli["unrated"]);
}

#[test]
fn serve_a_choice_between_renders_lands_through_prefer_and_bad_ones_write_nothing() {
    let env = Env::new();
    let desk = render(&env, "room_hotel_desk.jpg", &[]);
    let bed = render(&env, "room_hotel_bed.jpg", &[]);
    let server = Server::start(&env, &[], &[]);
    let csrf = server.csrf(&[]);
    let post = |fields: &[(&str, &str)]| {
        server.post("/prefer", form(fields), &[("accept", "application/json")])
    };
    let refused = |fields: &[(&str, &str)]| post(fields).status;
    // Renders of two photos, one render twice, a tie that is not 0/1, an
    // unknown or path-like id, a missing CSRF secret: refused.
    assert_eq!(
        refused(&[("csrf", &csrf), ("better", &desk[0]), ("worse", &bed[0])]),
        409
    );
    assert_eq!(
        refused(&[("csrf", &csrf), ("better", &desk[0]), ("worse", &desk[0])]),
        409
    );
    assert_eq!(
        refused(&[
            ("csrf", &csrf),
            ("better", &desk[0]),
            ("worse", &desk[1]),
            ("tie", "yes")
        ]),
        400
    );
    assert_eq!(
        refused(&[
            ("csrf", &csrf),
            ("better", "../etc/passwd"),
            ("worse", &desk[1])
        ]),
        404
    );
    assert_eq!(
        refused(&[
            ("csrf", &csrf),
            ("better", &desk[0]),
            ("worse", "0123456789abcdef0123456789abcdef")
        ]),
        404
    );
    assert_eq!(refused(&[("better", &desk[0]), ("worse", &desk[1])]), 403);
    assert_eq!(env.count("preferences"), 0);

    let reply = post(&[
        ("csrf", &csrf),
        ("better", &desk[1]),
        ("worse", &desk[0]),
        ("comment", "B keeps the window"),
        ("designer", "Ana"),
    ]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let receipt: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(receipt["better_option"], "B");
    assert_eq!(receipt["rated_by"], "Ana");
    let same = post(&[
        ("csrf", &csrf),
        ("better", &bed[0]),
        ("worse", &bed[1]),
        ("tie", "1"),
        ("designer", "Luis"),
    ]);
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(env.count("preferences"), 2);
    assert_eq!(env.json(&["status"])["preferences"], 2);
    let shown = env.json(&["show", &desk[0]]);
    assert!(shown.to_string().contains("B keeps the window"), "{shown}");
    // A choice stands in for stars: both batches leave the queue.
    let page = server.get("/", &[]).body;
    for id in desk.iter().chain(&bed) {
        assert!(!page.contains(&format!(r#"data-id="{id}""#)), "{id}");
    }
}

#[test]
fn serve_keeps_answering_while_enhance_rate_and_evolve_write_the_store() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let env = Env::new();
    let first = render(&env, "room_hotel_desk.jpg", &[]);
    let server = Server::start(&env, &[], &[]);
    let csrf = server.csrf(&[]);
    let writing = AtomicBool::new(true);
    let mut answers: Vec<(String, u16)> = Vec::new();
    std::thread::scope(|s| {
        // What a designer at the terminal and the cron job do meanwhile.
        s.spawn(|| {
            for room in [
                "room_hotel_bed.jpg",
                "studio_dark_pano.jpg",
                "room_hotel_bed.jpg",
            ] {
                let ids = render(&env, room, &[]);
                env.latina()
                    .args(["rate", &ids[0], "2", "--by", "luis"])
                    .assert()
                    .success();
                env.latina().arg("evolve").assert().success();
            }
            writing.store(false, Ordering::SeqCst);
        });
        let mut rated = false;
        while writing.load(Ordering::SeqCst) || !rated {
            for path in ["/", "/api/status", "/dashboard", "/history?q=bed"] {
                answers.push((path.to_string(), server.get(path, &[]).status));
            }
            if !rated {
                let reply = server.post(
                    "/rate",
                    form(&[
                        ("csrf", &csrf),
                        ("id", &first[1]),
                        ("stars", "4"),
                        ("designer", "Ana"),
                    ]),
                    &[("accept", "application/json")],
                );
                answers.push(("POST /rate".into(), reply.status));
                rated = true;
            }
        }
    });
    let failed: Vec<&(String, u16)> = answers.iter().filter(|(_, s)| *s != 200).collect();
    assert!(failed.is_empty(), "{failed:?} of {}", answers.len());
    assert!(
        answers.len() > 8,
        "the pages were asked while the writers ran"
    );
    let status = env.json(&["status"]);
    assert_eq!(status["phase1"]["total_samples"], 4, "{status}");
    assert_eq!(env.json(&["show", &first[1]])["rating"]["rated_by"], "Ana");
}
