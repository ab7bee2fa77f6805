"""A local stand-in for DingTalk's and WeCom's group robots, and an SMTP server, for the
notification tests.

``Robot`` is a ``http.server`` in a thread. It checks what the real robots check, computed
here independently of storeops: DingTalk's 加签 (``timestamp`` in ms within an hour of now;
``sign`` = Base64 of HMAC-SHA256 keyed by the secret over ``timestamp + "\\n" + secret``) and
the markdown message shapes, and answers ``{"errcode": 0}`` or, by ``mode``, an HTTP 500 or a
non-zero errcode. Every request is kept in ``received``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: Any
    problems: list[str] = field(default_factory=list)


def expected_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def shape_problems(kind: str, body: Any) -> list[str]:
    problems = []
    if not isinstance(body, dict) or body.get("msgtype") != "markdown":
        return ["msgtype is not markdown"]
    md = body.get("markdown")
    if kind == "dingtalk":
        if not (isinstance(md, dict) and isinstance(md.get("title"), str)
                and isinstance(md.get("text"), str) and md["title"] and md["text"]):
            problems.append("dingtalk markdown needs title and text")
    elif not (isinstance(md, dict) and isinstance(md.get("content"), str) and md["content"]):
        problems.append("wecom markdown needs content")
    elif len(md["content"].encode()) > 4096:
        problems.append("wecom content over 4096 bytes")
    return problems


class Robot:
    """``/dingtalk?access_token=…`` and ``/wecom?key=…`` robots on a free port."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.mode = "ok"  # ok | http500 | errcode
        self.received: list[Received] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                kind = "dingtalk" if parts.path.startswith("/dingtalk") else "wecom"
                rec = Received(parts.path, query, body, shape_problems(kind, body))
                if kind == "dingtalk" and robot.secret is not None:
                    ts, sign = query.get("timestamp"), query.get("sign")
                    if not ts or not sign:
                        rec.problems.append("timestamp/sign missing")
                    else:
                        if abs(int(ts) - time.time() * 1000) > 3600_000:
                            rec.problems.append("timestamp too far from now")
                        if sign != expected_sign(ts, robot.secret):
                            rec.problems.append("bad sign")
                robot.received.append(rec)
                if robot.mode == "http500":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"oops")
                    return
                if rec.problems:
                    answer = {"errcode": 310000, "errmsg": "; ".join(rec.problems)}
                elif robot.mode == "errcode":
                    answer = {"errcode": 130101, "errmsg": "send too fast"}
                else:
                    answer = {"errcode": 0, "errmsg": "ok"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def dingtalk_url(self, token: str = "tok-dd-123456") -> str:
        return f"{self.base}/dingtalk/robot/send?access_token={token}"

    def wecom_url(self, key: str = "key-wx-abcdef") -> str:
        return f"{self.base}/wecom/cgi-bin/webhook/send?key={key}"

    def __enter__(self) -> Robot:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd server on a free port keeping every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.fail = False
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                if box.fail:
                    return "451 try again later"
                from email import message_from_bytes, policy

                box.messages.append((envelope.rcpt_tos,
                                     message_from_bytes(envelope.content,
                                                        policy=policy.default)))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def env(self) -> dict[str, str]:
        return {"STOREOPS_SMTP_HOST": "127.0.0.1", "STOREOPS_SMTP_PORT": str(self.port),
                "STOREOPS_SMTP_STARTTLS": "0", "STOREOPS_SMTP_FROM": "storeops@example.com"}

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()
