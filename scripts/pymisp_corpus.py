"""Checks that the rule engine reads real MISP-client serialisations correctly.

PyMISP, MISP's own Python client, is the source of truth for shapes and
vocabulary: its bundled describeTypes.json (every attribute type and the
categories it may take) and its bundled misp-objects templates. From them this
script builds a deterministic corpus (seeded ``random``) of ``MISPEvent``s:

* every attribute type, each with one of its valid categories, except the
  blocked type and the types whose only category is the blocked one;
* about 100 object templates (``MISPObject(name, strict=True)`` with values
  for the attributes the template requires, plus a few optional ones);
* event tags (``tlp:green``, ``type:OSINT``, sometimes a galaxy tag),
  attribute tags, distribution levels as PyMISP emits them (``"0"``..``"5"``,
  or left out), a sharing group (not blocked) on some elements, event
  reports, notes, opinions and relationships, proposals, galaxy clusters and
  object references.

Each event is serialised as PyMISP sends it to ``events/add``
(``event.to_json()``, the bare event), wrapped as ``{"Event": ...}`` as MISP's
own sync pushes it, and as a pull response ``{"Event": ...}``; each form goes
through ``misp-warden eval`` and must be allowed. Then every event gets a
twin with ONE blocked thing planted at a seeded random place (a ``tlp:red``
tag, distribution 0 as PyMISP's ``"0"`` or as an integer, the blocked sharing
group, a ``passport-number`` attribute, a ``Person``-category attribute, a
``person`` object) which must be blocked (exit 3) with a reason naming the
matching rule. A second config requires the ``tlp`` taxonomy: ``tlp:green``
and ``tlp:clear`` events pass, events without a tlp tag or with ``tlp:amber``
are blocked. A few PyMISP defaults that leave out what MISP would fill in
from its own server settings (a distribution, the sharing group itself) must
be refused, fail closed.

Usage: .venv/bin/python scripts/pymisp_corpus.py target/debug/misp-warden
       [--events N] [--templates N] [--jobs N] [--keep DIR]

``--keep DIR`` leaves the configs, every body and an index (cases.txt) in
DIR, to replay one case by hand with ``misp-warden eval``.

The last line printed is ``pymisp corpus: N passed, M failed``; the exit
status is 1 when M > 0, after each failure has been listed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymisp
from pymisp import (
    MISPAttribute,
    MISPEvent,
    MISPGalaxy,
    MISPGalaxyCluster,
    MISPObject,
    MISPSharingGroup,
)

SEED = 0x5EED_2024
N_EVENTS = 60
N_TEMPLATES = 100

INSIDE = {"id": "misp_inside", "ip": "192.0.2.10", "host": "misp.inside.example", "compartment": "a"}
OUTSIDE = {"id": "misp_outside", "ip": "198.51.100.20", "host": "misp.outside.example", "compartment": "b"}

BLOCKED_TAG = "tlp:red"
BLOCKED_TYPE = "passport-number"
BLOCKED_CATEGORY = "Person"
BLOCKED_OBJECT = "person"
BLOCKED_SG_UUID = "4f3c2b1a-9d8e-4c7b-a6f5-0e1d2c3b4a59"
CLEAN_SG_UUID = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"
OUTSIDE_ORG_UUID = "2d4e6f80-1a3c-4e5f-8a9b-0c1d2e3f4a5b"
INSIDE_ORG_UUID = "9e8d7c6b-5a49-4382-9716-05f4e3d2c1b0"

PUSH_PATH = "/events/add/metadata:1"
PULL_PATH = "/events/view/{uuid}/deleted[]:0/deleted[]:1/excludeGalaxy:1"

FORMS = ("push-bare", "push-wrapped", "pull")

DESCRIBE_TYPES: dict[str, Any] = pymisp.AbstractMISP().describe_types
OBJECTS_DIR = Path(pymisp.__file__).parent / "data" / "misp-objects" / "objects"


# --------------------------------------------------------------------------
# Configs


def guard_config(require_tlp: bool) -> dict[str, Any]:
    """A misp-guard config.json: the inside instance (the data owner, whose
    rules decide both its pushes and what is pulled from it) blocks things;
    the outside instance blocks nothing."""

    def instance(spec: dict[str, str], rules: dict[str, Any]) -> dict[str, Any]:
        return {
            "ip": spec["ip"],
            "host": spec["host"],
            "port": 443,
            "compartment_id": spec["compartment"],
            "affiliation": spec["id"],
            **rules,
        }

    inside_rules = {
        "taxonomies_rules": {
            "required_taxonomies": ["tlp"] if require_tlp else [],
            "allowed_tags": {"tlp": ["tlp:clear", "tlp:green"]} if require_tlp else {},
            "blocked_tags": [BLOCKED_TAG],
        },
        "blocked_distribution_levels": ["0"],
        "blocked_sharing_groups_uuids": [BLOCKED_SG_UUID],
        "blocked_attribute_types": [BLOCKED_TYPE],
        "blocked_attribute_categories": [BLOCKED_CATEGORY],
        "blocked_object_types": [BLOCKED_OBJECT],
    }
    outside_rules = {
        "taxonomies_rules": {"required_taxonomies": [], "allowed_tags": {}, "blocked_tags": []},
        "blocked_distribution_levels": [],
        "blocked_sharing_groups_uuids": [],
        "blocked_attribute_types": [],
        "blocked_attribute_categories": [],
        "blocked_object_types": [],
    }
    return {
        "allowlist": {"urls": [], "domains": []},
        "compartments_rules": {"can_reach": {"a": ["b"], "b": ["a"]}},
        "instances": {
            INSIDE["id"]: instance(INSIDE, inside_rules),
            OUTSIDE["id"]: instance(OUTSIDE, outside_rules),
        },
    }


# --------------------------------------------------------------------------
# Plausible values per MISP attribute type

HEX_LENGTHS = {
    "md5": 32,
    "sha1": 40,
    "sha224": 56,
    "sha256": 64,
    "sha384": 96,
    "sha512": 128,
    "sha512/224": 56,
    "sha512/256": 64,
    "sha3-224": 56,
    "sha3-256": 64,
    "sha3-384": 96,
    "sha3-512": 128,
    "authentihash": 64,
    "imphash": 32,
    "pehash": 40,
    "cdhash": 40,
    "git-commit-id": 40,
    "ja3-fingerprint-md5": 32,
    "hassh-md5": 32,
    "hasshserver-md5": 32,
    "dom-hash": 32,
    "x509-fingerprint-md5": 32,
    "x509-fingerprint-sha1": 40,
    "x509-fingerprint-sha256": 64,
    "jarm-fingerprint": 62,
    "telfhash": 70,
}


class Values:
    """Seeded generator of plausible attribute values (documentation IPs and
    example domains only)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def letters(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def hex(self, n: int) -> str:
        return self.letters("0123456789abcdef", n)

    def armoured(self, label: str, start: str) -> str:
        return f"-----BEGIN {label}-----\n\n{start}{self.hex(40)}\n-----END {label}-----"

    def word(self) -> str:
        return self.rng.choice(["alpha", "bravo", "delta", "kilo", "lima", "oscar", "sierra", "tango"])

    def ip(self) -> str:
        net = self.rng.choice(["192.0.2", "198.51.100", "203.0.113"])
        return f"{net}.{self.rng.randint(1, 254)}"

    def domain(self) -> str:
        return f"{self.word()}{self.rng.randint(1, 99)}.example"

    def email(self) -> str:
        return f"{self.word()}@{self.domain()}"

    def date(self) -> str:
        return f"20{self.rng.randint(10, 24)}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ssdeep(self) -> str:
        b64 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
        part = "".join(self.rng.choice(b64) for _ in range(24))
        return f"96:{part}:{part[:12]}"

    def filename(self) -> str:
        return f"{self.word()}_{self.rng.randint(1, 999)}.{self.rng.choice(['exe', 'dll', 'doc', 'js'])}"

    def of_type(self, misp_type: str) -> str:
        """A value for ``misp_type``; composite ``a|b`` types are joined."""
        if misp_type in HEX_LENGTHS:
            return self.hex(HEX_LENGTHS[misp_type])
        if misp_type.startswith("filename|"):
            return f"{self.filename()}|{self.of_type(misp_type.split('|', 1)[1])}"
        fixed: dict[str, Callable[[], str]] = {
            "filename": self.filename,
            "pdb": lambda: f"C:\\build\\{self.word()}\\Release\\{self.word()}.pdb",
            "ip-src": self.ip,
            "ip-dst": self.ip,
            "hostname": lambda: f"host.{self.domain()}",
            "domain": self.domain,
            "domain|ip": lambda: f"{self.domain()}|{self.ip()}",
            "email": self.email,
            "email-src": self.email,
            "email-dst": self.email,
            "eppn": self.email,
            "target-email": self.email,
            "email-reply-to": self.email,
            "whois-registrant-email": self.email,
            "dns-soa-email": self.email,
            "jabber-id": self.email,
            "email-subject": lambda: f"Invoice {self.rng.randint(1000, 9999)}",
            "email-attachment": self.filename,
            "email-body": lambda: "Please find the invoice attached.",
            "email-header": lambda: f"Received: from {self.domain()}",
            "email-x-mailer": lambda: "Microsoft Outlook 16.0",
            "email-mime-boundary": lambda: f"----=_Part_{self.hex(12)}",
            "email-thread-index": lambda: "AQHZ" + self.hex(20),
            "email-message-id": lambda: f"<{self.hex(16)}@{self.domain()}>",
            "email-dst-display-name": lambda: "Accounts Payable",
            "email-src-display-name": lambda: "Billing Team",
            "float": lambda: f"{self.rng.uniform(0, 100):.3f}",
            "url": lambda: f"https://{self.domain()}/{self.word()}/index.php",
            "link": lambda: f"https://{self.domain()}/report/{self.rng.randint(1, 999)}",
            "uri": lambda: f"/{self.word()}/{self.word()}.php",
            "http-method": lambda: self.rng.choice(["GET", "POST", "PUT"]),
            "user-agent": lambda: "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "favicon-mmh3": lambda: str(self.rng.randint(-(2**31), 2**31 - 1)),
            "regkey": lambda: f"HKLM\\Software\\{self.word()}\\Run",
            "regkey|value": lambda: f"HKLM\\Software\\{self.word()}\\Run|{self.filename()}",
            "AS": lambda: f"AS{self.rng.randint(64496, 64511)}",
            "snort": lambda: 'alert tcp any any -> any 80 (msg:"test"; sid:1000001;)',
            "suricata": lambda: 'alert http any any -> any any (msg:"test"; sid:2000001;)',
            "bro": lambda: "event http_request(c: connection) { }",
            "zeek": lambda: "event dns_request(c: connection) { }",
            "community-id": lambda: "1:" + self.hex(27) + "=",
            "pattern-in-file": lambda: f"{self.word()}.{self.word()}",
            "pattern-in-traffic": lambda: f"GET /{self.word()}",
            "pattern-in-memory": lambda: f"{self.word()}-mutex",
            "filename-pattern": lambda: f"{self.word()}_*.exe",
            "pgp-public-key": lambda: self.armoured("PGP PUBLIC KEY BLOCK", "mQENBF"),
            "pgp-private-key": lambda: self.armoured("PGP PRIVATE KEY BLOCK", "lQOYBF"),
            "ssh-fingerprint": lambda: ":".join(self.hex(2) for _ in range(16)),
            "yara": lambda: f'rule {self.word()} {{ strings: $a = "{self.word()}" condition: $a }}',
            "stix2-pattern": lambda: f"[ipv4-addr:value = '{self.ip()}']",
            "sigma": lambda: "title: t\nlogsource: {product: windows}\ndetection: {s: {Image: x.exe}, condition: s}",
            "gene": lambda: '{"Name": "test", "Matches": []}',
            "kusto-query": lambda: "DeviceProcessEvents | where FileName == 'x.exe'",
            "mime-type": lambda: self.rng.choice(["application/pdf", "application/x-dosexec", "text/html"]),
            "cookie": lambda: f"session={self.hex(24)}",
            "vulnerability": lambda: f"CVE-20{self.rng.randint(10, 24)}-{self.rng.randint(1000, 49999)}",
            "cpe": lambda: "cpe:2.3:a:example:product:1.0:*:*:*:*:*:*:*",
            "weakness": lambda: f"CWE-{self.rng.randint(20, 999)}",
            "attachment": self.filename,
            "malware-sample": lambda: f"{self.filename()}|{self.hex(32)}",
            "comment": lambda: f"Seen during {self.word()} campaign analysis",
            "text": lambda: f"{self.word()} {self.word()} {self.rng.randint(1, 999)}",
            "hex": lambda: self.hex(16),
            "other": lambda: f"other-{self.word()}",
            "named pipe": lambda: f"\\\\.\\pipe\\{self.word()}",
            "mutex": lambda: f"Global\\{self.word()}{self.rng.randint(1, 99)}",
            "process-state": lambda: self.rng.choice(["running", "terminated"]),
            "target-user": lambda: f"{self.word()}.user",
            "target-machine": lambda: f"WS-{self.rng.randint(100, 999)}",
            "target-org": lambda: "Example Corp",
            "target-location": lambda: "Luxembourg",
            "target-external": lambda: "Example Partner Ltd",
            "btc": lambda: "bc1q" + self.hex(38),
            "dash": lambda: "X" + self.hex(33),
            "xmr": lambda: "4" + self.hex(94),
            "iban": lambda: "LU280019400644750000",
            "bic": lambda: "BCEELULL",
            "bank-account-nr": lambda: str(self.rng.randint(10**9, 10**10 - 1)),
            "aba-rtn": lambda: "011000015",
            "bin": lambda: str(self.rng.randint(400000, 499999)),
            "cc-number": lambda: "4111111111111111",
            "prtn": lambda: "+35220000000",
            "phone-number": lambda: f"+352 20 {self.rng.randint(10, 99)} {self.rng.randint(100, 999)}",
            "whois-registrant-phone": lambda: "+352.20000000",
            "threat-actor": lambda: f"{self.word().title()} Spider",
            "campaign-name": lambda: f"Operation {self.word().title()}",
            "campaign-id": lambda: f"CAMP-{self.rng.randint(1, 999)}",
            "malware-type": lambda: self.rng.choice(["ransomware", "trojan", "dropper"]),
            "vhash": lambda: "0" + self.hex(15) + "z",
            "ssdeep": self.ssdeep,
            "impfuzzy": self.ssdeep,
            "tlsh": lambda: "T1" + self.hex(70).upper(),
            "windows-scheduled-task": lambda: f"\\Microsoft\\Windows\\{self.word()}",
            "windows-service-name": lambda: f"{self.word()}svc",
            "windows-service-displayname": lambda: f"{self.word().title()} Update Service",
            "whois-registrant-name": lambda: "Registrant Example",
            "whois-registrant-org": lambda: "Example Holdings",
            "whois-registrar": lambda: "Example Registrar Inc.",
            "whois-creation-date": self.date,
            "size-in-bytes": lambda: str(self.rng.randint(1, 10**7)),
            "counter": lambda: str(self.rng.randint(0, 1000)),
            "integer": lambda: str(self.rng.randint(-1000, 1000)),
            "datetime": lambda: f"{self.date()}T{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}:00+00:00",
            "port": lambda: str(self.rng.randint(1, 65535)),
            "ip-dst|port": lambda: f"{self.ip()}|{self.rng.randint(1, 65535)}",
            "ip-src|port": lambda: f"{self.ip()}|{self.rng.randint(1, 65535)}",
            "hostname|port": lambda: f"host.{self.domain()}|{self.rng.randint(1, 65535)}",
            "mac-address": lambda: ":".join(self.hex(2) for _ in range(6)),
            "mac-eui-64": lambda: ":".join(self.hex(2) for _ in range(8)),
            "github-username": lambda: f"{self.word()}{self.rng.randint(1, 99)}",
            "github-repository": lambda: f"{self.word()}/{self.word()}",
            "github-organisation": lambda: f"{self.word()}-org",
            "twitter-id": lambda: f"@{self.word()}{self.rng.randint(1, 99)}",
            "dkim": lambda: "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GN",
            "dkim-signature": lambda: f"v=1; a=rsa-sha256; d={self.domain()}; s=sel; b={self.hex(20)}",
            "first-name": lambda: "Jane",
            "middle-name": lambda: "Q.",
            "last-name": lambda: "Doe",
            "full-name": lambda: "Jane Q. Doe",
            "date-of-birth": self.date,
            "place-of-birth": lambda: "Luxembourg",
            "gender": lambda: self.rng.choice(["Female", "Male"]),
            "passport-number": lambda: f"P{self.rng.randint(10**7, 10**8 - 1)}",
            "passport-country": lambda: "LU",
            "passport-expiration": self.date,
            "nationality": lambda: "Luxembourgish",
            "mobile-application-id": lambda: f"com.{self.word()}.app",
            "azure-application-id": self.uuid,
            "chrome-extension-id": lambda: self.letters("abcdefghijklmnop", 32),
            "edge-extension-id": lambda: self.letters("abcdefghijklmnop", 32),
            "cortex": lambda: '{"summary": {"taxonomies": []}}',
            "boolean": lambda: self.rng.choice(["0", "1"]),
            "uuid": self.uuid,
            "anonymised": lambda: "xxxxxxxx",
            "onion-address": lambda: self.letters("abcdefghijklmnopqrstuvwxyz234567", 56) + ".onion",
        }
        make = fixed.get(misp_type)
        if make is not None:
            return make()
        return f"{misp_type} {self.word()} {self.rng.randint(1, 9999)}"


# --------------------------------------------------------------------------
# Vocabulary from PyMISP's bundled data


def categories_of(misp_type: str) -> list[str]:
    return [c for c, types in DESCRIBE_TYPES["category_type_mappings"].items() if misp_type in types]


def is_blocked(misp_type: str, category: str) -> bool:
    return misp_type == BLOCKED_TYPE or category == BLOCKED_CATEGORY


def coverable_types() -> tuple[list[tuple[str, list[str]]], list[str]]:
    """(type, allowed categories) for every type that can be clean, and the
    types that cannot (blocked type, or only the blocked category)."""
    covered, skipped = [], []
    for t in DESCRIBE_TYPES["types"]:
        cats = [c for c in categories_of(t) if not is_blocked(t, c)]
        if cats:
            covered.append((t, cats))
        else:
            skipped.append(t)
    return covered, skipped


def template(name: str) -> dict[str, Any]:
    with (OBJECTS_DIR / name / "definition.json").open(encoding="utf-8") as f:
        return json.load(f)


def relation_type_category(definition: dict[str, Any], relation: str) -> tuple[str, str]:
    """What PyMISP will emit for a relation: the template's type, and its
    first listed category or else the type's default category."""
    rel = definition["attributes"][relation]
    misp_type = rel["misp-attribute"]
    cats = rel.get("categories") or [DESCRIBE_TYPES["sane_defaults"][misp_type]["default_category"]]
    return misp_type, cats[0]


def clean_relations(definition: dict[str, Any], rng: random.Random) -> list[str] | None:
    """Relations to fill for a clean object of this template: all required
    ones, one of ``requiredOneOf``, and up to two optional ones; ``None``
    when the template cannot be filled without a blocked type or category."""

    def clean(rel: str) -> bool:
        return rel in definition["attributes"] and not is_blocked(*relation_type_category(definition, rel))

    required = list(definition.get("required", []))
    if not all(clean(r) for r in required):
        return None
    chosen = list(required)
    one_of = [r for r in definition.get("requiredOneOf", []) if clean(r)]
    if definition.get("requiredOneOf"):
        if not one_of:
            return None
        if not set(chosen) & set(one_of):
            chosen.append(rng.choice(one_of))
    optional = sorted(r for r in definition["attributes"] if r not in chosen and clean(r))
    chosen += rng.sample(optional, min(len(optional), rng.randint(0 if chosen else 1, 2)))
    return chosen or None


def choose_templates(rng: random.Random, wanted: int) -> tuple[list[tuple[str, list[str]]], int]:
    """``wanted`` templates (or all there are) in a seeded order, with the relations
    to fill; also how many candidates were passed over as unfillable."""
    names = sorted(p.name for p in OBJECTS_DIR.iterdir() if (p / "definition.json").is_file())
    rng.shuffle(names)
    chosen: list[tuple[str, list[str]]] = []
    passed_over = 0
    for name in names:
        if len(chosen) == wanted:
            break
        if name == BLOCKED_OBJECT:
            continue
        relations = clean_relations(template(name), rng)
        if relations is None:
            passed_over += 1
            continue
        chosen.append((name, relations))
    return chosen, passed_over


# --------------------------------------------------------------------------
# Building events with PyMISP


class SeededUUID:
    """Stands in for the ``uuid`` module inside ``pymisp.mispevent``, so the
    uuids PyMISP makes up for every element are drawn from a seeded
    generator: the same spec always builds the same bytes."""

    def __init__(self) -> None:
        self.rng = random.Random(0)

    def reseed(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def __getattr__(self, name: str) -> Any:
        return getattr(uuid, name)


SEEDED_UUID = SeededUUID()
pymisp.mispevent.uuid = SEEDED_UUID  # type: ignore[assignment]


def sharing_group(sg_uuid: str) -> MISPSharingGroup:
    """A sharing group as MISP serialises it inside an element; the outside
    organisation is a member (what ``X-UserOrgUUID`` is checked against)."""
    sg = MISPSharingGroup()
    sg.from_dict(
        uuid=sg_uuid,
        name="Blocked partners" if sg_uuid == BLOCKED_SG_UUID else "Trusted partners",
        releasability="members only",
        description="sharing group of the corpus",
        active=True,
        SharingGroupOrg=[
            {"extend": True, "Organisation": {"uuid": INSIDE_ORG_UUID, "name": "Inside CERT"}},
            {"extend": False, "Organisation": {"uuid": OUTSIDE_ORG_UUID, "name": "Outside CERT"}},
        ],
        SharingGroupServer=[
            {"all_orgs": False, "Server": {"name": "Local instance", "url": "https://misp.inside.example"}}
        ],
    )
    return sg


def set_distribution(element: Any, level: int, sg_uuid: str | None = None) -> None:
    """Sets an element's distribution the way a PyMISP user does; level 4
    also sets the sharing group (id and the object MISP sync carries)."""
    element.distribution = level
    if level == 4:
        element.sharing_group_id = 7 if sg_uuid == BLOCKED_SG_UUID else 3
        element.SharingGroup = sharing_group(sg_uuid or CLEAN_SG_UUID)
    else:
        for key in ("SharingGroup", "sharing_group_id"):
            if hasattr(element, key):
                delattr(element, key)


def clean_distribution(rng: random.Random, element: Any, allow_unset: bool) -> None:
    """A clean level: unset (PyMISP then leaves the key out), 1, 2, 3, 5, or
    4 with the clean sharing group."""
    choices = [1, 2, 3, 4, 5] + ([None, None] if allow_unset else [])
    level = rng.choice(choices)
    if level is not None:
        set_distribution(element, level)


ATTRIBUTE_TAGS = [
    "PAP:GREEN",
    'admiralty-scale:source-reliability="b"',
    'estimative-language:likelihood-probability="likely"',
    "tlp:clear",
]


def build_object(name: str, relations: list[str], values: Values) -> MISPObject:
    """``MISPObject(name)`` with a value for each relation (from the
    template's list of values when it has one), checked by PyMISP against the
    template's requirements."""
    definition = template(name)
    obj = MISPObject(name, strict=True)
    for rel in relations:
        spec = definition["attributes"][rel]
        options = spec.get("values_list") or spec.get("sane_default")
        value = values.rng.choice(options) if options else values.of_type(spec["misp-attribute"])
        obj.add_attribute(rel, value=value)
    obj.to_dict(strict=True)  # raises when a required relation is missing
    return obj


@dataclass
class EventSpec:
    index: int
    seed: int
    types: list[tuple[str, str]]
    templates: list[tuple[str, list[str]]]


def build_event(spec: EventSpec) -> MISPEvent:
    """The clean event of ``spec``; the same spec always builds the same event."""
    rng = random.Random(spec.seed)
    SEEDED_UUID.reseed(spec.seed)
    values = Values(rng)
    event = MISPEvent()
    event.info = f"Corpus event {spec.index}: {values.word()} activity"
    event.set_date(values.date())
    event.threat_level_id = rng.randint(1, 4)
    event.analysis = rng.randint(0, 2)
    event.published = True
    clean_distribution(rng, event, allow_unset=False)
    if rng.random() < 0.5:
        event.add_tag("tlp:green")
    else:  # the fuller shape PyMISP keeps for a tag read back from MISP
        event.add_tag({"name": "tlp:green", "colour": "#33FF00", "exportable": True, "local": False})
    event.add_tag("type:OSINT")
    if rng.random() < 0.4:
        event.add_tag('misp-galaxy:threat-actor="Sofacy"')

    for misp_type, category in spec.types:
        attribute = add_attribute(
            event, misp_type, values.of_type(misp_type), category=category, comment=f"{misp_type} of the corpus"
        )
        clean_distribution(rng, attribute, allow_unset=True)
        if rng.random() < 0.3:
            attribute.add_tag(rng.choice(ATTRIBUTE_TAGS))

    for name, relations in spec.templates:
        obj = build_object(name, relations, values)
        clean_distribution(rng, obj, allow_unset=False)
        for attribute in obj.attributes:
            clean_distribution(rng, attribute, allow_unset=True)
            if rng.random() < 0.2:
                attribute.add_tag(rng.choice(ATTRIBUTE_TAGS))
        if event.attributes and rng.random() < 0.5:
            obj.add_reference(rng.choice(event.attributes).uuid, "related-to")
        event.add_object(obj)

    report = event.add_event_report(
        name=f"Report {spec.index}", content=f"# Findings\n\nSee @[attribute]({event.attributes[0].uuid})."
    )
    clean_distribution(rng, report, allow_unset=False)

    for _ in range(rng.choice([0, 0, 1, 2])):
        note = rng.choice(note_parents(event)).add_note(note=f"Analyst note {spec.index}", language="en")
        note.distribution = rng.choice([1, 2, 3, 5])
    if rng.random() < 0.3:
        opinion = event.add_opinion(opinion=rng.randint(0, 100), comment="plausible")
        opinion.distribution = rng.choice([1, 2, 3, 5])
    if rng.random() < 0.3:
        target = rng.choice(event.attributes)
        relationship = event.add_relationship(
            related_object_type="Attribute", related_object_uuid=target.uuid, relationship_type="related-to"
        )
        relationship.distribution = rng.choice([1, 2, 3, 5])
    if rng.random() < 0.3:
        misp_type, category = rng.choice(spec.types)
        event.add_proposal(type=misp_type, value=values.of_type(misp_type), category=category)
    if rng.random() < 0.3:
        misp_type, category = rng.choice(spec.types)
        target = next(a for a in event.attributes if a.type == misp_type)
        target.add_proposal(type=misp_type, value=values.of_type(misp_type), category=category, to_ids=False)
    if rng.random() < 0.3:
        add_galaxy(rng.choice(galaxy_parents(event)), values, distribution=rng.choice([1, 2, 3]))
    return event


def add_attribute(event: MISPEvent, misp_type: str, value: str, **kwargs: Any) -> MISPAttribute:
    """``event.add_attribute`` for one value (a list would give a list)."""
    attribute = event.add_attribute(misp_type, value, **kwargs)
    assert isinstance(attribute, MISPAttribute)
    return attribute


def note_parents(event: MISPEvent) -> list[Any]:
    """Everything PyMISP can hang analyst data on, in a fixed order."""
    return [event, *event.attributes, *event.objects, *_object_attributes(event), *event.event_reports]


def galaxy_parents(event: MISPEvent) -> list[MISPEvent | MISPAttribute]:
    return [event, *event.attributes]


def add_galaxy(parent: MISPEvent | MISPAttribute, values: Values, distribution: int) -> MISPGalaxyCluster:
    galaxy = MISPGalaxy()
    galaxy.from_dict(
        uuid="698774c7-8022-42c4-917f-8d6e4f06ada3",
        name="Threat Actor",
        type="threat-actor",
        namespace="misp",
        description="Threat actors",
        version="3",
    )
    cluster = MISPGalaxyCluster()
    cluster.from_dict(
        uuid=values.uuid(),
        value="Sofacy",
        type="threat-actor",
        tag_name='misp-galaxy:threat-actor="Sofacy"',
        distribution=distribution,
        authors=["MISP Project"],
        version="1",
        description="Sofacy",
        source="MISP Project",
    )
    galaxy.GalaxyCluster.append(cluster)
    parent.add_galaxy(galaxy)
    return cluster


# --------------------------------------------------------------------------
# Planting one blocked thing


@dataclass
class Plant:
    """What was planted, the rule it must trip, and (for distribution 0 sent
    as an integer) the uuid of the element whose level is rewritten."""

    what: str
    rule: str
    int_zero_uuid: str | None = None


def _object_attributes(event: MISPEvent) -> list[MISPAttribute]:
    return [a for o in event.objects for a in o.attributes]


def _zero(as_int: bool, element: Any, what: str) -> Plant:
    set_distribution(element, 0)
    return Plant(
        f"distribution 0 ({'int' if as_int else 'PyMISP string'}) on {what}",
        "blocked_distribution_levels",
        element.uuid if as_int else None,
    )


def _blocked_sg(element: Any, what: str) -> Plant:
    set_distribution(element, 4, BLOCKED_SG_UUID)
    return Plant(f"blocked sharing group on {what}", "blocked_sharing_groups_uuids")


def _red(element: Any, what: str) -> Plant:
    element.add_tag(BLOCKED_TAG)
    return Plant(f"{BLOCKED_TAG} tag on {what}", "blocked_tags")


def plant_person_category(event: MISPEvent, values: Values, as_int: bool) -> Plant:
    types = sorted(t for t in DESCRIBE_TYPES["category_type_mappings"][BLOCKED_CATEGORY] if t != BLOCKED_TYPE)
    misp_type = values.rng.choice(types)
    event.add_attribute(misp_type, values.of_type(misp_type), category=BLOCKED_CATEGORY)
    return Plant(f"{misp_type} attribute in category {BLOCKED_CATEGORY}", "blocked_attribute_categories")


def plant_blocked_type(event: MISPEvent, values: Values, as_int: bool) -> Plant:
    attribute = add_attribute(event, BLOCKED_TYPE, values.of_type(BLOCKED_TYPE))
    return Plant(f"{BLOCKED_TYPE} attribute (category {attribute.category})", "blocked_attribute_types")


def plant_person_object(event: MISPEvent, values: Values, as_int: bool) -> Plant:
    definition = template(BLOCKED_OBJECT)
    relations = list(definition.get("required", [])) + list(definition.get("requiredOneOf", [])[:1])
    obj = build_object(BLOCKED_OBJECT, relations or ["full-name"], values)
    event.add_object(obj)
    return Plant(
        f"{BLOCKED_OBJECT} object ({', '.join(a.object_relation for a in obj.attributes)})", "blocked_object_types"
    )


def plant_blocked_type_proposal(event: MISPEvent, values: Values, as_int: bool) -> Plant:
    target = values.rng.choice(event.attributes)
    target.add_proposal(type=BLOCKED_TYPE, value=values.of_type(BLOCKED_TYPE), category=BLOCKED_CATEGORY)
    return Plant(f"{BLOCKED_TYPE} proposal (ShadowAttribute) on an attribute", "blocked_attribute_types")


def plant_zero_note(event: MISPEvent, values: Values, as_int: bool) -> Plant:
    parent = values.rng.choice(note_parents(event))
    note = parent.add_note(note="planted note", language="en")
    kind = type(parent).__name__.removeprefix("MISP")
    return _zero(as_int, note, f"a note on {'the event' if parent is event else 'an ' + kind}")


def plant_zero_cluster(event: MISPEvent, values: Values, as_int: bool) -> Plant:
    parent = values.rng.choice(galaxy_parents(event))
    cluster = add_galaxy(parent, values, distribution=1)
    return _zero(as_int, cluster, f"a galaxy cluster of {'the event' if parent is event else 'an attribute'}")


# Each plant gets the twin, a seeded value generator, and whether a planted
# distribution 0 is sent as an integer (alternating between occurrences).
PLANTS: dict[str, Callable[[MISPEvent, Values, bool], Plant]] = {
    "red-event": lambda e, v, i: _red(e, "the event"),
    "red-attribute": lambda e, v, i: _red(v.rng.choice(e.attributes), "an attribute"),
    "red-object-attribute": lambda e, v, i: _red(v.rng.choice(_object_attributes(e)), "an object attribute"),
    "zero-event": lambda e, v, i: _zero(i, e, "the event"),
    "zero-attribute": lambda e, v, i: _zero(i, v.rng.choice(e.attributes), "an attribute"),
    "zero-object": lambda e, v, i: _zero(i, v.rng.choice(e.objects), "an object"),
    "zero-object-attribute": lambda e, v, i: _zero(i, v.rng.choice(_object_attributes(e)), "an object attribute"),
    "zero-report": lambda e, v, i: _zero(i, v.rng.choice(e.event_reports), "an event report"),
    "zero-note": plant_zero_note,
    "zero-galaxy-cluster": plant_zero_cluster,
    "sg-event": lambda e, v, i: _blocked_sg(e, "the event"),
    "sg-attribute": lambda e, v, i: _blocked_sg(v.rng.choice(e.attributes), "an attribute"),
    "sg-object": lambda e, v, i: _blocked_sg(v.rng.choice(e.objects), "an object"),
    "sg-object-attribute": lambda e, v, i: _blocked_sg(v.rng.choice(_object_attributes(e)), "an object attribute"),
    "sg-report": lambda e, v, i: _blocked_sg(v.rng.choice(e.event_reports), "an event report"),
    "blocked-type": plant_blocked_type,
    "blocked-type-proposal": plant_blocked_type_proposal,
    "blocked-category": plant_person_category,
    "person-object": plant_person_object,
}


# Required-taxonomy variants: (name, edit of the clean event, expected rule or None for allow).
def _retag(event: MISPEvent, keep: Callable[[str], bool], add: str | None = None) -> None:
    event.tags = [t for t in event.tags if keep(t.name)]
    if add:
        event.add_tag(add)


TAXONOMY_VARIANTS: list[tuple[str, Callable[[MISPEvent, Values], object], str | None]] = [
    ("tlp:clear instead of tlp:green", lambda e, v: _retag(e, lambda n: n != "tlp:green", "tlp:clear"), None),
    ("no tlp tag (other tags kept)", lambda e, v: _retag(e, lambda n: not n.startswith("tlp:")), "required_taxonomies"),
    ("no tag at all (PyMISP leaves Tag out)", lambda e, v: _retag(e, lambda n: False), "required_taxonomies"),
    (
        "tlp:amber instead of tlp:green",
        lambda e, v: _retag(e, lambda n: n != "tlp:green", "tlp:amber"),
        "required_taxonomies",
    ),
    (
        "tlp:amber on an attribute of a tlp:green event",
        lambda e, v: v.rng.choice(e.attributes).add_tag("tlp:amber"),
        "required_taxonomies",
    ),
]


# --------------------------------------------------------------------------
# Serialisation and cases


def serialise(event: MISPEvent, int_zero_uuid: str | None = None) -> dict[str, Any]:
    """The event exactly as ``event.to_json()`` emits it (bare, as PyMISP's
    ``add_event`` posts it); optionally one element's ``"0"`` as ``0``."""
    data = json.loads(event.to_json())
    if int_zero_uuid is not None:
        element = find_uuid(data, int_zero_uuid)
        if element is None or element.get("distribution") != "0":
            raise RuntimeError(f'cannot find the planted element {int_zero_uuid} with distribution "0"')
        element["distribution"] = 0
    return data


def find_uuid(node: Any, wanted: str) -> dict[str, Any] | None:
    """The element with this uuid and a distribution, anywhere in ``node``."""
    children: list[Any]
    if isinstance(node, dict):
        if node.get("uuid") == wanted and "distribution" in node:
            return node
        children = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = find_uuid(child, wanted)
        if found is not None:
            return found
    return None


@dataclass
class Case:
    """One ``misp-warden eval`` run and the verdict it must give."""

    label: str
    event_uuid: str
    form: str  # one of FORMS
    config: Path
    body_file: Path
    expect_rule: str | None  # None: allow
    user_org: str | None = None  # X-UserOrgUUID of a pull response


def eval_argv(binary: str, case: Case) -> list[str]:
    argv = [binary, "eval", "--config", str(case.config)]
    if case.form == "pull":
        argv += [
            "--from",
            OUTSIDE["ip"],
            "--to",
            INSIDE["host"],
            "--method",
            "GET",
            "--path",
            PULL_PATH.format(uuid=case.event_uuid),
            "--response",
            str(case.body_file),
        ]
        if case.user_org:
            argv += ["--response-header", f"X-UserOrgUUID: {case.user_org}"]
    else:
        argv += [
            "--from",
            INSIDE["ip"],
            "--to",
            OUTSIDE["host"],
            "--method",
            "POST",
            "--path",
            PUSH_PATH,
            "--body",
            str(case.body_file),
        ]
    return argv


RULE_RE = re.compile(r"\(rule ([^)]*)\)")


def judge(binary: str, case: Case) -> str | None:
    """None when the engine answered as expected, else what went wrong."""
    try:
        proc = subprocess.run(eval_argv(binary, case), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"could not run eval: {e}"
    output = (proc.stdout + proc.stderr).strip()
    if case.expect_rule is None:
        if proc.returncode == 0 and proc.stdout.strip() == "allow":
            return None
        return f"expected allow (exit 0), got exit {proc.returncode}: {output}"
    if proc.returncode != 3 or not proc.stdout.startswith("block: "):
        return f"expected block by {case.expect_rule} (exit 3), got exit {proc.returncode}: {output}"
    match = RULE_RE.search(proc.stdout)
    rule_path = match.group(1) if match else ""
    if rule_path.split(".")[-1] != case.expect_rule:
        return f"expected block by {case.expect_rule}, got another reason (exit 3): {output}"
    return None


# --------------------------------------------------------------------------
# PyMISP defaults the guard cannot judge (MISP fills them from its settings)


def default_probes(values: Values) -> list[tuple[str, MISPEvent, str]]:
    """Events as a PyMISP user gets them by default, where MISP would fill in
    a value from its own server settings (``MISP.default_event_distribution``,
    ``default_attribute_distribution``) or look a sharing group up by id:
    the guard cannot know it, so each must be refused."""
    probes: list[tuple[str, MISPEvent, str]] = []

    def base(dist: int | None = 3) -> MISPEvent:
        event = MISPEvent()
        event.info = "PyMISP defaults probe"
        if dist is not None:
            event.distribution = dist
        event.add_tag("tlp:green")
        event.add_attribute("domain", values.domain())
        return event

    probes.append(("event without distribution (PyMISP omits it unless set)", base(None), "malformed_body"))

    event = base()
    event.add_event_report(name="report", content="no distribution set")
    probes.append(("event report without distribution (PyMISP omits it unless set)", event, "malformed_body"))

    event = base()
    event.add_note(note="no distribution set")
    probes.append(("note without distribution (PyMISP omits it unless set)", event, "malformed_body"))

    event = base()
    event.add_attribute("ip-dst", values.ip(), distribution=4, sharing_group_id=3)
    probes.append(("attribute in a sharing group known only by sharing_group_id", event, "sharing_group_unidentified"))

    event = base()
    event.attributes[0].add_proposal(type="ip-dst", value=values.ip())
    probes.append(("attribute proposal without category (PyMISP omits it unless set)", event, "malformed_body"))

    event = base()
    obj = MISPObject("domain-ip")
    obj.add_attribute("domain", value=values.domain())
    obj.distribution, obj.sharing_group_id = 4, 3
    event.add_object(obj)
    probes.append(("object in a sharing group known only by sharing_group_id", event, "sharing_group_unidentified"))
    return probes


# --------------------------------------------------------------------------


class Corpus:
    """Builds the cases: writes each body once to the work directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cases: list[Case] = []
        self.configs: dict[str, Path] = {}
        for name, require_tlp in (("plain", False), ("tlp-required", True)):
            self.configs[name] = workdir / f"config-{name}.json"
            self.configs[name].write_text(json.dumps(guard_config(require_tlp), indent=2), encoding="utf-8")

    def add(
        self,
        label: str,
        event: dict[str, Any],
        form: str,
        config: str,
        expect_rule: str | None,
        user_org: str | None = None,
    ) -> None:
        """``event`` is the bare serialisation; push-wrapped and pull send
        it as ``{"Event": ...}``."""
        body_file = self.workdir / f"case{len(self.cases):05d}-{form}.json"
        body = event if form == "push-bare" else {"Event": event}
        body_file.write_text(json.dumps(body), encoding="utf-8")
        self.cases.append(Case(label, event["uuid"], form, self.configs[config], body_file, expect_rule, user_org))

    def add_event(self, spec: EventSpec, plant_kind: str, plant_as_int: bool) -> None:
        """The clean event in every form, its planted twin in every form,
        and two runs under the required-taxonomy config."""
        clean = serialise(build_event(spec))
        for form in FORMS:
            user_org = OUTSIDE_ORG_UUID if form == "pull" and spec.index % 2 == 0 else None
            self.add("clean event", clean, form, "plain", None, user_org)

        twin = build_event(spec)
        plant = PLANTS[plant_kind](twin, Values(random.Random(spec.seed ^ 0xB10C)), plant_as_int)
        planted = serialise(twin, plant.int_zero_uuid)
        for form in FORMS:
            user_org = OUTSIDE_ORG_UUID if form == "pull" and spec.index % 2 == 1 else None
            self.add(f"planted {plant.what}", planted, form, "plain", plant.rule, user_org)

        self.add("tlp:green event, tlp required", clean, FORMS[spec.index % 3], "tlp-required", None)
        name, edit, expect = TAXONOMY_VARIANTS[spec.index % len(TAXONOMY_VARIANTS)]
        variant = build_event(spec)
        edit(variant, Values(random.Random(spec.seed ^ 0x7A9)))
        self.add(f"{name}, tlp required", serialise(variant), FORMS[(spec.index + 1) % 3], "tlp-required", expect)

    def write_index(self) -> None:
        with (self.workdir / "cases.txt").open("w", encoding="utf-8") as index:
            for case in self.cases:
                index.write(f"{case.body_file.name}\t{case.config.name}\t{case.expect_rule or 'allow'}\t{case.label}\n")


def event_specs(
    rng: random.Random, n_events: int, types: list[tuple[str, list[str]]], templates: list[tuple[str, list[str]]]
) -> list[EventSpec]:
    """Spreads every type and template over the events; every event gets at
    least two attributes and one object (the plants need somewhere to go)."""
    specs = [EventSpec(i, rng.getrandbits(64), [], []) for i in range(n_events)]
    for n in range(max(len(types), 2 * n_events)):
        misp_type, categories = types[n % len(types)]
        specs[n % n_events].types.append((misp_type, rng.choice(categories)))
    for n in range(max(len(templates), n_events)):
        specs[(n * 7) % n_events].templates.append(templates[n % len(templates)])
    return specs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("binary", help="the misp-warden binary, e.g. target/debug/misp-warden")
    parser.add_argument(
        "--jobs", type=int, default=max(2, min(8, (os.cpu_count() or 2) * 2)), help="eval processes run at once"
    )
    parser.add_argument("--events", type=int, default=N_EVENTS, help="events in the corpus")
    parser.add_argument("--templates", type=int, default=N_TEMPLATES, help="object templates to use")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="write configs, bodies and cases.txt to DIR (kept) instead of a temp dir",
    )
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        print(f"pymisp_corpus: {args.binary} is not an executable", file=sys.stderr)
        return 2
    if args.events < 1:
        parser.error("--events must be at least 1")
    logging.getLogger("pymisp").setLevel(logging.ERROR)

    rng = random.Random(SEED)
    types, skipped_types = coverable_types()
    rng.shuffle(types)
    templates, passed_over = choose_templates(rng, args.templates)
    specs = event_specs(rng, args.events, types, templates)
    plant_kinds = sorted(PLANTS)
    rng.shuffle(plant_kinds)

    with tempfile.TemporaryDirectory(prefix="pymisp-corpus-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        corpus = Corpus(workdir)
        for spec in specs:
            # Each kind of plant in turn; a planted distribution 0 alternates
            # between PyMISP's "0" and an integer from one round to the next.
            round_ = spec.index // len(plant_kinds)
            corpus.add_event(spec, plant_kinds[spec.index % len(plant_kinds)], round_ % 2 == 0)
        SEEDED_UUID.reseed(SEED)
        for n, (what, event, expect) in enumerate(default_probes(Values(random.Random(SEED + 1)))):
            corpus.add(f"PyMISP default: {what}", serialise(event), FORMS[n % 3], "plain", expect)
        if args.keep:
            corpus.write_index()

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            verdicts = list(pool.map(lambda c: judge(args.binary, c), corpus.cases))

    failures = [(c, v) for c, v in zip(corpus.cases, verdicts, strict=True) if v is not None]
    for case, why in failures:
        print(f"FAIL event {case.event_uuid} [{case.form}, {case.config.name}] {case.label}: {why}")

    print(
        f"corpus: {args.events} events from pymisp {pymisp.__version__}: "
        f"{len(types)} of {len(DESCRIBE_TYPES['types'])} attribute types "
        f"(left out, blocked by type or category: {', '.join(skipped_types)}); "
        f"{len(templates)} object templates in {sum(len(s.templates) for s in specs)} objects "
        f"({passed_over} templates passed over, unfillable without a blocked type or category); "
        f"{len(plant_kinds)} kinds of planted block; {len(corpus.cases)} evals"
    )
    passed = len(corpus.cases) - len(failures)
    print(f"pymisp corpus: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
