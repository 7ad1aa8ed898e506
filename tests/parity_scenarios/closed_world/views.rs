//! Classes 3 and 4 of the closed world: correlations in event views, and
//! the extras of a galaxy cluster view.

use super::*;

/// 3. Correlations in views: parameters that add other events' data, and
///    answers that carry it.
pub fn correlations() -> Vec<Scenario> {
    let view = view_path(EV_PULL, "");
    let misp_pull = || twin("MISP's own pull").path(leak(&view_path(EV_PULL, "")));
    let param = |name, path: String, key| {
        pull_cw(name, path, file(PULLED_EVENT))
            .expect(refuse(&[UNKNOWN_KEY, key]))
            .misp_guard(Expect::Allow)
            .twin(misp_pull())
            .twin(
                twin("MISP's pull from an internal server (local tags)").path(leak(&format!(
                    "/events/view/{EV_PULL}/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0"
                ))),
            )
            .twin(
                twin("MISP's old-way sightings pull").path(leak(&format!(
                    "/events/view/{EV_PULL}/deleted[]:0/deleted[]:1/excludeGalaxy:1/excludeLocalTags:1/includeAttachments:0/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/noEventReports:1/noShadowAttributes:1"
                ))),
            )
    };
    let answer = |name, edits: &[Edit], expect| {
        pull_cw(name, view.clone(), edited(PULLED_EVENT, edits))
            .expect(expect)
            .misp_guard(Expect::Allow)
            .twin(twin("MISP's own answer").response(file(PULLED_EVENT)))
            .twin(
                twin("MISP's own answer, to a member of its sharing group (X-UserOrgUUID)")
                    .response(file(PULLED_EVENT))
                    .response_header(format!("X-UserOrgUUID: {ORG_A}")),
            )
    };
    cold(vec![
        param(
            "view: includeGranularCorrelations:1",
            view_path(EV_PULL, "/includeGranularCorrelations:1"),
            "includeGranularCorrelations",
        ),
        param(
            "view: includeEventCorrelations:1 (other events' rows)",
            view.replace("includeEventCorrelations:0", "includeEventCorrelations:1"),
            "includeEventCorrelations",
        ),
        param(
            "view: extended:1 (extension events merged in)",
            view_path(EV_PULL, "/extended:1"),
            "extended",
        ),
        param(
            "view: includeRelatedTags:1 (other events' tags)",
            view_path(EV_PULL, "/includeRelatedTags:1"),
            "includeRelatedTags",
        ),
        answer(
            "view answer: RelatedEvent of an event never let through",
            &[set(
                "/Event/RelatedEvent",
                json!([related_event(EV_UNSEEN, "1")]),
            )],
            refuse(&[UNJUDGED_EVENT, EV_UNSEEN]),
        )
        .twin(
            twin("RelatedEvent of an event let through")
                .response(edited(
                    PULLED_EVENT,
                    &[set(
                        "/Event/RelatedEvent",
                        json!([related_event(EV_SEEN, "1")]),
                    )],
                ))
                .seen(EV_SEEN),
        ),
        answer(
            "view answer: RelatedEvent in distribution 0",
            &[set(
                "/Event/RelatedEvent",
                json!([related_event(EV_SEEN, "0")]),
            )],
            refuse(&[DISTRIBUTION]),
        )
        .seen(EV_SEEN),
        answer(
            "view answer: event-level RelatedAttribute",
            &[set(
                "/Event/RelatedAttribute",
                json!([{"id": "7001", "value": "203.0.113.77", "org_id": "9",
                        "info": "closed world: another event", "event_id": "93"}]),
            )],
            refuse(&[UNKNOWN_KEY, "RelatedAttribute"]),
        ),
        answer(
            "view answer: RelatedAttribute on an attribute (granular correlations)",
            &[set(
                "/Event/Attribute/0/RelatedAttribute",
                json!([{"id": "7001", "value": "203.0.113.77", "org_id": "9",
                        "info": "closed world: another event", "event_id": "93"}]),
            )],
            refuse(&[UNKNOWN_KEY, "RelatedAttribute"]),
        ),
        answer(
            "view answer: Feed correlations",
            &[set(
                "/Event/Feed",
                json!({"3": {"id": "3", "name": "a feed", "url": "https://feed.example/x",
                              "provider": "X", "source_format": "misp", "lookup_visible": true}}),
            )],
            refuse(&[UNKNOWN_KEY, "Feed"]),
        ),
        answer(
            "view answer: extensionEvents",
            &[set(
                "/Event/extensionEvents",
                json!({"93": {"id": "93", "info": "closed world: an extension",
                              "orgc_id": "9", "Orgc": {"id": "9", "name": "ORG-X", "uuid": ORG_C}}}),
            )],
            refuse(&[UNKNOWN_KEY, "extensionEvents"]),
        ),
    ])
}

/// 4. Galaxy cluster extras: analyst data, other clusters' relations and
///    relationships pointing at the cluster, inside a cluster view.
pub fn cluster_extras() -> Vec<Scenario> {
    let path = format!("/galaxy_clusters/view/{CL1}");
    let view = |name, edits: &[Edit], expect| {
        pull_cw(name, path.clone(), edited(CLUSTER_VIEW, edits))
            .expect(expect)
            .misp_guard(Expect::Allow)
            // The relationships' event rows are EV_SEEN's.
            .seen(EV_SEEN)
            .twin(twin("MISP's own cluster view").response(file(CLUSTER_VIEW)))
    };
    let gc = "/GalaxyCluster";
    cold(vec![
        view(
            "cluster view: a Note in distribution 0",
            &[level(&format!("{gc}/Note/0/distribution"), 0)],
            refuse(&[DISTRIBUTION]),
        ),
        view(
            "cluster view: an Opinion in distribution 0",
            &[level(&format!("{gc}/Opinion/0/distribution"), 0)],
            refuse(&[DISTRIBUTION]),
        ),
        view(
            "cluster view: a Note in a blocked sharing group",
            &[
                level(&format!("{gc}/Note/0/distribution"), 4),
                set(&format!("{gc}/Note/0/sharing_group_id"), json!("9")),
                set(
                    &format!("{gc}/Note/0/SharingGroup"),
                    sharing_group_of_analyst_data(SG_BLOCKED),
                ),
            ],
            refuse(&[SHARING_GROUP, SG_BLOCKED]),
        ),
        view(
            "cluster view: a Relationship to a passport number",
            &[set(
                &format!("{gc}/Relationship/0/related_object"),
                attribute_target("passport-number"),
            )],
            refuse(&[TYPES, "passport-number"]),
        ),
        view(
            "cluster view: a TargetingClusterRelation tagged tlp:red",
            &[set(
                &format!("{gc}/TargetingClusterRelation/0/Tag/0/name"),
                json!("tlp:red"),
            )],
            refuse(&[BLOCKED_TAGS, "tlp:red"]),
        ),
        view(
            "cluster view: a TargetingClusterRelation in a blocked sharing group",
            &[
                level(&format!("{gc}/TargetingClusterRelation/0/distribution"), 4),
                set(
                    &format!("{gc}/TargetingClusterRelation/0/sharing_group_id"),
                    json!("9"),
                ),
                set(
                    &format!("{gc}/TargetingClusterRelation/0/SharingGroup"),
                    sharing_group_bare(SG_BLOCKED),
                ),
            ],
            refuse(&[SHARING_GROUP, SG_BLOCKED]),
        ),
        view(
            "cluster view: a RelationshipInbound in distribution 0",
            &[level(
                &format!("{gc}/RelationshipInbound/0/distribution"),
                0,
            )],
            refuse(&[DISTRIBUTION]),
        ),
        view(
            "cluster view: a RelationshipInbound from a passport number",
            &[
                set(
                    &format!("{gc}/RelationshipInbound/0/object_type"),
                    json!("Attribute"),
                ),
                set(
                    &format!("{gc}/RelationshipInbound/0/object_uuid"),
                    json!("a3000000-0000-4000-8000-000000000001"),
                ),
                set(
                    &format!("{gc}/RelationshipInbound/0/related_object"),
                    attribute_target("passport-number"),
                ),
            ],
            refuse(&[TYPES, "passport-number"]),
        ),
        // The relationships' event rows come without tags: the guard must
        // have let that event through.
        pull_cw(
            "cluster view: relationships with an event never let through",
            path.clone(),
            file(CLUSTER_VIEW),
        )
        .expect(refuse(&[UNJUDGED_EVENT, EV_SEEN]))
        .misp_guard(Expect::Allow)
        .twin(twin("the event was let through").seen(EV_SEEN)),
    ])
}
