"""`python -m ivr config edge DEST_DIR`: the cluster's SIP edge (Kamailio) configuration
rendered from the centre configuration into DEST_DIR (scripts/edge-start.sh runs it).

Rules:
- The centre file is validated first; an invalid file, node list or address writes nothing.
- Settings from the environment: IVR_CENTRE_CONFIG (queue/kendari.yaml), IVR_STATE_DIR
  (/var/lib/ivr112: the phones' SIP passwords, secrets/sip_<name>, made there once when
  missing, as `config apply` does), IVR_SIP_EDGE (host:port the edge listens on,
  127.0.0.50:5060), IVR_CLUSTER_NODES (name=host:port,...: the Asterisk nodes,
  a1=127.0.0.51:5060,a2=127.0.0.52:5060). The defaults are the one-box test form's.
- Kamailio's runtime folder (its control socket) is DEST_DIR/run.
- Files are replaced atomically and only when their text changed, readable by their owner
  and group only (the subscriber table holds the phones' digests); the names of those
  that changed are printed, so a caller knows what to reload.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath

from pydantic import Field

from ivr.adapters.centre_endpoints import sip_secret
from ivr.config.loader import ConfigInvalid
from ivr.config.loader import load as load_config
from ivr.config.sip_edge import (
    DEFAULT_EDGE,
    DEFAULT_NODES,
    EdgeInvalid,
    EdgeSite,
    parse_address,
    parse_nodes,
    render,
)
from ivr.settings import SettingsError, StoreSettings, load_settings

RUN_FOLDER = "run"


class EdgeSettings(StoreSettings):
    centre_config: Path = Path("queue/kendari.yaml")
    state_dir: Path = Path("/var/lib/ivr112")
    sip_edge: str = Field(DEFAULT_EDGE, max_length=40)
    cluster_nodes: str = Field(DEFAULT_NODES, max_length=2000)


def write_files(folder: Path, files: dict[str, str]) -> list[str]:
    """Writes each file under folder (mode 0640, folders 0750); returns those that changed."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o750)
    (folder / RUN_FOLDER).mkdir(exist_ok=True)
    changed = []
    for name, text in sorted(files.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o750)
        if path.exists() and path.read_text() == text:
            continue
        fresh = path.with_name(path.name + ".new")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        fresh.chmod(0o640)
        fresh.replace(path)
        changed.append(name)
    return changed


def run(dest: Path) -> int:
    """The command: 0 when written (or unchanged), 1 when refused, 2 for a bad setting."""
    try:
        settings = load_settings(EdgeSettings)
        edge = parse_address(settings.sip_edge, "IVR_SIP_EDGE")
        nodes = parse_nodes(settings.cluster_nodes)
    except (SettingsError, EdgeInvalid) as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return 2
    try:
        config = load_config(settings.centre_config)
    except ConfigInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{settings.centre_config}: {len(exc.problems)} problem(s); edge not written", file=sys.stderr)
        return 1
    folder = dest.resolve()
    site = EdgeSite(edge, PurePosixPath(folder), PurePosixPath(folder / RUN_FOLDER))
    try:
        files = render(config, lambda name: sip_secret(settings.state_dir, name), nodes, site)
        changed = write_files(folder, files)
    except (EdgeInvalid, OSError) as exc:
        print(f"ivr: edge configuration not written: {exc}", file=sys.stderr)
        return 1
    print(f"{folder}: " + (", ".join(changed) + " written" if changed else "unchanged"))
    print(f"edge {edge}, nodes " + ", ".join(f"{n.name}={n.address}" for n in nodes))
    return 0
