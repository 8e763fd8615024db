"""A plug-in distribution written into a folder, as pip would install it: modules plus a ``.dist-info`` with entry
points. Put the folder on ``PYTHONPATH`` (a subprocess) or ``sys.path`` and ``importlib.metadata`` finds it, so the
registries read its entry points exactly as they read an installed package's.

    write_plugin(tmp_path, "conveyor-knn", modules={"conveyor_knn": SOURCE},
                 entry_points={"conveyor.families": {"knn": "conveyor_knn:FAMILY"}})
"""

from __future__ import annotations

import re
from pathlib import Path


def write_plugin(folder: Path, name: str, *, modules: dict[str, str], entry_points: dict[str, dict[str, str]],
                 version: str = "0.1") -> Path:
    """Write the distribution ``name`` into ``folder``: one ``<module>.py`` per entry of ``modules`` and
    ``<name>-<version>.dist-info`` declaring ``entry_points`` (group -> {entry name: "module:attribute"})."""
    folder.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(source)
    info = folder / f"{re.sub(r'[^A-Za-z0-9.]+', '_', name)}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{entry} = {target}" for entry, target in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    (info / "top_level.txt").write_text("\n".join(modules) + "\n")
    return folder
