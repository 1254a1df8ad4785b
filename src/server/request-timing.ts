import { channel } from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";
import type { RequestTallies, TypeTally } from "./request-tallies.js";

/**
 * `wharf:request` on node:diagnostics_channel: `{ type, transport, code, durationMs }` once a request is over
 * (`code` null on success). Published only while someone subscribes (the stats service, a test), so a server
 * nobody watches pays one boolean check per request.
 */
export const requestChannel = channel("wharf:request");

/** What `wharf:request` carries. */
export interface RequestEndMessage {
  type: string;
  transport: string;
  /** The error code of a failed request; null when it succeeded. */
  code: string | null;
  /** From the start of the input that carried the request up to its answer (see {@link RequestTiming}). */
  durationMs: number;
}

/**
 * How long requests take, told to whoever watches: the {@link RequestTallies} a server counts into in place (the
 * metrics of `wharf serve`) and the subscribers of {@link requestChannel}. Nothing is timed while nobody watches.
 *
 * The clock is read once per input, not twice per request: a request starts when the first timed request of its
 * input (a chunk of a stream, a datagram) did, and one answered before the input is done (a synchronous handler)
 * ends when the input is done, after its reply was written. Those requests share one duration, so the tallies
 * find its bucket once. A request answered later reads the clock when it is answered. Measured on 64-byte
 * ping-pong in-process, counting in place instead of one channel message per request took the metrics' share of
 * a request from about 350 to about 180 ns (of about 720 without metrics), most of what is left being the two
 * clock readings (45 ns each on the CI machine's kvm-clock).
 */
export class RequestTiming {
  #tallies: RequestTallies | undefined;
  /** performance.now() at the first timed request of this input (or tick); -1 until one comes. */
  #start = -1;
  /** Sources between openInput() and closeInput(): while any is, the answers wait for closeInput(). */
  #openInputs = 0;
  /** The tallies and codes of the requests answered within this input, counted when it closes; reused. */
  #slots: TypeTally[] = [];
  #codes: (string | null)[] = [];
  #answered = 0;
  /** Channel messages of requests answered within this input; `durationMs` is filled in when it closes. */
  #messages: RequestEndMessage[] = [];
  readonly #endTick = (): void => this.#closeAnswers();

  /**
   * Counts every request from now on into `tallies`, until the returned function is called. One set of tallies
   * at a time: a second throws until the first is released.
   */
  countInto(tallies: RequestTallies): () => void {
    if (this.#tallies !== undefined) throw new Error("this server's requests are already counted into other tallies");
    this.#tallies = tallies;
    return () => {
      if (this.#tallies !== tallies) return;
      this.#closeAnswers();
      this.#tallies = undefined;
    };
  }

  /** The start of a request's time, or -1 when nobody watches (then nothing is timed). */
  start(): number {
    if (this.#tallies === undefined && !requestChannel.hasSubscribers) return -1;
    if (this.#start < 0) {
      this.#start = performance.now();
      // Outside an input (a handler of another request started this one), the answers are told at the tick's end.
      if (this.#openInputs === 0) process.nextTick(this.#endTick);
    }
    return this.#start;
  }

  /**
   * A request is over. `label`: its type for the tallies (a type the server does not serve is "(other)", so
   * clients cannot grow the label set); `type`: what the client sent. `start`: from start(). `sameInput`: it was
   * answered before its input closed.
   */
  end(label: string, type: string, transport: string, code: string | null, start: number, sameInput: boolean): void {
    if (start < 0) return;
    const tallies = this.#tallies;
    if (sameInput && this.#start >= 0) {
      if (tallies !== undefined) {
        this.#slots[this.#answered] = tallies.slot(label);
        this.#codes[this.#answered] = code;
        this.#answered += 1;
      }
      if (requestChannel.hasSubscribers) this.#messages.push({ type, transport, code, durationMs: start });
      return;
    }
    const durationMs = performance.now() - start;
    tallies?.recordIn(tallies.slot(label), code, durationMs);
    if (requestChannel.hasSubscribers) requestChannel.publish({ type, transport, code, durationMs } satisfies RequestEndMessage);
  }

  /**
   * A source is about to dispatch the requests of one piece of input (a chunk of a stream, a datagram). Until
   * the matching closeInput(), the requests it answers at once are told together when it closes, after their
   * replies were written, instead of on a scheduled tick (a turn of the tick queue per chunk).
   */
  openInput(): void {
    this.#openInputs += 1;
  }

  /** The end of what openInput() began. */
  closeInput(): void {
    this.#openInputs -= 1;
    if (this.#openInputs === 0 && this.#start >= 0) this.#closeAnswers();
  }

  #closeAnswers(): void {
    if (this.#start < 0) return; // a closeInput() already told this input's answers
    const start = this.#start;
    this.#start = -1;
    const answered = this.#answered;
    const messages = this.#messages;
    if (answered === 0 && messages.length === 0) return;
    const end = performance.now();
    if (answered > 0) {
      this.#answered = 0;
      this.#tallies?.recordSame(this.#slots, this.#codes, answered, end - start);
    }
    if (messages.length > 0) {
      this.#messages = [];
      for (const message of messages) {
        message.durationMs = end - message.durationMs;
        requestChannel.publish(message);
      }
    }
  }
}
