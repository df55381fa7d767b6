import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type Certificates = {
  /** The folder holding every file below (removed by `remove`). */
  readonly dir: string;
  /** Paths of PEM files: a CA, the broker's certificate (localhost, 127.0.0.1) and key, a client's. */
  readonly files: {
    readonly ca: string;
    readonly serverCert: string;
    readonly serverKey: string;
    readonly clientCert: string;
    readonly clientKey: string;
    /** A CA that signed none of the above. */
    readonly otherCa: string;
    /** A key that belongs to no certificate here. */
    readonly otherKey: string;
  };
  /** The PEM text of a file above. */
  read(file: keyof Certificates["files"]): Promise<string>;
  remove(): Promise<void>;
};

/** Makes a small PKI with openssl in a temporary folder: what a managed Kafka hands out. */
export async function makeCertificates(): Promise<Certificates> {
  const dir = await mkdtemp(path.join(tmpdir(), "orch-kafka-tls-"));
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run("openssl", args, { cwd: dir });
  const key = (name: string) =>
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", at(name));
  const selfSigned = async (name: string, subject: string) => {
    await key(`${name}.key`);
    await openssl(
      "req",
      "-x509",
      "-new",
      "-key",
      at(`${name}.key`),
      "-subj",
      subject,
      "-days",
      "2",
      "-out",
      at(`${name}.pem`),
    );
  };
  const signed = async (name: string, subject: string, extensions: string) => {
    await key(`${name}.key`);
    await openssl(
      "req",
      "-new",
      "-key",
      at(`${name}.key`),
      "-subj",
      subject,
      "-out",
      at(`${name}.csr`),
    );
    await writeFile(at(`${name}.ext`), extensions);
    await openssl(
      "x509",
      "-req",
      "-in",
      at(`${name}.csr`),
      "-CA",
      at("ca.pem"),
      "-CAkey",
      at("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      at(`${name}.ext`),
      "-out",
      at(`${name}.pem`),
    );
  };
  try {
    await selfSigned("ca", "/CN=Test Kafka CA");
    await selfSigned("other-ca", "/CN=Some Other CA");
    await signed(
      "server",
      "/CN=localhost",
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
    await signed("client", "/CN=orchestrator-client", "extendedKeyUsage=clientAuth\n");
    await key("other.key");
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const files = {
    ca: at("ca.pem"),
    serverCert: at("server.pem"),
    serverKey: at("server.key"),
    clientCert: at("client.pem"),
    clientKey: at("client.key"),
    otherCa: at("other-ca.pem"),
    otherKey: at("other.key"),
  };
  return {
    dir,
    files,
    read: (file) => readFile(files[file], "utf8"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
