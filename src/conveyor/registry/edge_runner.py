"""Score rows with an exported ONNX model using only onnxruntime and numpy: the runner of an edge bundle.

This module imports nothing from conveyor, scikit-learn or pandas: ``conveyor deploy edge`` copies it as
``runner.py`` next to ``model.onnx`` and ``schema.json``, and conveyor's own ONNX runtime
(``conveyor serve --runtime onnx``) scores through the same :class:`OnnxModel`, so the bundle answers exactly what
the server does. Usage in a bundle::

    python runner.py rows.json            # a JSON list of row objects, or {"dataframe_records": [...]}
    python runner.py rows.csv             # a CSV file with a header
    python runner.py --serve 8080         # POST /invocations with a JSON body; GET /health

Rows are dicts of column -> value. Numeric columns go in as float32 (missing -> NaN); categorical ones as text,
missing -> ``"__missing__"``, the marker conveyor's preprocessing uses. A classifier answers
``classes[argmax(probabilities)]`` with the probabilities; a regressor its value.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

MISSING_TEXT = "__missing__"
TRUE_TEXT = {"true", "1", "yes"}


def _number(value):
    if value is None or value == "":
        return float("nan")
    if isinstance(value, str):
        low = value.strip().lower()
        if low in TRUE_TEXT or low == "false" or low == "no":
            return 1.0 if low in TRUE_TEXT else 0.0
        return float(value)
    return float(value)


def _text(value):
    if value is None or (isinstance(value, float) and value != value):
        return MISSING_TEXT
    return str(value)


class OnnxModel:
    """An ONNX model and its schema (the ``schema.json`` of a bundle): ``predict(rows) -> (labels, probabilities)``."""

    def __init__(self, model: bytes | str, schema: dict, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a booster's label output warns about its declared shape
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.schema = schema
        self.inputs = schema["inputs"]
        self.names = [c["name"] for c in self.inputs]
        self.task = schema.get("task", "regression")
        self.classes = schema.get("classes") or []
        self.layout = schema.get("layout", "columns")
        self.output = schema["output"]

    def feed(self, columns: dict) -> dict:
        """The session's inputs from column -> list of values."""
        if self.layout == "matrix":
            matrix = np.array([[_number(v) for v in columns[n]] for n in self.names], dtype=np.float32).T
            return {self.schema["matrix_input"]: np.ascontiguousarray(matrix)}
        fed = {}
        for column in self.inputs:
            values = columns[column["name"]]
            if column["onnx"] == "string":
                fed[column["name"]] = np.array([_text(v) for v in values], dtype=object).reshape(-1, 1)
            else:
                fed[column["name"]] = np.array([_number(v) for v in values], dtype=np.float32).reshape(-1, 1)
        return fed

    def run(self, columns: dict) -> np.ndarray:
        """The model's output: class probabilities (one column per class) or values, as float64."""
        raw = self.session.run([self.output], self.feed(columns))[0]
        return np.asarray(raw, dtype=np.float64)

    def predict(self, rows: list) -> tuple[list, list | None]:
        """Predictions for row dicts, and class probabilities for a classifier (else None)."""
        missing = [n for n in self.names if rows and n not in rows[0]]
        if missing:
            raise ValueError(f"rows lack the input column(s) {', '.join(missing)}")
        columns = {n: [row.get(n) for row in rows] for n in self.names}
        return self.answer(self.run(columns))

    def answer(self, raw: np.ndarray) -> tuple[list, list | None]:
        if self.task != "classification":
            return raw.reshape(-1).tolist(), None
        if raw.ndim == 1 or raw.shape[1] == 1:
            positive = raw.reshape(-1)
            raw = np.column_stack([1 - positive, positive])
        labels = [self.classes[i] for i in raw.argmax(axis=1)]
        return labels, raw.tolist()


def read_rows(path: str) -> list:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    if path.endswith(".csv"):
        return list(csv.DictReader(text.splitlines()))
    data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("dataframe_records") or data.get("instances") or data.get("inputs") or []
    return list(data)


def load(folder: Path) -> OnnxModel:
    schema = json.loads((folder / "schema.json").read_text())
    return OnnxModel(str(folder / "model.onnx"), schema)


def _answer_json(model: OnnxModel, rows: list) -> dict:
    predictions, proba = model.predict(rows)
    answer = {"predictions": predictions}
    if proba is not None:
        answer["probabilities"] = [dict(zip([str(c) for c in model.classes], row, strict=True)) for row in proba]
    return answer


def serve(model: OnnxModel, port: int, host: str = "127.0.0.1") -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200 if self.path == "/health" else 404, {"status": "ok"} if self.path == "/health" else {})

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._send(404, {"error": "POST /invocations"})
                return
            try:
                data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                rows = data.get("dataframe_records") or data.get("instances") or [] if isinstance(data, dict) \
                    else data
                self._send(200, _answer_json(model, rows))
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, {"error": str(exc)})

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer((host, port), Handler).serve_forever()


def main(argv: list) -> int:
    folder = Path(__file__).resolve().parent
    if len(argv) >= 2 and argv[0] == "--serve":
        serve(load(folder), int(argv[1]))
        return 0
    if len(argv) != 1:
        print("usage: python runner.py ROWS.json|ROWS.csv|-   or   python runner.py --serve PORT", file=sys.stderr)
        return 2
    try:
        answer = _answer_json(load(folder), read_rows(argv[0]))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
