"""`conveyor data log`: every version of a dataset with what changed since the one before."""

from __future__ import annotations

from typing import Any

from conveyor.core.entities import DatasetVersion
from conveyor.data.diff import diff_versions


def changes(previous: DatasetVersion | None, version: DatasetVersion) -> dict[str, Any]:
    if previous is None:
        return {"first": True}
    if version.meta.get("kind") == "files":
        found = version.meta.get("changes", {})
        return {key: len(found.get(key, [])) for key in ("added", "removed", "modified")} | {
            "files": {key: found.get(key, [])[:10] for key in ("added", "removed", "modified")}}
    if previous.meta.get("kind") == "files":
        return {"kind": "files -> table"}
    diff = diff_versions(previous, version)
    return {"rows": diff["rows_change"], "columns_added": diff["schema"]["added"],
            "columns_removed": diff["schema"]["removed"],
            "types_changed": [t["column"] for t in diff["schema"]["type_changed"]], "shifted": diff["drifted"]}


def log(versions: list[DatasetVersion]) -> list[dict[str, Any]]:
    """Oldest first, as stored; each entry compares with the version before it."""
    entries = []
    previous = None
    for version in versions:
        entries.append({"version": version.version, "ref": version.ref, "created_at": version.created_at,
                        "rows": version.rows, "bytes": version.meta.get("bytes"),
                        "kind": version.meta.get("kind", "table"), "source": version.source,
                        "changes": changes(previous, version)})
        previous = version
    return entries


def describe_changes(entry: dict[str, Any]) -> str:
    found = entry["changes"]
    if found.get("first"):
        return "first version"
    if "modified" in found:
        return f"+{found['added']} -{found['removed']} ~{found['modified']} files"
    if "kind" in found:
        return found["kind"]
    parts = [f"rows {found['rows']:+d}"]
    if found["columns_added"]:
        parts.append("added " + ", ".join(found["columns_added"]))
    if found["columns_removed"]:
        parts.append("removed " + ", ".join(found["columns_removed"]))
    if found["types_changed"]:
        parts.append("type " + ", ".join(found["types_changed"]))
    if found["shifted"]:
        parts.append("shifted " + ", ".join(found["shifted"][:5]))
    return "; ".join(parts)
