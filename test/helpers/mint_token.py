"""Mint a ws-emit join token with the Python standard library (the README's snippet, run by the tests).
Usage: mint_token.py SECRET TTL_SECONDS ROOM [ROOM...]"""
import base64, hashlib, hmac, json, sys, time


def ws_emit_token(secret, rooms, ttl=3600, sub=None):
    payload = {"rooms": rooms, "exp": int(time.time()) + ttl}
    if sub:
        payload["sub"] = sub
    part = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    sig = hmac.new(secret.encode(), part.encode(), hashlib.sha256).digest()
    return part + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


if __name__ == "__main__":
    print(ws_emit_token(sys.argv[1], sys.argv[3:], int(sys.argv[2])))
