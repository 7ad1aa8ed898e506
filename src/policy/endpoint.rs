//! The sync endpoint table: which `(method, path)` pairs MISP uses during
//! server synchronisation, and what the guard must inspect for each.
//!
//! Everything that is not in this table is refused. The table is the single
//! place that knows MISP's URL shapes; the daemon, `eval` and the tests all
//! classify through [`classify`].
//!
//! Matching is done on *decoded* path segments, but anything whose meaning a
//! web framework could read differently from us is refused rather than
//! normalised: `.` and `..` segments, empty segments (`//`, a trailing `/`),
//! percent-encoded `/`, `\` or control bytes, `;` parameters, query strings,
//! fragments, and characters MISP never puts in a sync URL. Literal segments
//! are matched case-sensitively: CakePHP may route `/Events/add` to the same
//! action, so a case variant is refused instead of being waved through as
//! "unknown but harmless".

use super::{Block, Rule};
use crate::misp::is_uuid;

/// Which side's data an endpoint carries, and so whose rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The client sends data in the request body: the source instance's rules.
    Push,
    /// The server sends data in the response body: the destination's rules.
    Pull,
    /// Capability probes, tests and filters that carry no shareable content.
    Control,
}

/// What the guard must find in a request body before it may be forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// No body at all (GET, HEAD).
    Empty,
    /// Empty, or one well-formed JSON document (filters, tests, id lists:
    /// they carry no content a rule reads).
    OptionalJson,
    /// A search filter that must say `minimal: 1` and `published: 1`.
    MinimalPublishedFilter,
    /// `{"Event": {...}}`, checked against every rule.
    Event,
    /// `[{"GalaxyCluster": {...}}, ...]`.
    GalaxyClusters,
    /// `[{...shadow attribute...}, ...]` (or wrapped in `ShadowAttribute`).
    ShadowAttributes,
    /// `{"Note"|"Opinion"|"Relationship": {...}}`.
    AnalystData,
}

/// What the guard must find in a response body before the client may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// Not inspected: the response carries no data of the data owner's that
    /// the rules speak about (versions, minimal indexes, push answers).
    Unchecked,
    /// `{"Event": {...}}`.
    Event,
    /// `[{"ShadowAttribute": {...}}, ...]`.
    ShadowAttributes,
    /// `{"GalaxyCluster": {...}}`.
    GalaxyCluster,
    /// Any well-formed JSON (sightings carry no field the rules read).
    Json,
    /// `[{"Note"|"Opinion"|"Relationship": {...}}, ...]`.
    AnalystData,
}

/// One row of the endpoint table, as matched for a concrete request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// A stable label for logs and metrics, e.g. `events/add`.
    pub name: &'static str,
    pub direction: Direction,
    pub request: RequestBody,
    pub response: ResponseBody,
    /// Allowed only when the destination instance sets
    /// `allow_sync_auth_key_refresh` (misp-guard's option of that name).
    pub needs_auth_key_refresh: bool,
}

/// A path segment pattern.
#[derive(Debug, Clone, Copy)]
enum Seg {
    Lit(&'static str),
    /// A UUID, any case.
    Uuid,
    /// A UUID or a decimal database id.
    UuidOrId,
    /// `Note`, `Opinion` or `Relationship`.
    AnalystType,
}

/// What may follow the fixed segments.
#[derive(Debug, Clone, Copy)]
enum Tail {
    /// Nothing.
    None,
    /// Named parameters `key:value` / `key[]:value` with any key.
    NamedParams,
    /// Only `metadata:0|1`, as MISP's push uses.
    Metadata,
    /// 1..=100 `uuid[]:<uuid>` segments (MISP batches analyst data by 100).
    UuidList,
}

struct Row {
    method: &'static str,
    segs: &'static [Seg],
    tail: Tail,
    endpoint: Endpoint,
}

const fn ep(
    name: &'static str,
    direction: Direction,
    request: RequestBody,
    response: ResponseBody,
) -> Endpoint {
    Endpoint {
        name,
        direction,
        request,
        response,
        needs_auth_key_refresh: false,
    }
}

use Direction::*;
use Seg::*;

const TABLE: &[Row] = &[
    // Both directions.
    Row {
        method: "GET",
        segs: &[Lit("servers"), Lit("getVersion")],
        tail: Tail::None,
        endpoint: ep(
            "servers/getVersion",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("servers"), Lit("postTest")],
        tail: Tail::None,
        endpoint: ep(
            "servers/postTest",
            Control,
            RequestBody::OptionalJson,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("users"), Lit("view"), Lit("me")],
        tail: Tail::None,
        endpoint: ep(
            "users/view/me",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("servers"), Lit("getAvailableSyncFilteringRules")],
        tail: Tail::None,
        endpoint: ep(
            "servers/getAvailableSyncFilteringRules",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("index")],
        tail: Tail::None,
        endpoint: ep(
            "events/index",
            Control,
            RequestBody::MinimalPublishedFilter,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("users"), Lit("resetauthkey"), Lit("me")],
        tail: Tail::None,
        endpoint: Endpoint {
            name: "users/resetauthkey/me",
            direction: Control,
            request: RequestBody::OptionalJson,
            response: ResponseBody::Unchecked,
            needs_auth_key_refresh: true,
        },
    },
    // Push.
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("filterEventIdsForPush")],
        tail: Tail::None,
        endpoint: ep(
            "events/filterEventIdsForPush",
            Control,
            RequestBody::OptionalJson,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "HEAD",
        segs: &[Lit("events"), Lit("view"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "events/view (HEAD)",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("add")],
        tail: Tail::Metadata,
        endpoint: ep(
            "events/add",
            Push,
            RequestBody::Event,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("edit"), UuidOrId],
        tail: Tail::Metadata,
        endpoint: ep(
            "events/edit",
            Push,
            RequestBody::Event,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("eventReports"), Lit("add")],
        tail: Tail::None,
        endpoint: ep(
            "eventReports/add (probe)",
            Control,
            RequestBody::Empty,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("galaxy_clusters"), Lit("restSearch")],
        tail: Tail::None,
        endpoint: ep(
            "galaxy_clusters/restSearch",
            Control,
            RequestBody::MinimalPublishedFilter,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("galaxies"), Lit("pushCluster")],
        tail: Tail::None,
        endpoint: ep(
            "galaxies/pushCluster",
            Push,
            RequestBody::GalaxyClusters,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("pushProposals"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "events/pushProposals",
            Push,
            RequestBody::ShadowAttributes,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("sightings"), Lit("filterSightingUuidsForPush"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "sightings/filterSightingUuidsForPush",
            Control,
            RequestBody::OptionalJson,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("sightings"), Lit("bulkSaveSightings"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "sightings/bulkSaveSightings",
            Push,
            // Sightings carry no field a rule reads (misp-guard has no rule
            // for them either).
            RequestBody::OptionalJson,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("analyst_data"), Lit("filterAnalystDataForPush")],
        tail: Tail::None,
        endpoint: ep(
            "analyst_data/filterAnalystDataForPush",
            Control,
            RequestBody::OptionalJson,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("analyst_data"), Lit("pushAnalystData")],
        tail: Tail::None,
        endpoint: ep(
            "analyst_data/pushAnalystData",
            Push,
            RequestBody::AnalystData,
            ResponseBody::Unchecked,
        ),
    },
    // Pull.
    Row {
        method: "GET",
        segs: &[Lit("events"), Lit("view"), UuidOrId],
        tail: Tail::NamedParams,
        endpoint: ep("events/view", Pull, RequestBody::Empty, ResponseBody::Event),
    },
    Row {
        method: "GET",
        segs: &[Lit("shadow_attributes"), Lit("index")],
        tail: Tail::NamedParams,
        endpoint: ep(
            "shadow_attributes/index",
            Pull,
            RequestBody::Empty,
            ResponseBody::ShadowAttributes,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("galaxy_clusters"), Lit("view"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "galaxy_clusters/view",
            Pull,
            RequestBody::Empty,
            ResponseBody::GalaxyCluster,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("sightings"), Lit("restSearch"), Lit("event")],
        tail: Tail::None,
        endpoint: ep(
            "sightings/restSearch/event",
            Pull,
            RequestBody::OptionalJson,
            ResponseBody::Json,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("analyst_data"), Lit("indexMinimal")],
        tail: Tail::None,
        endpoint: ep(
            "analyst_data/indexMinimal",
            Control,
            RequestBody::OptionalJson,
            ResponseBody::Unchecked,
        ),
    },
    Row {
        method: "GET",
        segs: &[Lit("analyst_data"), Lit("index"), AnalystType],
        tail: Tail::UuidList,
        endpoint: ep(
            "analyst_data/index",
            Pull,
            RequestBody::Empty,
            ResponseBody::AnalystData,
        ),
    },
];

/// Most `uuid[]:` segments MISP puts in one analyst-data index request.
const MAX_UUID_LIST: usize = 100;

/// Classifies a request. `target` is the request target exactly as the
/// client sent it (origin form, `/path`).
pub fn classify(method: &str, target: &str) -> Result<Endpoint, Block> {
    let segments = decode_target(target)?;
    let (segments, _json_suffix) = strip_json_suffix(segments);
    let mut path_known = false;
    for row in TABLE {
        if matches_row(row, &segments) {
            if row.method == method {
                return Ok(row.endpoint);
            }
            path_known = true;
        }
    }
    if path_known {
        Err(Block::new(
            Rule::Endpoint,
            format!(
                "method {} is not allowed for this endpoint",
                printable(method)
            ),
        ))
    } else {
        Err(Block::new(Rule::Endpoint, "endpoint not allowed"))
    }
}

/// Splits an origin-form target into percent-decoded segments, refusing
/// everything ambiguous (see the module docs).
fn decode_target(target: &str) -> Result<Vec<String>, Block> {
    let refuse = |why: &str| Err(Block::new(Rule::Endpoint, format!("path refused: {why}")));
    let Some(path) = target.strip_prefix('/') else {
        return refuse("not an origin-form path");
    };
    if path.contains('?') {
        return refuse("query strings are not used by MISP sync");
    }
    if path.contains('#') {
        return refuse("fragment in request target");
    }
    let mut out = Vec::new();
    for raw in path.split('/') {
        let seg = match percent_decode(raw) {
            Some(s) => s,
            None => return refuse("malformed or disallowed percent-encoding"),
        };
        if seg.is_empty() {
            return refuse("empty path segment");
        }
        if seg == "." || seg == ".." {
            return refuse("dot segment");
        }
        if !seg.bytes().all(allowed_segment_byte) {
            return refuse("character not used in MISP sync paths");
        }
        out.push(seg);
    }
    Ok(out)
}

/// Bytes a decoded segment may contain: MISP's controllers, actions, UUIDs,
/// ids and named parameters (`deleted[]:0`, `excludeLocalTags:1`, `.json`).
fn allowed_segment_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'[' | b']')
}

/// Decodes `%XX` escapes. Returns `None` for a malformed escape or one that
/// decodes to `/`, `\`, `%`, a control byte or a non-ASCII byte: each would
/// change how a server splits or reads the path.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            let b = u8::from_str_radix(hex, 16).ok()?;
            if b == b'/' || b == b'\\' || b == b'%' || b.is_ascii_control() || !b.is_ascii() {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// CakePHP reads a trailing `.json` as the response type; the action is the
/// same with or without it.
fn strip_json_suffix(mut segments: Vec<String>) -> (Vec<String>, bool) {
    if let Some(last) = segments.last_mut()
        && let Some(stem) = last.strip_suffix(".json")
        && !stem.is_empty()
    {
        *last = stem.to_string();
        return (segments, true);
    }
    (segments, false)
}

fn matches_row(row: &Row, segments: &[String]) -> bool {
    if segments.len() < row.segs.len() {
        return false;
    }
    let (head, tail) = segments.split_at(row.segs.len());
    let head_ok = row.segs.iter().zip(head).all(|(pat, seg)| match pat {
        Lit(lit) => seg == lit,
        Uuid => is_uuid(seg),
        UuidOrId => is_uuid(seg) || is_decimal_id(seg),
        AnalystType => matches!(seg.as_str(), "Note" | "Opinion" | "Relationship"),
    });
    head_ok && tail_ok(row.tail, tail)
}

fn tail_ok(tail: Tail, segs: &[String]) -> bool {
    match tail {
        Tail::None => segs.is_empty(),
        Tail::NamedParams => segs.iter().all(|s| named_param(s).is_some()),
        Tail::Metadata => {
            segs.len() <= 1
                && segs
                    .iter()
                    .all(|s| matches!(named_param(s), Some(("metadata", "0" | "1"))))
        }
        Tail::UuidList => {
            (1..=MAX_UUID_LIST).contains(&segs.len())
                && segs
                    .iter()
                    .all(|s| matches!(named_param(s), Some(("uuid[]", v)) if is_uuid(v)))
        }
    }
}

/// Splits `key:value` / `key[]:value`. The key is letters, digits and `_`
/// with an optional `[]`; the value has no further `:`.
fn named_param(seg: &str) -> Option<(&str, &str)> {
    let (key, value) = seg.split_once(':')?;
    let name = key.strip_suffix("[]").unwrap_or(key);
    let key_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let value_ok = !value.contains(':') && !value.contains('[') && !value.contains(']');
    (key_ok && value_ok).then_some((key, value))
}

fn is_decimal_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A method name as it may appear in a message: printable ASCII, bounded.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(16)
        .collect()
}

#[cfg(test)]
mod tests;
