#!/usr/bin/env python3
# pitwall under a hostile upstream for 60 s (issue: "safe to put on the internet"): three viewers
# read an endless segment at ~1 KiB/s while /proxy is asked, in a loop, for a 4 MiB playlist of
# one-byte lines and a gzip bomb. Samples pitwall's RSS and greps its log for the upstream's
# secret. Loopback only; stops by itself.
#
#   python3 xtask/scripts/hostile_upstream.py target/release/pitwall
#
# Results go to docs/BENCHMARKS.md by hand.
import gzip, http.server, io, os, re, socket, subprocess, sys, threading, time, urllib.parse, urllib.request

PW_BIN = sys.argv[1]
ADMIN = "hostile-admin-token-xyz"
bomb = gzip.compress(b"#EXTM3U\n" + b"#" * (200 << 20))  # 200 MiB of text compressed
flood = b"#EXTM3U\n" + b"a\n" * (2 << 20)

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith("/endless.m3u8"):
            body = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nendless.ts?token=SECRET\n"
            self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
        elif self.path.startswith("/endless.ts"):
            self.send_response(200); self.send_header("content-type", "video/mp2t"); self.end_headers()
            chunk = b"\x47" * 65536
            try:
                while True: self.wfile.write(chunk)
            except Exception: pass
        elif self.path.startswith("/flood.m3u8"):
            self.send_response(200); self.send_header("content-length", str(len(flood))); self.end_headers(); self.wfile.write(flood)
        elif self.path.startswith("/bomb.m3u8"):
            self.send_response(200); self.send_header("content-encoding", "gzip"); self.send_header("content-length", str(len(bomb))); self.end_headers(); self.wfile.write(bomb)
        else:
            self.send_response(404); self.send_header("content-length", "0"); self.end_headers()

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # pitwall hanging up on a capped body is the point

srv = Server(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
up = f"127.0.0.1:{srv.server_address[1]}"
data = "/tmp/hostile/data"; subprocess.run(["rm", "-rf", data])
pw = subprocess.Popen([PW_BIN, "--listen", "127.0.0.1:0", "--data-dir", data, "--admin-token", ADMIN, "--allow-upstream", up, "--web-dir", "/nonexistent"], stdout=subprocess.PIPE, stderr=open("/tmp/hostile/pw.log", "w"), text=True)
base = None
for line in pw.stdout:
    if line.startswith("listening on "): base = line.split()[-1]; break
hdr = {"Authorization": "Bearer " + ADMIN}
def get(path, timeout=30):
    req = urllib.request.Request(base + path, headers=hdr)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, e.read()
    except Exception as e: return 0, str(e).encode()
def proxy(path): return get("/proxy?url=" + urllib.parse.quote(f"http://{up}{path}"))
st, pl = proxy("/endless.m3u8")
seg = [l for l in pl.decode().splitlines() if l.startswith("/relay/")][0]
def rss():
    for l in open(f"/proc/{pw.pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1]) // 1024
start_rss = rss()
stop = time.time() + 60
def slow_reader():
    host, port = base[7:].split(":")
    while time.time() < stop:
        s = socket.create_connection((host, int(port)))
        s.sendall(f"GET {seg} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        while time.time() < stop:
            if not s.recv(1024): break
            time.sleep(1)
        s.close()
threads = [threading.Thread(target=slow_reader) for _ in range(3)]
for t in threads: t.start()
peak = start_rss; statuses = {}
n = 0
while time.time() < stop:
    for p in ("/flood.m3u8", "/bomb.m3u8"):
        st, _ = proxy(p); statuses[(p, st)] = statuses.get((p, st), 0) + 1; n += 1
    peak = max(peak, rss())
for t in threads: t.join()
end_rss = rss()
print(f"RSS start {start_rss} MiB, peak {peak} MiB, end {end_rss} MiB; {n} hostile playlist requests: {statuses}")
log = open("/tmp/hostile/pw.log").read()
print("secret in log:", "SECRET" in log)
pw.terminate(); pw.wait()
