"""The ``--tls-cert``/``--tls-key`` options of every verb that runs an HTTP server (``serve``, ``server``).

    def server(..., tls_cert: TlsCertOption = None, tls_key: TlsKeyOption = None):
        tls = tls_options(tls_cert, tls_key)   # conveyor.core.tls: checked, exit 2 naming the flag
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.core.tls import TlsOptions, tls_options

__all__ = ["TlsCertOption", "TlsKeyOption", "TlsOptions", "tls_options"]

TlsCertOption = Annotated[Path | None, typer.Option("--tls-cert", help="Serve HTTPS with this certificate chain "
                                                    "(PEM); needs --tls-key.")]
TlsKeyOption = Annotated[Path | None, typer.Option("--tls-key", help="The certificate's private key (PEM).")]
