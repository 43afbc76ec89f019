//! Shared by the benchmarks: starting the real `assent` binary.

use std::ffi::OsStr;
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
    let args = [
        OsStr::new("--listen"),
        OsStr::new("127.0.0.1:0"),
        OsStr::new("--data"),
        data.as_os_str(),
    ];
    spawn_vault_with(bin, root, &addr, &args, env)
}

/// Starts `bin serve --demo` with the demo keys, metrics off, `args` (the store, the listen
/// address, …) and `env`, and waits until it has written `addr` (the URL it is reached at, its
/// public URL when one is given). Returns the process, that URL and the time from exec to
/// listening.
pub fn spawn_vault_with(
    bin: &Path,
    root: &Path,
    addr: &Path,
    args: &[&OsStr],
    env: &[(&str, &str)],
) -> (Child, String, Duration) {
    let _ = std::fs::remove_file(addr);
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args(["serve", "--demo", "--metrics-listen", ""])
        .args(args)
        .arg("--keys")
        .arg(root.join("keys-example"))
        .arg("--addr-file")
        .arg(addr)
        .envs(env.iter().copied())
        .spawn()
        .unwrap();
    // The address file is written once the listener is bound.
    while !addr.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the vault exited before listening ({status}); its stderr is above");
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vault did not start within 120 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = start.elapsed();
    // Written with one `write`; an empty read means it is not complete yet.
    let url = loop {
        let s = std::fs::read_to_string(addr).unwrap_or_default();
        if !s.is_empty() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (child, url, took)
}
