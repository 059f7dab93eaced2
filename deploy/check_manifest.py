#!/usr/bin/python3
"""deploy/check_manifest.py FILE... - an offline schema check of Kubernetes manifests
against the API models of Debian's python3-kubernetes (no cluster needed, unlike
`kubectl apply --dry-run=client`). Each document's apiVersion and kind name a model
(batch/v1 Job -> V1Job); every key must be a field of its model (camelCase, as in YAML),
every value of the field's type, and every required field present. Prints each problem as
FILE: doc N: path: what; exit 0 when there is none, 1 otherwise."""
import re
import sys

import yaml
from kubernetes import client

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}


def model_for(api_version, kind):
    version = api_version.split("/")[-1]
    return getattr(client.models, "V%s%s" % (version[1:].capitalize(), kind), None) if version.startswith("v") else None


def check(value, typ, path, problems):
    """Checks value against the models' type string typ (e.g. 'list[V1Container]')."""
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            problems.append("%s: expected a list" % path)
            return
        for i, v in enumerate(value):
            check(v, m.group(1), "%s[%d]" % (path, i), problems)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            problems.append("%s: expected a map" % path)
            return
        for k, v in value.items():
            check(v, m.group(1), "%s.%s" % (path, k), problems)
        return
    if typ in PRIMITIVES:
        if typ == "int" and isinstance(value, bool) or not isinstance(value, PRIMITIVES[typ]):
            problems.append("%s: expected %s, got %r" % (path, typ, value))
        return
    model = getattr(client.models, typ, None)
    if model is None:
        problems.append("%s: unknown type %s" % (path, typ))
        return
    if not isinstance(value, dict):
        problems.append("%s: expected an object (%s)" % (path, typ))
        return
    by_yaml = {v: k for k, v in model.attribute_map.items()}
    for key, v in value.items():
        if key not in by_yaml:
            problems.append("%s.%s: not a field of %s" % (path, key, typ))
        else:
            check(v, model.openapi_types[by_yaml[key]], "%s.%s" % (path, key), problems)
    # required fields: the model's constructor refuses None for them (one at a time)
    present = {a: value[k] for a, k in model.attribute_map.items() if k in value}
    try:
        model(**present, local_vars_configuration=client.Configuration())
    except ValueError as e:
        missing = re.search(r"`(\w+)`", str(e))
        if missing and missing.group(1) in model.attribute_map:
            problems.append("%s.%s: required by %s" % (path, model.attribute_map[missing.group(1)], typ))


def main(files):
    problems = []
    for f in files:
        for n, doc in enumerate(yaml.safe_load_all(open(f)), 1):
            if doc is None:
                continue
            model = model_for(doc.get("apiVersion", ""), doc.get("kind", ""))
            if model is None:
                problems.append("%s: doc %d: no model for %s %s" % (f, n, doc.get("apiVersion"), doc.get("kind")))
                continue
            found = []
            check(doc, model.__name__, model.__name__, found)
            problems += ["%s: doc %d: %s" % (f, n, p) for p in found]
            if not found:
                print("%s: doc %d: %s %s: ok" % (f, n, doc["apiVersion"], doc["kind"]))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
