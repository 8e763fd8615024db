"""What routers take from the app: the project (its sub-APIs) and the caller."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from conveyor.project import Project


def project_of(request: Request) -> Project:
    return request.app.state.project


ProjectDep = Annotated["Project", Depends(project_of)]
