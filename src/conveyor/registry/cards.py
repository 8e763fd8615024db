"""Model cards: what a model version is for, what it was trained on, how good and how fair it is on its holdout,
its gates, its known limitations and its lineage; as JSON and as Markdown. Built from the version record (its
``meta["card"]``, written by training) and its run, so every version has one, imported models too."""

from __future__ import annotations

from typing import Any

from conveyor.core.entities import ModelVersion, Run

DEFAULT_USE = "Not stated: set train.intended_use in conveyor.yaml before training."


def build_card(version: ModelVersion, run: Run | None = None, aliases: dict[str, int] | None = None) -> dict[str, Any]:
    card = dict(version.meta.get("card") or {})
    tags = run.tags if run else {}
    return {
        "model": version.ref,
        "aliases": sorted(a for a, v in (aliases or {}).items() if v == version.version),
        "intended_use": card.get("intended_use") or DEFAULT_USE,
        "task": version.signature.get("task"),
        "target": version.signature.get("target"),
        "inputs": [c["name"] for c in version.signature.get("inputs", [])],
        "data": {"training": version.dataset, **card.get("data", {})},
        "training": card.get("training", {"flavor": version.flavor}),
        "metrics": version.metrics,
        "fairness": card.get("fairness", {}),
        "gates": version.meta.get("gates"),
        "limitations": card.get("limitations", []),
        "lineage": {"run": version.run_id, "dataset": version.dataset, "git_commit": tags.get("git.commit"),
                    "artifact": version.artifact, "created_at": version.created_at,
                    "packages": {k[4:]: v for k, v in tags.items() if k.startswith("pkg.")}},
    }


def _value(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def render_markdown(card: dict[str, Any]) -> str:
    lines = [f"# Model card: {card['model']}", ""]
    if card["aliases"]:
        lines += [f"Aliases: {', '.join('@' + a for a in card['aliases'])}", ""]
    lines += ["## Intended use", "", card["intended_use"], "",
              "## Task", "", f"- task: {card['task']}", f"- target: {card['target']}",
              f"- inputs: {', '.join(card['inputs']) or '-'}", "",
              "## Data", ""]
    lines += [f"- {k}: {v}" for k, v in card["data"].items()] + ["", "## Training", ""]
    lines += [f"- {k}: {_value(v)}" for k, v in card["training"].items()] + ["", "## Metrics (holdout)", "",
                                                                              "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_value(v)} |" for k, v in sorted(card["metrics"].items())] + [""]
    lines += ["## Fairness", ""]
    if card["fairness"]:
        for column, gaps in card["fairness"].items():
            lines.append(f"- {column}: " + ", ".join(f"{k} {_value(v)}" for k, v in gaps.items()))
    else:
        lines.append("Not evaluated: no sensitive columns were given (data.sensitive in conveyor.yaml).")
    lines += ["", "## Quality gates", ""]
    gates = card["gates"]
    if gates:
        lines.append(f"Overall: {'PASSED' if gates['passed'] else 'FAILED'}")
        lines += [f"- {'pass' if r['passed'] else 'FAIL'} {r['rule']}: {r['detail']}" for r in gates["rules"]]
    else:
        lines.append("None configured.")
    lines += ["", "## Limitations", ""]
    lines += [f"- {item}" for item in card["limitations"]] or ["- None recorded."]
    lineage = card["lineage"]
    lines += ["", "## Lineage", "", f"- run: {lineage['run']}", f"- dataset: {lineage['dataset']}",
              f"- code commit: {lineage['git_commit'] or '-'}", f"- artifact: {lineage['artifact']}"]
    packages = ", ".join(f"{k} {v}" for k, v in sorted(lineage["packages"].items()))
    if packages:
        lines.append(f"- packages: {packages}")
    return "\n".join(lines) + "\n"
