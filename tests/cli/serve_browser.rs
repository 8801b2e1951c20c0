//! `latina serve` in a real browser: Debian's headless Chromium driven
//! through chromedriver's WebDriver HTTP API (plain JSON over reqwest).
//! It opens the queue, types the designer's name, presses keys to rate
//! two renders and comment on one, submits, and checks through
//! `latina show --json` that the ratings landed with that name and comment.
//! Screenshots of the queue, an experiment and the dashboard go to
//! `$LATINA_SCREENSHOT_DIR` when set.
//!
//! Without chromedriver the test says so loudly and passes, unless
//! `LATINA_REQUIRE_BROWSER` is set (CI sets it), when it fails.

use base64::Engine as _;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::serve::{Server, render};
use crate::harness::Env;

/// WebDriver's key codes (W3C WebDriver, "Keyboard actions").
const ARROW_RIGHT: &str = "\u{E014}";
const ARROW_DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";
/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromedriver() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

struct Driver {
    process: Child,
    base: String,
    session: String,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Driver {
    fn start(binary: &str) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::new();
        let mut driver = Driver {
            process,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            rt,
            client,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = driver.rt.block_on(async {
                let r = driver
                    .client
                    .get(format!("{}/status", driver.base))
                    .send()
                    .await
                    .ok()?;
                r.json::<Value>().await.ok()
            });
            if ready.is_some_and(|v| v["value"]["ready"] == true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut options = json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"]});
        if std::path::Path::new("/usr/bin/chromium").is_file() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let created = driver.call(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}),
        );
        driver.session = created["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        driver
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self.client.post(url).json(&body),
        };
        self.rt.block_on(async {
            let r = request.send().await.unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            assert!(status.is_success(), "WebDriver {method} {path}: {v}");
            v["value"].clone()
        })
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    /// Presses each key in turn on whatever has the focus.
    fn press(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        self.call(
            "POST",
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    fn script(&self, js: &str) -> Value {
        self.call("POST", "/execute/sync", json!({"script": js, "args": []}))
    }

    fn screenshot(&self, name: &str) {
        let png = self.call("GET", "/screenshot", Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{name} is not a PNG");
        if let Some(dir) = std::env::var_os("LATINA_SCREENSHOT_DIR") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                std::path::Path::new(&dir).join(format!("{name}.png")),
                bytes,
            )
            .unwrap();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = self.rt.block_on(self.client.delete(url).send());
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn serve_in_a_real_browser_keys_rate_and_comment_with_the_designers_name() {
    let Some(binary) = chromedriver() else {
        let required = std::env::var_os("LATINA_REQUIRE_BROWSER").is_some();
        assert!(
            !required,
            "LATINA_REQUIRE_BROWSER is set but chromedriver is not on PATH (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "\n!!!!!!!! SKIPPED serve_in_a_real_browser: chromedriver is not on PATH \
             (apt-get install chromium chromium-driver; CI sets LATINA_REQUIRE_BROWSER=1) !!!!!!!!\n"
        );
        return;
    };
    let env = Env::new();
    let oldest = render(&env, "studio_dark_pano.jpg", &[]);
    let older = render(&env, "room_hotel_desk.jpg", &["--project", "Hotel Sol"]);
    let newest = render(&env, "room_hotel_bed.jpg", &["--room", "bedroom"]);
    env.latina()
        .args(["rate", &older[0], "3"])
        .assert()
        .success();
    let server = Server::start(&env, &[], &[]);
    let driver = Driver::start(&binary);

    driver.open(&server.url("/"));
    // The name is typed once; Enter leaves the box for the queue's keys.
    driver.type_into("#designer", &format!("Ana Ruiz{ENTER}"));
    // Newest batch first, its A focused: 4 stars; → to B: 2 stars and a comment.
    driver.press(&["4", ARROW_RIGHT, "2", "c"]);
    driver.press(&["m", "u", "y", " ", "p", "l", "a", "n", "o"]);
    let focused = driver.script("return document.activeElement.closest('.variant').dataset.id;");
    assert_eq!(focused, newest[1]);
    driver.screenshot("queue");
    driver.press(&[ENTER]);

    let deadline = Instant::now() + Duration::from_secs(20);
    while env.json(&["status"])["phase1"]["total_samples"] != 3 {
        assert!(
            Instant::now() < deadline,
            "the browser's ratings did not land"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // ↓ to the last batch; Shift+B: B is the better of its two renders.
    driver.press(&[ARROW_DOWN, "B"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while env.json(&["status"])["preferences"] != 1 {
        assert!(
            Instant::now() < deadline,
            "the browser's choice did not land"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let chosen = env.json(&["show", &oldest[1]]).to_string();
    assert!(
        chosen.contains("Ana Ruiz") && chosen.contains(&oldest[0]),
        "{chosen}"
    );
    let a = env.json(&["show", &newest[0]]);
    assert_eq!(a["rating"]["stars"], 4);
    assert_eq!(a["rating"]["rated_by"], "Ana Ruiz");
    assert_eq!(a["rating"]["comment"], Value::Null);
    let b = env.json(&["show", &newest[1]]);
    assert_eq!(b["rating"]["stars"], 2);
    assert_eq!(b["rating"]["rated_by"], "Ana Ruiz");
    assert_eq!(b["rating"]["comment"], "muy plano");
    // The other batch is untouched, and the name is remembered on reload.
    assert_eq!(env.json(&["show", &older[1]])["rating"], Value::Null);
    driver.open(&server.url("/"));
    assert_eq!(
        driver.script("return document.getElementById('designer').value;"),
        "Ana Ruiz"
    );
    assert_eq!(
        driver.script("return document.querySelectorAll('.batch').length;"),
        1
    );

    driver.open(&server.url(&format!("/experiment/{}", newest[1])));
    assert_eq!(
        driver.script(
            "return document.querySelector('ul.ratings').textContent.includes('muy plano');"
        ),
        true
    );
    driver.screenshot("experiment");
    driver.open(&server.url("/dashboard"));
    assert_eq!(
        driver.script("return document.getElementById('samples').textContent;"),
        "3"
    );
    // Live: a rating made elsewhere shows up without a reload.
    std::thread::sleep(Duration::from_millis(500));
    env.latina()
        .args(["rate", &older[1], "5", "--by", "luis"])
        .assert()
        .success();
    let deadline = Instant::now() + Duration::from_secs(15);
    while driver.script("return document.getElementById('samples').textContent;") != "4" {
        assert!(
            Instant::now() < deadline,
            "the dashboard did not pick up the new rating"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1500));
    driver.screenshot("dashboard");
}
