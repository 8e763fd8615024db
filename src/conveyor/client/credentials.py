"""Where remote mode finds its server and token. Precedence: flags, then ``CONVEYOR_SERVER`` / ``CONVEYOR_TOKEN``,
then ``~/.config/conveyor/credentials.toml`` (written by `conveyor login`, mode 0600, one table per server URL)::

    default = "https://conveyor.example.com"

    ["https://conveyor.example.com"]
    token = "..."
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from conveyor.core.errors import BadInputError


@dataclass(frozen=True)
class Target:
    url: str
    token: str | None


def credentials_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "conveyor" / "credentials.toml"


def read_credentials(path: Path | None = None) -> tuple[str | None, dict[str, str]]:
    """(the default server URL, token by server URL) of the credentials file; empty when there is none."""
    path = path or credentials_file()
    if not path.is_file():
        return None, {}
    default: str | None = None
    tokens: dict[str, str] = {}
    section: str | None = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("[") and line.endswith("]"):
                section = json.loads(line[1:-1])
            else:
                key, _, value = line.partition("=")
                text = json.loads(value.strip())
                if key.strip() == "default" and section is None:
                    default = text
                elif key.strip() == "token" and section is not None:
                    tokens[section] = text
        except ValueError:
            raise BadInputError(f"Line {number} of {path} is not understood.", field="credentials",
                                hint="Run `conveyor logout` and `conveyor login URL` again.") from None
    return default, tokens


def write_credentials(default: str | None, tokens: dict[str, str], path: Path | None = None) -> Path:
    """Write the file atomically with mode 0600 (created so, never readable by others in between)."""
    path = path or credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f"default = {json.dumps(default)}", ""] if default else []
    for url, token in sorted(tokens.items()):
        lines += [f"[{json.dumps(url)}]", f"token = {json.dumps(token)}", ""]
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def resolve_target(server: str | None = None, token: str | None = None) -> Target | None:
    """The server to talk to, or None for a local project: ``server``/``token`` (flags) win, then the
    environment, then the credentials file's default and its token for that URL."""
    default, tokens = read_credentials()
    url = server or os.environ.get("CONVEYOR_SERVER") or default
    if not url:
        return None
    url = normalize(url)
    return Target(url, token or os.environ.get("CONVEYOR_TOKEN") or tokens.get(url))


def normalize(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise BadInputError(f"Server URL {url!r} has no http:// or https:// scheme.", field="server",
                            hint="e.g. CONVEYOR_SERVER=http://127.0.0.1:8765")
    return url.rstrip("/")
