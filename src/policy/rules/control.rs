//! The bodies around events: filters, push filters, minimal indexes,
//! sightings, proposals, pushed clusters and analyst data, and the answer
//! to a pushed event.
//!
//! Each is closed to MISP's own shape (`model/control.rs`). The filters are
//! judged for what they would make the other side return; the indexes for
//! carrying nothing but what MISP's sync reads (uuids, timestamps); the
//! children of events (sightings, proposals) by the memory of their event.

use super::super::endpoint::Endpoint;
use super::super::read::{Body, malformed, parse, parse_object, parse_seed};
use super::{Checker, Outcome, event_uuid};
use crate::policy::model::*;
use crate::policy::{Block, RequestBody, ResponseBody, Rule};
use serde::de::IgnoredAny;

/// Reads `body` as `T`, only to check its shape.
fn shape<'a, T: serde::Deserialize<'a>>(body: Body<'a>) -> Outcome {
    parse::<T>(body).map(|_| ())
}

impl Checker<'_> {
    pub(super) fn control_request(
        &self,
        kind: RequestBody,
        endpoint: &Endpoint,
        body: Body,
    ) -> Outcome {
        match kind {
            RequestBody::Empty | RequestBody::Event => unreachable!("judged by the caller"),
            RequestBody::Nothing if body.trimmed_is(&[b"", b"[]", b"{}"]) => Ok(()),
            RequestBody::Nothing => Err(malformed("a body where MISP sends none")),
            RequestBody::PostTest => shape::<ObjectOnly<PostTest>>(body),
            RequestBody::EventIndexFilter => {
                let f: EventIndexFilter = parse_object(body)?;
                minimal_published(f.minimal, f.published, endpoint)
            }
            RequestBody::ClusterSearchFilter => {
                let f: ClusterSearchFilter = parse_object(body)?;
                minimal_published(f.minimal, f.published, endpoint)
            }
            RequestBody::SightingSearch => shape::<ObjectOnly<SightingSearch>>(body),
            RequestBody::AnalystIndexFilter => shape::<ObjectOnly<AnalystIndexFilter>>(body),
            RequestBody::EventIdsForPush => shape::<Vec<ObjectOnly<EventStub>>>(body),
            RequestBody::SightingUuids => shape::<Vec<IgnoredAny>>(body).and_then(|_| uuids(body)),
            RequestBody::AnalystCandidates => shape::<ObjectOnly<AnalystCandidates>>(body),
            RequestBody::GalaxyClusters => {
                let clusters: Vec<ObjectOnly<GalaxyClusterEnvelope>> = parse(body)?;
                clusters
                    .iter()
                    .try_for_each(|c| self.galaxy_cluster(&c.0.cluster, true))
            }
            RequestBody::ShadowAttributes => {
                // Pushed bare (MISP's `pushProposals` reads no wrapper), for
                // the event in the path.
                let subject = endpoint.subject.map(|s| s.as_str().to_string());
                let proposals: Vec<ObjectOnly<Attribute>> = parse(body)?;
                for p in &proposals {
                    self.attribute(&p.0)?;
                    if let Some(e) = p.0.event_uuid.as_deref()
                        && !e
                            .trim()
                            .eq_ignore_ascii_case(subject.as_deref().unwrap_or_default())
                    {
                        return Err(malformed(
                            "a proposal for another event than the one in the path",
                        ));
                    }
                }
                if proposals.is_empty() {
                    return Ok(());
                }
                self.seen_event("proposals", subject.as_deref())
            }
            RequestBody::Sightings => {
                let sightings: Vec<ObjectOnly<Sighting>> = parse(body)?;
                if sightings.is_empty() {
                    return Ok(());
                }
                let subject = endpoint.subject.map(|s| s.as_str().to_string());
                self.seen_event("sightings", subject.as_deref())
            }
            RequestBody::AnalystData => self.analyst_envelope(&parse_object(body)?),
        }
    }

    pub(super) fn control_response(&self, kind: ResponseBody, body: Body) -> Outcome {
        match kind {
            ResponseBody::Unchecked | ResponseBody::Event | ResponseBody::PushAnswer => {
                unreachable!("judged by the caller")
            }
            ResponseBody::MinimalIndex => shape::<Vec<ObjectOnly<MinimalIndexEntry>>>(body),
            ResponseBody::ClusterIndex => {
                if body.trimmed_is(&[b"[]"]) {
                    return Ok(());
                }
                shape::<ObjectOnly<ClusterIndex>>(body)
            }
            ResponseBody::Uuids => uuids(body),
            ResponseBody::AnalystCandidates => {
                if body.trimmed_is(&[b"[]"]) {
                    return Ok(());
                }
                shape::<ObjectOnly<AnalystCandidates>>(body)
            }
            ResponseBody::ShadowAttributes => {
                let proposals: Vec<ObjectOnly<ProposalEnvelope>> = parse(body)?;
                proposals.iter().try_for_each(|p| {
                    self.attribute(&p.0.proposal)?;
                    self.seen_event("a proposal", p.0.proposal.event_uuid.as_deref())
                })
            }
            ResponseBody::GalaxyCluster => {
                let env: GalaxyClusterEnvelope = parse_object(body)?;
                self.galaxy_cluster(&env.cluster, true)
            }
            ResponseBody::Sightings => {
                // (misp-guard's tests answer `[]`: no sighting either way.)
                if body.trimmed_is(&[b"[]"]) {
                    return Ok(());
                }
                let answer: SightingsAnswer = parse_object(body)?;
                answer.response.iter().try_for_each(|s| {
                    self.seen_event("a sighting", s.sighting.event_uuid.as_deref())
                })
            }
            ResponseBody::AnalystData => {
                // misp-guard stops after the first element; every one is
                // checked here.
                let items: Vec<ObjectOnly<AnalystEnvelope>> = parse(body)?;
                items.iter().try_for_each(|e| self.analyst_envelope(&e.0))
            }
        }
    }

    /// MISP's JSON error: no data in it.
    pub(super) fn error_answer(&self, body: Body) -> Outcome {
        shape::<ObjectOnly<ErrorAnswer>>(body)
    }

    /// The receiver's answer to a pushed event: the event as it saved it,
    /// plus what it shows of its own data — the events of its own that
    /// correlate, the full galaxy clusters — judged by the receiver's rules
    /// (this checker's). The event itself must be the one this exchange
    /// pushed (`events/edit/{id}` answers with the event of the path, which
    /// need not be the one pushed).
    pub(super) fn push_answer(&self, body: Body, pushed: Option<&str>) -> Outcome {
        let top = parse_seed(body, EventSeed(&ShapeOnly))?;
        let Some(event) = top.wrapped.as_deref() else {
            return Err(malformed("no `Event` property in the answer to a push"));
        };
        let uuid = event_uuid(event);
        if pushed.is_none() || uuid.as_deref() != pushed {
            let mut b = Block::new(
                Rule::UnjudgedEvent,
                "the answer to a push shows another event than the one pushed",
            );
            b.event_uuid = uuid;
            return Err(b);
        }
        for row in &event.related {
            self.event_row("related event", row)?;
        }
        for g in &event.galaxies {
            for c in &g.clusters {
                self.galaxy_cluster(c, false)?;
            }
        }
        Ok(())
    }
}

/// The search filters' one rule: nothing but the minimal, published index.
fn minimal_published(minimal: bool, published: bool, endpoint: &Endpoint) -> Outcome {
    if minimal && published {
        Ok(())
    } else {
        Err(Block::new(
            Rule::MinimalPublished,
            format!(
                "{{'minimal': 1, 'published': 1}} is required for /{} requests",
                endpoint.name
            ),
        ))
    }
}

/// A list of UUID strings.
fn uuids(body: Body) -> Outcome {
    let list: Vec<std::borrow::Cow<str>> = parse(body)?;
    if list.iter().all(|u| crate::misp::is_uuid(u.trim())) {
        Ok(())
    } else {
        Err(malformed("a list of UUIDs with something else in it"))
    }
}

/// Reads an event's elements for their shape only: the answer to a push
/// echoes the pusher's own event, judged on the way out.
struct ShapeOnly;

impl ElementJudge for ShapeOnly {
    fn attribute(&self, _: &Attribute) -> Verdict {
        Ok(())
    }
    fn object(&self, _: &Object) -> Verdict {
        Ok(())
    }
}
