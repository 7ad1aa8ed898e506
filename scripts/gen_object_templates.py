"""Regenerates src/policy/object_templates.tsv: MISP object template name ->
template UUID, from the misp-objects definitions PyMISP bundles.

MISP identifies an object's template by `template_uuid`, not by its free-text
`name`, so a rule blocking the object type "person" must also block objects
carrying the person template's UUID under another name.

Usage: .venv/bin/python scripts/gen_object_templates.py > src/policy/object_templates.tsv
"""
import glob
import json
import os

import pymisp

root = os.path.join(os.path.dirname(pymisp.__file__), "data", "misp-objects", "objects")
rows = []
for path in glob.glob(os.path.join(root, "*", "definition.json")):
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    rows.append((d["name"].lower(), d["uuid"].lower()))
print("# MISP object templates (name, template_uuid) from misp-objects (BSD-2-Clause),")
print(f"# as bundled with PyMISP {pymisp.__version__}; regenerate with scripts/gen_object_templates.py")
for name, uuid in sorted(rows):
    print(f"{name}\t{uuid}")
