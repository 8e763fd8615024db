"""`conveyor server`: one process serving a project's stores to a team over a versioned REST API (``/api/v1``).

The routers are thin: each calls the project's sub-APIs (``project.data``, ``project.runs`` ...), so the server
holds no business logic of its own. :func:`create_app` builds the ASGI app."""

from conveyor.server.app import create_app

__all__ = ["create_app"]
