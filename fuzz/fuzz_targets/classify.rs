//! `policy::endpoint::classify(method, target)` on arbitrary strings.
//!
//! Input layout: `method \n target` (lossy UTF-8; without a newline the
//! method is picked from the first byte among a few, and the rest is the
//! target).
//!
//! What `classify` promises (src/policy/endpoint.rs): anything a web
//! framework could read differently is refused, not normalised. So when it
//! answers `Ok`, the target is an origin-form path with no query or
//! fragment, no empty segment (`//`, a trailing `/`), no `.`/`..` segment
//! (also percent-encoded), no `;`, no `\`, no percent-encoded `/`, `\`, `%`,
//! control or non-ASCII byte; every decoded byte is one MISP sync paths use;
//! the first segment is one of MISP's sync controllers, exactly (case
//! matters); the method is GET, POST or HEAD; and the decoded form of the
//! target classifies the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::policy::endpoint::classify;

const METHODS: [&str; 8] = [
    "GET", "POST", "HEAD", "PUT", "DELETE", "get", "OPTIONS", "PATCH",
];

const CONTROLLERS: [&str; 9] = [
    "servers",
    "users",
    "events",
    "eventReports",
    "galaxy_clusters",
    "galaxies",
    "sightings",
    "analyst_data",
    "shadow_attributes",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (method, target) = match text.split_once('\n') {
        Some((m, t)) => (m.to_string(), t.to_string()),
        None => {
            let Some(first) = data.first() else { return };
            let rest = String::from_utf8_lossy(&data[1..]).into_owned();
            (METHODS[*first as usize % METHODS.len()].to_string(), rest)
        }
    };
    let endpoint = match classify(&method, &target) {
        Ok(e) => e,
        Err(block) => {
            let _ = block.to_string();
            return;
        }
    };

    assert!(
        matches!(method.as_str(), "GET" | "POST" | "HEAD"),
        "method {method:?} accepted"
    );
    let path = target
        .strip_prefix('/')
        .unwrap_or_else(|| panic!("not origin form: {target:?}"));
    for bad in ["?", "#", ";", "\\", "//"] {
        assert!(!target.contains(bad), "{bad:?} in accepted {target:?}");
    }
    assert!(
        !path.ends_with('/') && !path.is_empty(),
        "empty segment in {target:?}"
    );
    let lower = target.to_ascii_lowercase();
    for bad in ["%2f", "%5c", "%25", "%00", "%3f", "%23", "%3b"] {
        assert!(!lower.contains(bad), "{bad} in accepted {target:?}");
    }
    let mut decoded_segments = Vec::new();
    for raw in path.split('/') {
        let seg = percent_decode(raw).unwrap_or_else(|| panic!("bad escape in {target:?}"));
        assert!(!seg.is_empty(), "empty segment in {target:?}");
        assert!(seg != "." && seg != "..", "dot segment in {target:?}");
        assert!(
            seg.bytes().all(|b| b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b'.' | b':' | b'[' | b']')),
            "unexpected byte in segment {seg:?} of {target:?}"
        );
        decoded_segments.push(seg);
    }
    assert!(
        CONTROLLERS.contains(&decoded_segments[0].as_str()),
        "controller {:?} of {target:?}",
        decoded_segments[0]
    );
    let decoded = format!("/{}", decoded_segments.join("/"));
    assert_eq!(
        classify(&method, &decoded),
        Ok(endpoint),
        "{target:?} and its decoded form {decoded:?} differ"
    );
});

/// `%XX` → byte; `None` for a malformed escape or non-UTF-8 output.
fn percent_decode(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
