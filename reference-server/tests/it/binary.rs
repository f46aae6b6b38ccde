//! The `reference-server` binary's command line: help and config errors.

use std::process::Command;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reference-server"))
}

#[test]
fn help_documents_every_config_section() {
    let out = server()
        .arg("--help")
        .output()
        .expect("run reference-server --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--bind",
        "--config",
        "--tls-cert",
        "--tls-key",
        "[timeouts]",
        "[transport]",
        "[rest]",
        "[webhooks]",
        "[[apps]]",
        "client_event_rate",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn bad_config_is_refused_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("reference-server-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, text, field) in [
        (
            "typo.toml",
            "[[apps]]\nid='1'\nkey='k'\nsecret='s'\nclient_event=true\n",
            "client_event",
        ),
        (
            "empty-key.toml",
            "[[apps]]\nid='1'\nkey=''\nsecret='s'\n",
            "apps[0].key",
        ),
        (
            "bad-type.toml",
            "[timeouts]\nactivity_timeout_ms='soon'\n",
            "activity_timeout_ms",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write config");
        let out = server()
            .args(["--bind", "127.0.0.1:0", "--config"])
            .arg(&path)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(field),
            "{name}: error does not name {field}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: the server must not start");
        // See: issue 8, rule 9: each error is printed once.
        assert!(
            stderr.matches("TOML parse error").count() <= 1,
            "{name}: printed twice: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tls_certificate_without_its_key_is_a_usage_error() {
    let out = server()
        .args(["--bind", "127.0.0.1:0", "--tls-cert", "server.pem"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}

#[test]
fn unreadable_tls_files_are_refused_naming_the_file() {
    let out = server()
        .args([
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/server.pem",
            "--tls-key",
            "/nonexistent/server.key",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/server.pem"), "{stderr}");
    assert!(out.stdout.is_empty(), "the server must not start");
}
