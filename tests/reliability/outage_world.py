"""Emulators in this process, `talk sync` in a child: outages, Ctrl-C, SIGTERM as people meet them.

``World`` serves a custom CRM (``crm``), Exact Online (``erp``) and,
when asked, Invoiced (``billing``) on emulators, writes a talk.toml over
them, and runs ``python -m talk_core.cli`` as a child process so that
signals, exit codes and output are the real ones. A system can be *down*:
its address is a port that nothing listens on (reserved for the run and
closed), and ``bring_up`` later starts its emulator on that same port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Self

import attrs

from talk_core.store.sqlite import SQLiteStore
from talk_custom import CustomEmulator
from talk_exactonline.emulator import ExactEmulator
from talk_invoiced.emulator import InvoicedEmulator

#: A run that takes longer than this is stuck, not slow.
RUN_TIMEOUT = 300

CRM = """
[systems.crm]
connector = "customcrm"
base_url = "{crm}"
api_key = "${{CRM_KEY}}"
"""
ERP = """
[systems.erp]
connector = "exactonline"
base_url = "{erp}"
client_id = "{client_id}"
client_secret = "${{ERP_SECRET}}"
refresh_token = "${{ERP_REFRESH}}"
{erp_extra}
"""
BILLING = """
[systems.billing]
connector = "invoiced"
base_url = "{billing}"
api_key = "${{BILLING_KEY}}"
"""


def free_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago, and is closed now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.frozen
class Finished:
    """How one ``talk`` child ended: exit code, output, and how long it took."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> int:
        """Lines a person sees on the terminal: standard output and standard error."""
        return len(self.stdout.splitlines()) + len(self.stderr.splitlines())

    def __str__(self) -> str:
        return (f"exit {self.code} after {self.seconds:.1f}s\n--- stdout\n{self.stdout[-3000:]}"
                f"\n--- stderr\n{self.stderr[-3000:]}")


class World:
    """The emulators, the folder with talk.toml and state, and ``talk`` as a child process."""

    def __init__(self, folder: Path, *, billing: bool = False, minutely_limit: int = 100_000,
                 minute_seconds: float = 60.0) -> None:
        self.folder = folder
        self.crm = CustomEmulator("customcrm", api_key="key_crm").start()
        self.erp = ExactEmulator(division=4004, minutely_limit=minutely_limit,
                                 minute_seconds=minute_seconds)
        self.erp_port = free_port()
        self.billing: InvoicedEmulator | None = None
        self.billing_port = 0
        if billing:
            self.billing_port = free_port()
            self.billing = InvoicedEmulator(api_key="key_billing", port=self.billing_port)
        self.env = dict(os.environ)
        self.env.pop("TALK_CONFIG", None)
        self.env.update(CRM_KEY="key_crm", BILLING_KEY="key_billing",
                        ERP_SECRET=self.erp.state.client_secret,
                        ERP_REFRESH=self.erp.refresh_token())
        self._up: set[str] = set()
        self.configure()

    # -- the systems ------------------------------------------------------------------
    def configure(self, *, erp_extra: str = "", sync: str = "") -> None:
        text = "[state]\npath = \"state.db\"\n" + CRM.format(crm=self.crm.url)
        text += ERP.format(erp=f"http://127.0.0.1:{self.erp_port}",
                           client_id=self.erp.state.client_id, erp_extra=erp_extra)
        if self.billing is not None:
            text += BILLING.format(billing=f"http://127.0.0.1:{self.billing_port}")
        if sync:
            text += f"\n[sync]\n{sync}\n"
        (self.folder / "talk.toml").write_text(text, encoding="utf-8")

    def bring_up(self, *names: str) -> None:
        """Start the named systems' emulators on the ports talk.toml names (down until now)."""
        for name in names:
            if name in self._up:
                continue
            if name == "erp":
                self.erp.start(self.erp_port)
            elif name == "billing":
                assert self.billing is not None
                self.billing.start()
            else:
                raise ValueError(name)
            self._up.add(name)

    def take_down(self, name: str) -> None:
        if name not in self._up:
            return
        (self.erp if name == "erp" else self.billing).stop()  # type: ignore[union-attr]
        self._up.discard(name)

    def customers(self, n: int, *, prefix: str = "Outage") -> None:
        for i in range(n):
            self.crm.put("customer", {"name": f"{prefix} {i:05d} AS", "city": "Bergen",
                                      "country": "NO", "email": f"post{i}@{prefix.lower()}.no"})

    def close(self) -> None:
        self.crm.stop()
        self.erp.stop()
        if self.billing is not None:
            self.billing.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- talk ---------------------------------------------------------------------------
    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "talk_core.cli", *args]

    def talk(self, *args: str, timeout: float = RUN_TIMEOUT) -> Finished:
        started = time.monotonic()
        done = subprocess.run(self.command(*args), cwd=self.folder, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
        return Finished(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), cwd=self.folder, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def store(self) -> SQLiteStore:
        return SQLiteStore(self.folder / "state.db")

    def state(self) -> dict[str, Any]:
        """What the state file holds that a person would look at after a run."""
        store = self.store()
        try:
            return {
                "journal": len(store.journal_pending()),
                "letters": len(store.dead_letters()),
                "erp_links": store.count_links("organisation", "erp"),
            }
        finally:
            store.close()

    def run_statuses(self) -> list[str]:
        """The status of each run in the state file, newest first."""
        store = self.store()
        try:
            return [r.status for r in store.runs(limit=20)]
        finally:
            store.close()

    def account_names(self) -> Counter[str]:
        """How many Exact accounts bear each name: more than one is a record made twice."""
        return Counter(a["Name"] for a in self.erp.state.records["Accounts"].values())


def stop_with(process: subprocess.Popen[str], signum: int = signal.SIGINT, *,
              again_after: float | None = None, timeout: float = 60) -> tuple[Finished, float]:
    """Signal a running child (twice, if ``again_after``); its end and seconds from the first."""
    started = time.monotonic()
    process.send_signal(signum)
    if again_after is not None:
        time.sleep(again_after)
        if process.poll() is None:
            process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=timeout)
    seconds = time.monotonic() - started
    return Finished(process.returncode, stdout, stderr, seconds), seconds
