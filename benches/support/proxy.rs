//! A minimal round-robin TCP proxy, the load balancer in front of several `assent serve` nodes in
//! the load benchmark. Each accepted connection goes to the next backend in turn (per-connection
//! round robin, as an L4 balancer does) and bytes are copied both ways until either side closes;
//! nothing is parsed. It runs in its own process (`BENCH_PROXY`, see `load.rs`), so its CPU time
//! is its own and the "ceiling via proxy" row shows what it costs.

use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};

/// Accepts on `listener` forever, handing connection `i` to `backends[i % len]`.
pub async fn run(listener: TcpListener, backends: Vec<SocketAddr>) {
    assert!(!backends.is_empty(), "the proxy needs at least one backend");
    let mut next = 0usize;
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                // Out of descriptors and the like: keep serving the connections already open.
                eprintln!("proxy: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let backend = backends[next % backends.len()];
        next = next.wrapping_add(1);
        tokio::spawn(async move {
            let mut client = client;
            let _ = client.set_nodelay(true);
            let mut upstream = match TcpStream::connect(backend).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("proxy: connect {backend}: {e}");
                    return;
                }
            };
            let _ = upstream.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
    }
}

/// The proxy process: `spec` lists the backends (`host:port`, comma-separated). Listens on
/// 127.0.0.1:0 and prints its URL (`http://127.0.0.1:<port>`) as the first line of stdout.
pub fn main(spec: &str) {
    let backends: Vec<SocketAddr> = spec
        .split(',')
        .map(|a| {
            a.trim()
                .parse()
                .expect("BENCH_PROXY: host:port,host:port,…")
        })
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("http://{}", listener.local_addr().unwrap());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        run(listener, backends).await;
    });
}
