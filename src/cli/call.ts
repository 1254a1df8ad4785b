import type { Command } from "commander";
import { connect, type Connection } from "../client/index.js";
import { RpcClient, type MethodInfo } from "../services/rpc/index.js";
import { action, usageError } from "./fail.js";
import { savedLogins } from "./credentials.js";
import { secondsOption } from "./parse.js";
import { openSession, withClientOptions, type ClientOptions } from "./session.js";

interface CallOptions extends ClientOptions {
  list: boolean;
  timeout?: number;
  pretty: boolean;
}

/** Adds `wharf call`. */
export function registerCall(program: Command): void {
  const command = withClientOptions(
    program
      .command("call")
      .description("call an RPC method and print its result as JSON (a stream: one JSON line per item)")
      .argument("[method]", "the method, e.g. math.add")
      .argument("[params]", "its parameters as a JSON array (or object), e.g. '[1, 2]'")
      .option("--list", "list the server's methods instead", false)
      .option("--timeout <seconds>", "the call's deadline", secondsOption("--timeout"))
      .option("--pretty", "indent the JSON", false),
  );
  command.action(
    action(async (method: string | undefined, params: string | undefined, options: CallOptions) => {
      // Log in only when a user was named or `wharf login` saved a login: the built-in and public methods need no
      // account.
      const named = command.getOptionValueSource("user") === "cli" || process.env.WHARF_USER !== undefined || (await savedLogins.get(options.server)) !== undefined;
      await call(method, params, options, named);
    }),
  );
}

function parseParams(text: string | undefined): unknown {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usageError(`the parameters are not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null) throw usageError("the parameters must be a JSON array (or object), e.g. '[1, 2]'");
  return value;
}

/** JSON has no bytes: binary results print as base64 strings. */
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  return original instanceof Uint8Array ? Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString("base64") : value;
}

async function call(method: string | undefined, paramsText: string | undefined, options: CallOptions, login: boolean): Promise<void> {
  if (!options.list && method === undefined) throw usageError("name a method, or use --list");
  if (options.timeout !== undefined && options.timeout <= 0) throw usageError("--timeout must be more than 0 seconds");
  const params = parseParams(paramsText);
  const conn: Connection = login ? await openSession(options) : await connect(options.server);
  try {
    const client = new RpcClient(conn, options.timeout === undefined ? {} : { timeout: options.timeout });
    if (options.list) {
      const methods = await client.call<MethodInfo[]>("rpc.list");
      if (options.pretty) process.stdout.write(`${JSON.stringify(methods, null, 2)}\n`);
      else for (const info of methods) process.stdout.write(`${info.name}${signature(info.params)}${info.auth ? " [login]" : ""}${info.description ? `\t${info.description}` : ""}\n`);
      return;
    }
    for await (const item of client.stream(method as string, params)) {
      process.stdout.write(`${JSON.stringify(item, replacer, options.pretty ? 2 : undefined) ?? "null"}\n`);
    }
  } finally {
    conn.destroy();
  }
}

/** A short parameter list from a JSON Schema: `(number, string?)` for tuples, `(object)` otherwise. */
function signature(schema: unknown): string {
  if (typeof schema !== "object" || schema === null) return "";
  const s = schema as { type?: unknown; prefixItems?: { type?: unknown }[]; minItems?: number };
  if (s.type === "array" && Array.isArray(s.prefixItems)) {
    const required = s.minItems ?? s.prefixItems.length;
    return `(${s.prefixItems.map((item, i) => `${typeof item.type === "string" ? item.type : "any"}${i >= required ? "?" : ""}`).join(", ")})`;
  }
  return `(${typeof s.type === "string" ? s.type : "any"})`;
}
