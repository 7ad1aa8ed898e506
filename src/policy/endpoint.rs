//! The sync endpoint table: which `(method, path)` pairs MISP uses during
//! server synchronisation, and what the guard must inspect for each.
//!
//! Everything that is not in this table is refused. The table is the single
//! place that knows MISP's URL shapes; the daemon, `eval` and the tests all
//! classify through [`classify`]. Named parameters (`/key:value`) are
//! closed too: each endpoint takes exactly those MISP's own sync sends
//! (`events/view` would otherwise add other events' titles and values with
//! `includeGranularCorrelations:1`, or merge other events in with
//! `extended:1`); any other is refused by name.
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
/// Every body is closed to the keys MISP's own sync sends (see
/// `model/control.rs` for the small ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// No body at all (GET, HEAD).
    Empty,
    /// Empty, `[]` or `{}`: MISP sends `[]` and the receiver reads nothing.
    Nothing,
    /// `{"testString": …}`.
    PostTest,
    /// `events/index`: `minimal: 1`, `published: 1`, the pull rules' filters.
    EventIndexFilter,
    /// `galaxy_clusters/restSearch`: `minimal: 1`, `published: 1`, uuids.
    ClusterSearchFilter,
    /// `sightings/restSearch`: without `includeAttribute`/`includeEvent`.
    SightingSearch,
    /// `analyst_data/indexMinimal`: `{"orgc_name": …}`.
    AnalystIndexFilter,
    /// `[{"Event": {"uuid", "timestamp"}}]`.
    EventIdsForPush,
    /// A list of sighting UUIDs.
    SightingUuids,
    /// `{"Note"|"Opinion"|"Relationship": {uuid: modified}}`.
    AnalystCandidates,
    /// `{"Event": {...}}` (or the bare event), checked against every rule.
    Event,
    /// `[{"GalaxyCluster": {...}}, ...]`.
    GalaxyClusters,
    /// `[{...proposal...}, ...]` for the event in the path.
    ShadowAttributes,
    /// `[{...sighting...}, ...]` for the event in the path.
    Sightings,
    /// `{"Note"|"Opinion"|"Relationship": {...}}`.
    AnalystData,
}

/// What the guard must find in a response body before the client may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// Not inspected: the response carries nothing of the data owner's
    /// (versions, the caller's own account, the pusher's own body echoed,
    /// counts of what was saved).
    Unchecked,
    /// The minimal event index: uuids, timestamps, nothing else.
    MinimalIndex,
    /// The minimal cluster index: uuids and versions.
    ClusterIndex,
    /// A list of UUIDs (which of the offered ones the receiver wants).
    Uuids,
    /// Analyst-data uuids and dates.
    AnalystCandidates,
    /// `{"Event": {...}}`.
    Event,
    /// The receiver's answer to a pushed event: the event as it saved it.
    PushAnswer,
    /// `[{"ShadowAttribute": {...}}, ...]`.
    ShadowAttributes,
    /// `{"GalaxyCluster": {...}}`.
    GalaxyCluster,
    /// `{"response": [{"Sighting": {...}}]}`.
    Sightings,
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
    /// The UUID in the path (`events/edit/{uuid}`, `pushProposals/{uuid}`…):
    /// the event the body must be about.
    pub subject: Option<PathUuid>,
}

/// A UUID taken from a request path, lower-cased.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PathUuid([u8; 36]);

impl PathUuid {
    fn new(s: &str) -> Option<PathUuid> {
        let bytes: [u8; 36] = s.as_bytes().try_into().ok()?;
        is_uuid(s).then(|| PathUuid(bytes.map(|b| b.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        // Built from ASCII hex digits and dashes only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for PathUuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Named parameters from this list, each at most once.
    Params(&'static [Param]),
    /// 1..=100 `uuid[]:<uuid>` segments (MISP batches analyst data by 100).
    UuidList,
}

/// A named parameter MISP's own sync sends, and the values it sends.
#[derive(Debug, Clone, Copy)]
struct Param {
    key: &'static str,
    value: Value,
}

#[derive(Debug, Clone, Copy)]
enum Value {
    Is(&'static str),
    Number,
}

const fn is(key: &'static str, v: &'static str) -> Param {
    Param {
        key,
        value: Value::Is(v),
    }
}

const fn number(key: &'static str) -> Param {
    Param {
        key,
        value: Value::Number,
    }
}

/// `events/add` and `events/edit`: MISP's push always says `metadata:1`.
const METADATA: &[Param] = &[is("metadata", "0"), is("metadata", "1")];

/// `events/view` as MISP's pull asks for it (and the older sightings pull,
/// which adds the last three): everything that would add other events'
/// data switched off.
const VIEW: &[Param] = &[
    is("deleted[]", "0"),
    is("deleted[]", "1"),
    is("excludeGalaxy", "1"),
    is("includeEventCorrelations", "0"),
    is("includeFeedCorrelations", "0"),
    is("includeWarninglistHits", "0"),
    is("excludeLocalTags", "1"),
    is("includeAttachments", "0"),
    is("noEventReports", "1"),
    is("noShadowAttributes", "1"),
];

/// `shadow_attributes/index` as MISP's proposal pull pages through it.
const PROPOSALS: &[Param] = &[
    is("all", "1"),
    number("timestamp"),
    number("limit"),
    number("page"),
    is("deleted[]", "0"),
    is("deleted[]", "1"),
];

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
        subject: None,
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
            RequestBody::PostTest,
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
        method: "POST",
        segs: &[Lit("events"), Lit("index")],
        tail: Tail::None,
        endpoint: ep(
            "events/index",
            Control,
            RequestBody::EventIndexFilter,
            ResponseBody::MinimalIndex,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("users"), Lit("resetauthkey"), Lit("me")],
        tail: Tail::None,
        endpoint: Endpoint {
            name: "users/resetauthkey/me",
            direction: Control,
            request: RequestBody::Nothing,
            response: ResponseBody::Unchecked,
            needs_auth_key_refresh: true,
            subject: None,
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
            RequestBody::EventIdsForPush,
            ResponseBody::Uuids,
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
        tail: Tail::Params(METADATA),
        endpoint: ep(
            "events/add",
            Push,
            RequestBody::Event,
            ResponseBody::PushAnswer,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("events"), Lit("edit"), UuidOrId],
        tail: Tail::Params(METADATA),
        endpoint: ep(
            "events/edit",
            Push,
            RequestBody::Event,
            ResponseBody::PushAnswer,
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
            RequestBody::ClusterSearchFilter,
            ResponseBody::ClusterIndex,
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
            RequestBody::SightingUuids,
            ResponseBody::Uuids,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("sightings"), Lit("bulkSaveSightings"), Uuid],
        tail: Tail::None,
        endpoint: ep(
            "sightings/bulkSaveSightings",
            Push,
            // Judged by their event (they carry nothing a rule reads).
            RequestBody::Sightings,
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
            RequestBody::AnalystCandidates,
            ResponseBody::AnalystCandidates,
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
        tail: Tail::Params(VIEW),
        endpoint: ep("events/view", Pull, RequestBody::Empty, ResponseBody::Event),
    },
    Row {
        method: "GET",
        segs: &[Lit("shadow_attributes"), Lit("index")],
        tail: Tail::Params(PROPOSALS),
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
            RequestBody::SightingSearch,
            ResponseBody::Sightings,
        ),
    },
    Row {
        method: "POST",
        segs: &[Lit("analyst_data"), Lit("indexMinimal")],
        tail: Tail::None,
        endpoint: ep(
            "analyst_data/indexMinimal",
            Control,
            RequestBody::AnalystIndexFilter,
            ResponseBody::AnalystCandidates,
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
    let mut bad_param = None;
    for row in TABLE {
        match matches_row(row, &segments) {
            Match::Yes(subject) if row.method == method => {
                return Ok(Endpoint {
                    subject,
                    ..row.endpoint
                });
            }
            Match::Yes(_) => path_known = true,
            Match::Param(why) if row.method == method => bad_param = Some(why),
            Match::Param(_) | Match::No => {}
        }
    }
    if let Some(why) = bad_param {
        Err(Block::new(Rule::UnknownKey, why))
    } else if path_known {
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

/// How a path compares with a row of the table.
enum Match {
    No,
    /// The row, with the UUID its path names (if any).
    Yes(Option<PathUuid>),
    /// The row's path, with a named parameter it does not take.
    Param(String),
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

fn matches_row(row: &Row, segments: &[String]) -> Match {
    if segments.len() < row.segs.len() {
        return Match::No;
    }
    let (head, tail) = segments.split_at(row.segs.len());
    let mut subject = None;
    for (pat, seg) in row.segs.iter().zip(head) {
        let ok = match pat {
            Lit(lit) => seg == lit,
            Uuid => is_uuid(seg),
            UuidOrId => is_uuid(seg) || is_decimal_id(seg),
            AnalystType => matches!(seg.as_str(), "Note" | "Opinion" | "Relationship"),
        };
        if !ok {
            return Match::No;
        }
        if matches!(pat, Uuid | UuidOrId) {
            subject = PathUuid::new(seg);
        }
    }
    match tail_check(row.tail, tail) {
        Ok(true) => Match::Yes(subject),
        Ok(false) => Match::No,
        Err(why) => Match::Param(why),
    }
}

/// Whether `segs` is a tail the row takes; `Err` names a parameter of the
/// right syntax that the row does not take (or takes twice).
fn tail_check(tail: Tail, segs: &[String]) -> Result<bool, String> {
    match tail {
        Tail::None => Ok(segs.is_empty()),
        Tail::Params(allowed) => {
            let mut seen: Vec<(&str, &str)> = Vec::new();
            for seg in segs {
                let Some((key, value)) = named_param(seg) else {
                    return Ok(false);
                };
                let known = allowed.iter().any(|p| {
                    p.key == key
                        && match p.value {
                            Value::Is(v) => v == value,
                            Value::Number => is_decimal_id(value),
                        }
                });
                if !known {
                    return Err(format!(
                        "named parameter {}:{} is not one MISP's sync sends on this endpoint",
                        printable_param(key),
                        printable_param(value)
                    ));
                }
                // `deleted[]` comes twice (0 and 1); nothing comes twice
                // with the same value, and a scalar key comes once.
                let repeated = seen
                    .iter()
                    .any(|(k, v)| *k == key && (*v == value || !key.ends_with("[]")));
                if repeated {
                    return Err(format!(
                        "named parameter {} given twice",
                        printable_param(key)
                    ));
                }
                seen.push((key, value));
            }
            Ok(true)
        }
        Tail::UuidList => Ok((1..=MAX_UUID_LIST).contains(&segs.len())
            && segs
                .iter()
                .all(|s| matches!(named_param(s), Some(("uuid[]", v)) if is_uuid(v)))),
    }
}

/// A parameter's key or value as a message shows it: what the path
/// allows (letters, digits, `_[]-.`), bounded.
fn printable_param(s: &str) -> String {
    s.chars().take(64).collect()
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
