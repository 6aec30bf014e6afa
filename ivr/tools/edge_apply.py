"""`python -m ivr config edge DEST_DIR`: the cluster's SIP edge (Kamailio) configuration
rendered from the centre configuration into DEST_DIR (scripts/edge-start.sh runs it).

Rules:
- The centre file is validated first; an invalid file, node list or address writes nothing.
- Settings from the environment: IVR_CENTRE_CONFIG (queue/kendari.yaml), IVR_STATE_DIR
  (/var/lib/ivr112: the phones' SIP passwords, secrets/sip_<name>, made there once when
  missing, as `config apply` does), IVR_SIP_EDGE (host:port of each of the centre's
  edges, comma-separated, edge 1 first: 127.0.0.50:5060), IVR_EDGE_ADDRESS (which of
  them this one is; the first when unset), IVR_CLUSTER_NODES (name=host:port,...: the Asterisk nodes,
  a1=127.0.0.51:5060,a2=127.0.0.52:5060). The defaults are the one-box test form's.
- Every edge gets edge 1's address as its digest realm and the others as its DMQ peers.
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
    parse_edges,
    parse_nodes,
    render,
)
from ivr.settings import SettingsError, StoreSettings, load_settings

RUN_FOLDER = "run"


class EdgeSettings(StoreSettings):
    centre_config: Path = Path("queue/kendari.yaml")
    state_dir: Path = Path("/var/lib/ivr112")
    sip_edge: str = Field(DEFAULT_EDGE, max_length=400)
    edge_address: str = Field("", max_length=40)
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
        edges = parse_edges(settings.sip_edge)
        edge = parse_address(settings.edge_address, "IVR_EDGE_ADDRESS") if settings.edge_address else edges[0]
        nodes = parse_nodes(settings.cluster_nodes)
        if edge not in edges:
            raise EdgeInvalid(
                f"IVR_EDGE_ADDRESS {edge} is not one of the edges in IVR_SIP_EDGE ({settings.sip_edge})"
            )
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
    peers = tuple(other for other in edges if other != edge)
    site = EdgeSite(edge, PurePosixPath(folder), PurePosixPath(folder / RUN_FOLDER), edges[0].host, peers)
    try:
        files = render(config, lambda name: sip_secret(settings.state_dir, name), nodes, site)
        changed = write_files(folder, files)
    except (EdgeInvalid, OSError) as exc:
        print(f"ivr: edge configuration not written: {exc}", file=sys.stderr)
        return 1
    print(f"{folder}: " + (", ".join(changed) + " written" if changed else "unchanged"))
    others = f" (other edges {', '.join(map(str, peers))})" if peers else ""
    print(f"edge {edge}{others}, nodes " + ", ".join(f"{n.name}={n.address}" for n in nodes))
    return 0
