"""A deliberately bad WebSocket client for liveness tests (stdlib only).

usage: raw_ws_client.py HOST PORT PATH MODE
  noread  shrink the receive buffer and never read: a stalled reader
  nopong  read everything but never answer pings: a dead peer
Prints OPEN after the handshake, CLOSED when the server ends the connection.
"""
import base64, os, socket, sys

host, port, path, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if mode == "noread":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(1)
    if not chunk:
        print("CLOSED", flush=True)
        sys.exit(0)
    head += chunk
if b" 101 " not in head.split(b"\r\n")[0]:
    print("REFUSED", head.split(b"\r\n")[0].decode(), flush=True)
    sys.exit(1)
print("OPEN", flush=True)
if mode == "noread":
    sys.stdin.read()  # block until the test ends us
else:
    while s.recv(65536):
        pass
    print("CLOSED", flush=True)
