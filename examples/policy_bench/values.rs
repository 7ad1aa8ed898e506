//! Value generators: one per attribute type, the attribute kinds and the
//! object templates they make up, and the tags and organisations used.

use std::fmt::Write as _;

use crate::rng::Rng;

const TLDS: &[&str] = &[
    "com", "net", "org", "ru", "info", "xyz", "top", "io", "de", "cn", "biz", "online",
];
const SUBDOMAINS: &[&str] = &[
    "www", "mail", "cdn", "login", "update", "api", "secure", "portal", "files", "m",
];
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "invoice", "update", "secure", "account", "office", "cloud", "service", "support", "microsoft",
    "document", "payment", "delivery", "adobe", "verify", "login", "portal", "bank", "drive",
    "share", "report", "order", "shipping", "tracking", "security", "windows", "google", "system",
    "admin", "backup", "sync", "client", "static", "media", "assets", "mobile", "online",
];
#[rustfmt::skip]
const PROSE: &[&str] = &[
    "the", "actor", "used", "a", "spear-phishing", "campaign", "targeting", "government",
    "entities", "in", "the", "region", "with", "malicious", "documents", "that", "drop", "a",
    "loader", "which", "contacts", "its", "command-and-control", "server", "over", "HTTPS", "and",
    "downloads", "further", "stages", "observed", "between", "March", "and", "April",
    "infrastructure", "overlaps", "with", "previous", "reporting", "on", "this", "group",
    "persistence", "is", "achieved", "through", "a", "scheduled", "task", "credentials", "were",
    "harvested", "from", "browsers", "lateral", "movement", "via", "RDP",
];
pub const COMMENTS: &[&str] = &[
    "Seen in phishing campaign",
    "C2 server — observed beaconing every 60s",
    "From sandbox report",
    "Imported via feed",
    "Indicateur signalé par le CERT partenaire",
    "Zugriff über kompromittierte VPN-Konten",
    "Dropped by first stage loader",
    "Resolved by the C2 domain on 2024-03-12",
    "Payload hosted on compromised WordPress site",
    "Related to ticket #48213",
];
const SUBJECTS: &[&str] = &[
    "Invoice #48213 overdue",
    "Your account has been suspended",
    "Re: Q3 budget review",
    "Urgent: payment confirmation required",
    "Shared document: Project plan 2024.docx",
    "Delivery notification – parcel on hold",
    "Réunion du comité de pilotage",
    "Password expiry notice",
];
const FIRST_NAMES: &[&str] = &[
    "john", "maria", "a.smith", "noreply", "support", "billing", "hr", "it-desk", "j.doe",
];
const EXTENSIONS: &[&str] = &[
    ".exe", ".dll", ".docm", ".xlsm", ".pdf", ".zip", ".js", ".lnk", ".iso", ".hta", ".ps1",
];
const MIME_TYPES: &[&str] = &[
    "application/x-dosexec",
    "application/pdf",
    "application/zip",
    "application/vnd.ms-word.document.macroEnabled.12",
    "text/javascript",
];

pub type ValueFn = fn(&mut Rng, &mut String);

fn v_ipv4(r: &mut Rng, s: &mut String) {
    let _ = write!(
        s,
        "{}.{}.{}.{}",
        r.range(1, 223),
        r.below(256),
        r.below(256),
        r.range(1, 254)
    );
}

fn v_ip(r: &mut Rng, s: &mut String) {
    if r.chance(10) {
        let _ = write!(
            s,
            "2a0{}:{:x}:{:x}:{:x}::{:x}",
            r.range(1, 9),
            r.below(0xffff),
            r.below(0xffff),
            r.below(0xffff),
            r.range(1, 0xffff)
        );
    } else {
        v_ipv4(r, s);
    }
}

pub fn v_domain(r: &mut Rng, s: &mut String) {
    if r.chance(40) {
        s.push_str(r.pick(SUBDOMAINS));
        s.push('.');
    }
    if r.chance(50) {
        s.push_str(r.pick(WORDS));
        s.push('-');
        s.push_str(r.pick(WORDS));
    } else {
        let n = r.range(5, 14);
        r.letters(s, n);
    }
    s.push('.');
    s.push_str(r.pick(TLDS));
}

fn v_url(r: &mut Rng, s: &mut String) {
    s.push_str(if r.chance(80) { "https://" } else { "http://" });
    v_domain(r, s);
    for _ in 0..r.range(1, 4) {
        s.push('/');
        if r.chance(50) {
            s.push_str(r.pick(WORDS));
        } else {
            let n = r.range(3, 12);
            r.letters(s, n);
        }
    }
    if r.chance(30) {
        s.push_str(".php");
    }
    if r.chance(30) {
        s.push_str("?id=");
        r.hex(s, 16);
    }
}

fn v_md5(r: &mut Rng, s: &mut String) {
    r.hex(s, 32);
}

fn v_sha1(r: &mut Rng, s: &mut String) {
    r.hex(s, 40);
}

fn v_sha256(r: &mut Rng, s: &mut String) {
    r.hex(s, 64);
}

fn v_ssdeep(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "{}:", 3 << r.range(3, 10));
    let n = r.range(20, 60);
    r.letters(s, n);
    s.push(':');
    let n = r.range(10, 40);
    r.letters(s, n);
}

fn v_filename(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(WORDS));
    s.push_str(r.pick(&["_", "-", ""]));
    if r.chance(50) {
        let _ = write!(s, "{}", r.range(1000, 99999));
    } else {
        s.push_str(r.pick(WORDS));
    }
    s.push_str(r.pick(EXTENSIONS));
}

fn v_email(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(FIRST_NAMES));
    s.push('@');
    v_domain(r, s);
}

fn v_subject(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(SUBJECTS));
}

fn v_message_id(r: &mut Rng, s: &mut String) {
    s.push('<');
    r.hex(s, 24);
    s.push('@');
    v_domain(r, s);
    s.push('>');
}

pub fn prose(r: &mut Rng, s: &mut String, words: usize) {
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(r.pick(PROSE));
    }
    s.push('.');
}

fn v_text(r: &mut Rng, s: &mut String) {
    let n = r.range(8, 60);
    prose(r, s, n);
}

fn v_vulnerability(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "CVE-20{}-{}", r.range(15, 24), r.range(1000, 49999));
}

fn v_user_agent(r: &mut Rng, s: &mut String) {
    let _ = write!(
        s,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Safari/537.36",
        r.range(100, 124),
        r.range(4000, 6400),
        r.range(10, 200)
    );
}

fn v_regkey(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(&[
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\",
        "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\",
        "HKLM\\SYSTEM\\CurrentControlSet\\Services\\",
    ]));
    s.push_str(r.pick(WORDS));
    s.push_str(r.pick(&["Svc", "Update", "Helper", "Host"]));
}

fn v_yara(r: &mut Rng, s: &mut String) {
    let _ = write!(
        s,
        "rule APT_Loader_{} {{\n  meta:\n    author = \"CERT-EX\"\n    description = \"",
        r.range(1, 999)
    );
    let n = r.range(6, 16);
    prose(r, s, n);
    s.push_str("\"\n  strings:\n");
    for i in 0..r.range(3, 10) {
        let _ = write!(s, "    $s{i} = \"");
        s.push_str(r.pick(WORDS));
        s.push('_');
        r.hex(s, 8);
        s.push_str("\" ascii wide\n");
    }
    s.push_str("  condition:\n    uint16(0) == 0x5a4d and 3 of them\n}");
}

fn v_asn(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "AS{}", r.range(1000, 212000));
}

fn v_port(r: &mut Rng, s: &mut String) {
    let p = r.pick(&[80usize, 443, 8080, 8443, 4444, 53, 25, 1337]);
    let p = if r.chance(20) {
        r.range(1024, 65535)
    } else {
        p
    };
    let _ = write!(s, "{p}");
}

fn v_size(r: &mut Rng, s: &mut String) {
    let _ = write!(s, "{}", r.range(1024, 8_000_000));
}

fn v_mime(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(MIME_TYPES));
}

fn v_scheme(r: &mut Rng, s: &mut String) {
    s.push_str(r.pick(&["https", "http"]));
}

fn v_path(r: &mut Rng, s: &mut String) {
    for _ in 0..r.range(1, 3) {
        s.push('/');
        s.push_str(r.pick(WORDS));
    }
}

/// A top-level attribute kind: (type, category, to_ids, value).
type Kind = (&'static str, &'static str, bool, ValueFn);

/// Top-level attribute kinds, weighted.
pub const KINDS: &[(usize, Kind)] = &[
    (14, ("ip-dst", "Network activity", true, v_ip)),
    (8, ("ip-src", "Network activity", true, v_ip)),
    (14, ("domain", "Network activity", true, v_domain)),
    (5, ("hostname", "Network activity", true, v_domain)),
    (7, ("url", "Network activity", true, v_url)),
    (3, ("url", "External analysis", false, v_url)),
    (3, ("link", "External analysis", false, v_url)),
    (6, ("md5", "Payload delivery", true, v_md5)),
    (2, ("md5", "Artifacts dropped", true, v_md5)),
    (4, ("sha1", "Payload delivery", true, v_sha1)),
    (7, ("sha256", "Payload delivery", true, v_sha256)),
    (5, ("filename", "Payload delivery", false, v_filename)),
    (4, ("email-src", "Payload delivery", true, v_email)),
    (2, ("email-subject", "Payload delivery", false, v_subject)),
    (4, ("text", "Other", false, v_text)),
    (2, ("comment", "Other", false, v_text)),
    (
        2,
        ("vulnerability", "External analysis", false, v_vulnerability),
    ),
    (2, ("user-agent", "Network activity", false, v_user_agent)),
    (2, ("regkey", "Persistence mechanism", true, v_regkey)),
    (1, ("yara", "Payload installation", false, v_yara)),
    (1, ("AS", "Network activity", false, v_asn)),
];

pub struct Template {
    pub name: &'static str,
    pub meta: &'static str,
    pub description: &'static str,
    pub uuid: &'static str,
    pub version: &'static str,
    /// (relation, type, category, percent present, how many at most, value)
    pub attributes: &'static [(
        &'static str,
        &'static str,
        &'static str,
        usize,
        usize,
        ValueFn,
    )],
}

pub const TEMPLATES: &[(usize, Template)] = &[
    (
        35,
        Template {
            name: "file",
            meta: "file",
            description: "File object describing a file with meta-information",
            uuid: "688c46fb-5edb-40a3-8273-1af7923e2215",
            version: "24",
            attributes: &[
                (
                    "filename",
                    "filename",
                    "Payload delivery",
                    100,
                    1,
                    v_filename,
                ),
                ("md5", "md5", "Payload delivery", 100, 1, v_md5),
                ("sha1", "sha1", "Payload delivery", 90, 1, v_sha1),
                ("sha256", "sha256", "Payload delivery", 100, 1, v_sha256),
                ("ssdeep", "ssdeep", "Payload delivery", 40, 1, v_ssdeep),
                ("size-in-bytes", "size-in-bytes", "Other", 80, 1, v_size),
                ("mimetype", "mime-type", "Payload delivery", 50, 1, v_mime),
            ],
        },
    ),
    (
        25,
        Template {
            name: "domain-ip",
            meta: "network",
            description: "A domain/hostname and IP address seen as a tuple in a specific time frame.",
            uuid: "43b3b146-77eb-4931-b4cc-b66c60f28734",
            version: "11",
            attributes: &[
                ("domain", "domain", "Network activity", 100, 1, v_domain),
                ("ip", "ip-dst", "Network activity", 100, 3, v_ip),
                ("text", "text", "Other", 15, 1, v_text),
            ],
        },
    ),
    (
        20,
        Template {
            name: "url",
            meta: "network",
            description: "url object describes an url along with its normalized field (like extracted using faup parsing library) and its metadata.",
            uuid: "60efb77b-40b5-4c46-871b-ed1ed999fce5",
            version: "9",
            attributes: &[
                ("url", "url", "Network activity", 100, 1, v_url),
                ("domain", "domain", "Network activity", 80, 1, v_domain),
                ("scheme", "text", "Other", 60, 1, v_scheme),
                ("resource_path", "text", "Other", 60, 1, v_path),
            ],
        },
    ),
    (
        10,
        Template {
            name: "email",
            meta: "network",
            description: "Email object describing an email with meta-information",
            uuid: "a0c666e0-fc65-4be8-b48f-3423d788b552",
            version: "18",
            attributes: &[
                ("from", "email-src", "Payload delivery", 100, 1, v_email),
                ("to", "email-dst", "Network activity", 90, 3, v_email),
                (
                    "subject",
                    "email-subject",
                    "Payload delivery",
                    100,
                    1,
                    v_subject,
                ),
                (
                    "message-id",
                    "email-message-id",
                    "Payload delivery",
                    70,
                    1,
                    v_message_id,
                ),
                (
                    "attachment",
                    "email-attachment",
                    "Payload delivery",
                    50,
                    2,
                    v_filename,
                ),
            ],
        },
    ),
    (
        10,
        Template {
            name: "ip-port",
            meta: "network",
            description: "An IP address (or domain or hostname) and a port seen as a tuple (or as a triple) in a specific time frame.",
            uuid: "9f8cea74-16fe-4968-a2b4-026676949ac6",
            version: "8",
            attributes: &[
                ("ip", "ip-dst", "Network activity", 100, 1, v_ip),
                ("dst-port", "port", "Network activity", 100, 2, v_port),
                ("text", "text", "Other", 10, 1, v_text),
            ],
        },
    ),
];

/// (name, colour, is_galaxy)
pub const ATTRIBUTE_TAGS: &[(&str, &str, bool)] = &[
    ("tlp:green", "#33FF00", false),
    ("tlp:clear", "#ffffff", false),
    ("PAP:GREEN", "#33FF00", false),
    ("osint:source-type=\"blog-post\"", "#00223b", false),
    (
        "admiralty-scale:information-credibility=\"2\"",
        "#0a2f6b",
        false,
    ),
    ("kill-chain:Command and Control", "#8a2be2", false),
    (
        "estimative-language:confidence-in-analytic-judgment=\"moderate\"",
        "#ffc000",
        false,
    ),
    ("workflow:state=\"complete\"", "#339900", false),
];

pub const EVENT_TAGS: &[(&str, &str, bool)] = &[
    ("tlp:green", "#33FF00", false),
    ("PAP:GREEN", "#33FF00", false),
    ("osint:source-type=\"blog-post\"", "#00223b", false),
    ("misp-galaxy:threat-actor=\"Sofacy\"", "#0088cc", true),
    (
        "misp-galaxy:mitre-attack-pattern=\"Phishing - T1566\"",
        "#0088cc",
        true,
    ),
];

pub const ORGS: &[(&str, &str, &str)] = &[
    ("1", "CERT-EX", "55f6ea5e-2c60-40e5-964f-47a8950d210f"),
    ("2", "CIRCL", "55f6ea5e-2c60-40e5-964f-47a8950d210e"),
    ("5", "Partner CSIRT", "5c2e7f0a-1d3b-4e5f-9a8b-7c6d5e4f3a2b"),
    (
        "9",
        "National Cyber Centre",
        "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    ),
    ("14", "Energy ISAC", "7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"),
    ("21", "Telco SOC", "8c3d4e5f-6a7b-4c8d-ae9f-1a2b3c4d5e6f"),
];
