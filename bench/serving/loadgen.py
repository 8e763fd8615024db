"""A small keep-alive HTTP/1.1 load generator on raw asyncio streams (an HTTP client library would be the
bottleneck before the servers are): N connections, each sending the same request back to back for a fixed time.

Counts a request as failed when the connection breaks or the status is not 200; latencies are per request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    first_error: str = ""
    headers_seen: dict[str, int] = field(default_factory=dict)  # values of one response header, counted

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_request(host: str, port: int, path: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader, watch: bytes | None) -> tuple[int, str | None]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    chunked = False
    seen = None
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif watch is not None and key == watch:
            seen = value.strip().decode()
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, seen


async def _worker(host: str, port: int, request: bytes, deadline: float, result: LoadResult,
                  watch: bytes | None) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.perf_counter()
            writer.write(request)
            status, seen = await _read_response(reader, watch)  # type: ignore[arg-type]
            result.latencies.append(time.perf_counter() - started)
            result.requests += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if seen is not None:
                result.headers_seen[seen] = result.headers_seen.get(seen, 0) + 1
            if status != 200:
                result.errors += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            result.requests += 1
            result.errors += 1
            result.first_error = result.first_error or repr(exc)
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _run(host: str, port: int, request: bytes, concurrency: int, seconds: float,
               watch: bytes | None) -> LoadResult:
    result = LoadResult()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_worker(host, port, request, deadline, result, watch) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def run_load(host: str, port: int, request: bytes, concurrency: int, seconds: float,
             watch_header: str | None = None) -> LoadResult:
    watch = watch_header.lower().encode() if watch_header else None
    return asyncio.run(_run(host, port, request, concurrency, seconds, watch))
