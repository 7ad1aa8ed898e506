//! Benchmark of the policy engine on large MISP events.
//!
//! What it measures: `misp_warden::policy::evaluate` on a push
//! (`POST /events/add/metadata:1`, source instance to destination instance,
//! with realistic non-empty block rules) of generated MISP events of about
//! 1 MB, 10 MB and 100 MB, and of the 10 MB event sent gzip-encoded (decoded
//! with `misp_warden::body::decode` first, as the daemon does). The events
//! look like what MISP serialises for a push — attributes with every field
//! MISP sends, objects, tags, sharing groups, event reports, galaxies — and
//! nothing in them matches a block rule, so every run takes the allow path:
//! the whole body is parsed and every element checked. The program aborts
//! if the verdict is not "allow", and first checks on the 1 MB event that
//! one blocked value at the deepest places (last attribute, object, galaxy
//! cluster, sharing group, event tag) is refused, so the rules are live.
//!
//! For each body it prints
//! - throughput in MB/s (1 MB = 10^6 bytes of decoded JSON), median and
//!   best of repeated runs on one thread, so the figures are per core. The
//!   bodies are timed interleaved, round after round, so that a noisy phase
//!   of the machine does not land on one row only;
//! - peak memory of one evaluation, measured in a fresh child process (the
//!   program re-runs itself with `--measure-one FILE`): how far the peak RSS
//!   (`VmHWM`, reset through `/proc/self/clear_refs` once the body is read)
//!   rises above the RSS just before evaluation (`eval peak`), that rise
//!   divided by the body size, and the body plus that rise divided by the
//!   body size (`total/body`: the whole cost of holding and judging a body);
//! - as a reference, serde_json merely skipping the 100 MB body
//!   (`IgnoredAny`): the floor for any serde_json-based check.
//!
//! Run it with
//!
//! ```text
//! cargo run --release --example policy_bench                   # table
//! cargo run --release --example policy_bench -- --json         # JSON
//! cargo run --release --example policy_bench -- --seconds 30   # longer timing
//! ```
//!
//! The events come from a deterministic PRNG (the same bytes every run).
//! Memory figures need Linux (`/proc/self/status`). A run takes about 15 s
//! on a 2-core machine (12 s of it timing, see `--seconds`).

use misp_warden::body::{Coding, decode};
use misp_warden::config::Config;
use misp_warden::policy::{Case, Connection, EventVerdicts, Framing, SourceSpec, evaluate};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The deployment: one source instance pushing to one destination.

const SOURCE_IP: &str = "10.20.0.11";
const DEST_IP: &str = "10.30.0.12";
const DEST_HOST: &str = "misp.partner.example.org";
const DEST_PORT: u16 = 443;
const TARGET: &str = "/events/add/metadata:1";
/// Blocked by the config; the generator never uses it.
const BLOCKED_SG_UUID: &str = "3c1b5b2c-8e4f-4b7a-9d61-2f0e7a5c9b14";
/// The sharing group the generated elements with distribution 4 are in.
const SG_UUID: &str = "5f6e7d8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
const EVENT_ID: &str = "1342";

fn instance_json(ip: &str, host: &str, compartment: &str, affiliation: &str) -> String {
    format!(
        r#"{{
            "ip": "{ip}",
            "host": "{host}",
            "port": {DEST_PORT},
            "compartment_id": "{compartment}",
            "affiliation": "{affiliation}",
            "taxonomies_rules": {{
                "required_taxonomies": ["tlp"],
                "allowed_tags": {{"tlp": ["tlp:clear", "tlp:white", "tlp:green"]}},
                "blocked_tags": ["tlp:red", "tlp:amber+strict", "PAP:RED", "internal:do-not-share"]
            }},
            "blocked_distribution_levels": ["0"],
            "blocked_sharing_groups_uuids": ["{BLOCKED_SG_UUID}"],
            "blocked_attribute_types": ["malware-sample", "attachment", "passport-number", "iban"],
            "blocked_attribute_categories": ["Internal reference", "Person", "Financial fraud"],
            "blocked_object_types": ["person", "bank-account", "passport"]
        }}"#
    )
}

fn build_config() -> Config {
    let text = format!(
        r#"{{
            "instances": {{
                "misp_internal": {},
                "misp_partner": {}
            }},
            "compartments_rules": {{"can_reach": {{"internal": ["internal", "partners"], "partners": []}}}},
            "allowlist": {{"urls": [], "domains": []}}
        }}"#,
        instance_json(
            SOURCE_IP,
            "misp.internal.example.org",
            "internal",
            "CERT-EX"
        ),
        instance_json(DEST_IP, DEST_HOST, "partners", "Partner CSIRT"),
    );
    match Config::from_json(&text) {
        Ok(c) => c,
        Err(e) => die(&format!("the benchmark's config does not load: {e}")),
    }
}

/// The head of a push as MISP sends it: TLS to the partner's name.
fn push_head() -> http::request::Parts {
    http::Request::builder()
        .method("POST")
        .uri(TARGET)
        .header("host", DEST_HOST)
        .header("content-type", "application/json")
        .body(())
        .expect("literal")
        .into_parts()
        .0
}

fn evaluate_push(config: &Config, body: &[u8]) -> Result<(), misp_warden::policy::Block> {
    let head = push_head();
    let case = Case {
        connection: Connection {
            source: SourceSpec::Ip(SOURCE_IP.parse().expect("literal")),
            destination_ip: Some(DEST_IP.parse().expect("literal")),
            port: DEST_PORT,
            tls: true,
            sni: Some(DEST_HOST),
        },
        request: &head,
        framing: Framing::default(),
        request_body: body,
        response: None,
    };
    evaluate(config, &case, &EventVerdicts::default())
}

/// Evaluates a push and insists on "allow": a benchmark of the block path
/// would measure an early exit, not the engine.
fn evaluate_allowed(config: &Config, body: &[u8], what: &str) {
    if let Err(block) = evaluate_push(config, body) {
        die(&format!(
            "{what}: expected the push to be allowed, the engine refused it: {block}"
        ));
    }
}

fn decode_gzip<'a>(config: &Config, gz: &'a [u8]) -> misp_warden::body::Decoded<'a> {
    match decode(gz, &[Coding::Gzip], config.warden.max_body_bytes) {
        Ok(d) => d,
        Err(b) => die(&format!("gzip body does not decode: {b}")),
    }
}

fn die(msg: &str) -> ! {
    eprintln!("policy_bench: FAILED: {msg}");
    std::process::exit(2);
}

// ---------------------------------------------------------------------------
// A deterministic PRNG: xorshift64*.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 once, so that small seeds give well-mixed states.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) % n as u64) as usize
    }

    /// Inclusive range.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn weighted<'a, T>(&mut self, items: &'a [(usize, T)]) -> &'a T {
        let total: usize = items.iter().map(|(w, _)| w).sum();
        let mut n = self.below(total);
        for (w, item) in items {
            if n < *w {
                return item;
            }
            n -= w;
        }
        &items[items.len() - 1].1
    }

    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    fn hex(&mut self, s: &mut String, n: usize) {
        for _ in 0..n {
            s.push(char::from(b"0123456789abcdef"[self.below(16)]));
        }
    }

    fn letters(&mut self, s: &mut String, n: usize) {
        for _ in 0..n {
            s.push(char::from(
                b"abcdefghijklmnopqrstuvwxyz0123456789"[self.below(36)],
            ));
        }
    }
}

// ---------------------------------------------------------------------------
// JSON writing helpers.

/// Writes `v` as a JSON string (as PHP's `json_encode` with
/// `JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE`, which MISP uses).
fn js(o: &mut String, v: &str) {
    o.push('"');
    for c in v.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
}

/// `"key":"value",`
fn kv(o: &mut String, key: &str, value: &str) {
    js(o, key);
    o.push(':');
    js(o, value);
    o.push(',');
}

/// `"key":raw,` (numbers, booleans, null, nested JSON).
fn kr(o: &mut String, key: &str, raw: &str) {
    js(o, key);
    o.push(':');
    o.push_str(raw);
    o.push(',');
}

/// Drops a trailing comma before a closing bracket.
fn close(o: &mut String, bracket: char) {
    if o.ends_with(',') {
        o.pop();
    }
    o.push(bracket);
}

// ---------------------------------------------------------------------------
// Value generators.

const TLDS: &[&str] = &[
    "com", "net", "org", "ru", "info", "xyz", "top", "io", "de", "cn", "biz", "online",
];
const SUBDOMAINS: &[&str] = &[
    "www", "mail", "cdn", "login", "update", "api", "secure", "portal", "files", "m",
];
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "invoice", "update", "secure", "account", "office", "cloud", "service", "support", "microsoft",
    "document", "payment", "delivery", "adobe", "verify", "login", "portal", "bank", "drive",
    "share", "report", "order", "shipping", "tracking", "security", "windows", "google", "system",
    "admin", "backup", "sync", "client", "static", "media", "assets", "mobile", "online",
];
#[rustfmt::skip]
const PROSE: &[&str] = &[
    "the", "actor", "used", "a", "spear-phishing", "campaign", "targeting", "government",
    "entities", "in", "the", "region", "with", "malicious", "documents", "that", "drop", "a",
    "loader", "which", "contacts", "its", "command-and-control", "server", "over", "HTTPS", "and",
    "downloads", "further", "stages", "observed", "between", "March", "and", "April",
    "infrastructure", "overlaps", "with", "previous", "reporting", "on", "this", "group",
    "persistence", "is", "achieved", "through", "a", "scheduled", "task", "credentials", "were",
    "harvested", "from", "browsers", "lateral", "movement", "via", "RDP",
];
const COMMENTS: &[&str] = &[
    "Seen in phishing campaign",
    "C2 server — observed beaconing every 60s",
    "From sandbox report",
    "Imported via feed",
    "Indicateur signalé par le CERT partenaire",
    "Zugriff über kompromittierte VPN-Konten",
    "Dropped by first stage loader",
    "Resolved by the C2 domain on 2024-03-12",
    "Payload hosted on compromised WordPress site",
    "Related to ticket #48213",
];
const SUBJECTS: &[&str] = &[
    "Invoice #48213 overdue",
    "Your account has been suspended",
    "Re: Q3 budget review",
    "Urgent: payment confirmation required",
    "Shared document: Project plan 2024.docx",
    "Delivery notification – parcel on hold",
    "Réunion du comité de pilotage",
    "Password expiry notice",
];
const FIRST_NAMES: &[&str] = &[
    "john", "maria", "a.smith", "noreply", "support", "billing", "hr", "it-desk", "j.doe",
];
const EXTENSIONS: &[&str] = &[
    ".exe", ".dll", ".docm", ".xlsm", ".pdf", ".zip", ".js", ".lnk", ".iso", ".hta", ".ps1",
];
const MIME_TYPES: &[&str] = &[
    "application/x-dosexec",
    "application/pdf",
    "application/zip",
    "application/vnd.ms-word.document.macroEnabled.12",
    "text/javascript",
];

type ValueFn = fn(&mut Rng, &mut String);

fn v_ipv4(r: &mut Rng, s: &mut String) {
    let _ = write!(
        s,
        "{}.{}.{}.{}",
        r.range(1, 223),
        r.below(256),
        r.below(256),
        r.range(1, 254)
    );
}

fn v_ip(r: &mut Rng, s: &mut String) {
    if r.chance(10) {
        let _ = write!(
            s,
            "2a0{}:{:x}:{:x}:{:x}::{:x}",
            r.range(1, 9),
            r.below(0xffff),
            r.below(0xffff),
            r.below(0xffff),
            r.range(1, 0xffff)
        );
    } else {
        v_ipv4(r, s);
    }
}

fn v_domain(r: &mut Rng, s: &mut String) {
    if r.chance(40) {
        s.push_str(r.pick(SUBDOMAINS));
        s.push('.');
    }
    if r.chance(50) {
        s.push_str(r.pick(WORDS));
        s.push('-');
        s.push_str(r.pick(WORDS));
    } else {
        let n = r.range(5, 14);
        r.letters(s, n);
    }
    s.push('.');
    s.push_str(r.pick(TLDS));
}

fn v_url(r: &mut Rng, s: &mut String) {
    s.push_str(if r.chance(80) { "https://" } else { "http://" });
    v_domain(r, s);
    for _ in 0..r.range(1, 4) {
        s.push('/');
        if r.chance(50) {
            s.push_str(r.pick(WORDS));
        } else {
            let n = r.range(3, 12);
            r.letters(s, n);
        }
    }
    if r.chance(30) {
        s.push_str(".php");
    }
    if r.chance(30) {
        s.push_str("?id=");
        r.hex(s, 16);
    }
}

fn v_md5(r: &mut Rng, s: &mut String) {
    r.hex(s, 32);
}

fn v_sha1(r: &mut Rng, s: &mut String) {
    r.hex(s, 40);
}

fn v_sha256(r: &mut Rng, s: &mut String) {
    r.hex(s, 64);
}

fn v_ssdeep(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "{}:", 3 << r.range(3, 10));
    let n = r.range(20, 60);
    r.letters(s, n);
    s.push(':');
    let n = r.range(10, 40);
    r.letters(s, n);
}

fn v_filename(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(WORDS));
    s.push_str(r.pick(&["_", "-", ""]));
    if r.chance(50) {
        let _ = write!(s, "{}", r.range(1000, 99999));
    } else {
        s.push_str(r.pick(WORDS));
    }
    s.push_str(r.pick(EXTENSIONS));
}

fn v_email(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(FIRST_NAMES));
    s.push('@');
    v_domain(r, s);
}

fn v_subject(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(SUBJECTS));
}

fn v_message_id(r: &mut Rng, s: &mut String) {
    s.push('<');
    r.hex(s, 24);
    s.push('@');
    v_domain(r, s);
    s.push('>');
}

fn prose(r: &mut Rng, s: &mut String, words: usize) {
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(r.pick(PROSE));
    }
    s.push('.');
}

fn v_text(r: &mut Rng, s: &mut String) {
    let n = r.range(8, 60);
    prose(r, s, n);
}

fn v_vulnerability(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "CVE-20{}-{}", r.range(15, 24), r.range(1000, 49999));
}

fn v_user_agent(r: &mut Rng, s: &mut String) {
    let _ = write!(
        s,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Safari/537.36",
        r.range(100, 124),
        r.range(4000, 6400),
        r.range(10, 200)
    );
}

fn v_regkey(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(&[
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\",
        "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\",
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\",
    ]));
    s.push_str(r.pick(WORDS));
    s.push_str(r.pick(&["Svc", "Update", "Helper", "Host"]));
}

fn v_yara(r: &mut Rng, s: &mut String) {
    let _ = write!(
        s,
        "rule APT_Loader_{} {{\n  meta:\n    author = \"CERT-EX\"\n    description = \"",
        r.range(1, 999)
    );
    let n = r.range(6, 16);
    prose(r, s, n);
    s.push_str("\"\n  strings:\n");
    for i in 0..r.range(3, 10) {
        let _ = write!(s, "    $s{i} = \"");
        s.push_str(r.pick(WORDS));
        s.push('_');
        r.hex(s, 8);
        s.push_str("\" ascii wide\n");
    }
    s.push_str("  condition:\n    uint16(0) == 0x5a4d and 3 of them\n}");
}

fn v_asn(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "AS{}", r.range(1000, 212000));
}

fn v_port(r: &mut Rng, s: &mut String) {
    let p = r.pick(&[80usize, 443, 8080, 8443, 4444, 53, 25, 1337]);
    let p = if r.chance(20) {
        r.range(1024, 65535)
    } else {
        p
    };
    let _ = write!(s, "{p}");
}

fn v_size(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "{}", r.range(1024, 8_000_000));
}

fn v_mime(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(MIME_TYPES));
}

fn v_scheme(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(&["https", "http"]));
}

fn v_path(r: &mut Rng, s: &mut String) {
    for _ in 0..r.range(1, 3) {
        s.push('/');
        s.push_str(r.pick(WORDS));
    }
}

/// A top-level attribute kind: (type, category, to_ids, value).
type Kind = (&'static str, &'static str, bool, ValueFn);

/// Top-level attribute kinds, weighted.
const KINDS: &[(usize, Kind)] = &[
    (14, ("ip-dst", "Network activity", true, v_ip)),
    (8, ("ip-src", "Network activity", true, v_ip)),
    (14, ("domain", "Network activity", true, v_domain)),
    (5, ("hostname", "Network activity", true, v_domain)),
    (7, ("url", "Network activity", true, v_url)),
    (3, ("url", "External analysis", false, v_url)),
    (3, ("link", "External analysis", false, v_url)),
    (6, ("md5", "Payload delivery", true, v_md5)),
    (2, ("md5", "Artifacts dropped", true, v_md5)),
    (4, ("sha1", "Payload delivery", true, v_sha1)),
    (7, ("sha256", "Payload delivery", true, v_sha256)),
    (5, ("filename", "Payload delivery", false, v_filename)),
    (4, ("email-src", "Payload delivery", true, v_email)),
    (2, ("email-subject", "Payload delivery", false, v_subject)),
    (4, ("text", "Other", false, v_text)),
    (2, ("comment", "Other", false, v_text)),
    (
        2,
        ("vulnerability", "External analysis", false, v_vulnerability),
    ),
    (2, ("user-agent", "Network activity", false, v_user_agent)),
    (2, ("regkey", "Persistence mechanism", true, v_regkey)),
    (1, ("yara", "Payload installation", false, v_yara)),
    (1, ("AS", "Network activity", false, v_asn)),
];

struct Template {
    name: &'static str,
    meta: &'static str,
    description: &'static str,
    uuid: &'static str,
    version: &'static str,
    /// (relation, type, category, percent present, how many at most, value)
    attributes: &'static [(
        &'static str,
        &'static str,
        &'static str,
        usize,
        usize,
        ValueFn,
    )],
}

const TEMPLATES: &[(usize, Template)] = &[
    (
        35,
        Template {
            name: "file",
            meta: "file",
            description: "File object describing a file with meta-information",
            uuid: "688c46fb-5edb-40a3-8273-1af7923e2215",
            version: "24",
            attributes: &[
                (
                    "filename",
                    "filename",
                    "Payload delivery",
                    100,
                    1,
                    v_filename,
                ),
                ("md5", "md5", "Payload delivery", 100, 1, v_md5),
                ("sha1", "sha1", "Payload delivery", 90, 1, v_sha1),
                ("sha256", "sha256", "Payload delivery", 100, 1, v_sha256),
                ("ssdeep", "ssdeep", "Payload delivery", 40, 1, v_ssdeep),
                ("size-in-bytes", "size-in-bytes", "Other", 80, 1, v_size),
                ("mimetype", "mime-type", "Payload delivery", 50, 1, v_mime),
            ],
        },
    ),
    (
        25,
        Template {
            name: "domain-ip",
            meta: "network",
            description: "A domain/hostname and IP address seen as a tuple in a specific time frame.",
            uuid: "43b3b146-77eb-4931-b4cc-b66c60f28734",
            version: "11",
            attributes: &[
                ("domain", "domain", "Network activity", 100, 1, v_domain),
                ("ip", "ip-dst", "Network activity", 100, 3, v_ip),
                ("text", "text", "Other", 15, 1, v_text),
            ],
        },
    ),
    (
        20,
        Template {
            name: "url",
            meta: "network",
            description: "url object describes an url along with its normalized field (like extracted using faup parsing library) and its metadata.",
            uuid: "60efb77b-40b5-4c46-871b-ed1ed999fce5",
            version: "9",
            attributes: &[
                ("url", "url", "Network activity", 100, 1, v_url),
                ("domain", "domain", "Network activity", 80, 1, v_domain),
                ("scheme", "text", "Other", 60, 1, v_scheme),
                ("resource_path", "text", "Other", 60, 1, v_path),
            ],
        },
    ),
    (
        10,
        Template {
            name: "email",
            meta: "network",
            description: "Email object describing an email with meta-information",
            uuid: "a0c666e0-fc65-4be8-b48f-3423d788b552",
            version: "18",
            attributes: &[
                ("from", "email-src", "Payload delivery", 100, 1, v_email),
                ("to", "email-dst", "Network activity", 90, 3, v_email),
                (
                    "subject",
                    "email-subject",
                    "Payload delivery",
                    100,
                    1,
                    v_subject,
                ),
                (
                    "message-id",
                    "email-message-id",
                    "Payload delivery",
                    70,
                    1,
                    v_message_id,
                ),
                (
                    "attachment",
                    "email-attachment",
                    "Payload delivery",
                    50,
                    2,
                    v_filename,
                ),
            ],
        },
    ),
    (
        10,
        Template {
            name: "ip-port",
            meta: "network",
            description: "An IP address (or domain or hostname) and a port seen as a tuple (or as a triple) in a specific time frame.",
            uuid: "9f8cea74-16fe-4968-a2b4-026676949ac6",
            version: "8",
            attributes: &[
                ("ip", "ip-dst", "Network activity", 100, 1, v_ip),
                ("dst-port", "port", "Network activity", 100, 2, v_port),
                ("text", "text", "Other", 10, 1, v_text),
            ],
        },
    ),
];

/// (name, colour, is_galaxy)
const ATTRIBUTE_TAGS: &[(&str, &str, bool)] = &[
    ("tlp:green", "#33FF00", false),
    ("tlp:clear", "#ffffff", false),
    ("PAP:GREEN", "#33FF00", false),
    ("osint:source-type=\"blog-post\"", "#00223b", false),
    (
        "admiralty-scale:information-credibility=\"2\"",
        "#0a2f6b",
        false,
    ),
    ("kill-chain:Command and Control", "#8a2be2", false),
    (
        "estimative-language:confidence-in-analytic-judgment=\"moderate\"",
        "#ffc000",
        false,
    ),
    ("workflow:state=\"complete\"", "#339900", false),
];

const EVENT_TAGS: &[(&str, &str, bool)] = &[
    ("tlp:green", "#33FF00", false),
    ("PAP:GREEN", "#33FF00", false),
    ("osint:source-type=\"blog-post\"", "#00223b", false),
    ("misp-galaxy:threat-actor=\"Sofacy\"", "#0088cc", true),
    (
        "misp-galaxy:mitre-attack-pattern=\"Phishing - T1566\"",
        "#0088cc",
        true,
    ),
];

const ORGS: &[(&str, &str, &str)] = &[
    ("1", "CERT-EX", "55f6ea5e-2c60-40e5-964f-47a8950d210f"),
    ("2", "CIRCL", "55f6ea5e-2c60-40e5-964f-47a8950d210e"),
    ("5", "Partner CSIRT", "5c2e7f0a-1d3b-4e5f-9a8b-7c6d5e4f3a2b"),
    (
        "9",
        "National Cyber Centre",
        "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    ),
    ("14", "Energy ISAC", "7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"),
    ("21", "Telco SOC", "8c3d4e5f-6a7b-4c8d-ae9f-1a2b3c4d5e6f"),
];

// ---------------------------------------------------------------------------
// The event generator.

struct Generated {
    body: Vec<u8>,
    attributes: usize,
    objects: usize,
}

struct Gen {
    r: Rng,
    next_id: u64,
    next_object_id: u64,
    next_tag_id: u64,
    timestamp: u64,
    attributes: usize,
    objects: usize,
    scratch: String,
    /// UUIDs of recent objects, for object references.
    recent_objects: Vec<(u64, String)>,
}

impl Gen {
    fn new(seed: u64) -> Self {
        Gen {
            r: Rng::new(seed),
            next_id: 2_400_000,
            next_object_id: 310_000,
            next_tag_id: 90_000,
            timestamp: 1_710_000_000,
            attributes: 0,
            objects: 0,
            scratch: String::new(),
            recent_objects: Vec::new(),
        }
    }

    fn ts(&mut self) -> String {
        self.timestamp += self.r.below(90) as u64;
        self.timestamp.to_string()
    }

    fn org(&self, o: &mut String, key: &str, org: (&str, &str, &str)) {
        let _ = write!(
            o,
            r#""{key}":{{"id":"{}","name":"{}","uuid":"{}","local":true}},"#,
            org.0, org.1, org.2
        );
    }

    fn tags(&mut self, o: &mut String, tags: &[(&str, &str, bool)]) {
        o.push_str("\"Tag\":[");
        for (name, colour, galaxy) in tags {
            o.push('{');
            kv(o, "id", &self.next_tag_id.to_string());
            self.next_tag_id += 1;
            kv(o, "name", name);
            kv(o, "colour", colour);
            kr(o, "exportable", "true");
            kv(o, "user_id", "0");
            kr(o, "hide_tag", "false");
            kr(o, "numerical_value", "null");
            kr(o, "is_galaxy", if *galaxy { "true" } else { "false" });
            kr(o, "is_custom_galaxy", "false");
            kr(o, "local_only", "false");
            kr(o, "local", "0");
            kr(o, "relationship_type", "null");
            close(o, '}');
            o.push(',');
        }
        close(o, ']');
        o.push(',');
    }

    fn sharing_group(&mut self, o: &mut String) {
        o.push_str("\"SharingGroup\":{");
        kv(o, "id", "3");
        kv(o, "name", "Energy sector trusted circle");
        kv(
            o,
            "releasability",
            "Members of the energy sector trusted circle only",
        );
        kv(
            o,
            "description",
            "Operators of essential services, energy sector",
        );
        kv(o, "uuid", SG_UUID);
        kv(o, "organisation_uuid", ORGS[0].2);
        kv(o, "org_id", "1");
        kv(o, "sync_user_id", "0");
        kr(o, "active", "true");
        kv(o, "created", "2022-05-04 09:12:44");
        kv(o, "modified", "2024-01-18 14:02:11");
        kr(o, "local", "true");
        kr(o, "roaming", "false");
        self.org(o, "Organisation", ORGS[0]);
        o.push_str("\"SharingGroupOrg\":[");
        for (i, org) in ORGS.iter().enumerate() {
            let _ = write!(
                o,
                r#"{{"id":"{}","sharing_group_id":"3","org_id":"{}","extend":{},"Organisation":{{"id":"{}","name":"{}","uuid":"{}","local":true}}}},"#,
                40 + i,
                org.0,
                i == 0,
                org.0,
                org.1,
                org.2
            );
        }
        close(o, ']');
        o.push(',');
        o.push_str(
            r#""SharingGroupServer":[{"id":"7","sharing_group_id":"3","server_id":"0","all_orgs":false,"Server":{"id":"0","name":"Local instance","url":"https://misp.internal.example.org"}}]"#,
        );
        o.push_str("},");
    }

    /// One attribute; `object` is the object's id and the relation.
    fn attribute(
        &mut self,
        o: &mut String,
        object: Option<(u64, &str)>,
        kind: &str,
        category: &str,
        to_ids: bool,
        value: ValueFn,
    ) {
        self.attributes += 1;
        let id = self.next_id;
        self.next_id += 1;
        let uuid = self.r.uuid();
        let ts = self.ts();
        let dist = *self
            .r
            .weighted(&[(80, "5"), (9, "3"), (5, "1"), (4, "2"), (2, "4")]);
        o.push('{');
        kv(o, "id", &id.to_string());
        kv(o, "type", kind);
        kv(o, "category", category);
        kr(o, "to_ids", if to_ids { "true" } else { "false" });
        kv(o, "uuid", &uuid);
        kv(o, "event_id", EVENT_ID);
        kv(o, "distribution", dist);
        kv(o, "timestamp", &ts);
        let comment = if self.r.chance(25) {
            self.r.pick(COMMENTS)
        } else {
            ""
        };
        kv(o, "comment", comment);
        kv(o, "sharing_group_id", if dist == "4" { "3" } else { "0" });
        kr(o, "deleted", "false");
        kr(o, "disable_correlation", "false");
        match object {
            Some((oid, relation)) => {
                kv(o, "object_id", &oid.to_string());
                kv(o, "object_relation", relation);
            }
            None => {
                kv(o, "object_id", "0");
                kr(o, "object_relation", "null");
            }
        }
        if self.r.chance(10) {
            kv(o, "first_seen", "2024-03-11T08:14:02.000000+00:00");
            kv(o, "last_seen", "2024-04-02T17:40:51.000000+00:00");
        } else {
            kr(o, "first_seen", "null");
            kr(o, "last_seen", "null");
        }
        let mut v = std::mem::take(&mut self.scratch);
        v.clear();
        value(&mut self.r, &mut v);
        kv(o, "value", &v);
        self.scratch = v;
        kr(o, "Galaxy", "[]");
        kr(o, "ShadowAttribute", "[]");
        if dist == "4" {
            self.sharing_group(o);
        }
        if self.r.chance(20) {
            let n = self.r.range(1, 2);
            let first = self.r.below(ATTRIBUTE_TAGS.len() - n + 1);
            self.tags(o, &ATTRIBUTE_TAGS[first..first + n]);
        }
        close(o, '}');
        o.push(',');
    }

    fn object(&mut self, o: &mut String) {
        self.objects += 1;
        let t = self.r.weighted(TEMPLATES);
        let id = self.next_object_id;
        self.next_object_id += 1;
        let uuid = self.r.uuid();
        let ts = self.ts();
        let dist = *self.r.weighted(&[(85, "5"), (10, "3"), (4, "1"), (1, "4")]);
        o.push('{');
        kv(o, "id", &id.to_string());
        kv(o, "name", t.name);
        kv(o, "meta-category", t.meta);
        kv(o, "description", t.description);
        kv(o, "template_uuid", t.uuid);
        kv(o, "template_version", t.version);
        kv(o, "event_id", EVENT_ID);
        kv(o, "uuid", &uuid);
        kv(o, "timestamp", &ts);
        kv(o, "distribution", dist);
        kv(o, "sharing_group_id", if dist == "4" { "3" } else { "0" });
        let comment = if self.r.chance(15) {
            self.r.pick(COMMENTS)
        } else {
            ""
        };
        kv(o, "comment", comment);
        kr(o, "deleted", "false");
        kr(o, "first_seen", "null");
        kr(o, "last_seen", "null");
        if dist == "4" {
            self.sharing_group(o);
        }
        o.push_str("\"ObjectReference\":[");
        if !self.recent_objects.is_empty() && self.r.chance(30) {
            let (ref_id, ref_uuid) =
                self.recent_objects[self.r.below(self.recent_objects.len())].clone();
            let ref_uuid_self = self.r.uuid();
            let rts = self.ts();
            o.push('{');
            kv(o, "id", &(id + 900_000).to_string());
            kv(o, "uuid", &ref_uuid_self);
            kv(o, "timestamp", &rts);
            kv(o, "object_id", &id.to_string());
            kv(o, "referenced_id", &ref_id.to_string());
            kv(o, "referenced_uuid", &ref_uuid);
            kv(o, "referenced_type", "1");
            kv(
                o,
                "relationship_type",
                self.r
                    .pick(&["related-to", "drops", "communicates-with", "contains"]),
            );
            kv(o, "comment", "");
            kr(o, "deleted", "false");
            kv(o, "event_id", EVENT_ID);
            kv(o, "source_uuid", &uuid);
            kr(o, "first_seen", "null");
            kr(o, "last_seen", "null");
            close(o, '}');
        }
        o.push_str("],");
        o.push_str("\"Attribute\":[");
        for &(relation, kind, category, percent, most, value) in t.attributes {
            if !self.r.chance(percent) {
                continue;
            }
            for _ in 0..self.r.range(1, most) {
                let to_ids = kind != "text" && kind != "size-in-bytes" && kind != "mime-type";
                self.attribute(o, Some((id, relation)), kind, category, to_ids, value);
            }
        }
        close(o, ']');
        o.push('}');
        o.push(',');
        if self.recent_objects.len() < 64 {
            self.recent_objects.push((id, uuid));
        } else {
            let i = self.r.below(64);
            self.recent_objects[i] = (id, uuid);
        }
    }

    fn report(
        &mut self,
        o: &mut String,
        id: u64,
        dist: &str,
        name: &str,
        attribute_refs: &[String],
    ) {
        let mut content = String::new();
        let _ = writeln!(content, "# {name}\n\n## Summary\n");
        for section in [
            "Initial access",
            "Execution",
            "Command and control",
            "Infrastructure",
        ] {
            let _ = writeln!(content, "### {section}\n");
            for _ in 0..self.r.range(3, 8) {
                let n = self.r.range(20, 70);
                prose(&mut self.r, &mut content, n);
                if let Some(uuid) = attribute_refs.get(self.r.below(attribute_refs.len().max(1))) {
                    let _ = write!(content, " See @[attribute]({uuid}).");
                }
                content.push_str("\n\n");
            }
            content.push_str("| Indicator | Type | First seen |\n|---|---|---|\n");
            for _ in 0..self.r.range(3, 10) {
                content.push_str("| `");
                v_domain(&mut self.r, &mut content);
                content.push_str("` | domain | 2024-03-1");
                let _ = writeln!(content, "{} |", self.r.below(10));
            }
            content.push('\n');
        }
        o.push('{');
        kv(o, "id", &id.to_string());
        kv(o, "uuid", &self.r.uuid());
        kv(o, "event_id", EVENT_ID);
        kv(o, "name", name);
        kv(o, "content", &content);
        kv(o, "distribution", dist);
        kv(o, "sharing_group_id", "0");
        kv(o, "timestamp", &self.ts());
        kr(o, "deleted", "false");
        close(o, '}');
        o.push(',');
    }

    fn cluster(
        &mut self,
        o: &mut String,
        galaxy_id: &str,
        kind: &str,
        value: &str,
        extra_meta: &str,
    ) {
        let tag = format!("misp-galaxy:{kind}=\"{value}\"");
        o.push('{');
        kv(o, "id", &self.r.range(1000, 90000).to_string());
        kv(o, "uuid", &self.r.uuid());
        kv(o, "collection_uuid", &self.r.uuid());
        kv(o, "type", kind);
        kv(o, "value", value);
        kv(o, "tag_name", &tag);
        let mut d = String::new();
        let n = self.r.range(20, 60);
        prose(&mut self.r, &mut d, n);
        kv(o, "description", &d);
        kv(o, "galaxy_id", galaxy_id);
        kv(o, "source", "MISP Project");
        kr(
            o,
            "authors",
            r#"["Alexandre Dulaunoy","Florian Roth","Thomas Schreck","Timo Steffens"]"#,
        );
        kv(o, "version", "290");
        kv(o, "distribution", "3");
        kr(o, "sharing_group_id", "null");
        kv(o, "org_id", "0");
        kv(o, "orgc_id", "0");
        kr(o, "default", "true");
        kr(o, "locked", "false");
        kv(o, "extends_uuid", "");
        kv(o, "extends_version", "0");
        kr(o, "published", "false");
        kr(o, "deleted", "false");
        kr(o, "GalaxyClusterRelation", "[]");
        self.org(o, "Org", ("0", "MISP", "0"));
        self.org(o, "Orgc", ("0", "MISP", "0"));
        let _ = write!(
            o,
            r#""meta":{{"refs":["https://attack.mitre.org/","https://www.welivesecurity.com/2017/12/21/sednit-update-fancy-bear-spent-year/"]{extra_meta}}},"#
        );
        kv(o, "tag_id", &self.r.range(100, 9000).to_string());
        kv(o, "event_tag_id", &self.r.range(100, 9000).to_string());
        kr(o, "local", "false");
        kr(o, "relationship_type", "false");
        close(o, '}');
        o.push(',');
    }

    fn galaxies(&mut self, o: &mut String) {
        o.push_str("\"Galaxy\":[");
        o.push_str(
            r#"{"id":"12","uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor","description":"Threat actors are characteristics of malicious actors (or adversaries) representing a cyber attack threat including presumed intent and historically observed behaviour.","version":"3","icon":"user-secret","namespace":"misp","enabled":true,"local_only":false,"kill_chain_order":null,"GalaxyCluster":["#,
        );
        self.cluster(
            o,
            "12",
            "threat-actor",
            "Sofacy",
            r#","country":["RU"],"synonyms":["APT 28","APT28","Pawn Storm","Fancy Bear","Sednit","STRONTIUM","Tsar Team"],"cfr-suspected-state-sponsor":["Russian Federation"]"#,
        );
        close(o, ']');
        o.push_str("},");
        o.push_str(
            r#"{"id":"31","uuid":"c4e851fa-775f-11e7-8163-b774922098cd","name":"Attack Pattern","type":"mitre-attack-pattern","description":"ATT&CK Tactic","version":"9","icon":"map","namespace":"mitre-attack","enabled":true,"local_only":false,"kill_chain_order":{"mitre-attack":["reconnaissance","resource-development","initial-access","execution","persistence","privilege-escalation","defense-evasion","credential-access","discovery","lateral-movement","collection","command-and-control","exfiltration","impact"]},"GalaxyCluster":["#,
        );
        for (value, phase) in [
            ("Phishing - T1566", "initial-access"),
            ("Command and Scripting Interpreter - T1059", "execution"),
            ("Application Layer Protocol - T1071", "command-and-control"),
        ] {
            let meta = format!(
                r#","external_id":["{}"],"kill_chain":["mitre-attack:{phase}"],"mitre_platforms":["Linux","macOS","Windows"]"#,
                &value[value.len() - 5..]
            );
            self.cluster(o, "31", "mitre-attack-pattern", value, &meta);
        }
        close(o, ']');
        o.push('}');
        o.push_str("],");
    }
}

/// Generates an event of about `target` bytes: about half top-level
/// attributes, half objects, plus tags, two event reports and galaxies.
fn generate(target: usize, seed: u64) -> Generated {
    let mut g = Gen::new(seed);

    let mut attrs = String::with_capacity(target / 2 + 65536);
    let mut attr_uuids = Vec::new();
    while attrs.len() < target * 47 / 100 {
        let &(kind, category, to_ids, value) = g.r.weighted(KINDS);
        let start = attrs.len();
        g.attribute(&mut attrs, None, kind, category, to_ids, value);
        if attr_uuids.len() < 32 && g.r.chance(5) {
            // `"uuid":"` follows id, type, category and to_ids.
            if let Some(at) = attrs[start..].find("\"uuid\":\"") {
                let at = start + at + 8;
                attr_uuids.push(attrs[at..at + 36].to_string());
            }
        }
    }
    close(&mut attrs, ']');

    let mut galaxies = String::with_capacity(16 * 1024);
    g.galaxies(&mut galaxies);
    let mut tail = String::with_capacity(256 * 1024);
    tail.push_str("\"EventReport\":[");
    g.report(
        &mut tail,
        211,
        "5",
        "Sofacy spear-phishing wave — analyst notes",
        &attr_uuids,
    );
    g.report(&mut tail, 212, "1", "Infrastructure pivoting", &attr_uuids);
    close(&mut tail, ']');
    tail.push(',');
    tail.push_str("\"CryptographicKey\":[],");
    g.tags(&mut tail, EVENT_TAGS);

    let mut objects = String::with_capacity(target / 2 + 65536);
    while attrs.len() + objects.len() + galaxies.len() + tail.len() + 2048 < target {
        g.object(&mut objects);
    }
    close(&mut objects, ']');

    let mut head = String::with_capacity(4096);
    head.push_str("{\"Event\":{");
    kv(&mut head, "id", EVENT_ID);
    kv(&mut head, "orgc_id", "2");
    kv(&mut head, "org_id", "1");
    kv(&mut head, "date", "2024-04-02");
    kv(&mut head, "threat_level_id", "1");
    kv(
        &mut head,
        "info",
        "Sofacy spear-phishing wave against energy sector operators (March–April 2024)",
    );
    kr(&mut head, "published", "true");
    kv(&mut head, "uuid", &g.r.uuid());
    kv(&mut head, "attribute_count", &g.attributes.to_string());
    kv(&mut head, "analysis", "2");
    kv(&mut head, "timestamp", &g.ts());
    kv(&mut head, "distribution", "2");
    kr(&mut head, "proposal_email_lock", "false");
    kr(&mut head, "locked", "false");
    kv(&mut head, "publish_timestamp", &g.ts());
    kv(&mut head, "sharing_group_id", "0");
    kr(&mut head, "disable_correlation", "false");
    kv(&mut head, "extends_uuid", "");
    kr(&mut head, "protected", "null");
    kv(
        &mut head,
        "event_creator_email",
        "analyst@cert-ex.example.org",
    );
    g.org(&mut head, "Org", ORGS[0]);
    g.org(&mut head, "Orgc", ORGS[1]);

    let mut body = Vec::with_capacity(head.len() + attrs.len() + objects.len() + tail.len() + 256);
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(b"\"Attribute\":[");
    body.extend_from_slice(attrs.as_bytes());
    body.extend_from_slice(b",\"ShadowAttribute\":[],\"RelatedEvent\":[],");
    body.extend_from_slice(galaxies.as_bytes());
    body.extend_from_slice(b"\"Object\":[");
    body.extend_from_slice(objects.as_bytes());
    body.push(b',');
    body.extend_from_slice(tail.as_bytes());
    if body.last() == Some(&b',') {
        body.pop();
    }
    body.extend_from_slice(b"}}");
    Generated {
        body,
        attributes: g.attributes,
        objects: g.objects,
    }
}

// ---------------------------------------------------------------------------
// Measurements.

/// Reads a `kB` field of /proc/self/status.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Resets VmHWM to the current RSS (Linux >= 4.0).
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The child: one evaluation in a fresh process, memory figures on stdout.
fn child(args: &[String]) -> ExitCode {
    let (path, gzip) = match args {
        [p] => (p, false),
        [p, flag] if flag == "--gzip" => (p, true),
        _ => die("usage: policy_bench --measure-one FILE [--gzip]"),
    };
    let config = build_config();
    let rss_start = status_kib("VmRSS");
    let raw = std::fs::read(path).unwrap_or_else(|e| die(&format!("cannot read {path}: {e}")));
    let reset = reset_hwm();
    let rss_before = status_kib("VmRSS");
    let hwm_before = status_kib("VmHWM");
    let t = Instant::now();
    let body_bytes = if gzip {
        let decoded = decode_gzip(&config, &raw);
        evaluate_allowed(&config, &decoded, path);
        decoded.len()
    } else {
        evaluate_allowed(&config, &raw, path);
        raw.len()
    };
    let secs = t.elapsed().as_secs_f64();
    let hwm_after = status_kib("VmHWM");
    let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    println!(
        "body_bytes={body_bytes} encoded_bytes={} rss_start_kib={} rss_before_kib={} hwm_before_kib={} hwm_after_kib={} hwm_reset={reset} cold_secs={secs}",
        raw.len(),
        show(rss_start),
        show(rss_before),
        show(hwm_before),
        show(hwm_after),
    );
    ExitCode::SUCCESS
}

struct Memory {
    /// Peak RSS during evaluation above the RSS just before, in bytes.
    eval_peak: u64,
    /// RSS before evaluation above the process's RSS before the body was read.
    body_rss: u64,
    /// Whether VmHWM could be reset after reading the body.
    clean: bool,
    cold_secs: f64,
}

fn measure_memory(path: &Path, gzip: bool) -> Option<Memory> {
    let exe = std::env::current_exe().unwrap_or_else(|e| die(&format!("current_exe: {e}")));
    let mut cmd = Command::new(exe);
    cmd.arg("--measure-one").arg(path);
    if gzip {
        cmd.arg("--gzip");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| die(&format!("cannot run the child: {e}")));
    if !out.status.success() {
        die(&format!(
            "child for {} failed ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| -> Option<&str> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
    };
    let num = |k: &str| field(k).and_then(|v| v.parse::<u64>().ok());
    let start = num("rss_start_kib")?;
    let before = num("rss_before_kib")?;
    let after = num("hwm_after_kib")?;
    Some(Memory {
        eval_peak: after.saturating_sub(before) * 1024,
        body_rss: before.saturating_sub(start) * 1024,
        clean: field("hwm_reset") == Some("true"),
        cold_secs: field("cold_secs")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN),
    })
}

struct Throughput {
    runs: usize,
    median_mbps: f64,
    best_mbps: f64,
}

/// One thing to time: `run` processes `bytes` of decoded JSON.
struct Workload<'a> {
    bytes: usize,
    run: Box<dyn FnMut() + 'a>,
    times: Vec<f64>,
}

impl<'a> Workload<'a> {
    fn new(bytes: usize, run: impl FnMut() + 'a) -> Self {
        Workload {
            bytes,
            run: Box::new(run),
            times: Vec::new(),
        }
    }

    fn result(&self) -> Throughput {
        let mut times = self.times.clone();
        times.sort_by(f64::total_cmp);
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            (times[n / 2 - 1] + times[n / 2]) / 2.0
        };
        let mb = self.bytes as f64 / 1e6;
        Throughput {
            runs: n,
            median_mbps: mb / median,
            best_mbps: mb / times[0],
        }
    }
}

/// Times the workloads interleaved — round after round, each gets a slice of
/// about `total / (ROUNDS × workloads)` — so that a noisy phase of the
/// machine falls on all of them alike rather than on one row. One warm-up
/// run each first; at least `MIN_RUNS` timed runs each.
fn measure_interleaved(workloads: &mut [Workload], total: Duration) {
    const ROUNDS: u32 = 10;
    const MIN_RUNS: usize = 7;
    const MAX_RUNS: usize = 5000;
    for w in workloads.iter_mut() {
        (w.run)();
    }
    let slice = total / (ROUNDS * workloads.len() as u32);
    let started = Instant::now();
    loop {
        for w in workloads.iter_mut() {
            let slice_start = Instant::now();
            while w.times.len() < MAX_RUNS {
                let t = Instant::now();
                (w.run)();
                w.times.push(t.elapsed().as_secs_f64());
                if slice_start.elapsed() >= slice {
                    break;
                }
            }
        }
        if started.elapsed() >= total && workloads.iter().all(|w| w.times.len() >= MIN_RUNS) {
            break;
        }
    }
}

struct Row {
    label: String,
    body_bytes: usize,
    encoded_bytes: Option<usize>,
    attributes: usize,
    objects: usize,
    throughput: Throughput,
    memory: Option<Memory>,
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| die(&format!("write {}: {e}", path.display())));
}

fn parent(json: bool, seconds: u64) -> ExitCode {
    let config = build_config();
    let dir = tempfile::tempdir().unwrap_or_else(|e| die(&format!("temp dir: {e}")));
    let progress = |msg: &str| {
        if !json {
            eprint!("{msg}");
            let _ = std::io::stderr().flush();
        }
    };

    progress("generating events…");
    let events: Vec<(String, Generated)> = [(1usize, 1u64), (10, 10), (100, 100)]
        .into_iter()
        .map(|(mb, seed)| (format!("event {mb} MB"), generate(mb * 1_000_000, seed)))
        .collect();
    sanity_checks(&config, &events[0].1.body);
    let ten = &events[1].1;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&ten.body).expect("in memory");
    let gz = enc.finish().expect("in memory");
    if decode_gzip(&config, &gz).as_ref() != ten.body.as_slice() {
        die("gzip round trip changed the body");
    }
    for (label, g) in &events {
        evaluate_allowed(&config, &g.body, label);
    }

    progress(" peak memory (child processes)…");
    let mut memory = Vec::new();
    for (i, (_, g)) in events.iter().enumerate() {
        let path = dir.path().join(format!("event-{i}.json"));
        write_file(&path, &g.body);
        memory.push(measure_memory(&path, false));
    }
    let gz_path = dir.path().join("event-10MB.json.gz");
    write_file(&gz_path, &gz);
    let gz_memory = measure_memory(&gz_path, true);

    progress(&format!(" throughput (~{seconds} s)…"));
    let biggest = &events[2].1.body;
    let mut workloads: Vec<Workload> = events
        .iter()
        .map(|(label, g)| Workload::new(g.body.len(), || evaluate_allowed(&config, &g.body, label)))
        .collect();
    workloads.push(Workload::new(ten.body.len(), || {
        let decoded = decode_gzip(&config, &gz);
        evaluate_allowed(&config, &decoded, "10 MB gzip");
    }));
    // The floor for any serde_json-based check: the biggest body only
    // checked for well-formedness, no model built, no rule run.
    workloads.push(Workload::new(biggest.len(), || {
        if serde_json::from_slice::<serde::de::IgnoredAny>(biggest).is_err() {
            die("generated event is not JSON");
        }
    }));
    measure_interleaved(&mut workloads, Duration::from_secs(seconds));
    progress(" done\n");

    let mut rows: Vec<Row> = events
        .iter()
        .zip(memory)
        .zip(&workloads)
        .map(|(((label, g), memory), w)| Row {
            label: label.clone(),
            body_bytes: g.body.len(),
            encoded_bytes: None,
            attributes: g.attributes,
            objects: g.objects,
            throughput: w.result(),
            memory,
        })
        .collect();
    rows.push(Row {
        label: "event 10 MB, gzip".into(),
        body_bytes: ten.body.len(),
        encoded_bytes: Some(gz.len()),
        attributes: ten.attributes,
        objects: ten.objects,
        throughput: workloads[3].result(),
        memory: gz_memory,
    });
    let floor = workloads[4].result();

    if json {
        print_json(&rows, &floor);
    } else {
        print_table(&rows, &floor);
    }
    ExitCode::SUCCESS
}

/// The rules are live and reach every level: the 1 MB event with one value
/// changed (its last occurrence: the event's tags, the last attribute or
/// object, the last galaxy cluster, the last sharing group) is refused by
/// the rule that value breaks.
fn sanity_checks(config: &Config, body: &[u8]) {
    let text = std::str::from_utf8(body).expect("generated JSON is UTF-8");
    let sg_from = format!("\"uuid\":\"{SG_UUID}\"");
    let sg_to = format!("\"uuid\":\"{}\"", BLOCKED_SG_UUID.to_uppercase());
    for (from, to, rule) in [
        (
            sg_from.as_str(),
            sg_to.as_str(),
            "blocked_sharing_groups_uuids",
        ),
        (
            "\"distribution\":\"3\",\"sharing_group_id\":null",
            "\"distribution\":\"0\",\"sharing_group_id\":null",
            "blocked_distribution_levels",
        ),
        (
            "\"tag_name\":\"",
            "\"tag_name\":\"tlp:red\",\"was\":\"",
            "blocked_tags",
        ),
        (
            "\"name\":\"tlp:green\"",
            "\"name\":\"TLP:RED\"",
            "blocked_tags",
        ),
        (
            "\"category\":\"Network activity\"",
            "\"category\":\"Internal reference\"",
            "blocked_attribute_categories",
        ),
        (
            "\"type\":\"sha256\"",
            "\"type\":\"malware-sample\"",
            "blocked_attribute_types",
        ),
        (
            "\"name\":\"domain-ip\"",
            "\"name\":\"bank-account\"",
            "blocked_object_types",
        ),
        (
            "\"distribution\":\"3\"",
            "\"distribution\":\"0\"",
            "blocked_distribution_levels",
        ),
    ] {
        let Some(at) = text.rfind(from) else {
            die(&format!("sanity check: the 1 MB event has no {from}"));
        };
        let poisoned = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
        match evaluate_push(config, poisoned.as_bytes()) {
            Err(b) if b.rule.id() == rule => {}
            other => die(&format!(
                "sanity check: replacing the last {from} by {to} should be refused by {rule}, got {other:?}"
            )),
        }
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|x| x.1.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn print_table(rows: &[Row], floor: &Throughput) {
    println!(
        "misp-warden policy_bench — evaluate(), POST {TARGET}, verdict allow (whole event walked)"
    );
    println!(
        "{}, {} logical CPUs; one thread; MB = 10^6 bytes of decoded JSON",
        cpu_model(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!();
    println!(
        "{:<30} {:>8} {:>7} {:>7} {:>5} {:>8} {:>9} {:>9} {:>9} {:>10}",
        "body",
        "size MB",
        "attrs",
        "objects",
        "runs",
        "MB/s med",
        "MB/s best",
        "eval peak",
        "peak/body",
        "total/body"
    );
    for r in rows {
        let label = match r.encoded_bytes {
            Some(e) => format!("{} ({:.2} MB gz)", r.label, mb(e as u64)),
            None => r.label.clone(),
        };
        let (peak, ratio, total) = match &r.memory {
            Some(m) => {
                let star = if m.clean { "" } else { "*" };
                let body = r.body_bytes as f64;
                (
                    format!("{:.1} MB{star}", mb(m.eval_peak)),
                    format!("{:.2}×", m.eval_peak as f64 / body),
                    format!("{:.2}×", (m.body_rss + m.eval_peak) as f64 / body),
                )
            }
            None => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        println!(
            "{:<30} {:>8.2} {:>7} {:>7} {:>5} {:>8.0} {:>9.0} {:>9} {:>9} {:>10}",
            label,
            mb(r.body_bytes as u64),
            r.attributes,
            r.objects,
            r.throughput.runs,
            r.throughput.median_mbps,
            r.throughput.best_mbps,
            peak,
            ratio,
            total
        );
    }
    println!();
    println!("eval peak: peak RSS during one evaluation (fresh process) minus RSS just before it;");
    println!(
        "peak/body: that divided by the decoded body size; total/body: body as read (compressed"
    );
    println!("for gzip) plus eval peak, divided by the decoded body size.");
    println!(
        "reference: serde_json only skipping the 100 MB body (IgnoredAny: no model, no rules): \
         {:.0} MB/s median, {:.0} best.",
        floor.median_mbps, floor.best_mbps
    );
    if rows
        .iter()
        .any(|r| r.memory.as_ref().is_some_and(|m| !m.clean))
    {
        println!("* VmHWM could not be reset: the figure is a lower bound.");
    }
}

fn print_json(rows: &[Row], floor: &Throughput) {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "body": r.label,
                "body_bytes": r.body_bytes,
                "encoded_bytes": r.encoded_bytes,
                "encoding": if r.encoded_bytes.is_some() { "gzip" } else { "identity" },
                "attributes": r.attributes,
                "objects": r.objects,
                "runs": r.throughput.runs,
                "mb_per_s_median": r.throughput.median_mbps,
                "mb_per_s_best": r.throughput.best_mbps,
                "eval_peak_rss_bytes": r.memory.as_ref().map(|m| m.eval_peak),
                "body_rss_bytes": r.memory.as_ref().map(|m| m.body_rss),
                "eval_peak_per_body": r.memory.as_ref().map(|m| m.eval_peak as f64 / r.body_bytes as f64),
                "total_peak_per_body": r.memory.as_ref().map(|m| (m.body_rss + m.eval_peak) as f64 / r.body_bytes as f64),
                "peak_measurement_clean": r.memory.as_ref().map(|m| m.clean),
                "cold_eval_secs": r.memory.as_ref().map(|m| m.cold_secs),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "benchmark": "policy::evaluate",
        "request": format!("POST {TARGET}"),
        "verdict": "allow",
        "cpu": cpu_model(),
        "threads": 1,
        "mb": 1_000_000,
        "results": rows,
        "reference_serde_json_skip_100mb_mb_per_s_median": floor.median_mbps,
        "reference_serde_json_skip_100mb_mb_per_s_best": floor.best_mbps,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).expect("serialisable")
    );
}

const USAGE: &str = "usage: policy_bench [--json] [--seconds N]
  --json       print JSON instead of a table
  --seconds N  time spent on throughput runs, all bodies interleaved (default 12)
(internal: policy_bench --measure-one FILE [--gzip])";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure-one") {
        return child(&args[1..]);
    }
    let mut json = false;
    let mut seconds = 12;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--seconds" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => seconds = n,
                _ => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    parent(json, seconds)
}
