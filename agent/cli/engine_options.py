"""The options of the commands that run many items (batch, restore, report): which engine, where, how many."""

from __future__ import annotations

import typer

ENGINE = typer.Option("local", "--engine", help="local (this process, the default) or ray (a Ray cluster: "
                                                "--address, else a local Ray instance for this command).")
ADDRESS = typer.Option(None, "--address", help="Ray cluster to join with --engine ray, e.g. 10.0.0.5:6379 "
                                               "(default: $RAY_ADDRESS; none: start a local Ray instance).")
WORKERS = typer.Option(None, "--workers", min=1, help="With --engine ray: workers at a time (default: one per "
                                                      "GPU of the cluster, else one per CPU).")
FORCE = typer.Option(False, "--force", help="Redo every item, even those the manifest in --out says are done.")
