//! Twins: the allowed twins of each blocked fixture, and how a twin's
//! edits turn its scenario into another.

use super::*;

/// The allowed twin(s) of each blocked fixture: only the offending value
/// differs. The rules are those of every instance but delta_1 for all
/// fixtures, and delta_1's for the `event_taxonomy_*` ones.
pub fn fixture_twins(fixture: &str) -> Vec<Twin> {
    let sg_other = || json!(SG_OTHER);
    match fixture {
        "event_tag_blocked.json" => {
            vec![twin("event tag tlp:green").edit(set("/Event/Tag/0/name", json!("tlp:green")))]
        }
        "event_attribute_tag_blocked.json" => {
            vec![
                twin("attribute tag tlp:green")
                    .edit(set("/Event/Attribute/0/Tag/0/name", json!("tlp:green"))),
            ]
        }
        "event_object_attribute_tag_blocked.json" => {
            vec![twin("object attribute tag tlp:green").edit(set(
                "/Event/Object/0/Attribute/0/Tag/0/name",
                json!("tlp:green"),
            ))]
        }
        "event_distribution_blocked.json" => {
            vec![twin("event distribution 1").edit(level("/Event/distribution", 1))]
        }
        "event_attribute_distribution_blocked.json" => {
            vec![twin("attribute distribution 1").edit(level("/Event/Attribute/0/distribution", 1))]
        }
        "event_object_distribution_blocked.json" => vec![
            // The object's attribute also carries tlp:red: the object's
            // distribution is checked first, the tag next.
            twin("object distribution 1")
                .edit(level("/Event/Object/0/distribution", 1))
                .expect(block("attribute with a blocked tag: tlp:red")),
            twin("object distribution 1, attribute tag tlp:green")
                .edit(level("/Event/Object/0/distribution", 1))
                .edit(set(
                    "/Event/Object/0/Attribute/0/Tag/0/name",
                    json!("tlp:green"),
                )),
        ],
        "event_object_attribute_distribution_blocked.json" => vec![
            twin("object attribute distribution 1")
                .edit(level("/Event/Object/0/Attribute/0/distribution", 1)),
        ],
        "event_sharing_group_blocked.json" => {
            vec![twin("other sharing group").edit(set("/Event/SharingGroup/uuid", sg_other()))]
        }
        "event_attribute_sharing_group_blocked.json" => {
            vec![
                twin("other sharing group")
                    .edit(set("/Event/Attribute/0/SharingGroup/uuid", sg_other())),
            ]
        }
        "event_object_sharing_group_blocked.json" => {
            vec![
                twin("other sharing group")
                    .edit(set("/Event/Object/0/SharingGroup/uuid", sg_other())),
            ]
        }
        "event_object_attribute_sharing_group_blocked.json" => {
            vec![twin("other sharing group").edit(set(
                "/Event/Object/0/Attribute/0/SharingGroup/uuid",
                sg_other(),
            ))]
        }
        "event_attribute_type_blocked.json" => vec![
            // passport-number / Person: the type is reported first, then the category.
            twin("type text")
                .edit(set("/Event/Attribute/0/type", json!("text")))
                .expect(block("attribute with a blocked category: Person")),
            twin("type text, category Other")
                .edit(set("/Event/Attribute/0/type", json!("text")))
                .edit(set("/Event/Attribute/0/category", json!("Other"))),
        ],
        "event_object_attribute_type_blocked.json" => {
            vec![
                twin("third attribute type text")
                    .edit(set("/Event/Object/0/Attribute/2/type", json!("text"))),
            ]
        }
        "event_attribute_category_blocked.json" => {
            vec![twin("category Other").edit(set("/Event/Attribute/0/category", json!("Other")))]
        }
        "event_object_attribute_category_blocked.json" => vec![
            twin("categories Person_v2")
                .edit(set(
                    "/Event/Object/0/Attribute/0/category",
                    json!("Person_v2"),
                ))
                .edit(set(
                    "/Event/Object/0/Attribute/1/category",
                    json!("Person_v2"),
                ))
                .edit(set(
                    "/Event/Object/0/Attribute/2/category",
                    json!("Person_v2"),
                )),
        ],
        "event_object_type_blocked.json" => {
            vec![twin("object person_v2").edit(set("/Event/Object/0/name", json!("person_v2")))]
        }
        "event_object_shadow_attribute_type_blocked.json" => {
            let sa = "/Event/Object/0/Attribute/0/ShadowAttribute/0";
            vec![
                twin("proposal type text")
                    .edit(set(&format!("{sa}/type"), json!("text")))
                    .expect(block("attribute with a blocked category: Person")),
                twin("proposal type text, category Other")
                    .edit(set(&format!("{sa}/type"), json!("text")))
                    .edit(set(&format!("{sa}/category"), json!("Other"))),
            ]
        }
        "event_taxonomy_missing.json" => vec![
            twin("event tag tlp:clear").edit(set("/Event/Tag", json!([{"name": "tlp:clear"}]))),
        ],
        "event_taxonomy_not_allowed.json" => {
            vec![twin("event tag tlp:green").edit(set("/Event/Tag/0/name", json!("tlp:green")))]
        }
        "event_taxonomy_blocked.json" => {
            vec![twin("event tag tlp:white").edit(set("/Event/Tag/0/name", json!("tlp:white")))]
        }
        "event_report_distribution_blocked.json" => {
            vec![twin("report distribution 1").edit(level("/Event/EventReport/0/distribution", 1))]
        }
        "event_note_blocked.json" => {
            vec![twin("note distribution 1").edit(level("/Event/Note/0/distribution", 1))]
        }
        "event_opinion_blocked.json" => {
            vec![twin("opinion distribution 1").edit(level("/Event/Opinion/0/distribution", 1))]
        }
        "event_relationship_blocked.json" => {
            vec![
                twin("relationship distribution 1")
                    .edit(level("/Event/Relationship/0/distribution", 1)),
            ]
        }
        "event_attribute_note_blocked.json" => {
            vec![
                twin("note distribution 1")
                    .edit(level("/Event/Attribute/0/Note/0/distribution", 1)),
            ]
        }
        "event_attribute_opinion_blocked.json" => {
            vec![
                twin("opinion distribution 1")
                    .edit(level("/Event/Attribute/0/Opinion/0/distribution", 1)),
            ]
        }
        "event_attribute_relationship_blocked.json" => vec![
            twin("relationship distribution 1")
                .edit(level("/Event/Attribute/0/Relationship/0/distribution", 1)),
        ],
        "event_object_note_blocked.json" => {
            vec![twin("note distribution 1").edit(level("/Event/Object/0/Note/0/distribution", 1))]
        }
        "event_object_opinion_blocked.json" => {
            vec![
                twin("opinion distribution 1")
                    .edit(level("/Event/Object/0/Opinion/0/distribution", 1)),
            ]
        }
        "event_object_relationship_blocked.json" => {
            vec![
                twin("relationship distribution 1")
                    .edit(level("/Event/Object/0/Relationship/0/distribution", 1)),
            ]
        }
        "shadow_attributes_tag_blocked.json" => {
            vec![
                twin("tag tlp:green")
                    .edit(set("/0/ShadowAttribute/Tag/0/name", json!("tlp:green"))),
            ]
        }
        "shadow_attributes_distribution_blocked.json" => {
            vec![
                twin("second proposal distribution 1")
                    .edit(level("/1/ShadowAttribute/distribution", 1)),
            ]
        }
        "shadow_attributes_sharing_group_blocked.json" => {
            vec![
                twin("other sharing group")
                    .edit(set("/0/ShadowAttribute/SharingGroup/uuid", sg_other())),
            ]
        }
        "shadow_attributes_type_blocked.json" => vec![
            twin("type text")
                .edit(set("/0/ShadowAttribute/type", json!("text")))
                .expect(block("attribute with a blocked category: Person")),
            twin("type text, category Other")
                .edit(set("/0/ShadowAttribute/type", json!("text")))
                .edit(set("/0/ShadowAttribute/category", json!("Other"))),
        ],
        "shadow_attributes_category_blocked.json" => vec![
            // Category Person and tag tlp:red: the category is reported first.
            twin("category Other")
                .edit(set("/0/ShadowAttribute/category", json!("Other")))
                .expect(block("attribute with a blocked tag: tlp:red")),
            twin("category Other, tag tlp:green")
                .edit(set("/0/ShadowAttribute/category", json!("Other")))
                .edit(set("/0/ShadowAttribute/Tag/0/name", json!("tlp:green"))),
        ],
        "galaxy_cluster_blocked.json" => {
            vec![twin("distribution 3").edit(level("/GalaxyCluster/distribution", 3))]
        }
        "galaxy_clusters_blocked.json" => {
            vec![twin("distribution 3").edit(level("/0/GalaxyCluster/distribution", 3))]
        }
        "analyst_notes_blocked.json" => {
            vec![twin("distribution 1").edit(level("/0/Note/distribution", 1))]
        }
        "analyst_opinions_blocked.json" => {
            vec![twin("distribution 1").edit(level("/0/Opinion/distribution", 1))]
        }
        "analyst_relationships_blocked.json" => {
            vec![twin("distribution 1").edit(level("/0/Relationship/distribution", 1))]
        }
        "analyst_note_blocked.json" => {
            vec![twin("distribution 1").edit(level("/Note/distribution", 1))]
        }
        "analyst_opinion_blocked.json" => {
            vec![twin("distribution 1").edit(level("/Opinion/distribution", 1))]
        }
        "analyst_relationship_blocked.json" => {
            vec![twin("distribution 1").edit(level("/Relationship/distribution", 1))]
        }
        "analyst_relationship_related_event_blocked.json" => vec![
            twin("related event distribution 3")
                .edit(level("/Relationship/related_object/Event/distribution", 3)),
        ],
        "analyst_relationship_related_attribute_blocked.json" => {
            vec![twin("related attribute distribution 5").edit(level(
                "/Relationship/related_object/Attribute/distribution",
                5,
            ))]
        }
        "analyst_relationship_related_object_blocked.json" => vec![
            twin("related object distribution 1")
                .edit(level("/Relationship/related_object/Object/distribution", 1)),
        ],
        "events_index_not_minimal.json" => vec![twin("minimal 1").edit(set("/minimal", json!(1)))],
        _ => Vec::new(),
    }
}

pub fn apply_edits(payload: &Payload, edits: &[Edit]) -> Result<Payload, String> {
    let bytes = match payload.path() {
        Some(path) => std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?,
        None => payload_bytes(payload),
    };
    let mut doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("payload is not JSON: {e}"))?;
    for edit in edits {
        let (ptr, new) = match edit {
            Edit::Set(ptr, v) => (ptr, v.clone()),
            Edit::Level(ptr, l) => {
                let old = doc
                    .pointer(ptr)
                    .ok_or_else(|| format!("no value at {ptr}"))?;
                let new = match old {
                    Value::String(_) => json!(l.to_string()),
                    Value::Number(_) => json!(l),
                    other => return Err(format!("{ptr} is not a distribution level: {other}")),
                };
                (ptr, new)
            }
        };
        let (parent, key) = ptr
            .rsplit_once('/')
            .ok_or_else(|| format!("bad pointer {ptr}"))?;
        match doc.pointer_mut(parent) {
            Some(Value::Object(m)) => {
                m.insert(key.to_string(), new);
            }
            Some(Value::Array(a)) => {
                let slot = key
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get_mut(i))
                    .ok_or_else(|| format!("no element {ptr}"))?;
                *slot = new;
            }
            _ => return Err(format!("no object or array at {parent}")),
        }
    }
    Ok(Payload::Bytes(serde_json::to_vec(&doc).expect("serialise")))
}

/// Builds the scenario a twin describes.
pub fn twin_scenario(s: &Scenario, t: &Twin) -> Result<Scenario, String> {
    let mut out = s.clone();
    out.twins.clear();
    out.expect = t.expect.clone();
    out.misp_guard = t.misp_guard.clone();
    if !t.seen.is_empty() {
        out.seen
            .get_or_insert_with(Vec::new)
            .extend(t.seen.iter().copied());
    }
    if let Some(status) = t.response_status {
        out.response_status = Some(status);
    }
    if let Some(b) = &t.body {
        out.body = Some(b.clone());
    }
    if let Some(f) = t.from {
        out.from = f;
    }
    if let Some(to) = t.to {
        out.to = to;
    }
    if let Some(path) = t.path {
        out.path = path.to_string();
    }
    if let Some(r) = &t.response {
        out.response = Some(r.clone());
    }
    if let Some(h) = &t.response_headers {
        out.response_headers = h.clone();
    }
    if !t.edits.is_empty() {
        if let Some(b) = &out.body {
            out.body = Some(apply_edits(b, &t.edits)?);
        } else if let Some(r) = &out.response {
            out.response = Some(apply_edits(r, &t.edits)?);
        } else {
            return Err("edits given but the scenario has no payload".into());
        }
    }
    Ok(out)
}
