import { CliError } from "./fail.js";

/**
 * Reads a line from the terminal without echoing it (for passwords). Ctrl-C aborts with exit code 130.
 * Only on a terminal: callers check `process.stdin.isTTY` first.
 */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let answer = "";
    const wasRaw = stdin.isRaw;
    // Echo goes off before the question shows: an answer typed (or pasted) at once must not be echoed.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    const finish = (err: Error | null): void => {
      stdin.off("data", onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString("utf8")) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish(null);
        if (char === "\u0003") return finish(new CliError("E_CANCELLED", "interrupted", 130));
        if (char === "\u007f" || char === "\b") answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.on("data", onData);
  });
}

/** Reads all of standard input and returns its first line (for `--password-stdin`). */
export async function readFirstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0];
}
