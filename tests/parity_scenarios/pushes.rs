//! misp-guard's push scenarios (68).

use super::*;

pub fn push_scenarios() -> Vec<Scenario> {
    let ed = ed_path();
    let ad = |name, fixture, expect| push(name, AD_PATH, fixture, expect);
    let ed_ = |name, fixture, expect| push(name, ed.clone(), fixture, expect);
    // Rows 37-44: delta_1 pushes to alpha_1 (delta_1's rules: tlp required).
    let dad =
        |name, fixture, expect| push_between(name, AD_PATH, TO_ALPHA_1, DELTA_1, fixture, expect);
    let ded = |name, fixture, expect| {
        push_between(name, ed.clone(), TO_ALPHA_1, DELTA_1, fixture, expect)
    };
    // Rows 57-66: alpha_1 pushes analyst data to alpha_2 (alpha_1's rules).
    let analyst = |name, fixture, expect| {
        push_between(
            name,
            "/analyst_data/pushAnalystData",
            TO_ALPHA_2,
            ALPHA_1,
            fixture,
            expect,
        )
    };
    let tag_red = "attribute with a blocked tag: tlp:red";
    let ev_dist = "event has blocked distribution level: 0";
    let attr_dist = "attribute with a blocked distribution level: 0";
    let obj_dist = "object with a blocked distribution level: 0";
    let sg = "event has blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let attr_sg =
        "attribute with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let obj_sg = "object with a blocked sharing group uuid: 5a0c7e3e-1d2b-4c8e-9f10-2b3c4d5e6f70";
    let category = "attribute with a blocked category: Person";
    let kind = "attribute with a blocked type: passport-number";
    let obj_type = "object with a blocked type: person";
    let missing_tlp = "event is missing required taxonomy: tlp";
    let analyst_dist = "analyst data has blocked distribution level: 0";
    // alpha_1's zone_a reaches zone_b, and its rules pass this event (delta_1's
    // would not: it carries no tlp tag).
    let compartment = || twin("from alpha_1 (zone_a reaches zone_b)").from(ALPHA_1);
    vec![
        ad(
            "push_new_event_blocked_event_tags",
            "event_tag_blocked.json",
            block("event has blocked tag: tlp:red"),
        ),
        ed_(
            "push_edit_event_blocked_event_tags",
            "event_tag_blocked.json",
            block("event has blocked tag: tlp:red"),
        ),
        ad(
            "push_new_event_blocked_attribute_tags",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ed_(
            "push_edit_event_blocked_attribute_tags (1st)",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ad(
            "push_new_event_blocked_object_attribute_tags",
            "event_object_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ed_(
            "push_edit_event_blocked_attribute_tags (2nd)",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ad(
            "push_new_event_blocked_event_distribution",
            "event_distribution_blocked.json",
            block(ev_dist),
        ),
        // misp-guard sends the attribute-tags fixture here, not the object one.
        ed_(
            "push_edit_event_blocked_object_attribute_tags",
            "event_attribute_tag_blocked.json",
            block(tag_red),
        ),
        ad(
            "push_new_event_blocked_attribute_distribution",
            "event_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ed_(
            "push_edit_event_blocked_event_distribution",
            "event_distribution_blocked.json",
            block(ev_dist),
        ),
        ad(
            "push_new_event_blocked_object_distribution",
            "event_object_distribution_blocked.json",
            block(obj_dist),
        ),
        ed_(
            "push_edit_event_blocked_attribute_distribution",
            "event_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ad(
            "push_new_event_blocked_object_attribute_distribution",
            "event_object_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ed_(
            "push_edit_event_blocked_object_distribution",
            "event_object_distribution_blocked.json",
            block(obj_dist),
        ),
        ad(
            "push_new_event_blocked_event_sharing_group",
            "event_sharing_group_blocked.json",
            block(sg),
        ),
        ed_(
            "push_edit_event_blocked_object_attribute_distribution",
            "event_object_attribute_distribution_blocked.json",
            block(attr_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_sharing_group",
            "event_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        ed_(
            "push_edit_event_blocked_event_sharing_group",
            "event_sharing_group_blocked.json",
            block(sg),
        ),
        ad(
            "push_new_event_blocked_object_sharing_group",
            "event_object_sharing_group_blocked.json",
            block(obj_sg),
        ),
        ed_(
            "push_edit_event_blocked_attribute_sharing_group",
            "event_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        ad(
            "push_new_event_blocked_object_attribute_sharing_group",
            "event_object_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        ed_(
            "push_edit_event_blocked_object_sharing_group",
            "event_object_sharing_group_blocked.json",
            block(obj_sg),
        ),
        ad(
            "push_new_event_blocked_attribute_category",
            "event_attribute_category_blocked.json",
            block(category),
        ),
        ed_(
            "push_edit_event_blocked_object_attribute_sharing_group",
            "event_object_attribute_sharing_group_blocked.json",
            block(attr_sg),
        ),
        // misp-guard sends the (top-level) attribute-type fixture here.
        ad(
            "push_new_event_blocked_object_attribute_type",
            "event_attribute_type_blocked.json",
            block(kind),
        ),
        ed_(
            "push_edit_event_blocked_attribute_type",
            "event_attribute_type_blocked.json",
            block(kind),
        ),
        ad(
            "push_new_event_blocked_object_attribute_category",
            "event_object_attribute_category_blocked.json",
            block(category),
        ),
        ed_(
            "push_edit_event_blocked_attribute_category",
            "event_attribute_category_blocked.json",
            block(category),
        ),
        ad(
            "push_new_event_blocked_object_type",
            "event_object_type_blocked.json",
            block(obj_type),
        ),
        ed_(
            "push_edit_event_blocked_object_type",
            "event_object_type_blocked.json",
            block(obj_type),
        ),
        ad(
            "push_new_event_shadow_attributes_blocked_type",
            "event_object_shadow_attribute_type_blocked.json",
            block(kind),
        ),
        ed_(
            "push_edit_event_shadow_attributes_blocked_type",
            "event_object_shadow_attribute_type_blocked.json",
            block(kind),
        ),
        ad(
            "push_new_event_non-blocked",
            "event_allowed.json",
            Expect::Allow,
        ),
        ed_(
            "push_edit_event_non-blocked",
            "event_allowed.json",
            Expect::Allow,
        ),
        // charlie_1 (zone_c) may not reach bravo_1 (zone_b).
        push_between(
            "push_new_event_not_allowed_compartment",
            AD_PATH,
            TO_BRAVO_1,
            CHARLIE_1,
            "event_allowed.json",
            block("cannot reach compartment"),
        )
        .twin(compartment()),
        push_between(
            "push_edit_event_not_allowed_compartment",
            ed.clone(),
            TO_BRAVO_1,
            CHARLIE_1,
            "event_allowed.json",
            block("cannot reach compartment"),
        )
        .twin(compartment()),
        dad(
            "push_new_event_missing_required_tag",
            "event_taxonomy_missing.json",
            block(missing_tlp),
        ),
        ded(
            "push_edit_event_missing_required_tag",
            "event_taxonomy_missing.json",
            block(missing_tlp),
        ),
        dad(
            "push_new_event_missing_required_allowed_tag",
            "event_taxonomy_not_allowed.json",
            block(missing_tlp),
        ),
        ded(
            "push_edit_event_missing_required_allowed_tag",
            "event_taxonomy_not_allowed.json",
            block(missing_tlp),
        ),
        dad(
            "push_new_event_required_taxonomy_blocked_tag",
            "event_taxonomy_blocked.json",
            block("event has blocked tag: tlp:rainbow"),
        ),
        ded(
            "push_edit_event_required_taxonomy_blocked_tag",
            "event_taxonomy_blocked.json",
            block("event has blocked tag: tlp:rainbow"),
        ),
        dad(
            "push_new_event_required_taxonomy_allowed_tag",
            "event_taxonomy_allowed.json",
            Expect::Allow,
        ),
        ded(
            "push_edit_event_required_taxonomy_allowed_tag",
            "event_taxonomy_allowed.json",
            Expect::Allow,
        ),
        push_between(
            "push_galaxy_cluster_blocked_distribution",
            "/galaxies/pushCluster",
            TO_ALPHA_1,
            DELTA_1,
            "galaxy_clusters_blocked.json",
            block("galaxy cluster has blocked distribution level: 0"),
        ),
        push_between(
            "push_galaxy_cluster_non-blocked_distribution",
            "/galaxies/pushCluster",
            TO_ALPHA_1,
            DELTA_1,
            "galaxy_clusters_allowed.json",
            Expect::Allow,
        ),
        push_between(
            "push_sightings_non-blocked",
            format!("/sightings/bulkSaveSightings/{SIGHTING_EVENT_UUID}"),
            TO_DELTA_1,
            ALPHA_1,
            "sightings_empty.json",
            Expect::Allow,
        ),
        ad(
            "push_new_event_blocked_note_distribution",
            "event_note_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_opinion_distribution",
            "event_opinion_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_relationship_distribution",
            "event_relationship_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_note_distribution",
            "event_attribute_note_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_opinion_distribution",
            "event_attribute_opinion_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_attribute_analyst_relationship_distribution",
            "event_attribute_relationship_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_object_note_distribution",
            "event_object_note_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_object_opinion_distribution",
            "event_object_opinion_blocked.json",
            block(analyst_dist),
        ),
        ad(
            "push_new_event_blocked_object_analyst_relationship_distribution",
            "event_object_relationship_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_notes_non-blocked",
            "analyst_note_allowed.json",
            Expect::Allow,
        ),
        analyst(
            "push_analyst_notes_blocked_distribution",
            "analyst_note_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_opinion_non-blocked",
            "analyst_opinion_allowed.json",
            Expect::Allow,
        ),
        analyst(
            "push_analyst_opinion_blocked_distribution",
            "analyst_opinion_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_relationship_non-blocked",
            "analyst_relationship_allowed.json",
            Expect::Allow,
        ),
        analyst(
            "push_analyst_relationship_blocked_distribution",
            "analyst_relationship_blocked.json",
            block(analyst_dist),
        ),
        analyst(
            "push_analyst_relationship_blocked_related_event_distribution",
            "analyst_relationship_related_event_blocked.json",
            block(ev_dist),
        ),
        analyst(
            "push_analyst_relationship_blocked_related_attribute_distribution",
            "analyst_relationship_related_attribute_blocked.json",
            block(attr_dist),
        ),
        analyst(
            "push_analyst_relationship_blocked_related_object_distribution",
            "analyst_relationship_related_object_blocked.json",
            block(obj_dist),
        ),
        push_between(
            "filter_analyst_data_for_push_non-blocked",
            "/analyst_data/filterAnalystDataForPush",
            TO_ALPHA_2,
            ALPHA_1,
            "analyst_filter_for_push.json",
            Expect::Allow,
        ),
        ad(
            "push_new_event_blocked_distribution",
            "event_distribution_blocked.json",
            block(ev_dist),
        ),
        ad(
            "push_new_event_report_blocked_distribution",
            "event_report_distribution_blocked.json",
            block("event report has blocked distribution level: 0"),
        ),
    ]
}
