"""Checks config/misp-warden.schema.json against the configs the Rust tests
accept and a few the config loader refuses, so the schema and the loader
cannot drift apart silently. Exit 1 on any disagreement."""
import copy
import json
import pathlib
import sys

import jsonschema

root = pathlib.Path(__file__).resolve().parent.parent
schema = json.loads((root / "config/misp-warden.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())

failures = []
valid = [root / "config/misp-warden.json", *sorted((root / "tests/fixtures").glob("**/config*.json"))]
for path in valid:
    errors = list(validator.iter_errors(json.loads(path.read_text())))
    if errors:
        failures.append(f"{path}: rejected by the schema: {errors[0].message}")

base = json.loads((root / "config/misp-warden.json").read_text())
inst = next(iter(base["instances"]))
invalid = {
    "port as a string": lambda c: c["instances"][inst].__setitem__("port", "443a"),
    "unknown instance key": lambda c: c["instances"][inst].__setitem__("blocked_tag", []),
    "distribution level 6": lambda c: c["instances"][inst].__setitem__("blocked_distribution_levels", ["6"]),
    "bad sharing group uuid": lambda c: c["instances"][inst].__setitem__("blocked_sharing_groups_uuids", ["x"]),
    "missing allowlist": lambda c: c.pop("allowlist"),
    "bad mode": lambda c: c["warden"].__setitem__("mode", "permissive"),
    "client_cert without key": lambda c: c["instances"][inst].__setitem__("tls", {"client_cert": "/a"}),
    "feed of another type": lambda c: c.__setitem__("feeds", {"f": {**{k: c["instances"][inst][k] for k in (
        "taxonomies_rules", "blocked_distribution_levels", "blocked_sharing_groups_uuids",
        "blocked_attribute_types", "blocked_attribute_categories", "blocked_object_types")},
        "type": "csv", "url": "https://feeds.example/x"}}),
}
for name, mutate in invalid.items():
    config = copy.deepcopy(base)
    mutate(config)
    if validator.is_valid(config):
        failures.append(f"schema accepts a config the loader refuses: {name}")

for f in failures:
    print(f)
print(f"schema: {len(valid) + len(invalid) - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
