import net from 'node:net';

/**
 * A TCP proxy between a worker and the Temporal server that can stop forwarding what the
 * worker sends. Frozen, it lets a test hold back "activity completed" so the worker can be
 * killed after it got Gangway's answer but before Temporal recorded the result.
 */
export class FreezableProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private frozen = false;
  address = '';

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as net.AddressInfo;
    this.address = `127.0.0.1:${port}`;
    return this.address;
  }

  /** From now on, bytes from workers stay in their sockets; nothing reaches the server. */
  freeze(): void {
    this.frozen = true;
    for (const { client } of this.pairs) client.pause();
  }

  /**
   * Drops every connection whose worker is gone without delivering what it had sent
   * while frozen, then forwards again for everyone else.
   */
  thaw(): void {
    this.frozen = false;
    for (const pair of this.pairs) {
      if (pair.client.destroyed) pair.upstream.destroy();
      else pair.client.resume();
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    if (this.frozen) client.pause();
    client.on('data', (chunk) => {
      // A chunk read just before freeze() must not slip through either.
      if (this.frozen) {
        client.pause();
        client.unshift(chunk);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const drop = () => {
      this.pairs.delete(pair);
      // While frozen, a dead worker's unsent bytes must be lost, not flushed on close.
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('error', drop);
    upstream.on('error', drop);
  }
}
