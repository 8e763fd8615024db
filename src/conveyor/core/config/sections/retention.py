"""``retention:`` what `conveyor gc` may delete (or archive): old dataset and model versions, old runs, old
prediction-log rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.constraints import Duration, Integer, Text
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class RetentionSection(Section):
    """What `conveyor gc` removes. Unset keys keep everything of their kind. Whatever an alias, a registered
    version's lineage (its run, its dataset and that dataset's parents) or a pending approval needs is always kept;
    artifacts no record names any more are removed last."""

    section: ClassVar[str] = "retention"
    order: ClassVar[int] = 80

    datasets: int | None = setting(None, Integer(min=1, example="10"),
                                   doc="Keep the newest N versions of each dataset.")
    models: int | None = setting(None, Integer(min=1, example="20"),
                                 doc="Keep the newest N versions of each model (aliased versions, their rollback "
                                     "targets and versions waiting for an approval are kept as well).")
    runs: float | None = setting(None, Duration(positive=True, example="90d"),
                                 doc="Delete finished runs older than this, unless they produced a registered "
                                     "model version.")
    predictions: float | None = setting(None, Duration(positive=True, example="30d"),
                                        doc="Delete prediction-log rows older than this.")
    archive: str | None = setting(None, Text("an artifact store URL", example="s3://bucket/archive"),
                                  doc="Copy what gc deletes (the records as JSON and their artifacts, as stored: "
                                      "still encrypted where encryption is on) to this artifact store URL first.")
    grace: float = setting("1h", Duration(example="1h"),
                           doc="Unreferenced artifacts younger than this are kept: an upload whose record is not "
                               "written yet.")


SECTION = RetentionSection
