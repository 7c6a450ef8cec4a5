"""A tiny fake identity service for tests and the demo: a real HTTP server on loopback.

`POST /password-resets` with `{"account": "<e-mail or account id>"}` and `Authorization: Bearer <token>`
answers 202 for a known account, 404 for an unknown one, 401 without the right token, 422 without an account,
and 503 while `outage` is set (`delay_s` slows it down). `GET /health` answers 200. Every request is kept in `received`.

Run it with `python -m deskpilot.integrations.identity --port 8765` (the token comes from `--token` or the
`DESKPILOT_IDENTITY_TOKEN` environment variable).
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8765
TOKEN_ENV = "DESKPILOT_IDENTITY_TOKEN"
DEMO_ACCOUNTS = {"ACC-1001": "jane.doe@example.com", "ACC-1002": "john.smith@example.com",
                 "ACC-1003": "marie.dupont@example.fr"}


@dataclass(frozen=True)
class Received:
    """One request the service received (the Authorization header is kept only as authorised or not)."""

    method: str
    path: str
    body: dict[str, Any]
    authorised: bool
    status: int


@dataclass
class IdentityService:
    """The fake service's state: its token, accounts (id -> e-mail), what it received, and an outage switch."""

    token: str
    accounts: dict[str, str] = field(default_factory=lambda: dict(DEMO_ACCOUNTS))
    received: list[Received] = field(default_factory=list)
    outage: bool = False
    delay_s: float = 0.0  # answer password resets this late (timeouts)
    resets: list[str] = field(default_factory=list)  # account ids a reset link was sent for

    def find(self, account: str) -> str | None:
        """The account id for an e-mail address or an account id (case-insensitive), or None."""
        wanted = account.strip().casefold()
        return next((acc for acc, mail in self.accounts.items() if wanted in (acc.casefold(), mail.casefold())), None)

    def handle(self, method: str, path: str, authorization: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one request: (status, JSON body)."""
        authorised = hmac.compare_digest(authorization.encode(), f"Bearer {self.token}".encode())
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        status, reply = self._answer(method, path, authorised, body)
        if path != "/health":
            self.received.append(Received(method, path, body if isinstance(body, dict) else {}, authorised, status))
        return status, reply

    def _answer(self, method: str, path: str, authorised: bool, body: Any) -> tuple[int, dict[str, Any]]:
        if path == "/health" and method == "GET":
            return 200, {"ok": True}
        if path != "/password-resets":
            return 404, {"error": "no such endpoint"}
        if method != "POST":
            return 405, {"error": "method not allowed"}
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.outage:
            return 503, {"error": "identity service unavailable"}
        if not authorised:
            return 401, {"error": "missing or wrong bearer token"}
        if not isinstance(body, dict) or not isinstance(body.get("account"), str) or not body["account"].strip():
            return 422, {"error": "account (an e-mail address or an account id) is required"}
        account = self.find(body["account"])
        if account is None:
            return 404, {"error": "unknown account"}
        self.resets.append(account)
        return 202, {"status": "reset link sent"}


class IdentityServer:
    """The service behind a threaded HTTP server on loopback (started in a background thread)."""

    def __init__(self, service: IdentityService, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.service = service
        self._http = ThreadingHTTPServer((host, port), _handler(service))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8765."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> IdentityServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self._http.serve_forever, name="fake-identity", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (the port refuses connections afterwards)."""
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(5)


def _handler(service: IdentityService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, reply = service.handle(self.command, self.path, self.headers.get("Authorization", ""), raw)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("identity %s", format % args)

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Run the fake identity service in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--token", default=None, help=f"bearer token (default: ${TOKEN_ENV})")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        parser.error(f"give --token or set {TOKEN_ENV}")
    server = IdentityServer(IdentityService(token), args.host, args.port)
    print(f"fake identity service on {server.url} (accounts: {', '.join(DEMO_ACCOUNTS.values())})", flush=True)
    try:
        server._http.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._http.server_close()


if __name__ == "__main__":
    main()
