"""Mint a ws-emit join token with the Python standard library: the README's snippet, run by the tests.
Usage: mint_token.py SECRET TTL_SECONDS ROOM [ROOM...]"""
import base64, hashlib, hmac, json, sys, time

def ws_emit_token(secret, rooms, ttl=3600):
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    part = b64(json.dumps({"rooms": rooms, "exp": int(time.time()) + ttl}).encode())
    return part + "." + b64(hmac.new(secret.encode(), part.encode(), hashlib.sha256).digest())


if __name__ == "__main__":
    print(ws_emit_token(sys.argv[1], sys.argv[3:], int(sys.argv[2])))
