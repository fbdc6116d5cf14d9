"""Flask-SocketIO peer: the stack the original ws-emit runs on (Debian python3-flask-socketio
on eventlet). POST /emit takes one emit object or a JSON array ({event, room, data}); the
`join` event joins a room and acks {"ok": true}.
Run: /usr/bin/python3 bench/peers/flask_socketio_peer.py [port]; prints "listening on http://127.0.0.1:PORT".
"""
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

import eventlet.wsgi  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

app = Flask(__name__)
sio = SocketIO(app, async_mode="eventlet", cors_allowed_origins="*", logger=False, engineio_logger=False)


@sio.on("join")
def on_join(msg):
    if isinstance(msg, dict) and isinstance(msg.get("room"), str):
        join_room(msg["room"])
    return {"ok": True}


@app.post("/emit")
def emit():
    body = request.get_json(force=True)
    for e in body if isinstance(body, list) else [body]:
        sio.emit(e["event"], e.get("data"), to=e.get("room"))
    return jsonify(ok=True)


if __name__ == "__main__":
    sock = eventlet.listen(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), backlog=4096)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    # max_size: eventlet's default pool of 1024 green threads would cap connections at 1024.
    eventlet.wsgi.server(sock, app, log_output=False, max_size=30000)
