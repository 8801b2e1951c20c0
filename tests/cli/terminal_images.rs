//! Issue 16, terminal side: the labelled preview, inline images on a real
//! pseudo-terminal (`script`), the `--open` viewer, the tmux fallback, and
//! the `rate` walkthrough ("3 of 12", photo name, provider, preference keys,
//! resuming).

use base64::Engine as _;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{Env, sample_room};

/// Runs latina on a pseudo-terminal with exactly `vars` as its terminal
/// environment (nothing inherited from whatever runs the tests), typing `keys`.
pub(crate) fn on_terminal(env: &Env, args: &str, keys: &str, vars: &[(&str, &str)]) -> String {
    let command = format!(
        "{} --data-dir {} {args}",
        env!("CARGO_BIN_EXE_latina"),
        env.data().display()
    );
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "script", "-qfec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.path("home"))
        .env("XDG_CONFIG_HOME", env.path("home/.config"))
        .env("USER", "tester")
        .current_dir(env.path("cwd"))
        .envs(env.store_vars())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("`script` from util-linux");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(keys.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{screen}");
    screen
}

fn config(env: &Env, text: &str) {
    std::fs::write(env.path("cwd/latina.toml"), text).unwrap();
}

fn render_twice(env: &Env) {
    for _ in 0..2 {
        env.latina()
            .args(["enhance", "--no-rate", sample_room().to_str().unwrap()])
            .assert()
            .success();
    }
}

/// The kitty APC sequences on the screen, reassembled into the PNG.
pub(crate) fn kitty_png(screen: &str) -> Vec<u8> {
    let mut data = String::new();
    let mut first = true;
    for part in screen.split("\x1b_G").skip(1) {
        let (keys, rest) = part.split_once(';').unwrap();
        let (payload, _) = rest.split_once("\x1b\\").unwrap();
        if first {
            assert!(keys.starts_with("a=T,f=100,"), "{keys}");
            first = false;
        }
        assert!(payload.len() <= 4096);
        data.push_str(payload);
        if keys.ends_with("m=0") {
            break;
        }
        assert!(keys.ends_with("m=1"), "{keys}");
    }
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

#[test]
fn enhance_writes_a_labelled_preview_of_the_documented_size() {
    let env = Env::new();
    let report = env.json(&["enhance", sample_room().to_str().unwrap()]);
    let preview = report["preview"].as_str().unwrap();
    let img = image::open(preview).unwrap().into_rgb8();
    // 800×600 photo at preview_height 480: panels 640×480, three of them,
    // 12 px gaps, and the label and title bands (33 px each).
    assert_eq!(img.dimensions(), (3 * 640 + 4 * 12, 480 + 2 * 12 + 2 * 33));
    // The label band holds dark ink where "ORIGINAL" starts ('O' row 1,
    // column 0 at x = 12, y = 12 + 3) and the panels' white gap does not.
    let dark = |x: u32, y: u32| img.get_pixel(x, y).0.iter().all(|&c| c < 100);
    assert!(dark(13, 16), "the O of ORIGINAL");
    assert!(!dark(14 + 3, 16), "inside the O");
    // 'A' row 3 is a full bar over panel A (x = 12 + 640 + 12).
    let a = 12 + 640 + 12;
    assert!((a + 1..a + 14).all(|x| dark(x, 12 + 9 + 1)));
}

#[test]
fn rate_draws_the_preview_with_kitty_graphics_and_walks_with_counts() {
    let env = Env::new();
    render_twice(&env);
    config(&env, "[ui]\nimages = \"auto\"\n");
    // Two photos, two renders each: A of the newest photo 4 stars, then stop.
    let screen = on_terminal(&env, "rate", "4\r\rq\r", &[("TERM", "xterm-kitty")]);
    assert!(screen.contains("1 of 4"), "{screen}");
    assert!(screen.contains("2 of 4"), "{screen}");
    assert!(!screen.contains("3 of 4"), "{screen}");
    assert!(screen.contains("room_hotel_desk.jpg"), "{screen}");
    // The provider arm of each variant (which arm is A is the optimizer's draw).
    assert!(
        screen.contains("A by tone") || screen.contains("A by detail"),
        "{screen}"
    );
    // The preview, decoded from the escape sequences, is the labelled
    // sheet scaled to 1600 px wide.
    let png = kitty_png(&screen);
    let shown = image::load_from_memory(&png).unwrap();
    assert_eq!((shown.width(), shown.height()), (1600, 570 * 1600 / 1968));
    assert_eq!(env.json(&["status"])["unrated"], 3);
    // Resumed: the next walkthrough offers what is left.
    let screen = on_terminal(&env, "rate", "q\r", &[("TERM", "xterm-kitty")]);
    assert!(screen.contains("1 of 3"), "{screen}");
}

#[test]
fn iterm_and_sixel_sequences_reach_the_terminal() {
    let env = Env::new();
    render_twice(&env);
    let screen = on_terminal(&env, "rate", "q\r", &[("TERM_PROGRAM", "WezTerm")]);
    let start = screen.find("\x1b]1337;File=inline=1;size=").expect(&screen);
    let rest = &screen[start..];
    let (head, body) = rest.split_once(':').unwrap();
    let size: usize = head
        .rsplit("size=")
        .next()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let body = &body[..body.find('\x07').unwrap()];
    let png = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    assert_eq!(png.len(), size);
    assert!(image::load_from_memory(&png).is_ok());

    config(&env, "[ui]\nimages = \"sixel\"\n");
    let screen = on_terminal(&env, "rate", "q\r", &[("TERM", "xterm")]);
    // Scaled to 960 px wide, square pixels, ended by ST.
    let start = screen.find("\x1bPq\"1;1;960;").expect("a sixel image");
    assert!(screen[start..].contains("\x1b\\"));
}

#[test]
fn under_tmux_the_walkthrough_prints_the_labelled_path_and_the_open_hint() {
    let env = Env::new();
    render_twice(&env);
    let screen = on_terminal(
        &env,
        "rate",
        "q\r",
        &[
            ("TERM", "screen-256color"),
            ("TMUX", "/tmp/tmux-0/default,1,0"),
            ("KITTY_WINDOW_ID", "3"),
        ],
    );
    assert!(!screen.contains("\x1b_G"), "{screen}");
    assert!(screen.contains("preview: "), "{screen}");
    assert!(screen.contains(".jpg"), "{screen}");
    assert!(screen.contains("--open"), "{screen}");
}

#[test]
fn open_hands_the_preview_to_the_system_viewer_without_a_shell() {
    let env = Env::new();
    render_twice(&env);
    // A stand-in xdg-open that records its arguments, one per line.
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.path("opened.txt");
    let script = bin.join("xdg-open");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$#\" \"$@\" >> '{}'\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let screen = on_terminal(
        &env,
        "rate --open",
        "q\r",
        &[("TERM", "xterm-kitty"), ("PATH", &path)],
    );
    assert!(
        !screen.contains("\x1b_G"),
        "opened instead of drawn: {screen}"
    );
    assert!(screen.contains("preview opened"), "{screen}");
    let opened = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = opened.lines().collect();
    assert_eq!(lines[0], "1", "one argument: {opened}");
    assert!(Path::new(lines[1]).is_file(), "{opened}");
    assert!(lines[1].contains("previews"), "{opened}");
}

#[test]
fn nothing_is_drawn_when_stdout_is_not_a_terminal() {
    let env = Env::new();
    config(&env, "[ui]\nimages = \"kitty\"\n");
    let out = env
        .latina()
        .env("TERM", "xterm-kitty")
        .args(["enhance", "--open", sample_room().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\x1b'), "{stdout}");
    assert!(!stdout.contains("preview opened"), "{stdout}");
}

#[test]
fn the_walkthrough_takes_preference_keys_through_prefer() {
    let env = Env::new();
    render_twice(&env);
    // Newest photo: "b" = B is better than A, with a comment; then the
    // older photo's A gets 3 stars, its B is skipped.
    let screen = on_terminal(
        &env,
        "rate --by ana",
        "b\rmás cálida\r3\r\r\r",
        &[("TERM", "xterm")],
    );
    assert!(screen.contains("preferred B"), "{screen}");
    assert!(screen.contains("3 of 4"), "{screen}");
    let row = env.rows(
        "SELECT b.option, w.option, p.tie, p.rated_by FROM preferences p
         JOIN experiments b ON b.id = p.better_id JOIN experiments w ON w.id = p.worse_id",
    );
    assert_eq!(
        row,
        vec![["B", "A", "0", "ana"].map(|v| Some(v.to_string())).to_vec()]
    );
    // What is left for the next walkthrough: the older photo's B alone.
    let left = env.json(&["rate"]);
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["option"], "B");
}
