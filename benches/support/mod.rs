//! Shared by the benchmarks: starting the real `assent` binary.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Starts `bin serve --demo` on `data` with the demo keys and `env`, and waits until it listens.
/// Returns the process, its URL and the time from exec to listening.
pub fn spawn_vault(
    bin: &Path,
    data: &Path,
    root: &Path,
    env: &[(&str, &str)],
) -> (Child, String, Duration) {
    let addr = data.join("assent.addr");
    let _ = std::fs::remove_file(&addr);
    let start = Instant::now();
    let child = Command::new(bin)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "",
        ])
        .arg("--data")
        .arg(data)
        .arg("--keys")
        .arg(root.join("keys-example"))
        .arg("--addr-file")
        .arg(&addr)
        .envs(env.iter().copied())
        .spawn()
        .unwrap();
    // The address file is written once the listener is bound.
    while !addr.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "vault did not start"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = start.elapsed();
    (child, std::fs::read_to_string(&addr).unwrap(), took)
}
