/**
 * TLS material for serving HTTPS/WSS without a proxy. Files are read and checked here, so a
 * bad renewal (wrong file, key that does not match) is reported by name and the previous
 * certificate stays in service instead of taking the listener down.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";

export interface TlsMaterial {
  cert: string;
  key: string;
  /** For logs: subject, expiry and SHA-256 fingerprint of the leaf certificate. */
  subject: string;
  validTo: string;
  fingerprint256: string;
}

export type TlsLoad = { ok: true; value: TlsMaterial } | { ok: false; error: string };

function readPem(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new Error(`${what} ${path} is not a PEM file`);
  return text;
}

/** Read and check a certificate chain and its private key. Never throws. */
export function loadTls(certPath: string, keyPath: string): TlsLoad {
  try {
    const cert = readPem(certPath, "--tls-cert");
    const key = readPem(keyPath, "--tls-key");
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch (e) {
      throw new Error(`--tls-cert ${certPath}: not a valid certificate (${(e as Error).message})`);
    }
    let pkey;
    try {
      pkey = createPrivateKey(key);
    } catch (e) {
      throw new Error(`--tls-key ${keyPath}: not a valid private key (${(e as Error).message})`);
    }
    if (!x509.checkPrivateKey(pkey)) throw new Error(`--tls-key ${keyPath} does not belong to the certificate in ${certPath}`);
    return { ok: true, value: { cert, key, subject: x509.subject.replace(/\n/g, ", "), validTo: x509.validTo, fingerprint256: x509.fingerprint256 } };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}
