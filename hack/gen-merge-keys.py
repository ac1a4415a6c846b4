#!/usr/bin/env python3
"""Generate cli/render/patch/merge_keys.json, the strategic-merge schema table.

kustomize applies strategic-merge patches with kyaml's merge2, which looks up list merge keys and
patch strategies in the Kubernetes OpenAPI document compiled into kyaml (Kubernetes v1.21.2). This
script distils that document into the few facts the merge needs:

* `kinds`: "apiVersion kind" -> root type, from each definition's x-kubernetes-group-version-kind
  (the index kyaml's openapi.AddDefinitions builds);
* `types`: for every type reachable from a kind that leads to a list with a merge strategy:
    - `fields`: field -> type name (an object field) or {"strategy", "keys", "items"} (a list
      with an x-kubernetes-patch-strategy; keys from x-kubernetes-list-map-keys, else
      x-kubernetes-patch-merge-key, exactly as kyaml's PatchStrategyAndKeyList reads them);
    - `known`: the type's other object- or array-valued fields. They have a schema, but nothing
      below them merges by key, so the merge treats them as opaque (no merge keys, and no
      apiVersion/kind lookup for embedded objects, which kyaml only does where it has no schema).
  Scalar fields are left out: a schema changes nothing for scalars.

Source: the `sigs.k8s.io/kustomize/kyaml` Go module, pinned below, file
`openapi/kubernetesapi/data/kubernetes-openapi-union-v1.21.2.bundle-v1.json` (kustomize's source
tree keeps it gzipped as `...bundle-v1.json.gz`; both are accepted, the definitions are identical):

    go mod download -json sigs.k8s.io/kustomize/kyaml@v0.21.3    # prints "Dir"
    python3 hack/gen-merge-keys.py "$DIR/openapi/kubernetesapi/data/kubernetes-openapi-union-v1.21.2.bundle-v1.json"

Output is deterministic (sorted keys); the default output path is cli/render/patch/merge_keys.json.
"""

import gzip
import json
import os
import sys

KYAML_MODULE = "sigs.k8s.io/kustomize/kyaml@v0.21.3"
BUNDLE = "openapi/kubernetesapi/data/kubernetes-openapi-union-v1.21.2.bundle-v1.json"
REF_PREFIX = "#/definitions/"


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    # The bundle format wraps the definitions; a plain swagger document has them at the top too.
    return doc["definitions"]


def ref_name(schema):
    ref = schema.get("$ref")
    if ref is None:
        return None
    if not ref.startswith(REF_PREFIX):
        sys.exit(f"unexpected $ref {ref}")
    return ref[len(REF_PREFIX):]


def merge_info(prop):
    """(strategy, keys) as kyaml's ResourceSchema.PatchStrategyAndKeyList reads them."""
    strategy = prop.get("x-kubernetes-patch-strategy")
    if strategy is None:
        return None
    keys = prop.get("x-kubernetes-list-map-keys")
    if keys is None:
        key = prop.get("x-kubernetes-patch-merge-key")
        keys = [key] if key else []
    return strategy, list(keys)


def has_merge(strategy):
    return "merge" in strategy.split(",")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "..", "cli", "render", "patch", "merge_keys.json")
    defs = load(src)

    # kinds, as kyaml indexes them (a GVK claimed twice would make kyaml's choice random).
    kinds = {}
    for name in sorted(defs):
        for gvk in defs[name].get("x-kubernetes-group-version-kind", []):
            api_version = gvk["version"] if not gvk.get("group") else f'{gvk["group"]}/{gvk["version"]}'
            key = f'{api_version} {gvk["kind"]}'
            if key in kinds and kinds[key] != name:
                sys.exit(f"{key} is claimed by {kinds[key]} and {name}")
            kinds[key] = name

    # A type is relevant when a list with a merge strategy is reachable from it.
    def children(name):
        """(field, kind, target) for object/array fields: kind is 'object' or 'list'."""
        d = defs[name]
        if "additionalProperties" in d and ref_name(d["additionalProperties"]) is not None:
            sys.exit(f"{name}: maps of objects are not handled")
        for field, prop in sorted(d.get("properties", {}).items()):
            target = ref_name(prop)
            if target is not None:
                yield field, "object", target, prop
            elif prop.get("type") == "array":
                items = prop.get("items", {})
                yield field, "list", ref_name(items), prop
            elif prop.get("type") == "object":
                ap = prop.get("additionalProperties", {})
                if ref_name(ap) is not None or ap.get("type") == "array":
                    # map of objects or of lists: has a schema, nothing merges by key below it
                    # unless the value type does -- check.
                    t = ref_name(ap)
                    if t is not None and t in relevant_seed_check:
                        sys.exit(f"{name}.{field}: map of mergeable objects is not handled")
                yield field, "map", None, prop

    relevant_seed_check = set()
    relevant = set()
    changed = True
    while changed:
        changed = False
        for name in defs:
            if name in relevant:
                continue
            for field, kind, target, prop in children(name):
                mi = merge_info(prop)
                if (kind == "list" and mi and has_merge(mi[0])) or (target in relevant):
                    relevant.add(name)
                    changed = True
                    break
    relevant_seed_check = relevant

    # Keep only types reachable from a kind.
    reachable = set()
    stack = [t for t in kinds.values() if t in relevant]
    while stack:
        name = stack.pop()
        if name in reachable:
            continue
        reachable.add(name)
        for _field, _kind, target, _prop in children(name):
            if target in relevant:
                stack.append(target)

    types = {}
    for name in sorted(reachable):
        fields, known = {}, []
        for field, kind, target, prop in children(name):
            mi = merge_info(prop)
            if kind == "list" and mi and has_merge(mi[0]):
                entry = {"strategy": mi[0], "keys": mi[1]}
                if target in relevant:
                    entry["items"] = target
                fields[field] = entry
            elif kind == "object" and target in relevant:
                fields[field] = target
            elif kind == "list" and target in relevant:
                # a list without merge strategy is replaced whole; its items never merge
                known.append(field)
            else:
                known.append(field)
        types[name] = {"fields": fields, "known": known}

    table = {
        "source": f"{KYAML_MODULE} {BUNDLE}",
        "kinds": {k: v for k, v in sorted(kinds.items()) if v in reachable},
        "types": types,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(table, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {out}: {len(table['kinds'])} kinds, {len(types)} types", file=sys.stderr)


if __name__ == "__main__":
    main()
