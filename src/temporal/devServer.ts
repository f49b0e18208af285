import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { TOKEN_ENV_VAR } from '../clients/gangwayToken';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/searchAttributes';
import { findTemporalCli } from './cliBinary';
import { acquireDbLock } from './dbLock';
import { cliTypeName } from './setup';

export interface DevServer {
  address: string;
  namespace: string;
  /** How the server was obtained, for the first line of a run's log. */
  origin: string;
  /** The server's process, when we spawned it ourselves. */
  pid?: number;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** SQLite file that keeps workflow history (and so the trigger records) between runs. */
  dbFile?: string;
  namespace?: string;
  /** Listen on this port rather than a free one, e.g. to restart a server on the same file and address. */
  port?: number;
  /** How long to wait for a server we spawned; a cold start on 2 cores can take 10 s or more. */
  startTimeoutMs?: number;
  /** Register the watcher's search attributes at start (default); false leaves it to ensureSearchAttributes. */
  searchAttributes?: boolean;
  /** `--dynamic-config-value KEY=VALUE`s, e.g. to make the server behave like a production one in a test. */
  dynamicConfigValues?: string[];
  /** More namespaces to create at start, each with the search attributes (the test runner's shared server). */
  moreNamespaces?: string[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function searchAttributeArgs(): string[] {
  return ALL_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${cliTypeName(k)}`]);
}

/**
 * Starts `temporal server start-dev`. We spawn it ourselves when we have the binary, because
 * the SDK waits only a few seconds for a server it spawns; without a binary we let the SDK
 * download one (needs internet).
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  if (!options.dbFile) return launch(options, namespace);
  mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const release = acquireDbLock(options.dbFile);
  try {
    const server = await launch(options, namespace);
    return {
      ...server,
      stop: async () => {
        try {
          await server.stop();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

async function launch(options: DevServerOptions, namespace: string): Promise<DevServer> {
  const cli = findTemporalCli();
  if (!cli) return startSdkServer(options, namespace);
  // Opt-in: let @temporalio/testing spawn our binary (fine on fast machines, see README).
  if (process.env.OSC_DEV_SERVER_LAUNCH === 'sdk') return startSdkServer(options, namespace, cli.path);

  // A server that exits while starting is started again (3 tries): the ports it picks for itself
  // (HTTP API, metrics) and ours are free when picked but can be taken by another process before
  // it binds them, e.g. when several servers start at once.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(options, namespace, cli);
    } catch (err) {
      if (!(err instanceof ServerExitedError) || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

class ServerExitedError extends Error {}

async function launchOnce(options: DevServerOptions, namespace: string, cli: NonNullable<ReturnType<typeof findTemporalCli>>): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-level', 'error'];
  args.push('--headless');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const ns of options.moreNamespaces ?? []) args.push('--namespace', ns);
  if (options.searchAttributes !== false) args.push(...searchAttributeArgs());
  for (const value of options.dynamicConfigValues ?? []) args.push('--dynamic-config-value', value);

  // The server needs none of our secrets: a token set for local use stays in this process.
  const { [TOKEN_ENV_VAR]: _token, ...serverEnv } = process.env;
  const child = spawn(cli.path, args, { stdio: ['ignore', 'ignore', 'pipe'], env: serverEnv });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-16_000);
  });
  const address = `127.0.0.1:${port}`;
  try {
    await waitForServer(address, child, options.startTimeoutMs ?? 60_000, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    namespace,
    origin: `temporal CLI from ${cli.source} (${cli.path})${options.dbFile ? `, history in ${options.dbFile}` : ', in memory'}`,
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    stop: () => stopProcess(child),
  };
}

async function waitForServer(address: string, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  for (;;) {
    if (exited !== null) throw new ServerExitedError(`temporal dev server exited (code ${exited}): ${firstErrorLine(stderr())}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch {
      if (Date.now() > deadline) throw new Error(`temporal dev server did not answer on ${address} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The line of a Go panic or error that says what went wrong (its last line is a stack frame). */
function firstErrorLine(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^(panic|fatal|error|Error)\b|level=error|unable to|address already in use/i.test(l)) ?? lines.pop() ?? '';
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startSdkServer(options: DevServerOptions, namespace: string, existingPath?: string): Promise<DevServer> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ...(existingPath ? { executable: { type: 'existing-path' as const, path: existingPath } } : {}),
      namespace,
      ...(options.port ? { port: options.port } : {}),
      ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
      ui: false,
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      ...(options.moreNamespaces?.length ? { extraArgs: options.moreNamespaces.flatMap((ns) => ['--namespace', ns]) } : {}),
    },
  });
  return {
    address: env.address,
    namespace,
    origin: existingPath ? `temporal CLI at ${existingPath}, started by the Temporal SDK` : 'temporal CLI downloaded by the Temporal SDK',
    stop: () => env.teardown(),
  };
}
