"""``python -m talk_invoiced.emulator --port N [--seed]``."""

from __future__ import annotations

import argparse

from talk_invoiced.emulator import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m talk_invoiced.emulator",
                                     description="Serve an emulated Invoiced account.")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--seed", action="store_true", help="start with sample records")
    parser.add_argument("--api-key", default="test_key", help="the key clients must send")
    args = parser.parse_args(argv)
    serve(args.port, args.seed, args.api_key)


if __name__ == "__main__":
    main()
