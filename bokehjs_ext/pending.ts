/**
 * Requests waiting for an answer, by id: the view's completions and runs, the runtime's
 * package loads and runs all keep one of these tables.
 *
 * Each request has exactly one ending, whichever comes first: it is settled with its
 * answer, times out, is cancelled, or is ended with every other request of its table at
 * once (the worker that would have answered is gone). Whatever comes after its ending (a
 * late answer, a second cancel) finds no request and changes nothing.
 */

/** How a request ended. */
export type Ending<T> =
  | {how: "settled", value: T}
  | {how: "timed_out"}
  | {how: "cancelled", reason: string}
  | {how: "ended", reason: string}

type Entry<T, I> = {info: I, end: (ending: Ending<T>) => void, timer: ReturnType<typeof setTimeout> | undefined}

/**
 * A table of requests whose answers are of type `T`; `I` is what the table's owner keeps
 * about each one while it waits (its model, its output so far...).
 */
export class Pending<T, I = null> {
  private readonly waiting = new Map<string, Entry<T, I>>()
  private count = 0

  /** `prefix` begins the ids the table makes itself: `load-1`, `load-2`... */
  constructor(readonly prefix: string = "request") {}

  /**
   * Start waiting for a request's answer, under `id` or under one the table makes. After
   * `timeout_ms` (none when null or left out) it ends as timed out. A request still open
   * under the same id is cancelled first: one id, one request.
   *
   * @returns The request's id, and a promise of its ending (which never rejects).
   */
  open(info: I, {id, timeout_ms}: {id?: string, timeout_ms?: number | null} = {}): {id: string, ending: Promise<Ending<T>>} {
    const key = id ?? `${this.prefix}-${++this.count}`
    this.cancel(key, "replaced by a request of the same id")
    let end!: (ending: Ending<T>) => void
    const ending = new Promise<Ending<T>>((resolve) => end = resolve)
    const timer = timeout_ms != null ? setTimeout(() => this.finish(key, {how: "timed_out"}), timeout_ms) : undefined
    this.waiting.set(key, {info, end, timer})
    return {id: key, ending}
  }

  /** Whether the request `id` is still waiting. */
  has(id: string): boolean {
    return this.waiting.has(id)
  }

  /** What the owner keeps about the waiting request `id`; undefined once it has ended. */
  get(id: string): I | undefined {
    return this.waiting.get(id)?.info
  }

  /** The ids and infos of the waiting requests, oldest first. */
  requests(): [string, I][] {
    return [...this.waiting].map(([id, {info}]) => [id, info])
  }

  get size(): number {
    return this.waiting.size
  }

  /**
   * The answer to `id` arrived.
   * @returns The request's info, or undefined if it was not waiting (it had ended already).
   */
  settle(id: string, value: T): I | undefined {
    return this.finish(id, {how: "settled", value})
  }

  /**
   * Stop waiting for `id` (nobody wants its answer any more).
   * @returns The request's info, or undefined if it was not waiting.
   */
  cancel(id: string, reason: string): I | undefined {
    return this.finish(id, {how: "cancelled", reason})
  }

  /**
   * End every waiting request with `reason`: none of them can be answered any more.
   * @returns The ids and infos of the requests it ended, oldest first.
   */
  end_all(reason: string): [string, I][] {
    const ended = this.requests()
    for (const [id] of ended) {
      this.finish(id, {how: "ended", reason})
    }
    return ended
  }

  private finish(id: string, ending: Ending<T>): I | undefined {
    const entry = this.waiting.get(id)
    if (entry == null) {
      return undefined
    }
    this.waiting.delete(id)
    clearTimeout(entry.timer)
    entry.end(ending)
    return entry.info
  }
}
