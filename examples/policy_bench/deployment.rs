//! The deployment: one source instance pushing to one destination, and a
//! push of a body judged by `misp_warden::policy::evaluate` as the daemon
//! judges it.

use misp_warden::body::{Coding, decode};
use misp_warden::config::Config;
use misp_warden::policy::{Case, Connection, EventVerdicts, Framing, SourceSpec, evaluate};

use crate::die;

const SOURCE_IP: &str = "10.20.0.11";
const DEST_IP: &str = "10.30.0.12";
const DEST_HOST: &str = "misp.partner.example.org";
const DEST_PORT: u16 = 443;
pub const TARGET: &str = "/events/add/metadata:1";
/// Blocked by the config; the generator never uses it.
pub const BLOCKED_SG_UUID: &str = "3c1b5b2c-8e4f-4b7a-9d61-2f0e7a5c9b14";
/// The sharing group the generated elements with distribution 4 are in.
pub const SG_UUID: &str = "5f6e7d8c-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
pub const EVENT_ID: &str = "1342";

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

pub fn build_config() -> Config {
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

pub fn evaluate_push(config: &Config, body: &[u8]) -> Result<(), misp_warden::policy::Block> {
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
pub fn evaluate_allowed(config: &Config, body: &[u8], what: &str) {
    if let Err(block) = evaluate_push(config, body) {
        die(&format!(
            "{what}: expected the push to be allowed, the engine refused it: {block}"
        ));
    }
}

pub fn decode_gzip<'a>(config: &Config, gz: &'a [u8]) -> misp_warden::body::Decoded<'a> {
    match decode(gz, &[Coding::Gzip], config.warden.max_body_bytes) {
        Ok(d) => d,
        Err(b) => die(&format!("gzip body does not decode: {b}")),
    }
}
