/**
 * TLS without a proxy: HTTPS and WSS with a self-signed certificate made here by openssl,
 * then a renewal picked up on SIGHUP with nobody disconnected, and a bad renewal refused.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWsEmit } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

const haveOpenssl = Bun.which("openssl") !== null;

async function run(cmd: string[], stdin?: string): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err}`);
  return out;
}

/** A self-signed certificate for 127.0.0.1 with the given CN; returns PEM texts. */
async function makeCert(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  await run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", `/CN=${cn}`, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]);
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

const fingerprintOfPem = async (pem: string) => (await run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], pem)).trim();

/** The certificate the server presents to a new TLS connection, as openssl sees it. */
async function servedFingerprint(hostPort: string): Promise<string> {
  const chain = await run(["openssl", "s_client", "-connect", hostPort, "-servername", "127.0.0.1"], "");
  return fingerprintOfPem(chain);
}

describe.skipIf(!haveOpenssl)("TLS (--tls-cert/--tls-key)", () => {
  test("https and wss work; SIGHUP serves a renewed certificate without dropping anyone; a bad one is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-emit-tls-"));
    const one = await makeCert(dir, "ws-emit-test-one");
    const two = await makeCert(dir, "ws-emit-test-two");
    const certPath = join(dir, "server.crt");
    const keyPath = join(dir, "server.key");
    writeFileSync(certPath, one.cert);
    writeFileSync(keyPath, one.key);

    await using srv = await startWsEmit(["--tls-cert", certPath, "--tls-key", keyPath]);
    expect(srv.url).toStartWith("https://127.0.0.1:");
    const hostPort = new URL(srv.url).host;

    // Verified against the certificate itself as the CA: the handshake really is TLS with our cert.
    const h = await fetch(`${srv.url}/healthz`, { tls: { ca: one.cert } });
    expect(h.status).toBe(200);
    expect(await servedFingerprint(hostPort)).toBe(await fingerprintOfPem(one.cert));

    const ws = await openWs(`${srv.wsUrl}/ws?room=t`, { tls: { ca: one.cert } } as never);
    await ws.next((m) => m.type === "joined");

    // Renewal: new key and certificate in place, then SIGHUP.
    writeFileSync(certPath, two.cert);
    writeFileSync(keyPath, two.key);
    srv.proc.kill("SIGHUP");
    await srv.waitForLine(/SIGHUP: TLS certificate reloaded: CN=ws-emit-test-two/);
    expect(await servedFingerprint(hostPort)).toBe(await fingerprintOfPem(two.cert));
    const h2 = await fetch(`${srv.url}/healthz`, { tls: { ca: two.cert } });
    expect(h2.status).toBe(200);

    // The WebSocket opened before the reload is still there and still gets events.
    const e = await fetch(`${srv.url}/emit`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: "after-reload", room: "t", data: 1 }),
      tls: { ca: two.cert },
    });
    expect(await e.json()).toMatchObject({ ok: true, delivered: 1 });
    expect(await ws.next((m) => m.type === "event")).toEqual({ type: "event", room: "t", event: "after-reload", data: 1 });
    // New WebSockets land on the new certificate.
    const ws2 = await openWs(`${srv.wsUrl}/ws?room=t`, { tls: { ca: two.cert } } as never);
    await ws2.next((m) => m.type === "joined");

    // A broken renewal (key of another certificate) is reported and the current one stays.
    writeFileSync(keyPath, one.key);
    srv.proc.kill("SIGHUP");
    await srv.waitForLine(/SIGHUP: --tls-key .* does not belong to the certificate .*still serving CN=ws-emit-test-two/);
    expect(await servedFingerprint(hostPort)).toBe(await fingerprintOfPem(two.cert));

    const m = await (await fetch(`${srv.url}/metrics`, { tls: { ca: two.cert } })).text();
    expect(m).toContain('ws_emit_tls_reloads_total{result="ok"} 1');
    expect(m).toContain('ws_emit_tls_reloads_total{result="error"} 1');
    ws.close();
    ws2.close();
  }, 20_000);

  test("a second instance on the same TLS port fails as without TLS (no silent port sharing)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-emit-tls-"));
    await makeCert(dir, "s");
    const args = ["--tls-cert", join(dir, "s.crt"), "--tls-key", join(dir, "s.key")];
    await using first = await startWsEmit(args);
    await using second = await startWsEmit([...args, "--address", new URL(first.url).host], { noWait: true });
    expect(await second.proc.exited).toBe(1);
    expect(await second.waitForLine(/cannot listen/)).toContain("EADDRINUSE");
  });

  test("a certificate that does not match its key is refused at start, naming the flag", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-emit-tls-"));
    const one = await makeCert(dir, "a");
    const two = await makeCert(dir, "b");
    writeFileSync(join(dir, "c.pem"), one.cert);
    writeFileSync(join(dir, "k.pem"), two.key);
    await using srv = await startWsEmit(["--tls-cert", join(dir, "c.pem"), "--tls-key", join(dir, "k.pem")], { noWait: true });
    expect(await srv.proc.exited).toBe(1);
    expect(await srv.waitForLine(/does not belong to the certificate/)).toContain("cannot start: --tls-key");
  });
});
