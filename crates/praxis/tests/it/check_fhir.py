#!/usr/bin/env python3
"""Independent check of FHIR R4 resources produced by Praxis.

Reads a JSON array of resources from stdin and validates each one with the `fhir.resources`
package's R4B models (R4B is R4 with technical corrections; every resource Praxis serves is
the same in both). The models reject unknown elements, empty strings and arrays, wrong
codes, bad references and malformed dates; a Bundle is validated with every resource in it.

Prints a JSON array with one {"resourceType", "id", "entries"} per input, where "entries"
lists the resourceType of each Bundle entry (empty for other resources). Exits 1 with the
validation error on stderr if any resource fails.

Usage: python3 crates/praxis/tests/it/check_fhir.py < resources.json
Needs: pip install fhir.resources
"""
import json
import sys

from fhir.resources.R4B import get_fhir_model_class


def main() -> int:
    resources = json.load(sys.stdin)
    out = []
    for i, r in enumerate(resources):
        kind = r.get("resourceType")
        try:
            model = get_fhir_model_class(kind).model_validate(r)
        except Exception as e:  # noqa: BLE001 - report whatever the validator says
            print(f"resource {i} ({kind}/{r.get('id')}) is not valid FHIR: {e}", file=sys.stderr)
            return 1
        entries = [e.resource.get_resource_type() for e in (getattr(model, "entry", None) or [])] if kind == "Bundle" else []
        out.append({"resourceType": model.get_resource_type(), "id": model.id, "entries": entries})
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
