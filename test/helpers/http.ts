import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, unknown>;
  body: Buffer;
}

/** Raw HTTP, to see the bytes and headers that fetch and axios decode away (Content-Encoding, gzip). */
export function rawGet(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}
