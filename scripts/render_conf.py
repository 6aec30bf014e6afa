#!/usr/bin/env python3
"""Renders the repo's Asterisk configuration into an Asterisk etc folder.

Rules kept here:
- Every file of asterisk-conf/ and dialplan/ is copied with its @@NAME@@ placeholders
  replaced from the environment (defaults below); an unknown placeholder is an error
  naming the file and line, never an empty value.
- Secrets are never committed: the ARI password comes from IVR_ARI_PASSWORD (the AMI
  secrets from IVR_AMI_PASSWORD and, for the watchdog's own AMI user, from
  IVR_WATCHDOG_AMI_PASSWORD; the password of Asterisk's metrics page from
  IVR_ASTERISK_METRICS_PASSWORD) or from a random secret kept (mode 0600, folder 0700)
  in the state folder. They are written to ari_users.conf, manager_users.conf and
  prometheus_users.conf in the destination only. AMI users may connect from loopback only.
- The centre's phones and agencies (centre/*.conf, with each phone's SIP password) are
  not rendered here: the control plane generates them from queue/*.yaml afterwards
  (`python -m ivr config apply`).
- The cluster form: IVR_SIP_EDGE (the SIP edges' IPv4 address:port, comma-separated) has pjsip identify
  the edge's header first (the rest of that form is generated with the endpoints). A node
  (ASTERISK_NODE=<name>, scripts/node-start.sh) gets an asterisk.conf naming it
  (systemname: every channel id it makes starts "<name>-") with folders of its own inside
  the shared root for what it writes (configuration, control socket and pid, database,
  spool with the recordings, logs, cache); the rest of the root (modules, sounds) is shared.
  Without ASTERISK_NODE, asterisk.conf is the repo's as it is (the single-node form).
- The desk phones' TLS transport (SIP_TLS_BIND) uses the state folder's tls/sip.crt and
  tls/sip.key (the key 0600, the folder 0700), copied into the destination as sip-tls.crt
  and sip-tls.key (Asterisk reads them there, in the chroot and the container alike).
  When neither exists, a self-signed pair is made with openssl and the start says so;
  the operator replaces both with the centre's own. One without the other is an error.
Standard library only: it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = (REPO / "asterisk-conf", REPO / "dialplan")
PLACEHOLDER = re.compile(r"@@([A-Z0-9_]+)@@")

DEFAULTS = {
    "SIP_BIND": "127.0.0.1:5060",
    "SIP_TLS_BIND": "127.0.0.1:5061",
    "ASTERISK_HTTP_BIND": "127.0.0.1",
    "ASTERISK_HTTP_PORT": "8088",
    "RTP_STRICT": "yes",
    "RTP_START": "10000",
    "RTP_END": "20000",
    "TAKER_QUALIFY_SECONDS": "10",
    "TAKER_QUALIFY_TIMEOUT": "2.0",
    "IVR_ARI_APP": "ivr112",
    "AMI_BIND": "127.0.0.1",
    "AMI_PORT": "5038",
    "IVR_RECORD_CALLS": "yes",  # the control plane reads the same variable (a boolean)
}
TLS_FILES = ("sip-tls.crt", "sip-tls.key")  # in the destination, for transport-tls of pjsip.conf
BOOLEANS = {"IVR_RECORD_CALLS"}  # rendered "yes" or "no", whichever spelling pydantic accepts
FALSE_WORDS = {"0", "false", "f", "no", "n", "off"}
NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")  # the control plane reads it back from channel ids
# What a node writes, in folders of its own inside the shared root ({} is the node's name).
NODE_DIRECTORIES = {
    "astetcdir": "/etc/asterisk-{}",
    "astdbdir": "/var/lib/asterisk-{}",
    "astspooldir": "/var/spool/asterisk-{}",
    "astrundir": "/run/asterisk-{}",
    "astlogdir": "/var/log/asterisk-{}",
    "astcachedir": "/var/cache/asterisk-{}",
}


def stored_secret(state: Path, name: str) -> str:
    path = state / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def sip_tls_pair(state: Path, bind: str) -> tuple[bytes, bytes]:
    """The desk phones' TLS certificate and key (PEM) from the state folder's tls/, made
    self-signed when neither is there."""
    folder = state / "tls"
    cert, key = folder / "sip.crt", folder / "sip.key"
    if cert.exists() != key.exists():
        have, lacks = (cert, key) if cert.exists() else (key, cert)
        sys.exit(f"render_conf: {have} is there but {lacks} is not: put both of the centre's files there")
    if not cert.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        host = bind.rpartition(":")[0].strip("[]") or "127.0.0.1"
        names = [f"DNS:{socket.gethostname()}", "IP:127.0.0.1"]
        if host not in ("127.0.0.1", "0.0.0.0", "::"):
            try:
                names.append(f"IP:{ipaddress.ip_address(host)}")
            except ValueError:
                names.append(f"DNS:{host}")
        made = [folder / "sip.crt.new", folder / "sip.key.new"]
        for path in made:
            path.unlink(missing_ok=True)
        try:
            done = subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                 "-subj", "/O=Kendari 112/CN=Kendari 112 SIP", "-addext", "subjectAltName=" + ",".join(names),
                 "-keyout", str(made[1]), "-out", str(made[0])],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        except FileNotFoundError:
            sys.exit(f"render_conf: openssl is not installed: install it, or put the centre's certificate "
                     f"and key at {cert} and {key}")  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"render_conf: openssl could not make the SIP TLS certificate: {done.stderr.strip()}")
        made[1].chmod(0o600)
        made[1].rename(key)
        made[0].rename(cert)
        print(
            f"render_conf: made a self-signed SIP TLS certificate {cert} (key {key}) for the desk "
            "phones: replace both with the centre's own (docs/operations.md)",
            file=sys.stderr,
        )
    pair = cert.read_bytes(), key.read_bytes()
    for path, text in zip((cert, key), pair, strict=True):
        if b"-----BEGIN " not in text:
            sys.exit(f"render_conf: {path} is not a PEM file (-----BEGIN ...)")
    return pair


def render_file(src: Path, values: dict[str, str]) -> str:
    out = []
    for number, line in enumerate(src.read_text().splitlines(keepends=True), 1):
        for name in PLACEHOLDER.findall(line):
            if name not in values:
                sys.exit(f"render_conf: {src.relative_to(REPO)}:{number}: no value for @@{name}@@")
        out.append(PLACEHOLDER.sub(lambda m: values[m.group(1)], line))
    return "".join(out)


def node_asterisk_conf(text: str, node: str) -> str:
    """asterisk.conf for the node `node`: its own folders and its systemname."""
    if not re.search(r"^\[options\]$", text, re.MULTILINE) or "[directories]" in text:
        sys.exit("render_conf: asterisk-conf/asterisk.conf needs one [options] section and no [directories]")
    folders = "".join(f"{key} => {path.format(node)}\n" for key, path in NODE_DIRECTORIES.items())
    named = re.sub(
        r"^\[options\]$",
        f'[options]\nsystemname = {node}  ; every channel id starts with "{node}-"',
        text,
        count=1,
        flags=re.MULTILINE,
    )
    return (
        f"; Node {node} of the cluster form: its own folders inside the shared root.\n"
        f"[directories]\n{folders}\n{named}"
    )


def is_edge(text: str) -> bool:
    """IVR_SIP_EDGE: for each edge an IPv4 address and a port, comma-separated (the nodes'
    ACL holds addresses, not names)."""
    for item in text.split(","):
        host, colon, port = item.strip().rpartition(":")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        if not (colon and port.isdigit() and 1 <= int(port) <= 65535):
            return False
    return True


def checked(values: dict[str, str]) -> dict[str, str]:
    """The values no Asterisk setting would refuse on its own, and the derived ones."""
    start, end = values["RTP_START"], values["RTP_END"]
    if not (start.isdigit() and end.isdigit() and 1024 <= int(start) < int(end) <= 65535):
        sys.exit(f"render_conf: RTP_START {start!r} and RTP_END {end!r}: two ports, 1024-65535, in order")
    edge = os.environ.get("IVR_SIP_EDGE", "").strip()
    if edge and not is_edge(edge):
        sys.exit(
            f"render_conf: IVR_SIP_EDGE {edge!r}: write each edge's IPv4 address and port "
            "(a.b.c.d:port, comma-separated)"
        )
    # Behind the edge, trunks and phones are known by the header it adds (pjsip.conf).
    return values | {"SIP_IDENTIFIERS": "header,ip,username" if edge else "ip,username"}


def asterisk_etc(node: str) -> str:
    """The configuration folder as Asterisk sees it (a node has its own, NODE_DIRECTORIES)."""
    return NODE_DIRECTORIES["astetcdir"].format(node) if node else "/etc/asterisk"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: render_conf.py DEST_ETC_ASTERISK")
    dest = Path(sys.argv[1])
    state = Path(os.environ.get("IVR_STATE_DIR", "/var/lib/ivr112"))
    values = {name: os.environ.get(name, default) for name, default in DEFAULTS.items()}
    for name in BOOLEANS:
        values[name] = "no" if values[name].strip().lower() in FALSE_WORDS else "yes"
    values = checked(values)
    node = os.environ.get("ASTERISK_NODE", "")
    if node and not NODE_NAME.match(node):
        sys.exit(f"render_conf: ASTERISK_NODE {node!r}: a node's name is a-z then up to 7 of a-z 0-9")
    tls_files = dict(zip(TLS_FILES, sip_tls_pair(state, values["SIP_TLS_BIND"]), strict=True))
    values |= {
        "SIP_TLS_CERT": f"{asterisk_etc(node)}/{TLS_FILES[0]}",
        "SIP_TLS_KEY": f"{asterisk_etc(node)}/{TLS_FILES[1]}",
    }

    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for folder in SOURCES:
        for src in sorted(folder.glob("*.conf")):
            text = render_file(src, values)
            if node and src.name == "asterisk.conf":
                text = node_asterisk_conf(text, node)
            (tmp / src.name).write_text(text)

    if not os.environ.get("IVR_API_TOKEN"):
        stored_secret(state, "api_token")  # the control plane's HTTP API token, read by run.sh
    ari_user = os.environ.get("IVR_ARI_USER", "ivr112")
    ari_password = os.environ.get("IVR_ARI_PASSWORD") or stored_secret(state, "ari_password")
    (tmp / "ari_users.conf").write_text(
        f"[{ari_user}]\ntype = user\nread_only = no\npassword = {ari_password}\n"
    )
    ami_user = os.environ.get("IVR_AMI_USER", "ivr112")
    ami_password = os.environ.get("IVR_AMI_PASSWORD") or stored_secret(state, "ami_password")
    # The watchdog moves stranded callers out of Stasis (Redirect, Hangup: class "call"),
    # so it has a user of its own; the control plane needs no "call" rights. Both read
    # only "system" events (the control plane: ContactStatus; the watchdog none): an
    # action's answer comes whatever a user reads, while "reporting" and "call" would have
    # Asterisk format and send them every RTCP report and every channel's events, and
    # this Asterisk's TestEvents (hundreds a minute with a few calls), each parsed and dropped.
    watchdog_user = os.environ.get("IVR_WATCHDOG_AMI_USER", "ivr112-watchdog")
    watchdog_password = os.environ.get("IVR_WATCHDOG_AMI_PASSWORD") or stored_secret(
        state, "watchdog_ami_password"
    )
    loopback = "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.0/255.0.0.0\n"
    (tmp / "manager_users.conf").write_text(
        f"[{ami_user}]\nsecret = {ami_password}\n{loopback}"
        "read = system\nwrite = system,call,reporting\n\n"
        f"[{watchdog_user}]\nsecret = {watchdog_password}\n{loopback}"
        "read = system\nwrite = system,call,reporting\n"
    )
    # Asterisk's own metrics (res_prometheus, prometheus.conf): Basic Auth, the user and
    # password continuing prometheus.conf's [general] section.
    metrics_user = os.environ.get("IVR_ASTERISK_METRICS_USER", "prometheus")
    metrics_password = os.environ.get("IVR_ASTERISK_METRICS_PASSWORD") or stored_secret(
        state, "asterisk_metrics_password"
    )
    (tmp / "prometheus_users.conf").write_text(
        f"auth_username = {metrics_user}\nauth_password = {metrics_password}\n"
    )
    for name, content in tls_files.items():  # the key never readable to others, even here
        with os.fdopen(os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(content)
    for path in tmp.iterdir():
        path.chmod(0o640)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


if __name__ == "__main__":
    main()
