import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * How the service connects to Kafka beyond the broker list: TLS, SASL and the client id, as a
 * managed cluster (Confluent Cloud, MSK, Aiven, Redpanda Cloud) needs them. The variables are
 * parsed with the rest of the environment (config.ts spreads `kafkaConnectionVariables` into its
 * schema); `resolveKafkaConnection` then checks how they combine and reads the files they name,
 * so that a bad setting stops the start with one line naming the variable.
 */

export type KafkaSaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/**
 * A value that must never be written anywhere: JSON (so pino), `util.inspect` and string
 * conversion all give `[redacted]`; only `reveal()` gives the value, to the Kafka adapter.
 */
export type Secret = {
  reveal(): string;
  toJSON(): string;
  toString(): string;
};

export function secret(value: string): Secret {
  const shown = () => "[redacted]";
  return Object.freeze({
    reveal: () => value,
    toJSON: shown,
    toString: shown,
    [Symbol.for("nodejs.util.inspect.custom")]: shown,
  });
}

export type KafkaConnection = Readonly<{
  clientId: string;
  /** TLS to the brokers; undefined: plaintext. */
  tls:
    | Readonly<{
        /** PEM certificates to trust instead of Node's bundled roots; undefined: the bundled roots. */
        ca: string | undefined;
        /** A client certificate (mutual TLS): PEM certificate (chain) and its private key. */
        clientCertificate: Readonly<{ cert: string; key: Secret }> | undefined;
      }>
    | undefined;
  sasl: Readonly<{ mechanism: KafkaSaslMechanism; username: string; password: Secret }> | undefined;
}>;

const filePath = z.string().trim().min(1);

/** The variables' own shapes; how they combine is checked by `resolveKafkaConnection`. */
export const kafkaConnectionVariables = {
  KAFKA_CLIENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, {
      message: "must be 1-249 letters, digits, '.', '_' or '-'",
    })
    .optional(),
  KAFKA_SSL: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(["true", "false"], { message: "must be true or false" }))
    .transform((value) => value === "true")
    .optional(),
  KAFKA_SSL_CA_FILE: filePath.optional(),
  KAFKA_SSL_CERT_FILE: filePath.optional(),
  KAFKA_SSL_KEY_FILE: filePath.optional(),
  KAFKA_SASL_MECHANISM: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z.enum(["plain", "scram-sha-256", "scram-sha-512"], {
        message: "must be plain, scram-sha-256 or scram-sha-512",
      }),
    )
    .optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_USERNAME_FILE: filePath.optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD_FILE: filePath.optional(),
} as const;

/** Variables whose value is never echoed in an error. */
export const secretKafkaVariables: ReadonlySet<string> = new Set(["KAFKA_SASL_PASSWORD"]);

type Parsed<Key extends keyof typeof kafkaConnectionVariables> = z.output<
  (typeof kafkaConnectionVariables)[Key]
>;

export type KafkaConnectionVariables = {
  readonly [Key in keyof typeof kafkaConnectionVariables]?: Parsed<Key> | undefined;
};

/** One bad setting: the variable to fix and what is wrong, for config.ts to print. */
export type SettingProblem = { readonly variable: string; readonly message: string };

type Files = { read(path: string): string };

const nodeFiles: Files = { read: (path) => readFileSync(path, "utf8") };

/** What the checks below share: the variables, the problems found so far, and the files. */
type Checking = {
  readonly variables: KafkaConnectionVariables;
  /** Records a problem; returns undefined, for `return checking.problem(…)`. */
  problem(variable: string, message: string): undefined;
  /** `VARIABLE="value"`, for messages. */
  shown(variable: keyof KafkaConnectionVariables): string;
  /** The text of the file a variable names, or undefined (with the problem recorded). */
  readFile(variable: keyof KafkaConnectionVariables): string | undefined;
};

/**
 * Checks how the Kafka connection variables combine and reads the files they name. Returns the
 * connection, or every problem found (each naming its variable).
 */
export function resolveKafkaConnection(
  variables: KafkaConnectionVariables & {
    readonly brokersSet: boolean;
    readonly orchestratorId: string;
  },
  files: Files = nodeFiles,
): { connection: KafkaConnection } | { problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  const checking: Checking = {
    variables,
    problem: (variable, message) => {
      problems.push({ variable, message });
      return undefined;
    },
    shown: (variable) => `${variable}=${JSON.stringify(variables[variable])}`,
    readFile: (variable) => {
      const path = variables[variable];
      if (typeof path !== "string") return undefined;
      try {
        const text = files.read(path);
        if (text.trim().length > 0) return text;
        return checking.problem(variable, `${checking.shown(variable)} is an empty file`);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        return checking.problem(variable, `${checking.shown(variable)} cannot be read (${code})`);
      }
    },
  };

  const tls = variables.KAFKA_SSL === true ? resolveTls(checking) : undefined;
  if (variables.KAFKA_SSL !== true) {
    const tlsFiles = ["KAFKA_SSL_CA_FILE", "KAFKA_SSL_CERT_FILE", "KAFKA_SSL_KEY_FILE"] as const;
    for (const variable of tlsFiles.filter((name) => variables[name] !== undefined)) {
      checking.problem(
        variable,
        `${checking.shown(variable)} is set but KAFKA_SSL is not true: set KAFKA_SSL=true to use TLS`,
      );
    }
  }
  const sasl = resolveSasl(checking);
  const securitySet = variables.KAFKA_SSL === true || variables.KAFKA_SASL_MECHANISM !== undefined;
  if (securitySet && !variables.brokersSet) {
    checking.problem(
      "KAFKA_BROKERS",
      "KAFKA_BROKERS is not set, but KAFKA_SSL or KAFKA_SASL_MECHANISM is: name the brokers to connect to",
    );
  }
  if (problems.length > 0) return { problems };
  return {
    connection: {
      clientId: variables.KAFKA_CLIENT_ID ?? `orchestrator-${variables.orchestratorId}`,
      tls,
      sasl,
    },
  };
}

function resolveTls(checking: Checking): KafkaConnection["tls"] {
  const { variables, problem, shown, readFile } = checking;
  const caText = readFile("KAFKA_SSL_CA_FILE");
  const ca =
    caText === undefined || certificatesIn(caText) > 0
      ? caText
      : problem("KAFKA_SSL_CA_FILE", `${shown("KAFKA_SSL_CA_FILE")} holds no PEM certificate`);

  const certSet = variables.KAFKA_SSL_CERT_FILE !== undefined;
  const keySet = variables.KAFKA_SSL_KEY_FILE !== undefined;
  if (!certSet && !keySet) return { ca, clientCertificate: undefined };
  if (certSet !== keySet) {
    const [missing, present] = certSet
      ? (["KAFKA_SSL_KEY_FILE", "KAFKA_SSL_CERT_FILE"] as const)
      : (["KAFKA_SSL_CERT_FILE", "KAFKA_SSL_KEY_FILE"] as const);
    problem(missing, `${missing} is not set, but ${present} is: a client certificate needs both`);
    return { ca, clientCertificate: undefined };
  }
  const cert = readFile("KAFKA_SSL_CERT_FILE");
  const key = readFile("KAFKA_SSL_KEY_FILE");
  if (cert === undefined || key === undefined) return { ca, clientCertificate: undefined };
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    problem("KAFKA_SSL_CERT_FILE", `${shown("KAFKA_SSL_CERT_FILE")} holds no PEM certificate`);
    return { ca, clientCertificate: undefined };
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) {
      problem(
        "KAFKA_SSL_KEY_FILE",
        `${shown("KAFKA_SSL_KEY_FILE")} is not the private key of the certificate in KAFKA_SSL_CERT_FILE`,
      );
    }
  } catch {
    problem(
      "KAFKA_SSL_KEY_FILE",
      `${shown("KAFKA_SSL_KEY_FILE")} holds no unencrypted PEM private key`,
    );
  }
  return { ca, clientCertificate: { cert, key: secret(key) } };
}

/** How many PEM certificates a bundle holds that parse. */
function certificatesIn(text: string): number {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.filter((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  }).length;
}

const saslCredentials = [
  "KAFKA_SASL_USERNAME",
  "KAFKA_SASL_USERNAME_FILE",
  "KAFKA_SASL_PASSWORD",
  "KAFKA_SASL_PASSWORD_FILE",
] as const;

function resolveSasl(checking: Checking): KafkaConnection["sasl"] {
  const mechanism = checking.variables.KAFKA_SASL_MECHANISM;
  if (mechanism === undefined) {
    const given = saslCredentials.find((variable) => checking.variables[variable] !== undefined);
    if (given !== undefined) {
      checking.problem(
        "KAFKA_SASL_MECHANISM",
        `KAFKA_SASL_MECHANISM is not set, but ${given} is: set plain, scram-sha-256 or scram-sha-512`,
      );
    }
    return undefined;
  }
  const username = credential(checking, "KAFKA_SASL_USERNAME", mechanism);
  const password = credential(checking, "KAFKA_SASL_PASSWORD", mechanism);
  if (username === undefined || password === undefined) return undefined;
  return { mechanism, username, password: secret(password) };
}

/** A credential given either directly or as a file (Docker secrets): exactly one of them. */
function credential(
  checking: Checking,
  direct: "KAFKA_SASL_USERNAME" | "KAFKA_SASL_PASSWORD",
  mechanism: KafkaSaslMechanism,
): string | undefined {
  const fromFile = `${direct}_FILE` as const;
  const value = checking.variables[direct];
  const file = checking.variables[fromFile];
  if (value !== undefined && file !== undefined) {
    return checking.problem(direct, `${direct} and ${fromFile} are both set: set one of them`);
  }
  if (value !== undefined) return value;
  if (file === undefined) {
    return checking.problem(
      direct,
      `${direct} is not set (nor ${fromFile}), but KAFKA_SASL_MECHANISM=${mechanism} needs it`,
    );
  }
  // Files from `echo secret > file` end with a newline that is not part of the secret.
  return checking.readFile(fromFile)?.replace(/(\r?\n)+$/, "");
}
