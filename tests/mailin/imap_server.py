"""A real IMAP server for the transport tests: Debian's dovecot (``dovecot-imapd``),
started privately for one test with its own configuration in a temporary folder, on a
free port of 127.0.0.1, with one user (plain-text login, no TLS), and stopped after.

Dovecot refuses to run its login processes or to open mail as root: under root (CI) the
login and internal processes run as Debian's ``dovenull`` and ``dovecot`` users and the
mail as ``nobody``; under another user, everything runs as that user. Tests deliver
messages by IMAP APPEND and read flags back over IMAP, so they never need to touch the
mail files themselves.

Without the ``dovecot`` binary the tests skip; with ``SUPPORTDESK_CI=1`` they fail
instead (CI installs it).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import AND, MailBoxUnencrypted

from core.config import ImapAccount

USER = "support"
PASSWORD = "imap-test-secret"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _identities() -> dict[str, str]:
    """Who runs what: the current user everywhere, except under root, where dovecot
    insists on unprivileged users."""
    if os.getuid() != 0:
        user = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(os.getgid()).gr_name
        return {
            "login_user": user.pw_name,
            "internal_user": user.pw_name,
            "internal_group": group,
            "mail_uid": str(user.pw_uid),
            "mail_gid": str(user.pw_gid),
        }
    for name in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            pytest.fail(f"running as root, dovecot needs the {name!r} user (dovecot-core)")
    nobody = pwd.getpwnam("nobody")
    return {
        "login_user": "dovenull",
        "internal_user": "dovecot",
        "internal_group": grp.getgrgid(pwd.getpwnam("dovecot").pw_gid).gr_name,
        "mail_uid": str(nobody.pw_uid),
        "mail_gid": str(nobody.pw_gid),
    }


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass
class Dovecot:
    root: Path
    port: int
    config: Path

    @property
    def url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    @property
    def account(self) -> ImapAccount:
        return ImapAccount.from_url(self.url)

    def mailbox(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=10).login(USER, PASSWORD)

    def append(self, raw: bytes) -> None:
        """Deliver one message into the INBOX, unseen."""
        with self.mailbox() as box:
            box.append(raw, "INBOX")

    def unseen(self) -> int:
        with self.mailbox() as box:
            return len(box.uids(AND(seen=False)))

    def seen(self) -> int:
        with self.mailbox() as box:
            return len(box.uids(AND(seen=True)))

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "dovecot.log").read_text(errors="replace")
        return "(no log)"

    def _accepts(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe,
        ):
            return probe.recv(64).startswith(b"* OK")
        return False


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if binary is None:
        if os.environ.get("SUPPORTDESK_CI") == "1":
            pytest.fail("SUPPORTDESK_CI=1 but the dovecot binary (dovecot-imapd) is missing")
        pytest.skip("needs dovecot (apt-get install dovecot-imapd)")
    # Under /tmp itself, not pytest's private tmp folder: the unprivileged mail user must
    # be able to reach the mail folder.
    root = Path(tempfile.mkdtemp(prefix="sd-dovecot-"))
    root.chmod(0o755)
    identities = _identities()
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir()
    for folder in ("mail", "home"):
        os.chown(root / folder, int(identities["mail_uid"]), int(identities["mail_gid"]))
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port, **identities))
    server = Dovecot(root=root, port=port, config=config)
    try:
        # Into a file, not a pipe: the daemon it forks would hold a pipe open.
        with (root / "start.log").open("wb") as output:
            started = subprocess.run(
                [binary, "-c", str(config)],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=30,
                check=False,
            )
        if started.returncode != 0:
            start_log = (root / "start.log").read_text(errors="replace")
            pytest.fail(f"dovecot did not start:\n{start_log}\n{server.log()}")
        deadline = time.monotonic() + 15
        while not server._accepts():
            if time.monotonic() > deadline:
                pytest.fail(f"dovecot did not accept connections on {port}:\n{server.log()}")
            time.sleep(0.05)
        yield server
    finally:
        _stop(server)
        shutil.rmtree(root, ignore_errors=True)


def _stop(server: Dovecot) -> None:
    """Kill the master and its children (one process group: the daemon's own session) and
    wait until they are gone. A throw-away server needs no graceful stop, which takes
    dovecot seconds."""
    try:
        pid = int((server.root / "run" / "master.pid").read_text().strip())
    except (OSError, ValueError):
        return  # it never started
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _running(pid: int) -> bool:
    """Alive and not a zombie (its parent is init, which may reap it a little later)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
