/**
 * The reply budget of a JSON-RPC request: how many bytes its reply may take, shared by the calls of a batch.
 * Each call that will be answered has the bytes of its own budget error set aside before anything runs, so that
 * however the budget runs out, the reply (results, errors, and the array around them) stays within it.
 */
import { WharfError } from "../../wire/index.js";
import { RpcErrorCode } from "./errors.js";

/** The default reply budget of a JSON-RPC request (a server with a smaller `maxBodySize` uses that instead). */
export const DEFAULT_REPLY_BUDGET = 4 * 1024 * 1024;

/** The smallest budget that can be configured: room for a batch-wide budget error and a little more. */
export const MIN_REPLY_BUDGET = 1024;

/** @internal The abort reason and error of calls stopped because the budget ran out. */
export class BudgetSpent extends WharfError {
  constructor(budget: number) {
    super(RpcErrorCode.BUDGET, `the reply budget of ${budget} bytes is spent: send fewer or smaller calls, or stream over rpc.call`, {
      data: { budget },
    });
  }
}

/**
 * Bytes left for one reply. A call takes bytes as it produces them ({@link CallAccount}); the first take that does
 * not fit spends the budget for good, so that the calls after it are answered with `E_RPC_BUDGET` at once.
 */
export class ReplyBudget {
  readonly limit: number;
  #left: number;
  #spent = false;

  constructor(limit: number) {
    this.limit = limit;
    this.#left = limit;
  }

  /** True once a take did not fit: no more work is started for this reply. */
  get spent(): boolean {
    return this.#spent;
  }

  /** Sets bytes aside before any call runs; false (nothing set aside) when they do not fit. */
  reserve(bytes: number): boolean {
    if (bytes > this.#left) return false;
    this.#left -= bytes;
    return true;
  }

  /** Takes bytes; false, and the budget spent from now on, when they do not fit. */
  take(bytes: number): boolean {
    if (this.#spent || bytes > this.#left) {
      this.#spent = true;
      return false;
    }
    this.#left -= bytes;
    return true;
  }

  /** Gives bytes back (a call's reply turned out smaller than what it held). */
  give(bytes: number): void {
    this.#left += bytes;
  }
}

/**
 * One call's share of a {@link ReplyBudget}: the bytes set aside for its budget error, plus what it has taken so
 * far. When the call ends, its final reply size is settled against both.
 */
export class CallAccount {
  readonly #budget: ReplyBudget;
  readonly #reserved: number;
  #taken = 0;

  constructor(budget: ReplyBudget, reserved: number) {
    this.#budget = budget;
    this.#reserved = reserved;
  }

  /** Takes bytes for output produced (a stream item); false when the budget cannot give them. */
  take(bytes: number): boolean {
    if (!this.#budget.take(bytes)) return false;
    this.#taken += bytes;
    return true;
  }

  /**
   * Settles the call at its final reply size: what it held beyond that goes back; what it needs beyond that is
   * taken. False when that does not fit; then everything it took goes back and only its set-aside bytes stay,
   * for the budget error that replaces its reply.
   */
  close(replyBytes: number): boolean {
    const more = replyBytes - this.#reserved - this.#taken;
    if (more <= 0) {
      this.#budget.give(-more);
      return true;
    }
    if (this.take(more)) return true;
    this.refund();
    return false;
  }

  /**
   * The call ended without an answer (a notification): its set-aside bytes go back, but what it took stays taken,
   * as work done, so that a batch of notifications cannot stream without bound.
   */
  release(): void {
    this.#budget.give(this.#reserved);
  }

  /** The call failed for the budget: what it took goes back; its set-aside bytes stay for its budget error. */
  refund(): void {
    this.#budget.give(this.#taken);
    this.#taken = 0;
  }
}
