import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/Pick';
import { streamArray } from 'stream-json/streamers/StreamArray';
import { UpstreamError } from './errors';

const HEAD_LIMIT = 256;
const VAR_PREFIX = /^\s*var\s+[A-Za-z_$][\w$]*\s*=\s*/;

/**
 * Deck answers either JSON or `var NAME = {...};` (contracts.md §2). This strips the
 * JavaScript wrapper on the fly so the body can be parsed as a stream, whatever its size.
 */
export class JsVarUnwrapper extends Transform {
  private head = '';
  private mode: 'head' | 'json' | 'js' = 'head';
  private tail = '';
  // Chunks split multi-byte characters anywhere; the decoder carries the partial bytes over.
  private readonly decoder = new StringDecoder('utf8');
  bytes = 0;
  firstBytes = '';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.mode === 'head') {
      this.head += this.decoder.write(chunk);
      if (this.firstBytes.length < 60) this.firstBytes = this.head.slice(0, 60);
      const trimmed = this.head.trimStart();
      if (!trimmed) return done();
      const first = trimmed[0];
      if (first === '{' || first === '[') {
        this.mode = 'json';
        this.push(this.head);
        this.head = '';
        return done();
      }
      if (first === '<') return done(notJson(this.firstBytes, 'an HTML page'));
      const m = VAR_PREFIX.exec(this.head);
      if (m) {
        this.mode = 'js';
        this.emitHeld(this.head.slice(m[0].length));
        this.head = '';
        return done();
      }
      if (this.head.length > HEAD_LIMIT || !/^\s*v(a(r(\s.*)?)?)?$/s.test(this.head)) {
        return done(notJson(this.firstBytes, 'neither JSON nor var NAME = {...};'));
      }
      return done();
    }
    if (this.mode === 'json') {
      this.push(this.decoder.write(chunk));
      return done();
    }
    this.emitHeld(this.decoder.write(chunk));
    done();
  }

  override _flush(done: TransformCallback): void {
    const rest = this.decoder.end();
    if (this.mode === 'json') this.push(rest);
    else if (this.mode === 'js') this.emitHeld(rest);
    else this.head += rest;
    if (this.mode === 'head') {
      return done(this.head.trim() ? notJson(this.firstBytes, 'neither JSON nor var NAME = {...};') : emptyBody());
    }
    if (this.mode === 'js') this.push(this.tail.replace(/;\s*$/, ''));
    done();
  }

  // The trailing `;` can only be recognised at the end, so keep the last few characters back.
  private emitHeld(text: string): void {
    const all = this.tail + text;
    const keep = Math.min(all.length, 16);
    this.tail = all.slice(all.length - keep);
    if (all.length > keep) this.push(all.slice(0, all.length - keep));
  }
}

/**
 * Our own decompression rather than axios's: axios flushes leniently, which turns a
 * truncated gzip answer into a silently short body; zlib's default reports it.
 */
function decoderFor(encoding: string | undefined): Transform | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    case '':
    case 'identity':
      return undefined;
    default:
      throw new UpstreamError('deck', `Deck answer has an unsupported Content-Encoding "${encoding}"`, false);
  }
}

function notJson(start: string, what: string): UpstreamError {
  return new UpstreamError('deck', `Deck answer is ${what} (starts ${JSON.stringify(start.slice(0, 40))})`, false);
}

function emptyBody(): UpstreamError {
  // An empty 200 is what a proxy gives on a hiccup: worth another try.
  return new UpstreamError('deck', 'Deck answered an empty body', true);
}

/**
 * Streams `items[]` one ProwJob at a time to `onItem`, so memory holds one job, not the
 * whole (tens of MB, sometimes hundreds) answer.
 */
export async function streamProwJobs(
  body: Readable,
  onItem: (item: unknown) => void,
  idleTimeoutMs: number,
  contentEncoding?: string,
): Promise<{ bytes: number; items: number }> {
  const unwrap = new JsVarUnwrapper();
  let items = 0;
  const sink = streamArray();
  sink.on('data', ({ value }: { value: unknown }) => {
    items++;
    onItem(value);
  });
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => body.destroy(Object.assign(new Error('Deck body stalled: timeout'), { code: 'ETIMEDOUT' })), idleTimeoutMs);
  };
  body.on('data', armIdle);
  armIdle();
  let sawItems = false;
  const picker = pick({ filter: 'items' });
  picker.on('data', () => {
    sawItems = true;
  });
  // Whole keys, strings and numbers as one token each, not also as chunks: 40% less CPU on a
  // 39 MB answer (3.5 s -> 2.1 s here); a ProwJob's values are small, so nothing grows with it.
  const tokens = () => parser({ streamValues: false });
  try {
    const decode = decoderFor(contentEncoding);
    if (decode) await pipeline(body, decode, unwrap, tokens(), picker, sink);
    else await pipeline(body, unwrap, tokens(), picker, sink);
  } catch (err) {
    if (err instanceof UpstreamError) throw err;
    const e = err as { code?: string; message?: string };
    if (e.code?.startsWith('Z_') || e.code === 'ETIMEDOUT' || e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || /aborted|unexpected end/i.test(e.message ?? '')) {
      throw new UpstreamError('deck', `Deck answer cut short (${e.code ?? e.message})`, true);
    }
    throw new UpstreamError('deck', `Deck answer is not valid JSON: ${(e.message ?? '').split('\n')[0].slice(0, 120)}`, false);
  } finally {
    clearTimeout(idle);
  }
  if (!sawItems) throw new UpstreamError('deck', 'Deck answer has no "items" list', false);
  return { bytes: unwrap.bytes, items };
}
