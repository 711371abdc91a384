"""A fake Twilio Messages API for fault scripts, in the script's own process.

`POST /2010-04-01/Accounts/{sid}/Messages.json` answers like Twilio (201, JSON with `sid` and status
`queued`) after a random 20–80 ms, so a text is in flight meanwhile; each request's arrival and
answer are recorded by time.time(), the clock the script's own client reads. `GET` on the same path
lists what it accepted (Twilio's format, filtered by `To`), as textdesk's recovery asks it. Requests
without the account's basic auth get Twilio's 401.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from benchmarks.harness import free_port


@dataclass
class Send:
    to: str
    body: str
    arrived: float
    answered: float = 0.0
    sid: str = ""


class FakeTwilio:
    """Twilio's Messages resource, in memory; every request's arrival and answer times by time.time()."""

    def __init__(self, auth: tuple[str, str]) -> None:
        self.sends: list[Send] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as textdesk's pooled client expects

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, data: dict[str, Any]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _authorised(self) -> bool:
                expected = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return False
                return True

            def do_POST(self) -> None:
                arrived = time.time()
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                if not self._authorised():
                    return
                send = Send(to=form["To"][0], body=form["Body"][0], arrived=arrived, sid="SM" + uuid.uuid4().hex)
                time.sleep(random.uniform(0.020, 0.080))  # the text is in flight meanwhile
                send.answered = time.time()
                with fake.lock:
                    fake.sends.append(send)
                self._reply(201, {"sid": send.sid, "account_sid": auth[0], "to": send.to,
                                  "from": form.get("From", [""])[0], "body": send.body, "status": "queued",
                                  "direction": "outbound-api", "date_created": formatdate(arrived, usegmt=True)})

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                query = parse_qs(urlparse(self.path).query)
                to = query.get("To", [None])[0]
                with fake.lock:
                    found = [s for s in fake.sends if to is None or s.to == to]
                self._reply(200, {"messages": [{"sid": s.sid, "to": s.to, "body": s.body, "status": "sent",
                                                "direction": "outbound-api",
                                                "date_sent": formatdate(s.answered, usegmt=True)} for s in found],
                                  "page": 0, "page_size": 100, "next_page_uri": None})

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, phone: str) -> list[Send]:
        with self.lock:
            return [s for s in self.sends if s.to == phone]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
