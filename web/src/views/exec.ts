/**
 * The Exec page: a "Command" textbox split like a shell line (and run without a shell), "Run", the output in a
 * terminal (xterm.js, ANSI colours) and as plain text in an element labelled "Output", a line of stdin, "Stop",
 * "End input" (end of file), and `exit N` when the command ends. A user without the exec right sees the server's refusal.
 */
import { Terminal } from "@xterm/xterm";
import { ExecClient } from "wharf/browser";
import { describeError, el, labelled } from "../dom.js";
import type { LoginInfo, Session } from "../session.js";
import { splitShellWords } from "../shell-words.js";
import type { View } from "./view.js";

// CSI sequences (colours, cursor moves), OSC strings (titles), and other two-byte escapes.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

const FONT_SIZE = 13;

/** Removes terminal escape sequences, leaving the text. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/** Builds the Exec page. */
export function execView(session: Session, info: LoginInfo): View {
  const command = el("input", { name: "command", autocomplete: "off", spellcheck: "false", autocapitalize: "off" });
  const run = el("button", { type: "submit" }, "Run");
  const stop = el("button", { type: "button", disabled: true }, "Stop");
  const form = el("form", { class: "inline-form" }, labelled("Command", command), run, stop);
  const stdinLine = el("input", { name: "stdin", autocomplete: "off", disabled: true });
  const endInput = el("button", { type: "button", disabled: true }, "End input");
  const stdinForm = el("form", { class: "inline-form" }, labelled("Input line", stdinLine), el("button", { type: "submit" }, "Send input"), endInput);
  const terminalBox = el("div", { class: "terminal", "aria-hidden": "true" });
  const output = el("pre", { class: "output", "aria-label": "Output", role: "log", tabindex: 0 });
  const exit = el("p", { class: "exit", role: "status" });
  const element = el(
    "section",
    { class: "page exec-page", "aria-labelledby": "exec-title" },
    el("h2", { id: "exec-title" }, "Exec"),
    info.canExec ? null : el("p", { class: "note" }, "Your account has no right to run commands; the server will refuse them."),
    form,
    terminalBox,
    el("h3", {}, "Plain text"),
    output,
    stdinForm,
    exit,
  );

  let terminal: Terminal | null = null;
  // As many columns as fit the page (a phone gets fewer than 80), judged from the font's average cell width.
  const columnsThatFit = (): number => Math.max(20, Math.min(120, Math.floor((element.clientWidth - 16) / (FONT_SIZE * 0.6))));
  const ensureTerminal = (): Terminal => {
    if (terminal === null) {
      terminal = new Terminal({ convertEol: true, disableStdin: true, rows: 14, cols: columnsThatFit(), scrollback: 2000, fontSize: FONT_SIZE });
      terminal.open(terminalBox);
    } else if (terminal.cols !== columnsThatFit()) {
      terminal.resize(columnsThatFit(), terminal.rows);
    }
    return terminal;
  };

  let running: { abort: AbortController; stdin: (text: string) => Promise<boolean>; closeStdin: () => Promise<void> } | null = null;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (running !== null) return;
    let argv: string[];
    try {
      argv = splitShellWords(command.value);
    } catch (err) {
      exit.textContent = `Cannot split the command: ${describeError(err)}`;
      return;
    }
    if (argv.length === 0) return;
    const conn = session.connection;
    if (conn === null) {
      exit.textContent = "Not connected to the server; reconnecting…";
      return;
    }
    const term = ensureTerminal();
    term.reset();
    output.textContent = "";
    exit.textContent = "running";
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const abort = new AbortController();
    const handle = new ExecClient(conn).run(argv, {
      signal: abort.signal,
      onOutput: (stream, bytes) => {
        term.write(bytes);
        output.append(stripAnsi(decoders[stream].decode(bytes, { stream: true })));
        output.scrollTop = output.scrollHeight;
      },
    });
    running = { abort, stdin: (text) => handle.stdin(text), closeStdin: () => handle.closeStdin() };
    run.disabled = true;
    stop.disabled = false;
    stdinLine.disabled = false;
    endInput.disabled = false;
    handle.done
      .then(({ exitCode, signal }) => {
        exit.textContent = exitCode === null || exitCode === undefined ? `killed by ${signal ?? "a signal"}` : `exit ${exitCode}`;
      })
      .catch((err: unknown) => {
        exit.textContent = describeError(err);
      })
      .finally(() => {
        running = null;
        run.disabled = false;
        stop.disabled = true;
        stdinLine.disabled = true;
        endInput.disabled = true;
        command.focus();
      });
  });

  stop.addEventListener("click", () => running?.abort.abort());

  stdinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (running === null) return;
    const text = `${stdinLine.value}\n`;
    stdinLine.value = "";
    running.stdin(text).catch((err: unknown) => (exit.textContent = describeError(err)));
  });

  endInput.addEventListener("click", () => {
    endInput.disabled = true;
    running?.closeStdin().catch((err: unknown) => (exit.textContent = describeError(err)));
  });

  return {
    element,
    show: () => command.focus(),
    dispose: () => {
      running?.abort.abort();
      terminal?.dispose();
    },
  };
}
