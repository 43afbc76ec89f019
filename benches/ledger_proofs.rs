//! Ledger proof benchmark: builds a real redb ledger of N entries through the same `Tx::append`
//! the vault uses, then measures RFC 9162 inclusion-proof generation from stored nodes (median,
//! p99) and client-side verification, then start-up time on that ledger: `Store::open` in
//! process, and the release `assent serve` binary until it listens. Run with `make bench`
//! (sizes via LEDGER_SIZES=1000000,…).

mod support;

use assent::domain::ids::CustomerId;
use assent::domain::time::Timestamp;
use assent::ledger::Event;
use assent::ledger::merkle;
use assent::store::{Batch, Store};
use std::time::{Duration, Instant};

const SAMPLES: usize = 20_000;
const CHUNK: u64 = 100_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn fmt(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let sizes: Vec<u64> = std::env::var("LEDGER_SIZES")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("LEDGER_SIZES: numbers"))
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for size in sizes {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let customer = CustomerId::parse("cus_bench").unwrap();
        let at = Timestamp::parse("2026-11-24T10:42:00Z").unwrap();
        let t0 = Instant::now();
        let mut done = 0u64;
        while done < size {
            let n = CHUNK.min(size - done);
            let c = customer.clone();
            rt.block_on(store.writer().act(move |tx: &mut dyn Batch| {
                for i in 0..n {
                    let mut nonce = [0u8; 32];
                    nonce[..8].copy_from_slice(&(done + i).to_le_bytes());
                    tx.append(
                        &Event::CustomerRegistered {
                            customer_id: c.clone(),
                            at,
                        },
                        nonce,
                    )?;
                }
                Ok::<_, assent::store::StoreError>(())
            }))
            .unwrap();
            done += n;
        }
        let build = t0.elapsed();
        // Proofs are measured on the store reopened, as a restarted server serves them (its
        // node cache filled at open).
        rt.block_on(store.writer().shutdown());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let view = store.read().unwrap();
        assert_eq!(view.ledger_size().unwrap(), size);
        let root = merkle::root(&view.nodes().unwrap(), size).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut gen_times = Vec::with_capacity(SAMPLES);
        let mut verify_times = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let index = state % size;
            // As the vault does per request: open the node table, then read the proof's nodes
            // (the upper levels through the store's shared node cache).
            let t = Instant::now();
            let proof =
                merkle::inclusion_proof(&store.proof_nodes(&view).unwrap(), index, size).unwrap();
            gen_times.push(t.elapsed());
            let leaf = view.node(0, index).unwrap().unwrap();
            let t = Instant::now();
            merkle::verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
            verify_times.push(t.elapsed());
        }
        gen_times.sort();
        verify_times.sort();
        println!(
            "ledger size {size:>10}: build {:.1} s ({:.0} appends/s in {CHUNK}-entry transactions)",
            build.as_secs_f64(),
            size as f64 / build.as_secs_f64()
        );
        println!(
            "  inclusion proof, generate (redb, {SAMPLES} random leaves): median {}  p99 {}",
            fmt(percentile(&gen_times, 0.5)),
            fmt(percentile(&gen_times, 0.99))
        );
        println!(
            "  inclusion proof, verify:                               median {}  p99 {}",
            fmt(percentile(&verify_times, 0.5)),
            fmt(percentile(&verify_times, 0.99))
        );
        drop(view);
        rt.block_on(store.writer().shutdown());
        drop(store);
        startup(&rt, dir.path());
        let file = std::fs::metadata(dir.path().join(assent::store::DB_FILE))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "  database file: {:.1} MiB ({:.0} bytes/entry)",
            file as f64 / 1048576.0,
            file as f64 / size as f64
        );
    }
}

/// Start-up on an existing ledger: opening the store (frontier from O(log n) stored nodes, no
/// replay), then the real server binary from exec to listening.
fn startup(rt: &tokio::runtime::Runtime, data: &std::path::Path) {
    let t = Instant::now();
    let store = Store::open(data).unwrap();
    let open = t.elapsed();
    rt.block_on(store.writer().shutdown());
    drop(store);
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/release/assent");
    let serve = if bin.exists() {
        let (mut child, _, took) =
            support::spawn_vault(&bin, data, &root, &[("ASSENT_LOG", "error")]);
        let _ = child.kill();
        let _ = child.wait();
        format!("{:.0} ms", took.as_secs_f64() * 1e3)
    } else {
        "skipped (build target/release/assent first)".into()
    };
    println!(
        "  start-up: Store::open {:.1} ms; `assent serve` exec to listening {serve}",
        open.as_secs_f64() * 1e3
    );
}
