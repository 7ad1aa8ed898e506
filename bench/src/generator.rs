//! `mwbench gen`: the event generator — a seeded random source, events of
//! a given size, and each written plain, gzip and brotli.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Args, die};

/// A small deterministic PRNG (xorshift64*), so every run pushes the same bytes.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
    pub fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
    }
    fn word(&mut self) -> &'static str {
        const W: &[&str] = &[
            "login", "portal", "secure", "update", "invoice", "cdn", "mail", "auth", "cloud", "files", "static", "api",
            "billing", "support", "account", "verify", "sync", "office",
        ];
        W[self.below(W.len() as u64) as usize]
    }
}

/// The UUID of the generated event of `mb` MB (pulls name it in the path).
pub fn event_uuid(mb: u64) -> String {
    format!("5be0c0de-0000-4000-8000-{mb:012}")
}

/// One attribute as MISP exports it (event view / push body).
fn attribute(r: &mut Rng, id: u64, object_id: u64, relation: Option<(&str, &str)>) -> String {
    let ts = 1_700_000_000 + r.below(30_000_000);
    let (ty, cat, value) = match relation {
        Some((ty, _)) => {
            let v = match ty {
                "md5" => r.hex(32),
                "sha1" => r.hex(40),
                "sha256" => r.hex(64),
                "filename" => format!("{}-{}.exe", r.word(), r.below(100000)),
                _ => format!("{}", r.below(10_000_000)),
            };
            (ty, "Payload delivery", v)
        }
        None => match r.below(6) {
            0 => ("ip-dst", "Network activity", format!("198.51.{}.{}", r.below(256), r.below(256))),
            1 => ("domain", "Network activity", format!("{}-{}.{}.example", r.word(), r.word(), r.hex(6))),
            2 => (
                "url",
                "Network activity",
                format!(
                    "https://{}.{}.example/{}/{}?id={}",
                    r.word(),
                    r.hex(8),
                    r.word(),
                    r.word(),
                    r.below(1_000_000)
                ),
            ),
            3 => ("sha256", "Payload delivery", r.hex(64)),
            4 => ("md5", "Payload delivery", r.hex(32)),
            _ => ("email-src", "Payload delivery", format!("{}.{}@{}.example", r.word(), r.below(1000), r.hex(6))),
        },
    };
    let tags = match r.below(4) {
        0 => r##"[{"id":"3","name":"tlp:green","colour":"#33FF00","exportable":true,"local":false}]"##,
        1 => r##"[{"id":"12","name":"type:OSINT","colour":"#004646","exportable":true,"local":false}]"##,
        _ => "[]",
    };
    let rel = relation.map_or("null".to_string(), |(_, n)| format!("\"{n}\""));
    format!(
        r#"{{"id":"{id}","type":"{ty}","category":"{cat}","to_ids":{},"uuid":"{}","event_id":"1","distribution":"5","timestamp":"{ts}","comment":"seen in {} campaign wave {}","sharing_group_id":"0","deleted":false,"disable_correlation":false,"object_id":"{object_id}","object_relation":{rel},"first_seen":null,"last_seen":null,"value":"{value}","Tag":{tags}}}"#,
        r.below(2) == 0,
        r.uuid(),
        r.word(),
        r.below(50),
    )
}

/// A MISP event of about `target` bytes: mostly attributes, every tenth
/// item a `file` object with three attributes.
fn event_json(target: usize, uuid: &str, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    let mut attrs = Vec::new();
    let mut objects = Vec::new();
    let mut size = 2000;
    let mut id = 1;
    while size < target {
        if id % 10 == 0 {
            let oid = id;
            let mut inner = Vec::new();
            for rel in [("md5", "md5"), ("sha256", "sha256"), ("filename", "filename")] {
                id += 1;
                inner.push(attribute(&mut r, id, oid, Some(rel)));
            }
            let o = format!(
                r#"{{"id":"{oid}","name":"file","meta-category":"file","description":"File object describing a file with meta-information","template_uuid":"688c46fb-5edb-40a3-8273-1af7923e2215","template_version":"24","event_id":"1","uuid":"{}","timestamp":"1700000000","distribution":"5","sharing_group_id":"0","comment":"","deleted":false,"first_seen":null,"last_seen":null,"Attribute":[{}]}}"#,
                r.uuid(),
                inner.join(",")
            );
            size += o.len() + 1;
            objects.push(o);
        } else {
            let a = attribute(&mut r, id, 0, None);
            size += a.len() + 1;
            attrs.push(a);
        }
        id += 1;
    }
    format!(
        r##"{{"Event":{{"id":"1","orgc_id":"1","org_id":"1","date":"2026-11-20","threat_level_id":"2","info":"Benchmark event of {target} bytes: phishing and malware infrastructure","published":true,"uuid":"{uuid}","attribute_count":"{}","analysis":"2","timestamp":"1763600000","distribution":"1","proposal_email_lock":false,"locked":false,"publish_timestamp":"1763600000","sharing_group_id":"0","disable_correlation":false,"extends_uuid":"","protected":null,"event_creator_email":"analyst@internal.example","Org":{{"id":"1","name":"our CERT","uuid":"11111111-2222-4333-8444-555555555555","local":true}},"Orgc":{{"id":"1","name":"our CERT","uuid":"11111111-2222-4333-8444-555555555555","local":true}},"Tag":[{{"id":"3","name":"tlp:green","colour":"#33FF00","exportable":true,"local":false}},{{"id":"12","name":"type:OSINT","colour":"#004646","exportable":true,"local":false}}],"Attribute":[{}],"ShadowAttribute":[],"RelatedEvent":[],"Galaxy":[],"Object":[{}],"EventReport":[]}}}}"##,
        id - 1,
        attrs.join(","),
        objects.join(",")
    )
    .into_bytes()
}

fn write_encoded(path: &Path, plain: &[u8]) {
    let gz = path.with_extension("json.gz");
    if !gz.exists() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(plain).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
    }
    let br = path.with_extension("json.br");
    if !br.exists() {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 1 << 16, 5, 22);
            w.write_all(plain).unwrap();
        }
        std::fs::write(&br, out).unwrap();
    }
}

/// `gen --out DIR --sizes 1,10,100`: event-<N>mb.json(.gz|.br) and
/// sync-event.json, each written only if missing (the cache).
pub fn generate(a: &Args) {
    let out = PathBuf::from(a.get("out"));
    std::fs::create_dir_all(&out).unwrap();
    for s in a.or("sizes", "1,10,100").split(',') {
        let mb: u64 = s.parse().unwrap_or_else(|_| die("--sizes: numbers"));
        let p = out.join(format!("event-{mb}mb.json"));
        let plain = if p.exists() {
            std::fs::read(&p).unwrap()
        } else {
            let v = event_json((mb * 1_000_000) as usize, &event_uuid(mb), 0x9e37_79b9 + mb);
            std::fs::write(&p, &v).unwrap();
            v
        };
        write_encoded(&p, &plain);
    }
    let p = out.join("sync-event.json");
    if !p.exists() {
        std::fs::write(&p, event_json(20_000, "5be0c0de-0000-4000-8000-5e0000000001", 7)).unwrap();
    }
}
