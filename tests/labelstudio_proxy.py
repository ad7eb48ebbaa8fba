"""A loopback HTTP proxy in front of Label Studio that can run a callback after forwarding a matching request.

Used to kill a worker at the worst moment: Label Studio has created the tasks, the worker never hears back.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class _Handler(BaseHTTPRequestHandler):
    def _forward(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(server.target.hostname, server.target.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        upstream.close()
        hook = server.hook
        if hook is not None and re.search(hook[0], f"{self.command} {self.path}"):
            server.hook = None
            hook[1]()  # e.g. SIGKILL the caller: it never sees this answer
            self.close_connection = True
            return
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def proxy(target_url: str) -> Iterator[ThreadingHTTPServer]:
    """Serve a proxy to `target_url`; set `server.hook = (regex, callback)` to act after one forwarded call."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.target = urlsplit(target_url)  # type: ignore[attr-defined]
    server.hook = None  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def set_hook(server: ThreadingHTTPServer, pattern: str, callback: Callable[[], None]) -> None:
    """Run `callback` after forwarding the next request matching `pattern` (\"METHOD /path\"), then hang up."""
    server.hook = (pattern, callback)  # type: ignore[attr-defined]
