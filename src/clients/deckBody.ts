import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { UpstreamError } from './errors';
import { ProwJobItems } from './prowJobItems';

const HEAD_LIMIT = 256;
const VAR_PREFIX = /^\s*var\s+[A-Za-z_$][\w$]*\s*=\s*/;

/**
 * Deck answers either JSON or `var NAME = {...};` (contracts.md §2). This strips the
 * JavaScript wrapper on the fly so the body can be parsed as a stream, whatever its size.
 */
export class JsVarUnwrapper extends Transform {
  // Text out (decoded once, here): the next stage reads strings, not bytes encoded again.
  constructor() {
    super({ readableObjectMode: true });
  }

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

  // The trailing `;` can only be recognised at the end, so keep the last few characters back,
  // and never half of a surrogate pair (an emoji): pushed alone, it would become U+FFFD.
  private emitHeld(text: string): void {
    const all = this.tail + text;
    let keep = Math.min(all.length, 16);
    if (keep < all.length && isHighSurrogate(all.charCodeAt(all.length - keep - 1))) keep++;
    this.tail = all.slice(all.length - keep);
    if (all.length > keep) this.push(all.slice(0, all.length - keep));
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
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
  const sink = new ProwJobItems(onItem);
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => body.destroy(Object.assign(new Error('Deck body stalled: timeout'), { code: 'ETIMEDOUT' })), idleTimeoutMs);
  };
  body.on('data', armIdle);
  armIdle();
  try {
    const decode = decoderFor(contentEncoding);
    if (decode) await pipeline(body, decode, unwrap, sink);
    else await pipeline(body, unwrap, sink);
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
  if (!sink.sawItems) throw new UpstreamError('deck', 'Deck answer has no "items" list', false);
  return { bytes: unwrap.bytes, items: sink.items };
}
