"""What every browser response passes through: a Host check and the security headers.

``evofool browse`` is a web server on this machine that any web page the user
opens can send requests to. Two defences make that harmless:

- **Host check** (DNS rebinding): a hostile page can point its own host name at
  127.0.0.1 and read the answers as same-origin; its requests then carry its
  host name. Only the names the server is reached by are accepted.
- **Headers on every response**: a Content-Security-Policy that runs no script
  but the browser's own file and loads nothing from elsewhere, ``nosniff`` so a
  file is never read as another type than the one it is served as, and no
  framing. A run directory someone sends may hold anything; nothing in it
  becomes script on this origin.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; connect-src 'self'; base-uri 'none'; "
                           "form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def host_name(header: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` is ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


class BrowserGuard:
    """ASGI middleware: refuse requests for other host names (400), and add
    SECURITY_HEADERS to every response, errors included."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = {host_name(host) for host in (*LOCAL_HOSTS, *hosts)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        host = host_name(Headers(scope=scope).get("host", ""))
        if host not in self.hosts:
            refusal = JSONResponse({"error": "this server answers only for "
                                             f"{', '.join(sorted(self.hosts))} (Host check; "
                                             "evofool browse --allow-host adds a name)"},
                                   status_code=400)
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
