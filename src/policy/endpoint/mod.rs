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

mod path;
mod table;

use super::{Block, Rule};
use crate::misp::is_uuid;
use path::{
    decode_target, is_decimal_id, named_param, printable, printable_param, strip_json_suffix,
};
use table::Seg::{AnalystType, Lit, Uuid, UuidOrId};
use table::{MAX_UUID_LIST, Row, TABLE, Tail, Value};

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

#[cfg(test)]
mod tests;
