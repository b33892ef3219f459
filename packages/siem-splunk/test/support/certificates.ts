// A throw-away certificate authority for the TLS tests, made with the openssl
// command line (node:crypto cannot issue X.509 certificates).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  /** The CA certificate to trust (tls.ca). */
  readonly ca: string;
  /** The server's key and certificate for 127.0.0.1, signed by the CA. */
  readonly serverKey: string;
  readonly serverCert: string;
  /** A client key and certificate signed by the CA, for mutual TLS. */
  readonly clientKey: string;
  readonly clientCert: string;
  /** A server certificate signed by nobody trusted (self-signed). */
  readonly selfSignedKey: string;
  readonly selfSignedCert: string;
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "a1-splunk-tls-"));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      path("ca.key"),
      "-out",
      path("ca.crt"),
      "-days",
      "2",
      "-subj",
      "/CN=a1 siem test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
    const issue = (name: string, cn: string, extensions: string) => {
      openssl(
        "req",
        ...ec,
        "-keyout",
        path(`${name}.key`),
        "-out",
        path(`${name}.csr`),
        "-subj",
        `/CN=${cn}`,
      );
      writeFileSync(path(`${name}.ext`), extensions);
      openssl(
        "x509",
        "-req",
        "-in",
        path(`${name}.csr`),
        "-CA",
        path("ca.crt"),
        "-CAkey",
        path("ca.key"),
        "-CAcreateserial",
        "-out",
        path(`${name}.crt`),
        "-days",
        "2",
        "-extfile",
        path(`${name}.ext`),
      );
    };
    issue(
      "server",
      "127.0.0.1",
      "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    issue("client", "a1 test client", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
    openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      path("self.key"),
      "-out",
      path("self.crt"),
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    );
    const read = (name: string) => readFileSync(path(name), "utf8");
    return {
      ca: read("ca.crt"),
      serverKey: read("server.key"),
      serverCert: read("server.crt"),
      clientKey: read("client.key"),
      clientCert: read("client.crt"),
      selfSignedKey: read("self.key"),
      selfSignedCert: read("self.crt"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
