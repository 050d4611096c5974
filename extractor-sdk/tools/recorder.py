"""Record replay fixtures from a running pitwall-testbed (or any site), for extractor tests.

Used by each extractor's `fixtures/record.py`. Requests go to the real server (`base`, e.g.
`http://127.0.0.1:35879`) with `Host: <host>`, so the testbed builds every URL for the public
name (e.g. `tv.demo.invalid`) and the fixture reads as if recorded from that site. Like pitwall's
host, the recorder keeps one cookie jar per flow, sends no redirects on its own, and records the
answer as the harness expects (see `pitwall_extractor_sdk::replay`).
"""

import http.client
import json
import urllib.parse

KEEP_RESPONSE_HEADERS = ("content-type", "set-cookie", "location", "cache-control")


class Recorder:
    def __init__(self, base, host):
        self.base = urllib.parse.urlsplit(base)
        self.host = host
        self.exchanges = []
        self.jar = {}

    def reset_jar(self):
        self.jar = {}

    def control(self, path, body=None):
        conn = http.client.HTTPConnection(self.base.netloc, timeout=10)
        conn.request("POST", path, body=json.dumps(body or {}), headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        assert answer.status == 200, (path, answer.status, answer.read())
        answer.read()

    def fault(self, mode):
        self.control("/_control/fault", {"site": "demo-tv", "mode": mode})

    def request(self, method, path, headers=None, body=None, require=(), note=None):
        """Sends one request; records it, requiring the headers named in `require` (plus the
        cookie, when the jar sent one). Returns (status, headers dict, body text)."""
        headers = dict(headers or {})
        headers["Host"] = self.host
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        data = body.encode() if isinstance(body, str) else body
        conn = http.client.HTTPConnection(self.base.netloc, timeout=10)
        conn.request(method, path, body=data, headers=headers)
        answer = conn.getresponse()
        raw = answer.read()
        kept = {}
        for name, value in answer.getheaders():
            name = name.lower()
            if name in KEEP_RESPONSE_HEADERS:
                kept.setdefault(name, []).append(value)
            if name == "set-cookie":
                k, _, v = value.split(";")[0].partition("=")
                self.jar[k.strip()] = v.strip()
        kept = {k: v[0] if len(v) == 1 else v for k, v in kept.items()}
        required = {k.lower(): v for k, v in headers.items() if k in require}
        if "Cookie" in headers:
            required["cookie"] = headers["Cookie"]
        response = {"status": answer.status, "headers": kept}
        try:
            response["body"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            response["body_base64"] = base64.b64encode(raw).decode()
        exchange = {}
        if note:
            exchange["note"] = note
        exchange["request"] = {"method": method, "url": f"http://{self.host}{path}", "headers": required}
        exchange["response"] = response
        self.exchanges.append(exchange)
        return answer.status, kept, raw.decode("utf-8", "replace")

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.exchanges, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {path} ({len(self.exchanges)} exchanges)")
        self.exchanges = []
        self.jar = {}
