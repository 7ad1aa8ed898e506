//! Galaxies and galaxy clusters: inside events (`Galaxy[].GalaxyCluster[]`),
//! pushed (`galaxies/pushCluster`) and pulled (`galaxy_clusters/view`).
//!
//! A pulled cluster carries more than its own definition: analyst data on
//! it, relations of *other* clusters pointing at it
//! (`TargetingClusterRelation`) and relationships from other elements to it
//! (`RelationshipInbound`, each showing its source element). All of it is
//! judged.

use super::de::{closed_struct, list, opt_list, opt_object};
use super::{AnalystData, Distribution, SharingGroup, Str, Tag};

closed_struct! {
    /// A galaxy, with the clusters attached (events) — or the galaxy row a
    /// cluster belongs to.
    pub struct Galaxy<'a> {
        #[serde(rename = "GalaxyCluster", borrow, default, deserialize_with = "list")]
        pub clusters: Vec<GalaxyCluster<'a>>,
    }
    harmless {
        id, uuid, name, type_ as "type", description, version, icon, namespace, enabled,
        local_only, kill_chain_order, default, org_id, orgc_id, created, modified,
        distribution,
    }
}

closed_struct! {
    /// `{"GalaxyCluster": {...}}`; MISP also reads an `Orgc` beside it on push.
    pub struct GalaxyClusterEnvelope<'a> {
        #[serde(rename = "GalaxyCluster", borrow, deserialize_with = "super::de::object")]
        pub cluster: GalaxyCluster<'a>,
    }
    harmless { Orgc }
}

closed_struct! {
    pub struct GalaxyCluster<'a> with analyst data {
        #[serde(borrow, default)]
        pub uuid: Option<Str<'a>>,
        /// Required where a cluster is synced on its own; clusters embedded
        /// in an event's `Galaxy` list may leave it out.
        #[serde(default)]
        pub distribution: Option<Distribution>,
        /// MISP rebuilds the cluster's tag as `misp-galaxy:<type>="<uuid>"`
        /// (older versions: `="<value>"`) and ignores the `tag_name` sent.
        #[serde(borrow, default)]
        pub tag_name: Option<Str<'a>>,
        #[serde(rename = "type", borrow, default)]
        pub kind: Option<Str<'a>>,
        #[serde(borrow, default)]
        pub value: Option<Str<'a>>,
        #[serde(rename = "SharingGroup", borrow, default, deserialize_with = "opt_object")]
        pub sharing_group: Option<Box<SharingGroup<'a>>>,
        #[serde(rename = "GalaxyClusterRelation", borrow, default, deserialize_with = "list")]
        pub relations: Vec<GalaxyClusterRelation<'a>>,
        /// Other clusters' relations pointing at this one (pulled view).
        #[serde(rename = "TargetingClusterRelation", borrow, default, deserialize_with = "list")]
        pub targeting: Vec<GalaxyClusterRelation<'a>>,
        /// Relationships from other elements to this cluster; their
        /// `related_object` is the *source* element (pulled view).
        #[serde(rename = "RelationshipInbound", borrow, default, deserialize_with = "list")]
        pub inbound: Vec<AnalystData<'a>>,
    }
    harmless {
        id, collection_uuid, description, galaxy_id, source, authors, version,
        sharing_group_id, org_id, orgc_id, default, locked, extends_uuid, extends_version,
        published, deleted, Galaxy, GalaxyElement, Org, Orgc, tag_count, tag_id, meta,
        event_tag_id, attribute_tag_id, local, relationship_type,
    }
}

closed_struct! {
    pub struct GalaxyClusterRelation<'a> {
        #[serde(default)]
        pub distribution: Option<Distribution>,
        #[serde(rename = "SharingGroup", borrow, default, deserialize_with = "opt_object")]
        pub sharing_group: Option<Box<SharingGroup<'a>>>,
        #[serde(rename = "Tag", borrow, default, deserialize_with = "opt_list")]
        pub tags: Option<Vec<Tag<'a>>>,
        /// MISP reads relation tags from here first (`{name}` elements).
        #[serde(rename = "GalaxyClusterRelationTag", borrow, default, deserialize_with = "opt_list")]
        pub relation_tags: Option<Vec<Tag<'a>>>,
    }
    harmless {
        id, galaxy_cluster_id, referenced_galaxy_cluster_id, referenced_galaxy_cluster_uuid,
        referenced_galaxy_cluster_type, galaxy_cluster_uuid, sharing_group_id, default,
    }
}
