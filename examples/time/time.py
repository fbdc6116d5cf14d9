#!/usr/bin/env python3
"""The original ws-emit / redis2websocket `time` example, unchanged in spirit: a backend that
emits the Unix time to room "time" every second through Flask-SocketIO's Redis message queue.
ws-emit (started with --redis) delivers it to every browser that joined "time".

    ws-emit --redis redis://127.0.0.1:6379/0 &
    python3 time.py                       # REDIS=redis://… to use another Redis
    # open index.html from http://localhost:7788 (the default --cors), e.g.
    python3 -m http.server 7788           # in this directory, then http://localhost:7788/
"""
import os
import time

from flask_socketio import SocketIO

socketio = SocketIO(message_queue=os.environ.get("REDIS", "redis://"))

while True:
    data = {"time": int(time.time())}
    socketio.emit("update", data, room="time")
    time.sleep(1)
