"""A hostile client for the benchmarks, run in a process of its own (so its own CPU use
does not slow the measuring client): ``python -m benchmarks.attacker URL SECONDS``.

It floods one session of ``URL`` with ``ClientMessages`` events of 2,000 chunks that the
server must refuse (each declares a 64 MiB blob and sends 1 byte), as fast as the server
answers, for ``SECONDS``, then prints how many events it sent.
"""

from __future__ import annotations

import sys
import time

from benchmarks.raw_client import forge, raw_session


def main() -> None:
    url, seconds = sys.argv[1], float(sys.argv[2])
    session = raw_session(url)
    junk = [{"blob": f"j{i}", "offset": 0, "size": 64 * 1024 * 1024, "data": b"x"} for i in range(2000)]
    sent = 0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            forge(session, chunks=junk)
            sent += 1
    finally:
        session.close()
    print(sent, flush=True)


if __name__ == "__main__":
    main()
