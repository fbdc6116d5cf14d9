#!/usr/bin/python3
"""A ws-emit lifecycle webhook receiver: checks the signature and the timestamp, drops
repeated event ids (delivery is at least once), prints one JSON line per event.

    WS_EMIT_WEBHOOK_SECRET=... ./webhook_receiver.py [PORT]     (PORT 0 = any free port)

Python standard library only. docs/presence.md; run by test/e2e/presence-webhooks.test.ts."""
import hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["WS_EMIT_WEBHOOK_SECRET"].encode()
MAX_SKEW = 300          # seconds: refuse replays of old bodies
MAX_BODY = 1024 * 1024
seen = set()            # event ids already handled (keep it in your database in real life)

def valid(timestamp, body, signature):
    try:
        if abs(time.time() - int(timestamp)) > MAX_SKEW:
            return False
    except ValueError:
        return False
    mac = hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + mac, signature)

class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413)
        body = self.rfile.read(length)
        if not valid(self.headers.get("X-Ws-Emit-Timestamp", ""), body, self.headers.get("X-Ws-Emit-Signature", "")):
            return self.answer(401)
        for event in json.loads(body)["events"]:
            if event["id"] in seen:
                continue
            seen.add(event["id"])
            print(json.dumps(event), flush=True)   # room_occupied, room_vacated, member_added, member_removed
        self.answer(204)

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8090), Hook)
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()
