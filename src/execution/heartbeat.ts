import type { JobRow } from "../db/schema";
import type { AttemptProgress } from "../model/attempt";
import { heartbeatLive } from "../scheduler/client";

/** How often an invocation tells the schedulers what it is running (and hears about cancel requests). */
export const HEARTBEAT_MS = 1000;

type Watched = { queue: string; id: string; attempt: number; progress: AttemptProgress | null; sent: AttemptProgress | null; onCancel: () => void };

/** What an attempt does with the heartbeat: report progress, and stop being watched when it ends. */
export type AttemptWatch = { progress(p: AttemptProgress): void; stop(): void };

/**
 * One heartbeat per consumer invocation: about once a second, a single call per queue reports every
 * attempt running here (with progress that changed since the last beat) and aborts those whose
 * cancel was requested. It replaces a D1 read per running job per second. A failed beat is only
 * logged: the next one asks again.
 */
export class Heartbeat {
  #watched = new Map<string, Watched>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #beating = false;

  constructor(
    private readonly env: Env,
    private readonly intervalMs = HEARTBEAT_MS,
  ) {}

  watch(job: Pick<JobRow, "id" | "queue" | "attempt">, onCancel: () => void): AttemptWatch {
    const key = `${job.id}:${job.attempt}`;
    const entry: Watched = { queue: job.queue, id: job.id, attempt: job.attempt, progress: null, sent: null, onCancel };
    this.#watched.set(key, entry);
    this.#timer ??= setInterval(() => void this.beat(), this.intervalMs);
    return {
      progress: (p) => {
        entry.progress = p;
      },
      stop: () => {
        if (this.#watched.get(key) !== entry) return;
        this.#watched.delete(key);
        if (!this.#watched.size && this.#timer) {
          clearInterval(this.#timer);
          this.#timer = null;
        }
      },
    };
  }

  /** One beat now (the timer calls it; a beat still in flight makes this one a no-op). */
  async beat(): Promise<void> {
    if (this.#beating || !this.#watched.size) return;
    this.#beating = true;
    const entries = [...this.#watched.values()];
    const progressOf = (e: Watched) => (e.progress && e.progress !== e.sent ? e.progress : undefined);
    const reported = entries.map((e) => ({ entry: e, progress: progressOf(e) }));
    try {
      const cancel = await heartbeatLive(
        this.env,
        reported.map(({ entry, progress }) => ({ queue: entry.queue, id: entry.id, attempt: entry.attempt, ...(progress ? { progress } : {}) })),
      );
      for (const { entry, progress } of reported) {
        if (progress) entry.sent = progress;
        if (cancel.has(entry.id)) entry.onCancel();
      }
    } catch (err) {
      console.warn("heartbeat failed; the next one asks again", err);
    } finally {
      this.#beating = false;
    }
  }
}
