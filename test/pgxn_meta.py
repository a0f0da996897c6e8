#!/usr/bin/env python3
"""Checks a META.json against the PGXN Meta Spec 1.0.0 (https://pgxn.org/meta/spec.txt):
required and known keys, SemVer versions, version ranges, licenses, paths that exist in
the distribution, tags, and no placeholder values. Prints one line per problem; exits 1 if
there is any.

  pgxn_meta.py [DIR]   (default: the current directory, which holds META.json)
"""
import json
import os
import re
import sys

SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
VERSION_RANGE = re.compile(r"^(0|((==|!=|<=|>=|<|>)\s*)?" + SEMVER + r")(,\s*((==|!=|<=|>=|<|>)\s*)?" + SEMVER + r")*$")
REQUIRED = ["name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"]
OPTIONAL = ["description", "generated_by", "tags", "no_index", "prereqs", "release_status", "resources"]
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd",
            "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit",
            "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay",
            "sun", "zlib", "open_source", "restricted", "unrestricted", "unknown"}
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}
PLACEHOLDERS = re.compile(r"example\.(invalid|com|org|net)|\bTODO\b|\bFIXME\b|\bXXX\b|your[ _-]?name|<email>",
                          re.IGNORECASE)


def problems(meta, root):
    found = []

    def need(condition, message):
        if not condition:
            found.append(message)

    for key in REQUIRED:
        need(key in meta, f"missing required key {key!r}")
    for key in meta:
        need(key in REQUIRED or key in OPTIONAL or key.lower().startswith("x_"), f"unknown key {key!r}")
    term = re.compile(r"^[^/\\\s\x00-\x1f]{2,}$")
    need(isinstance(meta.get("name"), str) and term.match(meta.get("name", "")), "name is not a term")
    need(isinstance(meta.get("version"), str) and re.fullmatch(SEMVER, meta.get("version", "")),
         "version is not SemVer")
    need(isinstance(meta.get("abstract"), str) and meta.get("abstract"), "abstract is empty")
    maintainers = meta.get("maintainer")
    maintainers = [maintainers] if isinstance(maintainers, str) else maintainers
    need(isinstance(maintainers, list) and maintainers and all(isinstance(m, str) and m for m in maintainers),
         "maintainer is not a non-empty string or list of them")
    licenses = meta.get("license")
    if isinstance(licenses, str):
        need(licenses in LICENSES, f"license {licenses!r} is not one the spec names")
    else:
        need(isinstance(licenses, (list, dict)) and licenses, "license is neither a name, a list nor an object")
    need(meta.get("meta-spec", {}).get("version") == "1.0.0", "meta-spec version is not 1.0.0")
    need(meta.get("release_status", "stable") in {"stable", "testing", "unstable"}, "release_status is invalid")

    provides = meta.get("provides", {})
    need(isinstance(provides, dict) and provides, "provides names no extension")
    for name, extension in provides.items() if isinstance(provides, dict) else []:
        need(term.match(name), f"provides: {name!r} is not a term")
        need(re.fullmatch(SEMVER, str(extension.get("version", ""))), f"provides {name}: version is not SemVer")
        for key in ("file", "docfile"):
            path = extension.get(key)
            if key == "file" or path is not None:
                need(isinstance(path, str) and not os.path.isabs(path) and ".." not in path.split("/")
                     and os.path.isfile(os.path.join(root, path)),
                     f"provides {name}: {key} {path!r} is not a file of the distribution")
        for key in extension:
            need(key in {"file", "version", "abstract", "docfile"} or key.lower().startswith("x_"),
                 f"provides {name}: unknown key {key!r}")

    for phase, relations in meta.get("prereqs", {}).items():
        need(phase in PHASES, f"prereqs: unknown phase {phase!r}")
        for relation, requirements in relations.items():
            need(relation in RELATIONS, f"prereqs {phase}: unknown relationship {relation!r}")
            for prereq, version in requirements.items():
                need(version == 0 or (isinstance(version, str) and VERSION_RANGE.match(version)),
                     f"prereqs {phase} {relation} {prereq}: {version!r} is not a version range")

    tags = meta.get("tags", ["ok"])
    need(isinstance(tags, list) and tags, "tags is not a non-empty list")
    for tag in tags if isinstance(tags, list) else []:
        need(isinstance(tag, str) and 2 <= len(tag) <= 255 and not re.search(r"[/\\\x00-\x1f]", tag),
             f"tag {tag!r} is not valid")
    for kind, entries in meta.get("no_index", {}).items():
        need(kind in {"file", "directory"}, f"no_index: unknown key {kind!r}")
        for entry in entries if isinstance(entries, list) else [entries]:
            need(os.path.exists(os.path.join(root, entry)), f"no_index {kind}: {entry!r} does not exist")
    for key, value in meta.get("resources", {}).items():
        url = value.get("web") or value.get("url") if isinstance(value, dict) else value
        need(isinstance(url, str) and re.match(r"^(https?|git|mailto):", url or ""),
             f"resources {key}: {url!r} is not a URL")

    need(not PLACEHOLDERS.search(json.dumps(meta)), "a value is a placeholder (example.*, TODO, ...)")
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    with open(os.path.join(root, "META.json"), encoding="utf-8") as handle:
        meta = json.load(handle)
    found = problems(meta, root)
    for problem in found:
        print(f"META.json: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
