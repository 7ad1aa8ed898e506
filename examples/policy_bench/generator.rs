//! The event generator: a MISP event of about a given size, as MISP
//! serialises it for a push.

use std::fmt::Write as _;

use crate::deployment::{EVENT_ID, SG_UUID};
use crate::json_text::{close, kr, kv};
use crate::rng::Rng;
use crate::values::{
    ATTRIBUTE_TAGS, COMMENTS, EVENT_TAGS, KINDS, ORGS, TEMPLATES, ValueFn, prose, v_domain,
};

pub struct Generated {
    pub body: Vec<u8>,
    pub attributes: usize,
    pub objects: usize,
}

struct Gen {
    pub r: Rng,
    next_id: u64,
    next_object_id: u64,
    next_tag_id: u64,
    timestamp: u64,
    pub attributes: usize,
    pub objects: usize,
    scratch: String,
    /// UUIDs of recent objects, for object references.
    recent_objects: Vec<(u64, String)>,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen {
            r: Rng::new(seed),
            next_id: 2_400_000,
            next_object_id: 310_000,
            next_tag_id: 90_000,
            timestamp: 1_710_000_000,
            attributes: 0,
            objects: 0,
            scratch: String::new(),
            recent_objects: Vec::new(),
        }
    }

    fn ts(&mut self) -> String {
        self.timestamp += self.r.below(90) as u64;
        self.timestamp.to_string()
    }

    pub fn org(&self, o: &mut String, key: &str, org: (&str, &str, &str)) {
        let _ = write!(
            o,
            r#""{key}":{{"id":"{}","name":"{}","uuid":"{}","local":true}},"#,
            org.0, org.1, org.2
        );
    }

    fn tags(&mut self, o: &mut String, tags: &[(&str, &str, bool)]) {
        o.push_str("\"Tag\":[");
        for (name, colour, galaxy) in tags {
            o.push('{');
            kv(o, "id", &self.next_tag_id.to_string());
            self.next_tag_id += 1;
            kv(o, "name", name);
            kv(o, "colour", colour);
            kr(o, "exportable", "true");
            kv(o, "user_id", "0");
            kr(o, "hide_tag", "false");
            kr(o, "numerical_value", "null");
            kr(o, "is_galaxy", if *galaxy { "true" } else { "false" });
            kr(o, "is_custom_galaxy", "false");
            kr(o, "local_only", "false");
            kr(o, "local", "0");
            kr(o, "relationship_type", "null");
            close(o, '}');
            o.push(',');
        }
        close(o, ']');
        o.push(',');
    }

    fn sharing_group(&mut self, o: &mut String) {
        o.push_str("\"SharingGroup\":{");
        kv(o, "id", "3");
        kv(o, "name", "Energy sector trusted circle");
        kv(
            o,
            "releasability",
            "Members of the energy sector trusted circle only",
        );
        kv(
            o,
            "description",
            "Operators of essential services, energy sector",
        );
        kv(o, "uuid", SG_UUID);
        kv(o, "organisation_uuid", ORGS[0].2);
        kv(o, "org_id", "1");
        kv(o, "sync_user_id", "0");
        kr(o, "active", "true");
        kv(o, "created", "2022-05-04 09:12:44");
        kv(o, "modified", "2024-01-18 14:02:11");
        kr(o, "local", "true");
        kr(o, "roaming", "false");
        self.org(o, "Organisation", ORGS[0]);
        o.push_str("\"SharingGroupOrg\":[");
        for (i, org) in ORGS.iter().enumerate() {
            let _ = write!(
                o,
                r#"{{"id":"{}","sharing_group_id":"3","org_id":"{}","extend":{},"Organisation":{{"id":"{}","name":"{}","uuid":"{}","local":true}}}},"#,
                40 + i,
                org.0,
                i == 0,
                org.0,
                org.1,
                org.2
            );
        }
        close(o, ']');
        o.push(',');
        o.push_str(
            r#""SharingGroupServer":[{"id":"7","sharing_group_id":"3","server_id":"0","all_orgs":false,"Server":{"id":"0","name":"Local instance","url":"https://misp.internal.example.org"}}]"#,
        );
        o.push_str("},");
    }

    /// One attribute; `object` is the object's id and the relation.
    fn attribute(
        &mut self,
        o: &mut String,
        object: Option<(u64, &str)>,
        kind: &str,
        category: &str,
        to_ids: bool,
        value: ValueFn,
    ) {
        self.attributes += 1;
        let id = self.next_id;
        self.next_id += 1;
        let uuid = self.r.uuid();
        let ts = self.ts();
        let dist = *self
            .r
            .weighted(&[(80, "5"), (9, "3"), (5, "1"), (4, "2"), (2, "4")]);
        o.push('{');
        kv(o, "id", &id.to_string());
        kv(o, "type", kind);
        kv(o, "category", category);
        kr(o, "to_ids", if to_ids { "true" } else { "false" });
        kv(o, "uuid", &uuid);
        kv(o, "event_id", EVENT_ID);
        kv(o, "distribution", dist);
        kv(o, "timestamp", &ts);
        let comment = if self.r.chance(25) {
            self.r.pick(COMMENTS)
        } else {
            ""
        };
        kv(o, "comment", comment);
        kv(o, "sharing_group_id", if dist == "4" { "3" } else { "0" });
        kr(o, "deleted", "false");
        kr(o, "disable_correlation", "false");
        match object {
            Some((oid, relation)) => {
                kv(o, "object_id", &oid.to_string());
                kv(o, "object_relation", relation);
            }
            None => {
                kv(o, "object_id", "0");
                kr(o, "object_relation", "null");
            }
        }
        if self.r.chance(10) {
            kv(o, "first_seen", "2024-03-11T08:14:02.000000+00:00");
            kv(o, "last_seen", "2024-04-02T17:40:51.000000+00:00");
        } else {
            kr(o, "first_seen", "null");
            kr(o, "last_seen", "null");
        }
        let mut v = std::mem::take(&mut self.scratch);
        v.clear();
        value(&mut self.r, &mut v);
        kv(o, "value", &v);
        self.scratch = v;
        kr(o, "Galaxy", "[]");
        kr(o, "ShadowAttribute", "[]");
        if dist == "4" {
            self.sharing_group(o);
        }
        if self.r.chance(20) {
            let n = self.r.range(1, 2);
            let first = self.r.below(ATTRIBUTE_TAGS.len() - n + 1);
            self.tags(o, &ATTRIBUTE_TAGS[first..first + n]);
        }
        close(o, '}');
        o.push(',');
    }

    fn object(&mut self, o: &mut String) {
        self.objects += 1;
        let t = self.r.weighted(TEMPLATES);
        let id = self.next_object_id;
        self.next_object_id += 1;
        let uuid = self.r.uuid();
        let ts = self.ts();
        let dist = *self.r.weighted(&[(85, "5"), (10, "3"), (4, "1"), (1, "4")]);
        o.push('{');
        kv(o, "id", &id.to_string());
        kv(o, "name", t.name);
        kv(o, "meta-category", t.meta);
        kv(o, "description", t.description);
        kv(o, "template_uuid", t.uuid);
        kv(o, "template_version", t.version);
        kv(o, "event_id", EVENT_ID);
        kv(o, "uuid", &uuid);
        kv(o, "timestamp", &ts);
        kv(o, "distribution", dist);
        kv(o, "sharing_group_id", if dist == "4" { "3" } else { "0" });
        let comment = if self.r.chance(15) {
            self.r.pick(COMMENTS)
        } else {
            ""
        };
        kv(o, "comment", comment);
        kr(o, "deleted", "false");
        kr(o, "first_seen", "null");
        kr(o, "last_seen", "null");
        if dist == "4" {
            self.sharing_group(o);
        }
        o.push_str("\"ObjectReference\":[");
        if !self.recent_objects.is_empty() && self.r.chance(30) {
            let (ref_id, ref_uuid) =
                self.recent_objects[self.r.below(self.recent_objects.len())].clone();
            let ref_uuid_self = self.r.uuid();
            let rts = self.ts();
            o.push('{');
            kv(o, "id", &(id + 900_000).to_string());
            kv(o, "uuid", &ref_uuid_self);
            kv(o, "timestamp", &rts);
            kv(o, "object_id", &id.to_string());
            kv(o, "referenced_id", &ref_id.to_string());
            kv(o, "referenced_uuid", &ref_uuid);
            kv(o, "referenced_type", "1");
            kv(
                o,
                "relationship_type",
                self.r
                    .pick(&["related-to", "drops", "communicates-with", "contains"]),
            );
            kv(o, "comment", "");
            kr(o, "deleted", "false");
            kv(o, "event_id", EVENT_ID);
            kv(o, "source_uuid", &uuid);
            close(o, '}');
        }
        o.push_str("],");
        o.push_str("\"Attribute\":[");
        for &(relation, kind, category, percent, most, value) in t.attributes {
            if !self.r.chance(percent) {
                continue;
            }
            for _ in 0..self.r.range(1, most) {
                let to_ids = kind != "text" && kind != "size-in-bytes" && kind != "mime-type";
                self.attribute(o, Some((id, relation)), kind, category, to_ids, value);
            }
        }
        close(o, ']');
        o.push('}');
        o.push(',');
        if self.recent_objects.len() < 64 {
            self.recent_objects.push((id, uuid));
        } else {
            let i = self.r.below(64);
            self.recent_objects[i] = (id, uuid);
        }
    }

    pub fn report(
        &mut self,
        o: &mut String,
        id: u64,
        dist: &str,
        name: &str,
        attribute_refs: &[String],
    ) {
        let mut content = String::new();
        let _ = writeln!(content, "# {name}\n\n## Summary\n");
        for section in [
            "Initial access",
            "Execution",
            "Command and control",
            "Infrastructure",
        ] {
            let _ = writeln!(content, "### {section}\n");
            for _ in 0..self.r.range(3, 8) {
                let n = self.r.range(20, 70);
                prose(&mut self.r, &mut content, n);
                if let Some(uuid) = attribute_refs.get(self.r.below(attribute_refs.len().max(1))) {
                    let _ = write!(content, " See @[attribute]({uuid}).");
                }
                content.push_str("\n\n");
            }
            content.push_str("| Indicator | Type | First seen |\n|---|---|---|\n");
            for _ in 0..self.r.range(3, 10) {
                content.push_str("| `");
                v_domain(&mut self.r, &mut content);
                content.push_str("` | domain | 2024-03-1");
                let _ = writeln!(content, "{} |", self.r.below(10));
            }
            content.push('\n');
        }
        o.push('{');
        kv(o, "id", &id.to_string());
        kv(o, "uuid", &self.r.uuid());
        kv(o, "event_id", EVENT_ID);
        kv(o, "name", name);
        kv(o, "content", &content);
        kv(o, "distribution", dist);
        kv(o, "sharing_group_id", "0");
        kv(o, "timestamp", &self.ts());
        kr(o, "deleted", "false");
        close(o, '}');
        o.push(',');
    }

    fn cluster(
        &mut self,
        o: &mut String,
        galaxy_id: &str,
        kind: &str,
        value: &str,
        extra_meta: &str,
    ) {
        let tag = format!("misp-galaxy:{kind}=\"{value}\"");
        o.push('{');
        kv(o, "id", &self.r.range(1000, 90000).to_string());
        kv(o, "uuid", &self.r.uuid());
        kv(o, "collection_uuid", &self.r.uuid());
        kv(o, "type", kind);
        kv(o, "value", value);
        kv(o, "tag_name", &tag);
        let mut d = String::new();
        let n = self.r.range(20, 60);
        prose(&mut self.r, &mut d, n);
        kv(o, "description", &d);
        kv(o, "galaxy_id", galaxy_id);
        kv(o, "source", "MISP Project");
        kr(
            o,
            "authors",
            r#"["Alexandre Dulaunoy","Florian Roth","Thomas Schreck","Timo Steffens"]"#,
        );
        kv(o, "version", "290");
        kv(o, "distribution", "3");
        kr(o, "sharing_group_id", "null");
        kv(o, "org_id", "0");
        kv(o, "orgc_id", "0");
        kr(o, "default", "true");
        kr(o, "locked", "false");
        kv(o, "extends_uuid", "");
        kv(o, "extends_version", "0");
        kr(o, "published", "false");
        kr(o, "deleted", "false");
        kr(o, "GalaxyClusterRelation", "[]");
        self.org(o, "Org", ("0", "MISP", "0"));
        self.org(o, "Orgc", ("0", "MISP", "0"));
        let _ = write!(
            o,
            r#""meta":{{"refs":["https://attack.mitre.org/","https://www.welivesecurity.com/2017/12/21/sednit-update-fancy-bear-spent-year/"]{extra_meta}}},"#
        );
        kv(o, "tag_id", &self.r.range(100, 9000).to_string());
        kv(o, "event_tag_id", &self.r.range(100, 9000).to_string());
        kr(o, "local", "false");
        kr(o, "relationship_type", "false");
        close(o, '}');
        o.push(',');
    }

    fn galaxies(&mut self, o: &mut String) {
        o.push_str("\"Galaxy\":[");
        o.push_str(
            r#"{"id":"12","uuid":"698774c7-8022-42c4-917f-8d6e4f06ada3","name":"Threat Actor","type":"threat-actor","description":"Threat actors are characteristics of malicious actors (or adversaries) representing a cyber attack threat including presumed intent and historically observed behaviour.","version":"3","icon":"user-secret","namespace":"misp","enabled":true,"local_only":false,"kill_chain_order":null,"GalaxyCluster":["#,
        );
        self.cluster(
            o,
            "12",
            "threat-actor",
            "Sofacy",
            r#","country":["RU"],"synonyms":["APT 28","APT28","Pawn Storm","Fancy Bear","Sednit","STRONTIUM","Tsar Team"],"cfr-suspected-state-sponsor":["Russian Federation"]"#,
        );
        close(o, ']');
        o.push_str("},");
        o.push_str(
            r#"{"id":"31","uuid":"c4e851fa-775f-11e7-8163-b774922098cd","name":"Attack Pattern","type":"mitre-attack-pattern","description":"ATT&CK Tactic","version":"9","icon":"map","namespace":"mitre-attack","enabled":true,"local_only":false,"kill_chain_order":{"mitre-attack":["reconnaissance","resource-development","initial-access","execution","persistence","privilege-escalation","defense-evasion","credential-access","discovery","lateral-movement","collection","command-and-control","exfiltration","impact"]},"GalaxyCluster":["#,
        );
        for (value, phase) in [
            ("Phishing - T1566", "initial-access"),
            ("Command and Scripting Interpreter - T1059", "execution"),
            ("Application Layer Protocol - T1071", "command-and-control"),
        ] {
            let meta = format!(
                r#","external_id":["{}"],"kill_chain":["mitre-attack:{phase}"],"mitre_platforms":["Linux","macOS","Windows"]"#,
                &value[value.len() - 5..]
            );
            self.cluster(o, "31", "mitre-attack-pattern", value, &meta);
        }
        close(o, ']');
        o.push('}');
        o.push_str("],");
    }
}

/// Generates an event of about `target` bytes: about half top-level
/// attributes, half objects, plus tags, two event reports and galaxies.
pub fn generate(target: usize, seed: u64) -> Generated {
    let mut g = Gen::new(seed);

    let mut attrs = String::with_capacity(target / 2 + 65536);
    let mut attr_uuids = Vec::new();
    while attrs.len() < target * 47 / 100 {
        let &(kind, category, to_ids, value) = g.r.weighted(KINDS);
        let start = attrs.len();
        g.attribute(&mut attrs, None, kind, category, to_ids, value);
        if attr_uuids.len() < 32 && g.r.chance(5) {
            // `"uuid":"` follows id, type, category and to_ids.
            if let Some(at) = attrs[start..].find("\"uuid\":\"") {
                let at = start + at + 8;
                attr_uuids.push(attrs[at..at + 36].to_string());
            }
        }
    }
    close(&mut attrs, ']');

    let mut galaxies = String::with_capacity(16 * 1024);
    g.galaxies(&mut galaxies);
    let mut tail = String::with_capacity(256 * 1024);
    tail.push_str("\"EventReport\":[");
    g.report(
        &mut tail,
        211,
        "5",
        "Sofacy spear-phishing wave — analyst notes",
        &attr_uuids,
    );
    g.report(&mut tail, 212, "1", "Infrastructure pivoting", &attr_uuids);
    close(&mut tail, ']');
    tail.push(',');
    tail.push_str("\"CryptographicKey\":[],");
    g.tags(&mut tail, EVENT_TAGS);

    let mut objects = String::with_capacity(target / 2 + 65536);
    while attrs.len() + objects.len() + galaxies.len() + tail.len() + 2048 < target {
        g.object(&mut objects);
    }
    close(&mut objects, ']');

    let mut head = String::with_capacity(4096);
    head.push_str("{\"Event\":{");
    kv(&mut head, "id", EVENT_ID);
    kv(&mut head, "orgc_id", "2");
    kv(&mut head, "org_id", "1");
    kv(&mut head, "date", "2024-04-02");
    kv(&mut head, "threat_level_id", "1");
    kv(
        &mut head,
        "info",
        "Sofacy spear-phishing wave against energy sector operators (March–April 2024)",
    );
    kr(&mut head, "published", "true");
    kv(&mut head, "uuid", &g.r.uuid());
    kv(&mut head, "attribute_count", &g.attributes.to_string());
    kv(&mut head, "analysis", "2");
    kv(&mut head, "timestamp", &g.ts());
    kv(&mut head, "distribution", "2");
    kr(&mut head, "proposal_email_lock", "false");
    kr(&mut head, "locked", "false");
    kv(&mut head, "publish_timestamp", &g.ts());
    kv(&mut head, "sharing_group_id", "0");
    kr(&mut head, "disable_correlation", "false");
    kv(&mut head, "extends_uuid", "");
    kr(&mut head, "protected", "null");
    kv(
        &mut head,
        "event_creator_email",
        "analyst@cert-ex.example.org",
    );
    g.org(&mut head, "Org", ORGS[0]);
    g.org(&mut head, "Orgc", ORGS[1]);

    let mut body = Vec::with_capacity(head.len() + attrs.len() + objects.len() + tail.len() + 256);
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(b"\"Attribute\":[");
    body.extend_from_slice(attrs.as_bytes());
    body.extend_from_slice(b",\"ShadowAttribute\":[],\"RelatedEvent\":[],");
    body.extend_from_slice(galaxies.as_bytes());
    body.extend_from_slice(b"\"Object\":[");
    body.extend_from_slice(objects.as_bytes());
    body.push(b',');
    body.extend_from_slice(tail.as_bytes());
    if body.last() == Some(&b',') {
        body.pop();
    }
    body.extend_from_slice(b"}}");
    Generated {
        body,
        attributes: g.attributes,
        objects: g.objects,
    }
}
