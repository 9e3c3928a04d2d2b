#!/usr/bin/env python3
"""Validates message bodies against the JSON Schemas in protocol/schemas (draft 2020-12).

Usage:
  validate.py [--strict] SCHEMA FILE...    validate each JSON file against SCHEMA (e.g. session-reply.json)
  validate.py [--strict] --lines [FILE]    read JSON lines {"schema": NAME, "body": {...}} from FILE or stdin

The published reply and event schemas allow keys they do not list (bodies may gain keys within
MSCAN/1, §2); --strict refuses them, as the project's own tests do, so that a key the service sends
and the schemas do not describe is caught.

Prints one line per invalid body and exits 1 if any was invalid, 2 on a usage or schema error.
Also checks every schema itself against the 2020-12 meta-schema.
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "schemas"


def strict(schema):
    """The schema with `additionalProperties: false` on every object schema that lists its
    properties and says nothing about others (not beside `allOf`, whose keys it would not see)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out and "allOf" not in out:
        out["additionalProperties"] = False
    return out


def load_registry(strict_mode=False):
    schemas = {}
    registry = Registry()
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        if strict_mode:
            schema = strict(schema)
        schemas[path.name] = schema
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return schemas, registry


def main(argv):
    strict_mode = len(argv) > 1 and argv[1] == "--strict"
    if strict_mode:
        argv = argv[:1] + argv[2:]
    schemas, registry = load_registry(strict_mode)

    def errors(name, body):
        if name not in schemas:
            return [f"no schema named {name!r}"]
        validator = Draft202012Validator(schemas[name], registry=registry)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(body)]

    bad = 0
    checked = 0
    if len(argv) in (2, 3) and argv[1] == "--lines":
        source = open(argv[2], encoding="utf-8") if len(argv) == 3 else sys.stdin
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            checked += 1
            for e in errors(item["schema"], item["body"]):
                bad += 1
                print(f"line {number} ({item['schema']}): {e}")
    elif len(argv) >= 3:
        for file in argv[2:]:
            checked += 1
            for e in errors(argv[1], json.loads(pathlib.Path(file).read_text(encoding="utf-8"))):
                bad += 1
                print(f"{file} ({argv[1]}): {e}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"{checked} bodies checked, {bad} problems", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
