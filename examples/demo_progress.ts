/**
 * Progress on stderr: a redrawn bar when stderr is a terminal, otherwise a
 * plain line at every tenth of the way (logs and CI stay readable).
 *
 * @module
 */

/** Where progress is written. */
export interface ProgressTarget {
  /** Whether `\r` redraws make sense. */
  readonly isTerminal: boolean;
  /** Writes text as it is. */
  write(text: string): void;
}

const BAR_WIDTH = 30;
const REDRAW_EVERY_MS = 100;

/** Reports `done` of `total` as requests settle. */
export class Progress {
  readonly #target: ProgressTarget;
  readonly #total: number;
  readonly #now: () => number;
  readonly #started: number;
  #done = 0;
  #lastDraw = -Infinity;
  #lastTenth = 0;

  /** Starts reporting; `now` is a millisecond clock. */
  constructor(target: ProgressTarget, total: number, now: () => number) {
    this.#target = target;
    this.#total = total;
    this.#now = now;
    this.#started = now();
  }

  /** Counts one settled request. */
  tick(): void {
    this.#done++;
    if (this.#target.isTerminal) {
      const now = this.#now();
      if (now - this.#lastDraw >= REDRAW_EVERY_MS || this.#done === this.#total) {
        this.#lastDraw = now;
        this.#draw(now);
      }
      return;
    }
    const tenth = Math.floor((this.#done * 10) / this.#total);
    if (tenth > this.#lastTenth) {
      this.#lastTenth = tenth;
      this.#target.write(`progress: ${this.#done}/${this.#total} (${tenth * 10}%)\n`);
    }
  }

  /** Ends the bar's line, so what follows starts on a fresh one. */
  finish(): void {
    if (this.#target.isTerminal) {
      // tick() already drew the final state when every request settled.
      if (this.#done !== this.#total) this.#draw(this.#now());
      this.#target.write("\n");
    }
  }

  #draw(now: number): void {
    const fraction = this.#total === 0 ? 1 : this.#done / this.#total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = Math.round(this.#done / seconds);
    this.#target.write(
      `\r[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${this.#done}/${this.#total} ` +
        `${String(Math.floor(fraction * 100)).padStart(3)}%  ${rate} req/s`,
    );
  }
}
