"""Two processes refreshing one token chain at once: the lock keeps the chain intact."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from talk_core.store.sqlite import SQLiteStore
from talk_exactonline.emulator import ExactEmulator

WORKER = textwrap.dedent("""
    import sys, time
    from talk_core.store.sqlite import SQLiteStore
    from talk_core.system import SystemContext
    from talk_exactonline.plugin import make_connector

    url, path, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    store = SQLiteStore(path)
    conn = make_connector(options={"base_url": url, "client_id": "talk-emulator",
                                   "client_secret": "emulator-secret"},
                          context=SystemContext("exact", store))
    while time.time() < start:
        time.sleep(0.001)
    print(conn.division)
    conn.close()
    store.close()
""")


def test_two_processes_refresh_once_and_keep_the_chain(tmp_path: Path) -> None:
    emu = ExactEmulator().start()
    emu.token_delay = 0.3
    path = str(tmp_path / "state.db")
    store = SQLiteStore(path)
    now = time.time()
    first = emu.refresh_token()
    store.put_token("exact", {"access_token": "expired", "refresh_token": first,
                              "issued_at": now - 700, "expires_at": now - 100})
    store.close()
    try:
        start = time.time() + 1.5
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, emu.url, path, str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=60) for p in procs]
        for proc, (out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
            assert out.strip() == str(emu.state.division)
        assert emu.state.refreshes == 1, "both processes refreshed: the chain would break"
        saved = SQLiteStore(path).get_token("exact")
        assert saved is not None and saved["refresh_token"] in emu.state.grants
        assert first in emu.state.old_refresh_tokens
        # the chain goes on: the saved refresh token still works once it is old enough
        emu.state.grants[saved["refresh_token"]].issued_at -= 600
        answer = emu.state.token({"grant_type": "refresh_token",
                                  "refresh_token": saved["refresh_token"],
                                  "client_id": "talk-emulator",
                                  "client_secret": "emulator-secret"})
        assert answer["refresh_token"] != saved["refresh_token"]
    finally:
        emu.stop()
