import { Writable } from 'node:stream';
import { UpstreamError } from './errors';

const QUOTE = 0x22; // "
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** What a document may hold besides its items' texts (in Deck's answer: `{"items":[…]}` and little else). */
export const MAX_OUTSIDE_ITEMS = 1 << 20;

/**
 * The elements of a JSON document's top-level `items` array, one at a time, each parsed by
 * `JSON.parse` (Deck's `/prowjobs.js`, tens of MB, hundreds at times: contracts.md §2).
 *
 * Why not a token-level streaming parser: it builds every ProwJob from its tokens, about 22 MB/s
 * on this machine, so a 20,000-ProwJob Deck (41 MB) took 1.7 s of the pass's time, most of it.
 * This finds only where each element starts and ends (strings skipped with `indexOf`, brackets
 * counted) and gives each element's text to `JSON.parse` whole. Memory holds one element, and
 * the document's text outside the elements (bounded by MAX_OUTSIDE_ITEMS).
 *
 * Strict all the same: every element is parsed, the separators between them are checked here,
 * and at the end the rest of the document, each `items` array standing as `[0]` (or `[]`), must
 * parse too. A document is valid JSON if and only if all of that holds, so nothing malformed
 * passes as a shorter list.
 */
export class ProwJobItems extends Writable {
  /** Elements handed on. */
  items = 0;
  /** Whether the top-level object had an `items` array. */
  sawItems = false;

  /** The open containers, innermost last: `{` or `[`. */
  private readonly open: number[] = [];
  private inString = false;
  /** Inside a string, the last chunk ended with an unpaired backslash. */
  private escaped = false;
  /** At depth 1 in an object: the next string is a member's key. */
  private expectKey = false;
  /** The key being read (at depth 1), then the last key read there. */
  private key: string[] | undefined;
  private lastKey = '';
  /** The depth of the `items` array while inside it (its elements are at this depth), else -1. */
  private itemsDepth = -1;
  /** The text of the element being read, across chunks; undefined outside one. */
  private element: string[] | undefined;
  /** Elements of the current `items` array so far. */
  private elements = 0;
  /** Where the next backslash is in the chunk being scanned (-1: none; -2: not looked for yet). */
  private backslash = -2;
  /** The document without its elements' texts. */
  private outside = '';

  /** Takes text: JsVarUnwrapper's output, decoded once there. */
  constructor(private readonly onItem: (item: unknown) => void) {
    super({ objectMode: true });
  }

  override _write(chunk: string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      this.scan(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    try {
      if (this.inString || this.open.length > 0) throw notValid('it ends before the document does');
      try {
        JSON.parse(this.outside);
      } catch (err) {
        throw notValid((err as Error).message);
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private scan(s: string): void {
    // `from`: where the text not yet given to `outside` (or to the element) starts in `s`.
    let from = 0;
    let i = 0;
    this.backslash = -2;
    const n = s.length;
    while (i < n) {
      if (this.inString) {
        const end = this.stringEnd(s, i);
        if (end < 0) {
          if (this.key) this.key.push(s.slice(i));
          i = n;
          break;
        }
        if (this.key) {
          this.key.push(s.slice(i, end));
          this.lastKey = keyText(this.key.join(''));
          this.key = undefined;
        }
        this.inString = false;
        i = end + 1;
        continue;
      }
      const c = s.charCodeAt(i);
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.expectKey && this.open.length === 1) {
            this.key = [];
            this.expectKey = false;
          }
          break;
        case OPEN_BRACE:
        case OPEN_BRACKET:
          this.open.push(c);
          if (this.open.length === 1) {
            this.expectKey = c === OPEN_BRACE;
          } else if (this.open.length === 2 && c === OPEN_BRACKET && this.open[0] === OPEN_BRACE && this.lastKey === 'items') {
            this.sawItems = true;
            this.itemsDepth = 2;
            this.elements = 0;
            this.startElement(s, from, i + 1);
            from = i + 1;
          }
          break;
        case CLOSE_BRACE:
        case CLOSE_BRACKET:
          if (this.open.length === this.itemsDepth && c === CLOSE_BRACKET) {
            this.endElement(s, from, i, true);
            from = i;
            this.itemsDepth = -1;
            // One element stands for them all outside: the separators were checked here.
            if (this.elements > 0) this.addOutside('0');
          }
          this.open.pop();
          if (this.open.length === 1) this.lastKey = '';
          break;
        case COMMA:
          if (this.open.length === this.itemsDepth) {
            this.endElement(s, from, i, false);
            this.element = [];
            from = i + 1;
          } else if (this.open.length === 1 && this.open[0] === OPEN_BRACE) {
            this.expectKey = true;
            this.lastKey = '';
          }
          break;
      }
      i++;
    }
    if (this.element) this.element.push(s.slice(from));
    else this.addOutside(s.slice(from));
  }

  /** The index of the quote that ends the string `s` is in from `i`, or -1 when `s` ends first. */
  private stringEnd(s: string, i: number): number {
    let at = i;
    if (this.escaped) {
      // The character after a backslash that ended the last chunk is escaped.
      this.escaped = false;
      at = i + 1;
      if (at > s.length) {
        this.escaped = true;
        return -1;
      }
    }
    for (;;) {
      const q = s.indexOf('"', at);
      if (this.backslash !== -1 && this.backslash < at) this.backslash = s.indexOf('\\', at);
      const b = this.backslash;
      if (b >= 0 && (q < 0 || b < q)) {
        if (b + 1 >= s.length) {
          this.escaped = true;
          return -1;
        }
        at = b + 2;
        continue;
      }
      return q;
    }
  }

  /** An element starts at `at` (just after `[` or `,`): what came before it goes outside. */
  private startElement(s: string, from: number, at: number): void {
    this.addOutside(s.slice(from, at));
    this.element = [];
  }

  /**
   * The element ends at `at` (its `,`, or the array's `]` when `last`): parsed and handed on.
   * Only `[]` may have nothing between its separators.
   */
  private endElement(s: string, from: number, at: number, last: boolean): void {
    const pieces = this.element ?? [];
    pieces.push(s.slice(from, at));
    this.element = undefined;
    const text = pieces.length === 1 ? pieces[0]! : pieces.join('');
    if (isBlank(text)) {
      if (last && this.elements === 0) return;
      throw notValid(`an empty element in "items" (after ${this.elements})`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw notValid((err as Error).message);
    }
    this.items++;
    this.elements++;
    this.onItem(value);
  }

  private addOutside(text: string): void {
    if (!text) return;
    if (this.outside.length + text.length > MAX_OUTSIDE_ITEMS) {
      throw new UpstreamError('deck', `Deck answer is not a ProwJob list: more than ${MAX_OUTSIDE_ITEMS >> 20} MB of it outside its "items"`, false);
    }
    this.outside += text;
  }
}

/** A key as JSON means it (`"it\u0065ms"` is `items`); one that is not valid JSON fails later, with the rest. */
function keyText(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

function isBlank(text: string): boolean {
  return !/\S/.test(text);
}

function notValid(reason: string): UpstreamError {
  return new UpstreamError('deck', `Deck answer is not valid JSON: ${reason.split('\n')[0]!.slice(0, 120)}`, false);
}
