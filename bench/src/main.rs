//! mwbench — the Rust half of misp-warden's side-by-side benchmark.
//!
//!   mwbench gen    --out DIR [--sizes 1,10,100]
//!   mwbench remote --listen ADDR:PORT --cert PEM --key PEM --data DIR
//!   mwbench small  --ca PEM --req get|head|index --conc N --mode keepalive|newconn --secs S [--h2]
//!   mwbench push   --ca PEM --file F [--encoding none|gzip|br] --count N [--h2]
//!   mwbench pull   --ca PEM --size MB [--encoding none|gzip|br] --count N [--h2]
//!   mwbench sync   --ca PEM --file F --jobs J --events E
//!   mwbench small-during-push --ca PEM --req get|head|index --file F --secs S [--max-pushes N]
//!
//! The clients dial 203.0.113.20:443 (`--addr`) with SNI and Host
//! misp.partner.example (`--host`), HTTP/1.1 over TLS (rustls, no session
//! resumption: a new connection is a full handshake), and print one JSON
//! object on stdout. With `--h2` they offer only `h2` in ALPN, speak HTTP/2
//! (one request at a time per connection, as over HTTP/1.1) and fail if a
//! connection did not negotiate `h2`. The remote offers `h2` and `http/1.1`.
//! Run by bench/run.py (scripts/bench.sh), not by hand.
//!
//! This file holds the arguments and the dispatch; each job is a module:
//! `generator`, `fake_remote`, the clients' `connection`, and the workloads
//! `small_calls`, `transfers` and `during_push`.

mod connection;
mod during_push;
mod fake_remote;
mod generator;
mod small_calls;
mod transfers;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;

use crate::during_push::small_during_push;
use crate::fake_remote::remote;
use crate::generator::generate;
use crate::small_calls::small;
use crate::transfers::{pull, push, sync_jobs};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Args(HashMap<String, String>);

/// The arguments that take no value.
const FLAGS: &[&str] = &["h2"];

impl Args {
    fn parse(raw: &[String]) -> Args {
        let mut m = HashMap::new();
        let mut it = raw.iter();
        while let Some(k) = it.next() {
            let k = k.strip_prefix("--").unwrap_or_else(|| die(&format!("bad argument {k}")));
            if FLAGS.contains(&k) {
                m.insert(k.to_string(), String::new());
                continue;
            }
            let v = it.next().unwrap_or_else(|| die(&format!("--{k} needs a value")));
            m.insert(k.to_string(), v.clone());
        }
        Args(m)
    }
    fn get(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| die(&format!("--{k} is required")))
    }
    fn or(&self, k: &str, d: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    fn flag(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
    fn num(&self, k: &str, d: u64) -> u64 {
        self.0.get(k).map_or(d, |v| v.parse().unwrap_or_else(|_| die(&format!("--{k}: not a number"))))
    }
}

fn die(msg: &str) -> ! {
    eprintln!("mwbench: {msg}");
    std::process::exit(2)
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.len() < 2 {
        die("usage: mwbench gen|remote|small|push|pull|sync|small-during-push --key value ...");
    }
    let args = Args::parse(&argv[2..]);
    let cmd = argv[1].as_str();
    if cmd == "gen" {
        return generate(&args);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.num("threads", 2) as usize)
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        match cmd {
            "remote" => remote(&args).await.map(|_| json!(null)),
            "small" => small(&args).await,
            "push" => push(&args).await,
            "pull" => pull(&args).await,
            "sync" => sync_jobs(&args).await,
            "small-during-push" => small_during_push(&args).await,
            _ => die(&format!("unknown command {cmd}")),
        }
    });
    match out {
        Ok(v) => println!("{v}"),
        Err(e) => die(&e.to_string()),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
