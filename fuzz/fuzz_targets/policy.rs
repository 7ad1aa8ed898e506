//! The rule engine on arbitrary bodies, for every kind of sync endpoint.
//!
//! Input layout: `[scenario] [flags] body...`
//!
//! - `scenario` (mod the number of [`SCENARIOS`]) picks the method, the
//!   request target, the destination (an instance or a feed) and whether
//!   the body is sent as the request body or judged as the response body.
//! - `flags`: bit 0 picks the destination instance of sync scenarios
//!   (`alpha_2`, plain rules, or `delta_1`, which requires the `tlp`
//!   taxonomy); bits 1-2 the request `Content-Type`; bits 3-5 the response
//!   status; bit 6 whether the response carries an `X-UserOrgUUID`.
//!
//! Beyond "no panic", the verdict is checked against what the engine
//! promises (src/policy/mod.rs, endpoint.rs, rules.rs, read.rs):
//!
//! - a request body is only let through when the endpoint takes one, it is
//!   declared `application/json`, and it is one well-formed JSON document
//!   (RFC 8259, checked by an independent validator below); an empty body
//!   only where the endpoint takes none or optional JSON; never a body on a
//!   feed request;
//! - an inspected response body (every kind but `Unchecked`, unless the
//!   status carries no content and the body is empty) is only let through
//!   when it is well-formed JSON; a feed's manifest and event files (status
//!   200 or unknown) only when they are a JSON object.

#![no_main]

use libfuzzer_sys::fuzz_target;
use misp_warden::config::Config;
use misp_warden::policy::{
    Case, Connection, EventVerdicts, Framing, RequestBody, ResponseBody, SourceSpec, classify,
    evaluate,
};
use std::net::IpAddr;
use std::sync::OnceLock;

const CONFIG: &str = include_str!("../../tests/fixtures/parity/config.json");

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The body is the request body.
    Request,
    /// The body is the response body (the request has none).
    Response,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Between instances `alpha_1` → `alpha_2` / `delta_1`.
    Sync,
    /// A feed file: `(host, checked JSON object?)`.
    Feed(&'static str, bool),
}

struct Scenario {
    method: &'static str,
    target: &'static str,
    mode: Mode,
    kind: Kind,
}

const fn sync(method: &'static str, target: &'static str, mode: Mode) -> Scenario {
    Scenario {
        method,
        target,
        mode,
        kind: Kind::Sync,
    }
}

const fn feed(host: &'static str, target: &'static str, mode: Mode, object: bool) -> Scenario {
    Scenario {
        method: "GET",
        target,
        mode,
        kind: Kind::Feed(host, object),
    }
}

use Mode::{Request, Response};

const F1: &str = "feed1.mirror.example";
const F2: &str = "feed2.mirror.example";

/// The order is part of the seed format: append, never reorder.
const SCENARIOS: &[Scenario] = &[
    /* 0 */ sync("POST", "/events/add/metadata:1", Request),
    /* 1 */ sync("POST", "/events/add", Request),
    /* 2 */
    sync(
        "POST",
        "/events/edit/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f/metadata:1",
        Request,
    ),
    /* 3 */ sync("POST", "/events/edit/42", Request),
    /* 4 */ sync("POST", "/galaxies/pushCluster", Request),
    /* 5 */
    sync(
        "POST",
        "/events/pushProposals/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 6 */
    sync(
        "POST",
        "/sightings/bulkSaveSightings/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 7 */ sync("POST", "/analyst_data/pushAnalystData", Request),
    /* 8 */ sync("POST", "/events/index", Request),
    /* 9 */ sync("POST", "/galaxy_clusters/restSearch", Request),
    /* 10 */ sync("POST", "/servers/postTest", Request),
    /* 11 */ sync("POST", "/events/filterEventIdsForPush", Request),
    /* 12 */ sync("POST", "/analyst_data/filterAnalystDataForPush", Request),
    /* 13 */
    sync(
        "POST",
        "/sightings/filterSightingUuidsForPush/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 14 */ sync("GET", "/servers/getVersion.json", Request),
    /* 15 */
    sync(
        "GET",
        "/events/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 16 */
    sync(
        "GET",
        "/events/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/excludeLocalTags:1",
        Response,
    ),
    /* 17 */
    sync(
        "GET",
        "/shadow_attributes/index/all:1/timestamp:0",
        Response,
    ),
    /* 18 */
    sync(
        "GET",
        "/galaxy_clusters/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 19 */ sync("POST", "/sightings/restSearch/event", Response),
    /* 20 */
    sync(
        "GET",
        "/analyst_data/index/Note/uuid[]:5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 21 */
    sync(
        "GET",
        "/analyst_data/index/Relationship/uuid[]:5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Response,
    ),
    /* 22 */ sync("POST", "/events/index", Response),
    /* 23 */
    sync(
        "GET",
        "/events/view/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f",
        Request,
    ),
    /* 24 */ feed(F1, "/doc/misp/feed-osint/manifest.json", Response, true),
    /* 25 */
    feed(
        F1,
        "/doc/misp/feed-osint/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.json",
        Response,
        true,
    ),
    /* 26 */
    feed(
        F2,
        "/feeds/misp/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.json",
        Response,
        true,
    ),
    /* 27 */ feed(F2, "/feeds/misp/hashes.csv", Response, false),
    /* 28 */
    feed(
        F1,
        "/doc/misp/feed-osint/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.asc",
        Response,
        false,
    ),
    /* 29 */
    feed(
        F1,
        "/doc/misp/feed-osint/5b6a6bd0-4a4c-4a7e-8a6e-0a1b2c3d4e5f.json",
        Request,
        true,
    ),
    /* 30 */ sync("POST", "/users/resetauthkey/me", Request),
    /* 31 */ sync("POST", "/analyst_data/indexMinimal", Request),
];

const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("Application/JSON; charset=UTF-8"),
    None,
    Some("text/xml"),
];

const STATUSES: [Option<u16>; 8] = [
    None,
    Some(200),
    Some(204),
    Some(304),
    Some(404),
    Some(100),
    Some(500),
    Some(200),
];

fn config() -> &'static Config {
    static CONFIG_ONCE: OnceLock<Config> = OnceLock::new();
    CONFIG_ONCE.get_or_init(|| Config::from_json(CONFIG).expect("the parity config is valid"))
}

fuzz_target!(|data: &[u8]| {
    let [scenario, flags, body @ ..] = data else {
        return;
    };
    let s = &SCENARIOS[*scenario as usize % SCENARIOS.len()];
    let delta = flags & 1 != 0;
    let content_type = CONTENT_TYPES[(*flags as usize >> 1) & 3];
    let status = STATUSES[(*flags as usize >> 3) & 7];
    let user_org = (flags & 0x40 != 0).then_some("55f6ea5e-2c60-40e5-964f-47a8950d210f");
    let (destination_ip, name) = match s.kind {
        Kind::Sync if delta => (
            Some("2001:db8::41".parse::<IpAddr>().unwrap()),
            "delta1.zone-d.example",
        ),
        Kind::Sync => (
            Some("192.0.2.12".parse::<IpAddr>().unwrap()),
            "alpha2.zone-a.example",
        ),
        Kind::Feed(host, _) => (None, host),
    };
    let mut request = http::Request::builder()
        .method(s.method)
        .uri(s.target)
        .header("host", name);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let request = request.body(()).expect("scenario heads build").into_parts().0;
    let mut response = http::Response::builder().status(status.unwrap_or(200));
    if let Some(org) = user_org {
        response = response.header("x-userorguuid", org);
    }
    let response = response.body(()).expect("statuses build").into_parts().0;
    let (request_body, response): (&[u8], _) = match s.mode {
        Request => (body, None),
        Response => (&[], Some((&response, body))),
    };
    let case = Case {
        connection: Connection {
            source: SourceSpec::Instance("alpha_1"),
            destination_ip,
            port: 443,
            tls: true,
            sni: Some(name),
        },
        request: &request,
        framing: Framing::default(),
        request_body,
        response,
    };
    let verdict = evaluate(config(), &case, &EventVerdicts::default());

    // The block message is what reaches the log: it must render.
    if let Err(block) = &verdict {
        let _ = block.to_string();
        let _ = block.rule_path();
        return;
    }

    // Allowed: check that it was allowed to be.
    match (s.kind, s.mode) {
        (Kind::Sync, mode) => {
            let endpoint = classify(s.method, s.target).expect("scenario targets classify");
            match mode {
                Request => {
                    if body.is_empty() {
                        assert!(
                            matches!(
                                endpoint.request,
                                RequestBody::Empty | RequestBody::Nothing
                            ),
                            "empty body allowed for {} which requires one",
                            endpoint.name
                        );
                    } else {
                        assert!(
                            endpoint.request != RequestBody::Empty,
                            "a body allowed for {}, which takes none",
                            endpoint.name
                        );
                        assert!(
                            is_json_media_type(content_type),
                            "a body declared {content_type:?} allowed"
                        );
                        assert!(
                            strict_json(body),
                            "a request body that is not JSON allowed for {}",
                            endpoint.name
                        );
                    }
                }
                Response => {
                    let no_content = matches!(status, Some(100..=199 | 204 | 304));
                    if endpoint.response != ResponseBody::Unchecked
                        && !(no_content && body.is_empty())
                    {
                        assert!(
                            strict_json(body),
                            "a response body that is not JSON allowed for {}",
                            endpoint.name
                        );
                    }
                }
            }
        }
        (Kind::Feed(..), Request) => {
            assert!(body.is_empty(), "a body on a feed request allowed");
        }
        (Kind::Feed(_, object), Response) => {
            if object && matches!(status, None | Some(200)) {
                assert!(
                    strict_json(body) && first_non_ws(body) == Some(b'{'),
                    "a feed file that is not a JSON object allowed: {}",
                    s.target
                );
            }
        }
    }
});

fn is_json_media_type(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn first_non_ws(b: &[u8]) -> Option<u8> {
    b.iter().copied().find(|c| !is_ws(*c))
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// One JSON text as RFC 8259 defines it, in UTF-8: written independently of
/// serde_json (no recursion, no depth limit), so the engine's parser is
/// checked rather than restated.
fn strict_json(b: &[u8]) -> bool {
    if std::str::from_utf8(b).is_err() {
        return false;
    }
    let mut p = Parser { b, i: 0 };
    p.ws();
    if !p.value() {
        return false;
    }
    p.ws();
    p.i == b.len()
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Array,
    Object,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn lit(&mut self, s: &[u8]) -> bool {
        if self.b[self.i..].starts_with(s) {
            self.i += s.len();
            true
        } else {
            false
        }
    }

    /// A value, with containers walked on an explicit stack.
    fn value(&mut self) -> bool {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // Expecting a value here.
            self.ws();
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.eat(b'}') {
                        // empty object: a complete value
                    } else {
                        if !self.key() {
                            return false;
                        }
                        stack.push(Frame::Object);
                        continue;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.eat(b']') {
                        // empty array: a complete value
                    } else {
                        stack.push(Frame::Array);
                        continue;
                    }
                }
                Some(b'"') => {
                    if !self.string() {
                        return false;
                    }
                }
                Some(b't') => {
                    if !self.lit(b"true") {
                        return false;
                    }
                }
                Some(b'f') => {
                    if !self.lit(b"false") {
                        return false;
                    }
                }
                Some(b'n') => {
                    if !self.lit(b"null") {
                        return false;
                    }
                }
                Some(b'-' | b'0'..=b'9') => {
                    if !self.number() {
                        return false;
                    }
                }
                _ => return false,
            }
            // A value is complete: close containers or go on to the next one.
            loop {
                let Some(top) = stack.last().copied() else {
                    return true;
                };
                self.ws();
                if self.eat(b',') {
                    if top == Frame::Object {
                        self.ws();
                        if !self.key() {
                            return false;
                        }
                    }
                    break;
                }
                let close = if top == Frame::Object { b'}' } else { b']' };
                if self.eat(close) {
                    stack.pop();
                    continue;
                }
                return false;
            }
        }
    }

    /// `"key" :`
    fn key(&mut self) -> bool {
        if self.peek() != Some(b'"') || !self.string() {
            return false;
        }
        self.ws();
        self.eat(b':')
    }

    fn string(&mut self) -> bool {
        self.i += 1; // the opening quote
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    self.i += 1;
                    return true;
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                    return false;
                                }
                                self.i += 1;
                            }
                        }
                        _ => return false,
                    }
                }
                Some(c) if c < 0x20 => return false,
                Some(_) => self.i += 1,
            }
        }
    }

    fn number(&mut self) -> bool {
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
            }
            _ => return false,
        }
        if self.eat(b'.') {
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return false;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return false;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        true
    }
}
