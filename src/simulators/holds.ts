import type { Endpoint } from './requestLog';

/** A request a `hold` fault stopped, as tests see it. */
export interface HeldRequest {
  id: number;
  endpoint: Endpoint;
  /** `before`: the upstream has not handled it yet; `after`: it has (e.g. the job exists), the answer waits. */
  stage: 'before' | 'after';
  path: string;
  since: string;
  /** The client hung up while the request was held (a killed worker, a client timeout). */
  clientGone: boolean;
}

/**
 * Requests held by `hold` faults across the three servers, until a test releases them. This is
 * how a test puts a worker's death at an exact point of a request: before the upstream acts,
 * or after it acted but before the client heard the answer.
 */
export class HoldRegistry {
  private lastId = 0;
  private readonly waiting = new Map<number, { held: HeldRequest; release: () => void }>();

  /** Registers a held request; `released` settles when a test releases it. The server sets `clientGone`. */
  hold(endpoint: Endpoint, stage: HeldRequest['stage'], path: string): { held: HeldRequest; released: Promise<void> } {
    const held: HeldRequest = { id: ++this.lastId, endpoint, stage, path, since: new Date().toISOString(), clientGone: false };
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.waiting.set(held.id, { held, release });
    return { held, released };
  }

  list(): HeldRequest[] {
    return [...this.waiting.values()].map(({ held }) => ({ ...held }));
  }

  /** False when no such request is held (already released, or never). */
  release(id: number): boolean {
    const slot = this.waiting.get(id);
    if (!slot) return false;
    this.waiting.delete(id);
    slot.release();
    return true;
  }

  releaseAll(): number {
    const ids = [...this.waiting.keys()];
    ids.forEach((id) => this.release(id));
    return ids.length;
  }
}
