"""Record replay fixtures from a running pitwall-testbed (or any site), for extractor tests.

A library for each extractor's `fixtures/record.py`, and a command line for authors anywhere:

    python3 recorder.py --base https://www.example.com --out fixtures/live.json \
        --header "User-Agent: Mozilla/5.0" "GET /live" "GET /api/stream.json"

records those requests in order (one cookie jar) into one fixture. `--host NAME` sends another
`Host` than the base's (and names the fixture's URLs after it); `--require NAME` makes the replay
demand that request header. Requests go to the real server (`base`, e.g.
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

    def connection(self):
        if self.base.scheme == "https":
            return http.client.HTTPSConnection(self.base.netloc, timeout=10)
        return http.client.HTTPConnection(self.base.netloc, timeout=10)

    def control(self, path, body=None):
        conn = self.connection()
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
        conn = self.connection()
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
        scheme = self.base.scheme or "http"
        exchange["request"] = {"method": method, "url": f"{scheme}://{self.host}{path}", "headers": required}
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


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="Record HTTP exchanges into a pitwall replay fixture.")
    parser.add_argument("--base", required=True, help="where to send requests, e.g. https://www.example.com")
    parser.add_argument("--host", help="Host header and the fixture URLs' host (default: the base's)")
    parser.add_argument("--out", required=True, help="fixture file to write")
    parser.add_argument("--header", action="append", default=[], help="'Name: value' sent with every request")
    parser.add_argument("--require", action="append", default=[], help="request header the replay must see")
    parser.add_argument("requests", nargs="+", help="'GET /path' or 'POST /path BODY', in order")
    args = parser.parse_args(argv)
    base = urllib.parse.urlsplit(args.base)
    rec = Recorder(args.base, args.host or base.netloc)
    headers = {}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    for spec in args.requests:
        parts = spec.split(" ", 2)
        if len(parts) < 2:
            parser.error(f"{spec!r} is not 'METHOD /path [BODY]'")
        method, path = parts[0].upper(), parts[1]
        body = parts[2] if len(parts) == 3 else None
        status, _, _ = rec.request(method, path, headers, body, require=tuple(args.require))
        print(f"{method} {path} -> {status}")
    rec.save(args.out)


if __name__ == "__main__":
    main()
