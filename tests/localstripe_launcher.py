"""Test-only launcher: localstripe's aiohttp app on 127.0.0.1 (its CLI binds every interface).

Run as `python -m tests.localstripe_launcher`; it picks a free port, prints `PORT <n>` on its first
line of stdout and serves until terminated. localstripe is GPL: it is a test dependency only and
nothing under app/ imports it.
"""

from __future__ import annotations

import socket
import sys
import warnings


def main() -> None:
    # Same strictness as the test suite, except for the one warning localstripe's import raises:
    # it registers plain (non-async) handlers, which aiohttp deprecates.
    warnings.simplefilter("error")
    warnings.filterwarnings(
        "ignore",
        message="Bare functions are deprecated",
        category=DeprecationWarning,
        module="aiohttp.web_urldispatcher",
    )
    from aiohttp import web
    from localstripe import resources, server

    # localstripe pickles its whole store to /tmp/localstripe.pickle on every write, shared by
    # every process on the machine; a test server keeps its state in memory only.
    resources.Store.dump_to_disk = lambda self: None

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    web.run_app(server.app, sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    sys.exit(main())
