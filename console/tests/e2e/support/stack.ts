// A real Leadpool stack for the console's end-to-end tests: its own database and Redis key
// prefix, the four service binaries (from LEADPOOL_BIN_DIR, default ../target/debug) on free
// ports, and nginx serving console/dist with the routing table of proto/routes.yaml — one
// origin, as in production. Everything it starts is stopped, and its data dropped, by stop().
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Health, HealthCheckResponse_ServingStatus } from "../../../src/gen/grpc/health/v1/health_pb";

const run = promisify(execFile);

export const CONSOLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const REPO_DIR = resolve(CONSOLE_DIR, "..");
export const RESULTS_DIR = join(CONSOLE_DIR, "test-results");
export const BIN_DIR = resolve(CONSOLE_DIR, process.env.LEADPOOL_BIN_DIR ?? "../target/debug");
/** A Postgres server where the tests may create and drop `leadpool_console_*` databases. */
const POSTGRES = new URL(
  process.env.LEADPOOL_TEST_POSTGRES ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres",
);
const REDIS_URL = process.env.LEADPOOL_TEST_REDIS ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** The URL of one database on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(POSTGRES);
  url.pathname = `/${name}`;
  return url.toString();
}

export type Binary = "intake" | "routing" | "claim" | "scheduler";
export const BINARIES: Binary[] = ["routing", "intake", "claim", "scheduler"];

const READINESS: Record<Binary, string> = {
  intake: "leadpool.v1.IntakeService",
  routing: "leadpool.v1.RoutingService",
  claim: "leadpool.v1.ClaimService",
  scheduler: "leadpool.v1.SchedulerService",
};

export interface StackOptions {
  /** Names the stack's log folder and database. */
  name: string;
  /** What /config.json says; default development sign-in. */
  configJson?: object;
  /** Development sign-in on the routing service (default true). */
  devSignIn?: boolean;
  /** A TOML file's text given to every service as LEADPOOL_CONFIG (auth from an IdP). */
  configToml?: (secret: string) => string;
  /** Extra origins the console may connect to (the IdP), for the CSP. */
  connectSrc?: string[];
  /** The `iss` the services expect of HS256 tokens (what `auth.issuer` says); default "leadpool". */
  issuer?: string;
}

export interface Stack {
  /** The console's origin, e.g. http://127.0.0.1:41234 */
  url: string;
  /** host:port of each binary's gRPC listener. */
  grpc: Record<Binary, string>;
  secret: string;
  /** The issuer of the stack's HS256 tokens. */
  issuer: string;
  database: string;
  redisPrefix: string;
  logDir: string;
  stop(): Promise<void>;
}

/** Free TCP ports on 127.0.0.1, all held until every one is picked. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import("node:net").Server>((ok, fail) => {
          const server = createServer();
          server.once("error", fail);
          server.listen(0, "127.0.0.1", () => ok(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import("node:net").AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

/** Thrown by a `waitFor` check to stop waiting at once (a process died). */
export class Fatal extends Error {}
class StartFailed extends Fatal {}
/**
 * A process could not listen on the port it was given: another process took the port between
 * `freePorts` releasing it and the service binding it (a stack starting beside, or a client's
 * outgoing connection). Starting again on fresh ports is the remedy.
 */
class PortTaken extends StartFailed {}
const PORT_TAKEN = /Address already in use/;

/** How many times a stack is started on fresh ports when one of its ports was taken. */
const START_ATTEMPTS = 3;

/** Polls `check` until it returns a value; fails after `timeoutMs` saying what it waited for. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Writes `child`'s stdout and stderr to `file`. Resolves once the child has closed both and
 * everything is in the file: a process that dies at start-up writes its reason last, and the
 * log is read only after that.
 */
function logTo(child: ChildProcess, file: string): Promise<void> {
  const log = createWriteStream(file);
  // Not ended by either stream: the first to close would cut off what the other still has.
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once("close", () => log.end());
  return new Promise((ok) => log.once("close", () => ok()));
}

/** The error for a process that exited during start-up, with the end of its log. */
function startFailed(what: string, code: number | string | null, log: string): StartFailed {
  const message = `${what} exited ${code} during start-up:\n${log}`;
  return PORT_TAKEN.test(log) ? new PortTaken(message) : new StartFailed(message);
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function psql(sql: string): Promise<string> {
  const { stdout } = await run("psql", [databaseUrl("postgres"), "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], { timeout: 30_000 });
  return stdout;
}

export async function redisKeys(pattern: string): Promise<string[]> {
  const { stdout } = await run("redis-cli", ["-u", REDIS_URL, "--scan", "--pattern", pattern], { timeout: 30_000 });
  return stdout.split("\n").filter(Boolean);
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  const keys = await redisKeys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) {
    await run("redis-cli", ["-u", REDIS_URL, "DEL", ...keys.slice(i, i + 500)], { timeout: 30_000 });
  }
}

function migrateEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { LEADPOOL_DATABASE__MIGRATE_ON_START: _, LEADPOOL_SERVER__LISTEN_ADDR: __, LEADPOOL_METRICS__LISTEN_ADDR: ___, ...rest } = env;
  return rest;
}

/** Every child process any stack started, so an interrupted run still stops them. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of children) child.kill("SIGKILL");
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      resolveStop();
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      children.delete(child);
      resolveStop();
    });
    child.kill("SIGTERM");
  });
}

export async function startStack(options: StackOptions): Promise<Stack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(options);
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt === START_ATTEMPTS) throw err;
      console.warn(`starting the stack again on fresh ports: ${err.message}`);
    }
  }
}

async function startStackOnce(options: StackOptions): Promise<Stack> {
  installExitHook();
  for (const binary of [...BINARIES, "migrate"]) {
    const file = join(BIN_DIR, `leadpool-${binary}`);
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: build the services (cargo build) or set LEADPOOL_BIN_DIR to where they are`);
    }
  }
  const dist = join(CONSOLE_DIR, "dist", "index.html");
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run npm run build first`);

  const id = `${options.name.replace(/[^a-z0-9]/g, "_")}_${randomBytes(4).toString("hex")}`;
  const database = `leadpool_console_${id}`;
  const redisPrefix = `console-test:${id}:`;
  const secret = randomBytes(32).toString("hex");
  const logDir = join(RESULTS_DIR, "stacks", id);
  mkdirSync(logDir, { recursive: true });

  const processes: ChildProcess[] = [];
  let databaseCreated = false;
  const stop = async () => {
    await Promise.all(processes.reverse().map((p) => stopChild(p)));
    const failures: string[] = [];
    if (databaseCreated) {
      await psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch((err) => failures.push(`dropping ${database}: ${err}`));
    }
    await deleteRedisKeys(redisPrefix).catch((err) => failures.push(`deleting Redis keys ${redisPrefix}*: ${err}`));
    if (failures.length) throw new Error(failures.join("; "));
  };

  try {
    const ports = await freePorts(9);
    const grpc = {} as Record<Binary, string>;
    const metrics = {} as Record<Binary, string>;
    BINARIES.forEach((b, i) => {
      grpc[b] = `127.0.0.1:${ports[i]}`;
      metrics[b] = `127.0.0.1:${ports[4 + i]}`;
    });
    const proxyPort = ports[8];
    const dbUrl = databaseUrl(database);

    let tomlFile: string | undefined;
    if (options.configToml) {
      tomlFile = join(logDir, "leadpool.toml");
      writeFileSync(tomlFile, options.configToml(secret));
    }
    const common = (binary: Binary): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LEADPOOL_DATABASE__URL: dbUrl,
      LEADPOOL_DATABASE__MIGRATE_ON_START: "false",
      ...(tomlFile ? { LEADPOOL_CONFIG: tomlFile } : { LEADPOOL_AUTH__HS256_SECRET: secret }),
      LEADPOOL_SERVER__LISTEN_ADDR: grpc[binary],
      LEADPOOL_METRICS__LISTEN_ADDR: metrics[binary],
      LEADPOOL_SERVER__DRAIN_DELAY: "0s",
      LEADPOOL_TELEMETRY__LOG_FORMAT: "pretty",
      LEADPOOL_TELEMETRY__LOG_FILTER: "warn",
    });
    const env: Record<Binary, NodeJS.ProcessEnv> = {
      routing: {
        ...common("routing"),
        LEADPOOL_POLICY__REFRESH_INTERVAL: "0s",
        ...(options.devSignIn === false ? {} : { LEADPOOL_AUTH__DEV_SIGN_IN: "true" }),
      },
      intake: {
        ...common("intake"),
        LEADPOOL_ROUTING__ENDPOINT: `http://${grpc.routing}`,
        LEADPOOL_POLICY__REFRESH_INTERVAL: "0s",
      },
      claim: {
        ...common("claim"),
        LEADPOOL_REDIS__URL: REDIS_URL,
        LEADPOOL_REDIS__KEY_PREFIX: redisPrefix,
        LEADPOOL_POLICY__REFRESH_INTERVAL: "0s",
      },
      scheduler: {
        ...common("scheduler"),
        LEADPOOL_SCHEDULER__POLICY_REFRESH: "1s",
        LEADPOOL_SCHEDULER__ALERT_INTERVAL: "1s",
      },
    };

    // 1. The database: created and migrated once.
    databaseCreated = true;
    const migrateLog = join(logDir, "migrate.log");
    await new Promise<void>((ok, fail) => {
      const migrate = spawn(join(BIN_DIR, "leadpool-migrate"), [], {
        env: migrateEnv(common("routing")),
        stdio: ["ignore", "pipe", "pipe"],
      });
      const logged = logTo(migrate, migrateLog);
      const timer = setTimeout(() => migrate.kill("SIGKILL"), 60_000);
      migrate.once("error", fail);
      migrate.once("exit", async (code, signal) => {
        clearTimeout(timer);
        await logged;
        if (code === 0) ok();
        else fail(new Error(`leadpool-migrate exited ${code ?? signal}:\n${tail(migrateLog)}`));
      });
    });

    // 2. The services, each waited for until its readiness says SERVING.
    const spawnService = (binary: Binary) => {
      const logFile = join(logDir, `${binary}.log`);
      const child = spawn(join(BIN_DIR, `leadpool-${binary}`), [], { env: env[binary], stdio: ["ignore", "pipe", "pipe"] });
      const logged = logTo(child, logFile);
      children.add(child);
      processes.push(child);
      return { child, logFile, logged };
    };
    const started = BINARIES.map((binary) => ({ binary, ...spawnService(binary) }));
    await Promise.all(
      started.map(({ binary, child, logFile, logged }) => {
        const health = createClient(Health, createGrpcWebTransport({ baseUrl: `http://${grpc[binary]}` }));
        return waitFor(`leadpool-${binary} to report ${READINESS[binary]} SERVING on ${grpc[binary]}`, 30_000, async () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            await logged;
            throw startFailed(`leadpool-${binary}`, child.exitCode ?? child.signalCode, tail(logFile));
          }
          const answer = await health.check({ service: READINESS[binary] }, { timeoutMs: 1000 });
          return answer.status === HealthCheckResponse_ServingStatus.SERVING ? true : undefined;
        }).catch((err) => {
          if (err instanceof Fatal) throw err;
          throw new Error(`${err instanceof Error ? err.message : err}\n${tail(logFile)}`);
        });
      }),
    );

    // 3. The one origin: nginx serving dist/ and routing each service to its binary.
    const proxyDir = join(logDir, "nginx");
    mkdirSync(join(proxyDir, "logs"), { recursive: true });
    const configJson = join(logDir, "config.json");
    writeFileSync(configJson, JSON.stringify(options.configJson ?? { signIn: "dev" }));
    await run(
      "python3",
      [
        join(REPO_DIR, "scripts", "routes.py"),
        "nginx",
        "--listen",
        `127.0.0.1:${proxyPort}`,
        "--root",
        join(CONSOLE_DIR, "dist"),
        "--config-json",
        configJson,
        ...BINARIES.flatMap((b) => ["--backend", `${b}=${grpc[b]}`]),
        "--prefix",
        proxyDir,
        ...(options.connectSrc ?? []).flatMap((origin) => ["--connect-src", origin]),
      ],
      { timeout: 30_000 },
    );
    const nginxLog = join(proxyDir, "nginx.out");
    const nginx = spawn(process.env.NGINX ?? "nginx", ["-p", proxyDir, "-c", join(proxyDir, "nginx.conf"), "-g", "daemon off;"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const nginxLogged = logTo(nginx, nginxLog);
    children.add(nginx);
    processes.push(nginx);
    const url = `http://127.0.0.1:${proxyPort}`;
    await waitFor(`nginx to serve the console at ${url}`, 15_000, async () => {
      if (nginx.exitCode !== null) {
        await nginxLogged;
        throw startFailed("nginx", nginx.exitCode, `${tail(nginxLog)}\n${tail(join(proxyDir, "error.log"))}`);
      }
      const response = await fetch(`${url}/config.json`);
      return response.ok ? true : undefined;
    });

    return { url, grpc, secret, issuer: options.issuer ?? "leadpool", database, redisPrefix, logDir, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}


/** True when `err` says the service refused a call for lack of a valid token. */
export function isUnauthenticated(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Unauthenticated;
}
