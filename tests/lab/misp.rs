//! MISP-shaped material for lab tests: the lab's instances as a config,
//! events, pushes and the check of a refusal. Small on purpose; the rule
//! families are covered in `tests/e2e.rs` and the parity suites.

use super::{Curl, Lab};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::process::{Child, Stdio};

pub const PUSH: &str = "/events/add/metadata:1";

/// An instance entry whose only content rule is `blocked_tags` (and
/// distribution 0).
pub fn instance(
    ip: &str,
    host: &str,
    port: u16,
    compartment: &str,
    blocked_tags: &[&str],
) -> Value {
    json!({"ip": ip, "host": host, "port": port, "compartment_id": compartment, "affiliation": "lab",
           "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": blocked_tags},
           "blocked_distribution_levels": ["0"], "blocked_sharing_groups_uuids": [],
           "blocked_attribute_types": [], "blocked_attribute_categories": [], "blocked_object_types": []})
}

/// The lab's MISPs (internal 192.0.2.10 / 2001:db8:1::10, partner
/// 203.0.113.20 / 2001:db8:2::20, rogue 203.0.113.21), each blocking
/// `tlp:red`, in two compartments that reach each other.
pub fn config() -> Value {
    json!({
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"internal": ["internal", "partners"], "partners": ["internal"]}},
        "instances": {
            "misp_internal": instance("192.0.2.10", "misp.internal.example", 443, "internal", &["tlp:red"]),
            "misp_internal_v6": instance("2001:db8:1::10", "misp6.internal.example", 443, "internal", &["tlp:red"]),
            "misp_partner": instance("203.0.113.20", "misp.partner.example", 443, "partners", &["tlp:red"]),
            "misp_partner_v6": instance("2001:db8:2::20", "misp6.partner.example", 443, "partners", &["tlp:red"]),
            "misp_rogue": instance("203.0.113.21", "misp.rogue.example", 443, "partners", &["tlp:red"])
        }
    })
}

/// An event tagged `tag` whose one attribute carries `value`.
pub fn event(uuid: &str, tag: &str, value: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"Event": {
        "uuid": uuid, "info": "lab event", "distribution": "1", "published": true,
        "Tag": [{"name": tag}],
        "Attribute": [{"type": "comment", "category": "Other", "value": value, "distribution": "5"}]
    }}))
    .unwrap()
}

/// POSTs `body` to `url` from the internal MISP, as MISP pushes; `extra`
/// goes to curl before the URL.
pub fn push(lab: &Lab, url: &str, body: &[u8], extra: &[&str]) -> Curl {
    let n = super::COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let file = lab.dir().join(format!("push-{n}.json"));
    std::fs::write(&file, body).unwrap();
    let data = format!("@{}", file.display());
    let mut args = vec![
        "-H",
        "Content-Type: application/json",
        "-H",
        "Accept: application/json",
        "--data-binary",
        &data,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    lab.curl(&args)
}

/// A 403 with MISP's JSON error shape whose message names `rule`.
pub fn assert_refused(c: &Curl, rule: &str) {
    assert_eq!(
        c.status,
        403,
        "expected a block by {rule}: {}{}",
        c.text(),
        c.stderr
    );
    let body = c.json();
    assert_eq!(body["name"], "Forbidden", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(rule),
        "the message should name {rule}: {message}"
    );
}

/// The first tag of each event the remote `remote` received by POST, in order.
pub fn pushed_tags(lab: &Lab, remote: usize) -> Vec<String> {
    lab.records(remote)
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            r.json()["Event"]["Tag"][0]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// A push of `body` to `url` at `rate` (curl's --limit-rate, e.g. "4M"),
/// running in the background; [`SlowPush::finish`] waits for its status.
pub struct SlowPush(Child);

impl SlowPush {
    pub fn start(lab: &Lab, url: &str, body: &[u8], rate: &str) -> SlowPush {
        let n = super::COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let file = lab.dir().join(format!("slow-{n}.json"));
        std::fs::write(&file, body).unwrap();
        let data = format!("@{}", file.display());
        let ca = lab.dir().join("warden-ca.pem");
        let child = lab
            .ns_cmd("in", "curl")
            .args(["-sS", "--max-time", "60", "--limit-rate", rate])
            .args(["-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&ca)
            .args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &data,
            ])
            .arg(url)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start curl");
        SlowPush(child)
    }

    /// Waits (curl's own --max-time bounds it) and returns the HTTP status,
    /// 0 when curl failed.
    pub fn finish(mut self) -> u16 {
        let status = self.0.wait().unwrap();
        let mut code = String::new();
        self.0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut code)
            .unwrap();
        if status.success() {
            code.trim().parse().unwrap_or(0)
        } else {
            0
        }
    }
}

impl Drop for SlowPush {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The content codings the tests send.
pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn deflate(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn brotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(b).unwrap();
    }
    out
}

pub fn zstd(b: &[u8]) -> Vec<u8> {
    zstd::encode_all(b, 3).unwrap()
}
