"""The typer application: one sub-app per verb group."""

from __future__ import annotations

import typer

from conveyor.cli import (
    audit,
    backup,
    connections,
    data,
    db,
    delivery,
    deploy,
    encryption,
    features,
    feedback,
    gc,
    identities,
    imports,
    lifecycle,
    models,
    monitoring,
    pipelines,
    remote,
    report,
    runs,
    server,
)
from conveyor.cli.main import HELP

app = typer.Typer(
    name="conveyor",
    help=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
app.add_typer(connections.app, name="connections")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(deploy.app, name="deploy")
app.add_typer(encryption.app, name="encryption")
app.add_typer(features.app, name="features")
app.add_typer(feedback.app, name="feedback")
lifecycle.register(app)
delivery.register(app)
app.command("monitor")(monitoring.monitor)
app.add_typer(monitoring.alerts_app, name="alerts")
app.command("agent")(monitoring.agent)
app.command("report")(report.report)
app.add_typer(identities.users_app, name="users")
app.add_typer(identities.tokens_app, name="tokens")
app.add_typer(audit.app, name="audit")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(pipelines.app, name="pipeline", hidden=True)  # singular, as issue 11 writes it
app.command("server")(server.server)
app.command("login")(remote.login)
app.command("logout")(remote.logout)
app.add_typer(imports.app, name="import")
app.command("gc")(gc.gc)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(db.app, name="db")
