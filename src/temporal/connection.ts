import { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export interface ServerTarget {
  address: string;
  namespace: string;
  /** TLS and API key from TEMPORAL_* variables or a temporal.toml profile. */
  connectionOptions: NativeConnectionOptions;
}

/** TEMPORAL_ADDRESS and friends, read the way every Temporal tool reads them. */
export function serverFromEnvironment(env: NodeJS.ProcessEnv = process.env): ServerTarget | undefined {
  if (!env.TEMPORAL_ADDRESS) return undefined;
  const config = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  const address = config.connectionOptions.address ?? env.TEMPORAL_ADDRESS;
  return { address, namespace: config.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default', connectionOptions: { ...config.connectionOptions, address } };
}

export async function connectClient(target: ServerTarget): Promise<Connection> {
  const { address, tls, apiKey, metadata } = target.connectionOptions;
  return Connection.connect({ address, ...(tls !== undefined ? { tls } : {}), ...(apiKey ? { apiKey } : {}), ...(metadata ? { metadata } : {}) });
}
