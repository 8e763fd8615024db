"""JSON responses rendered by orjson (numpy scalars and arrays included): every answer of /api/v1 is rendered the
way the inference server renders its own."""

from conveyor.serve.responses import JSONBytes

__all__ = ["JSONBytes"]
