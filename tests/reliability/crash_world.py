"""Three emulated systems, a few hundred records in them, and a talk.toml that syncs them.

Invoiced (``billing``), Exact Online (``erp``) and a Custom CRM (``crm``) run
in this process; ``talk sync`` runs as a child process against them, so it
can be killed outright. The systems can be put back to an earlier moment
(``snapshot`` / ``restore``) so that every kill point starts from the same
place without rebuilding anything.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import attrs

from talk_custom import CustomEmulator
from talk_exactonline.emulator import ExactEmulator
from talk_invoiced.emulator import InvoicedEmulator

_LOCKS = (type(threading.Lock()), type(threading.RLock()))

INVOICED_KEY = "key_crash_billing"
CRM_KEY = "key_crash_crm"
DIVISION = 4711
PAGE = 7  # small pages: every listing of a few dozen records has a middle


def _fields(obj: Any) -> list[str]:
    names = [f.name for f in attrs.fields(type(obj))] if attrs.has(type(obj)) else list(vars(obj))
    return [n for n in names
            if not isinstance(getattr(obj, n), _LOCKS) and not callable(getattr(obj, n))]


def _capture(obj: Any) -> dict[str, Any]:
    """Every data attribute of an emulator's state (its lock and clock stay as they are)."""
    return {name: copy.deepcopy(getattr(obj, name)) for name in _fields(obj)}


def _put_back(obj: Any, saved: dict[str, Any]) -> None:
    for name, value in saved.items():
        setattr(obj, name, copy.deepcopy(value))


class Ticking:
    """Invoiced's clock for the suite: one second further at every reading.

    Invoiced counts time in whole seconds, and how many records share the
    second a read stopped at decides how many it reads again next time: on
    the wall clock that varies from run to run, and with it the requests a
    kill point is counted in. A clock that ticks per change makes every run
    of a phase make the same requests. It starts at the wall clock's second,
    as a real service's clock agrees with its clients' (within the skew
    crash recovery allows for when it lists what changed since a create).
    """

    def __init__(self, start: int | None = None) -> None:
        self.now = int(time.time()) if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += 1
            return float(self.now)


@attrs.frozen
class Snapshot:
    """The three systems' contents at one moment."""

    billing: dict[str, Any]
    erp: dict[str, Any]
    crm: dict[str, Any]


class Systems:
    """The three running emulators and what a child ``talk sync`` needs to reach them."""

    def __init__(self) -> None:
        self.billing = InvoicedEmulator(api_key=INVOICED_KEY).start()
        self.billing.account.clock = Ticking()
        self.erp = ExactEmulator(division=DIVISION, minutely_limit=1_000_000,
                                 daily_limit=10_000_000, page_size=PAGE,
                                 sync_page_size=PAGE).start()
        self.crm = CustomEmulator("customcrm", api_key=CRM_KEY).start()
        self.refresh_token = self.erp.refresh_token()

    def stop(self) -> None:
        for emulator in (self.billing, self.erp, self.crm):
            emulator.stop()

    @property
    def taps(self) -> dict[str, Any]:
        return {"billing": self.billing.tap, "erp": self.erp.tap, "crm": self.crm.tap}

    # -- moments ----------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        with self.billing.account.lock, self.erp.state.lock, self.crm.state.lock:
            return Snapshot(_capture(self.billing.account), _capture(self.erp.state),
                            _capture(self.crm.state))

    def restore(self, snapshot: Snapshot) -> None:
        with self.billing.account.lock, self.erp.state.lock, self.crm.state.lock:
            _put_back(self.billing.account, snapshot.billing)
            _put_back(self.erp.state, snapshot.erp)
            _put_back(self.crm.state, snapshot.crm)

    # -- talk's configuration -------------------------------------------------------
    def config(self, state_path: str) -> str:
        """A talk.toml for the three systems; the secrets stay in ``environment()``."""
        return f"""\
[state]
path = "{state_path}"

[systems.billing]
connector = "invoiced"
api_key = "${{CRASH_INVOICED_KEY}}"
base_url = "{self.billing.url}"
page_size = {PAGE}

[systems.erp]
connector = "exactonline"
base_url = "{self.erp.url}"
client_id = "{self.erp.state.client_id}"
client_secret = "${{CRASH_EXACT_SECRET}}"
refresh_token = "${{CRASH_EXACT_REFRESH}}"
division = {DIVISION}

[systems.crm]
connector = "customcrm"
base_url = "{self.crm.url}"
api_key = "${{CRASH_CRM_KEY}}"
page_size = {PAGE}
"""

    def environment(self) -> dict[str, str]:
        return {"CRASH_INVOICED_KEY": INVOICED_KEY, "CRASH_CRM_KEY": CRM_KEY,
                "CRASH_EXACT_SECRET": self.erp.state.client_secret,
                "CRASH_EXACT_REFRESH": self.refresh_token}
