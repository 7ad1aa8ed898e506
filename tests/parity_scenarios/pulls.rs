//! misp-guard's pull scenarios (39).

use super::*;

pub fn pull_scenarios() -> Vec<Scenario> {
    let ev = ev_path();
    // Rows 1-23 and 39: alpha_2 pulls from alpha_1 (alpha_1's rules).
    let a = |name, fixture, expect| pull(name, ev.clone(), TO_ALPHA_1, ALPHA_2, fixture, expect);
    let sa = |name, fixture, expect| pull(name, SA_PATH, TO_ALPHA_1, ALPHA_2, fixture, expect);
    // Rows 25-33: alpha_1 pulls from delta_1 (delta_1's rules: tlp required).
    let d = |name, fixture, expect| pull(name, ev.clone(), TO_DELTA_1, ALPHA_1, fixture, expect);
    let sg = "event has blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let attr_sg =
        "attribute with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let obj_sg = "object with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let cluster_view = format!("/galaxy_clusters/view/{CLUSTER_UUID}");
    let analyst_dist = "analyst data has blocked distribution level: 0";
    vec![
        a(
            "pull_event_blocked_event_tags",
            "event_tag_blocked.json",
            block("event has blocked tag: tlp:red"),
        ),
        a(
            "pull_event_blocked_event_attribute_tags",
            "event_attribute_tag_blocked.json",
            block("attribute with a blocked tag: tlp:red"),
        ),
        a(
            "pull_event_blocked_object_attribute_tags",
            "event_object_attribute_tag_blocked.json",
            block("attribute with a blocked tag: tlp:red"),
        ),
        a(
            "pull_event_blocked_event_distribution",
            "event_distribution_blocked.json",
            block("event has blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_attribute_distribution",
            "event_attribute_distribution_blocked.json",
            block("attribute with a blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_object_distribution",
            "event_object_distribution_blocked.json",
            block("object with a blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_object_attribute_distribution",
            "event_object_attribute_distribution_blocked.json",
            block("attribute with a blocked distribution level: 0"),
        ),
        a(
            "pull_event_blocked_event_sharing_group",
            "event_sharing_group_blocked.json",
            block(sg),
        ),
        a(
            "pull_event_blocked_attribute_sharing_group",
            "event_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        a(
            "pull_event_blocked_object_sharing_group",
            "event_object_sharing_group_blocked.json",
            block(obj_sg),
        ),
        a(
            "pull_event_blocked_object_attribute_sharing_group",
            "event_object_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        a(
            "pull_event_blocked_attribute_type",
            "event_attribute_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        a(
            "pull_event_blocked_object_attribute_type",
            "event_object_attribute_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        a(
            "pull_event_blocked_attribute_category",
            "event_attribute_category_blocked.json",
            block("attribute with a blocked category: Person"),
        ),
        a(
            "pull_event_blocked_object_attribute_category",
            "event_object_attribute_category_blocked.json",
            block("attribute with a blocked category: Person"),
        ),
        a(
            "pull_event_blocked_object_type",
            "event_object_type_blocked.json",
            block("object with a blocked type: person"),
        ),
        sa(
            "pull_shadow_attributes_blocked_tag",
            "shadow_attributes_tag_blocked.json",
            block("attribute with a blocked tag: tlp:red"),
        ),
        sa(
            "pull_shadow_attributes_blocked_distribution",
            "shadow_attributes_distribution_blocked.json",
            block("attribute with a blocked distribution level: 0"),
        ),
        sa(
            "pull_shadow_attributes_blocked_sharing_group",
            "shadow_attributes_sharing_group_blocked.json",
            block(attr_sg),
        ),
        sa(
            "pull_shadow_attributes_blocked_type",
            "shadow_attributes_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        sa(
            "pull_shadow_attributes_blocked_category",
            "shadow_attributes_category_blocked.json",
            block("attribute with a blocked category: Person"),
        ),
        a(
            "pull_event_shadow_attributes_blocked_type",
            "event_object_shadow_attribute_type_blocked.json",
            block("attribute with a blocked type: passport-number"),
        ),
        a(
            "pull_event_non-blocked",
            "event_allowed.json",
            Expect::Allow,
        ),
        // charlie_1 (zone_c) may not reach bravo_1 (zone_b).
        pull(
            "pull_event_not_allowed_compartment",
            ev.clone(),
            TO_BRAVO_1,
            CHARLIE_1,
            "event_allowed.json",
            block("cannot reach compartment"),
        )
        .twin(twin("from delta_1 (zone_d reaches zone_b)").from(DELTA_1)),
        d(
            "pull_event_missing_required_taxonomy",
            "event_taxonomy_missing.json",
            block("event is missing required taxonomy: tlp"),
        ),
        d(
            "pull_event_missing_required_allowed_tag",
            "event_taxonomy_not_allowed.json",
            block("event is missing required taxonomy: tlp"),
        ),
        d(
            "pull_event_required_taxonomy_blocked_tag",
            "event_taxonomy_blocked.json",
            block("event has blocked tag: tlp:rainbow"),
        ),
        d(
            "pull_event_required_taxonomy_allowed_tag",
            "event_taxonomy_allowed.json",
            Expect::Allow,
        ),
        pull(
            "pull_galaxy_blocked_distribution_evel",
            cluster_view.clone(),
            TO_DELTA_1,
            ALPHA_1,
            "galaxy_cluster_blocked.json",
            block("galaxy cluster has blocked distribution level: 0"),
        ),
        pull(
            "pull_galaxy_non-blocked_distribution_level",
            cluster_view,
            TO_DELTA_1,
            ALPHA_1,
            "galaxy_cluster_allowed.json",
            Expect::Allow,
        ),
        Scenario::new(
            "pull_sightings_non-blocked",
            "POST",
            "/sightings/restSearch/event",
            ALPHA_1,
            TO_DELTA_1,
        )
        .body("sightings_search.json")
        .response_fixture("sightings_empty.json"),
        pull(
            "pull_analyst_note_blocked_distribution_level",
            analyst_path("Note", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"),
            TO_DELTA_1,
            ALPHA_1,
            "analyst_notes_blocked.json",
            block(analyst_dist),
        ),
        pull(
            "pull_analyst_opinion_blocked_distribution_level",
            analyst_path("Opinion", "3b4c5d6e-7f80-4b9c-8d1e-2f3a4b5c6d7e"),
            TO_DELTA_1,
            ALPHA_1,
            "analyst_opinions_blocked.json",
            block(analyst_dist),
        ),
        pull(
            "pull_analyst_relationship_blocked_distribution_level",
            analyst_path("Relationship", "4c5d6e7f-8091-4cad-9e2f-3a4b5c6d7e8f"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_relationships_blocked.json",
            block(analyst_dist),
        ),
        pull(
            "pull_analyst_opinion_non-blocked",
            analyst_path("Opinion", "5d6e7f80-91a2-4dbe-8f3a-4b5c6d7e8f90"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_opinions_allowed.json",
            Expect::Allow,
        ),
        // As in misp-guard's suite: an Opinion path answered with a Note.
        pull(
            "pull_analyst_note_non-blocked",
            analyst_path("Opinion", "6e7f8091-a2b3-4ecf-9a4b-5c6d7e8f90a1"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_notes_allowed.json",
            Expect::Allow,
        ),
        pull(
            "pull_analyst_relationship_non-blocked",
            analyst_path("Relationship", "7f8091a2-b3c4-4fd0-8b5c-6d7e8f90a1b2"),
            TO_ALPHA_1,
            ALPHA_1,
            "analyst_relationships_allowed.json",
            Expect::Allow,
        ),
        Scenario::new(
            "analyst_data_index_minimal_non-blocked",
            "POST",
            "/analyst_data/indexMinimal",
            ALPHA_1,
            TO_ALPHA_2,
        )
        .body("analyst_index_minimal_request.json")
        .response_fixture("analyst_index_minimal.json"),
        a(
            "pull_event_blocked_event_report_distribution",
            "event_report_distribution_blocked.json",
            block("event report has blocked distribution level: 0"),
        ),
    ]
}
