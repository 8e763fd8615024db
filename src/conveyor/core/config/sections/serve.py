"""``serve:`` defaults of `conveyor serve` (the command line wins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.constraints import Duration, Integer, Number, OneOf
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class ServeSection(Section):
    """Defaults of `conveyor serve`; its options win."""

    section: ClassVar[str] = "serve"
    order: ClassVar[int] = 40

    max_batch_size: int | None = setting(None, Integer(min=1, example="64"),
                                         doc="`--max-batch-size`: rows per model call (micro-batching).")
    max_wait_ms: float | None = setting(None, Number(min=0, example="2"),
                                        doc="`--max-wait-ms`: how long a batch may wait for more requests, only "
                                            "under load.")
    reload_interval: float | None = setting(None, Duration(positive=True, example="1s"),
                                            doc="Time between checks of the served alias (hot reload).")
    max_rows: int | None = setting(None, Integer(min=1, example="10000"),
                                   doc="Rows per request (413 beyond).")
    max_body_bytes: int | None = setting(None, Integer(min=1, example="20971520"),
                                         doc="Request body size limit in bytes (413 beyond).")
    runtime: str | None = setting(None, OneOf("sklearn", "native", "onnx"),
                                  doc="`--runtime`: score with the model's own library (sklearn; LightGBM trees "
                                      "compiled with numba where installed, checked at load), with the "
                                      "library's own predict only (native) or through onnxruntime (onnx; "
                                      "exported and checked against the model at start).")
    onnx_tolerance: float | None = setting(None, Number(min=0, example="0.0001"),
                                           doc="The largest difference from the model an ONNX export may show "
                                               "on its training rows (default 1e-4).")

    def options(self) -> dict[str, float | int]:
        """The settings that are set, as keyword arguments of the serving app."""
        return self.to_dict(drop_none=True)


SECTION = ServeSection
