#!/usr/bin/env python3
"""The blog post's Flask app (seeds/004), unchanged but for where things run: ws-emit takes the
place of webdis (its /.json WebSocket speaks webdis' SUBSCRIBE protocol), Redis is the same.

    ws-emit --redis redis://localhost:6379/0 &
    python3 examples/progress/blog/app.py          # then http://localhost:5000/test_msg

Env: REDIS_HOST/REDIS_PORT (localhost:6379), WS_URL (the page's WebSocket, default
ws://localhost:8899/.json), PORT (5000), STEP_SECONDS (2, the blog's sleeps).
"""
import os
import time

import redis
from flask import Flask, render_template, request

app = Flask(__name__)
STEP = float(os.environ.get("STEP_SECONDS", "2"))
WS_URL = os.environ.get("WS_URL", "ws://localhost:8899/.json")


@app.route("/test_msg", methods=["GET", "POST"])
def test_msg():
    if request.method == "POST":
        # connect to redis server
        r = redis.client.StrictRedis(host=os.environ.get("REDIS_HOST", "localhost"), port=int(os.environ.get("REDIS_PORT", "6379")), db=0, password=None)
        time.sleep(STEP)
        # publish message to redis using group name passed in via ident argument
        r.publish(666, "You have started a server side function")
        time.sleep(STEP)
        r.publish(666, "Function running, please wait......")
        time.sleep(STEP)
        r.publish(666, "Function still running, almost done.......")
        time.sleep(STEP)
        return render_template("func_finish.html")
    elif request.method == "GET":
        return render_template("layout.html", ws_url=WS_URL)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "5000"))
    print(f"page: http://127.0.0.1:{port}/test_msg", flush=True)
    app.run(host="127.0.0.1", port=port, debug=False)
