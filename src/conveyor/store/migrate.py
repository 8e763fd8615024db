"""Bring a SQL store's schema to the newest Alembic revision when it is opened.

Every CLI verb opens the store, so the common case — the schema is already current — is one plain query and does
not import Alembic or read the migration scripts (that cost about 0.2 s per command).

Platform processes (the server, the agent, serving replicas) call :func:`refuse_schema_changes` first: several of
them share one store, so none migrates it behind the others' backs. Each refuses a schema older than it knows
(naming `conveyor db upgrade`) or newer (naming the upgrade of conveyor itself); a brand-new, empty database is
still created."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.core.errors import StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions; a test checks it against Alembic's own view of the scripts.
HEAD = "0022"


_AUTO_UPGRADE = True
UPGRADE_COMMAND = "conveyor db upgrade"


def refuse_schema_changes(refuse: bool = True) -> None:
    """From now on in this process, opening a store at another schema revision raises instead of migrating."""
    global _AUTO_UPGRADE
    _AUTO_UPGRADE = not refuse


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision as Alembic reads it from the scripts (slow; HEAD is the cached answer)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The store's revision, or None for a store no migration has touched yet."""
    import sqlalchemy as sa  # here, not at the top: the `data add` fast path reads HEAD without SQLAlchemy

    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: sa.Engine) -> None:
    """Apply pending migrations; a no-op (one small query) when the store is current."""
    current = current_revision(engine)
    if current == HEAD:
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current is not None and current not in known:
        raise StoreError(f"The metadata store is at schema revision {current!r}, which this conveyor (schema {HEAD}) "
                         "does not know: a newer conveyor wrote it.",
                         hint="Upgrade conveyor on this machine (pip install -U conveyor-mlops) to the version that "
                              "wrote the store.")
    if current is not None and not _AUTO_UPGRADE:
        raise StoreError(f"The metadata store is at schema revision {current!r}, older than this conveyor's {HEAD!r}; "
                         "a server, agent or serving replica never migrates a shared store by itself.",
                         hint=f"Run `{UPGRADE_COMMAND}` once (with the other servers, agents and replicas stopped), "
                              "then start this again.")
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
