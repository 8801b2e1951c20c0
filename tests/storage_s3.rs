//! `latina::storage` against a real S3-compatible server (SeaweedFS from
//! `.ci/start-s3`): write-through, the cache and its refill, missing
//! objects, refused keys, a dead server, an interrupted download, the
//! idempotent upload `migrate` uses, and no secret in any message.

#[path = "support/s3.rs"]
mod s3;

use latina::config::{S3Config, StorageUrl};
use latina::storage::{Role, Storage};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

fn storage_with(
    url: &str,
    vars: &[(&str, String)],
    data_dir: &Path,
) -> latina::error::Result<Storage> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let url: StorageUrl = url.parse().unwrap();
    Storage::open(
        Some(&url),
        &S3Config::default(),
        data_dir.to_path_buf(),
        &move |name: &str| env.get(name).cloned(),
    )
}

/// Files in `dir` and below, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_put_lands_in_the_bucket_and_an_empty_cache_downloads_and_refills_it() {
    let Some(s3) = s3::server("a_put_lands_in_the_bucket") else {
        return;
    };
    let prefix = s3.unique_prefix("put");
    let url = format!("s3://{}/{prefix}", s3.bucket);
    let laptop_a = tempfile::tempdir().unwrap();
    let a = storage_with(&url, &s3.vars(), laptop_a.path()).unwrap();
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let reference = a.put(Role::Renders, "exp1.jpg", &bytes).unwrap();
    assert_eq!(
        reference,
        format!("s3://{}/{prefix}/renders/exp1.jpg", s3.bucket)
    );
    // What the server holds, read by a client of its own.
    assert_eq!(s3.list(&prefix), vec![format!("{prefix}/renders/exp1.jpg")]);
    assert_eq!(s3.get(&format!("{prefix}/renders/exp1.jpg")), bytes);
    assert_eq!(
        std::fs::read(laptop_a.path().join("renders/exp1.jpg")).unwrap(),
        bytes
    );

    // Another laptop, empty data dir: the copy is downloaded into its cache.
    let laptop_b = tempfile::tempdir().unwrap();
    let b = storage_with(&url, &s3.vars(), laptop_b.path()).unwrap();
    let local = b.local_copy(&reference).unwrap();
    assert_eq!(local, laptop_b.path().join("renders/exp1.jpg"));
    assert_eq!(std::fs::read(&local).unwrap(), bytes);
    // Served from the cache while it is there, even with the object gone...
    s3.delete(&format!("{prefix}/renders/exp1.jpg"));
    assert_eq!(
        std::fs::read(b.local_copy(&reference).unwrap()).unwrap(),
        bytes
    );
    // ...and refilled from the bucket when the local copy is deleted.
    s3.put(&format!("{prefix}/renders/exp1.jpg"), b"second version");
    std::fs::remove_file(&local).unwrap();
    assert_eq!(
        std::fs::read(b.local_copy(&reference).unwrap()).unwrap(),
        b"second version"
    );
    assert_eq!(
        files_under(laptop_b.path()),
        vec!["renders/exp1.jpg".to_string()]
    );
}

#[test]
fn a_missing_object_and_a_foreign_reference_are_clear_errors() {
    let Some(s3) = s3::server("a_missing_object") else {
        return;
    };
    let prefix = s3.unique_prefix("missing");
    let url = format!("s3://{}/{prefix}", s3.bucket);
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_with(&url, &s3.vars(), dir.path()).unwrap();
    let gone = format!("{url}/renders/nothing-here.jpg");
    let err = storage.local_copy(&gone).unwrap_err().to_string();
    assert!(
        err.contains("is not in the bucket") && err.contains(&gone),
        "{err}"
    );
    for foreign in [
        format!("s3://other-bucket/{prefix}/renders/x.jpg"),
        format!("{url}/../renders/x.jpg"),
        format!("{url}/renders/../../x.jpg"),
        format!("{url}/secrets/x.jpg"),
    ] {
        let err = storage.local_copy(&foreign).unwrap_err().to_string();
        assert!(
            err.contains("is not a file of the configured storage"),
            "{foreign}: {err}"
        );
    }
    assert!(files_under(dir.path()).is_empty());
}

#[test]
fn a_wrong_secret_is_refused_by_the_server_and_never_printed() {
    let Some(s3) = s3::server("a_wrong_secret") else {
        return;
    };
    let prefix = s3.unique_prefix("denied");
    let url = format!("s3://{}/{prefix}", s3.bucket);
    let wrong = "wrong-secret-0123456789abcdef";
    let mut vars = s3.vars();
    vars.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
    vars.push(("AWS_SECRET_ACCESS_KEY", wrong.into()));
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_with(&url, &vars, dir.path()).unwrap();
    let err = storage
        .put(Role::Renders, "x.jpg", b"x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("access denied") && err.contains("AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    assert!(
        !err.contains(wrong) && !err.contains(&s3.secret_key),
        "{err}"
    );
    assert!(
        s3.list(&prefix).is_empty(),
        "nothing may land with a wrong key"
    );
    let err = storage.probe().unwrap_err().to_string();
    assert!(err.contains("access denied"), "{err}");
}

#[test]
fn a_missing_bucket_and_a_dead_server_are_named() {
    let Some(s3) = s3::server("a_missing_bucket") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_with("s3://no-such-bucket-latina/x", &s3.vars(), dir.path()).unwrap();
    let err = storage.probe().unwrap_err().to_string();
    assert!(
        err.contains("the bucket no-such-bucket-latina does not exist"),
        "{err}"
    );

    let mut vars = s3.vars();
    vars.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    let dead = format!("http://127.0.0.1:{}", s3::closed_port());
    vars.push(("AWS_ENDPOINT_URL", dead.clone()));
    let storage = storage_with(&format!("s3://{}/x", s3.bucket), &vars, dir.path()).unwrap();
    let started = std::time::Instant::now();
    let err = storage
        .put(Role::Renders, "x.jpg", b"x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot be reached") && err.contains(&dead),
        "{err}"
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn moving_a_local_file_up_is_idempotent() {
    let Some(s3) = s3::server("moving_a_local_file_up") else {
        return;
    };
    let prefix = s3.unique_prefix("migrate");
    let url = format!("s3://{}/{prefix}", s3.bucket);
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_with(&url, &s3.vars(), dir.path()).unwrap();
    let local = dir.path().join("old/0123456789abcdef.jpg");
    std::fs::create_dir_all(local.parent().unwrap()).unwrap();
    std::fs::write(&local, b"original photo bytes").unwrap();
    let reference = storage.upload_existing(&local, Role::Originals).unwrap();
    let key = format!("{prefix}/originals/0123456789abcdef.jpg");
    assert_eq!(reference, format!("s3://{}/{key}", s3.bucket));
    assert_eq!(s3.get(&key), b"original photo bytes");
    // Same name and size already there: not sent again (the marker stays).
    s3.put(&key, b"SAME-LENGTH-MARKER!!");
    assert_eq!(
        storage.upload_existing(&local, Role::Originals).unwrap(),
        reference
    );
    assert_eq!(s3.get(&key), b"SAME-LENGTH-MARKER!!");
    // A different size is a different file: sent.
    s3.put(&key, b"short");
    storage.upload_existing(&local, Role::Originals).unwrap();
    assert_eq!(s3.get(&key), b"original photo bytes");
}

/// A server that answers every request with `response(request)` and
/// closes; returns its endpoint.
fn one_shot_server(response: fn(&str) -> Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = vec![0u8; 64 * 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let _ = stream.write_all(&response(&request));
            let _ = stream.flush();
        }
    });
    endpoint
}

#[test]
fn an_interrupted_download_leaves_no_file_that_is_later_trusted() {
    // No S3 server needed: the fault is a body cut short, which SeaweedFS
    // does not do on request.
    let endpoint = one_shot_server(|_| {
        let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: image/jpeg\r\n\
ETag: \"abc\"\r\nLast-Modified: Sat, 05 Dec 2026 20:00:00 GMT\r\nConnection: close\r\n\r\n"
            .to_vec();
        r.extend_from_slice(&[0xAB; 5000]);
        r
    });
    let dir = tempfile::tempdir().unwrap();
    let vars = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "secretexample123".to_string()),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ];
    let storage = storage_with("s3://studio/p", &vars, dir.path()).unwrap();
    let reference = "s3://studio/p/renders/cut.jpg";
    assert!(storage.local_copy(reference).is_err());
    // Neither the file nor a temporary part of it is left behind.
    assert!(
        files_under(dir.path()).is_empty(),
        "{:?}",
        files_under(dir.path())
    );
}

#[test]
fn a_server_that_echoes_the_request_never_gets_a_secret_into_an_error() {
    // The server returns the whole signed request as its error body.
    let endpoint = one_shot_server(|request| {
        let body = format!("<Error><Code>Weird</Code><Message>{request}</Message></Error>");
        format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let dir = tempfile::tempdir().unwrap();
    let secret = "echoed-secret-9f8e7d6c5b4a";
    let access = "AKIAECHOTESTKEY123";
    let vars = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", access.to_string()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
        (
            "AWS_SESSION_TOKEN",
            "session-token-abcdef123456".to_string(),
        ),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ];
    let storage = storage_with("s3://studio/p", &vars, dir.path()).unwrap();
    let err = storage
        .put(Role::Renders, "x.jpg", b"x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("storage s3://studio/p"), "{err}");
    for leaked in [secret, access, "session-token-abcdef123456"] {
        assert!(!err.contains(leaked), "{leaked} in {err}");
    }
    assert!(!format!("{storage:?}").contains(secret));
    assert!(!storage.describe().contains(access));
}

#[test]
fn an_unset_key_variable_is_named_without_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let err = storage_with("s3://studio/p", &[], dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("AWS_ACCESS_KEY_ID") && err.contains("unset"),
        "{err}"
    );
}
