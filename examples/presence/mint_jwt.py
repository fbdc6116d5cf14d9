#!/usr/bin/python3
"""Mint a ws-emit join token as a standard JWT with PyJWT (Debian: python3-jwt; pip: PyJWT).
Usage: mint_jwt.py SECRET SUB ROOM [ROOM...]   (docs/presence.md; run by test/e2e/jwt.test.ts)"""
import sys, time
import jwt  # PyJWT

def ws_emit_jwt(secret, rooms, sub, ttl=3600):
    now = int(time.time())
    claims = {"rooms": rooms, "sub": sub, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")

if __name__ == "__main__":
    print(ws_emit_jwt(sys.argv[1], sys.argv[3:], sys.argv[2]))
