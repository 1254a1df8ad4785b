/**
 * The RPC page: a "Method" combobox filled from `rpc.list` (each method's parameter schema shown beside it),
 * "Params" as JSON, "Call", and the result, the streamed items or the error code in a region labelled "Result".
 */
import { RpcClient } from "wharf/browser";
import { describeError, el, errorCode, labelled, replaceChildren } from "../dom.js";
import type { LoginInfo, Session } from "../session.js";
import type { View } from "./view.js";

interface MethodInfo {
  name: string;
  description?: string;
  params?: unknown;
}

/** Builds the RPC page. */
export function rpcView(session: Session, _info: LoginInfo): View {
  const method = el("select", { name: "method" });
  const schema = el("pre", { class: "schema", "aria-label": "Parameter schema" });
  const params = el("textarea", { name: "params", rows: 3, spellcheck: "false", autocapitalize: "off" }, "[]");
  const call = el("button", { type: "submit" }, "Call");
  const result = el("pre", { class: "result-body" });
  const resultRegion = el("section", { class: "result", role: "region", "aria-label": "Result", "aria-live": "polite" }, result);
  const form = el("form", { class: "rpc-form" }, labelled("Method", method), schema, labelled("Params", params), call);
  const element = el("section", { class: "page rpc-page", "aria-labelledby": "rpc-title" }, el("h2", { id: "rpc-title" }, "RPC"), form, resultRegion);

  let methods: MethodInfo[] = [];
  const describe = (): void => {
    const info = methods.find((m) => m.name === method.value);
    const lines = [info?.description ?? "", info?.params === undefined ? "" : `params: ${JSON.stringify(info.params, null, 1)}`].filter((l) => l !== "");
    schema.textContent = lines.join("\n");
  };
  method.addEventListener("change", describe);

  const load = async (): Promise<void> => {
    const conn = session.connection;
    if (conn === null) return;
    try {
      methods = (await new RpcClient(conn).list()) as MethodInfo[];
      const selected = method.value;
      replaceChildren(method, ...methods.map((m) => el("option", { value: m.name, selected: m.name === selected }, m.name)));
      describe();
    } catch (err) {
      result.textContent = describeError(err);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const conn = session.connection;
    if (conn === null) {
      result.textContent = "Not connected to the server; reconnecting…";
      return;
    }
    let value: unknown;
    try {
      value = params.value.trim() === "" ? [] : JSON.parse(params.value);
    } catch (err) {
      result.textContent = `Params are not JSON: ${describeError(err)}`;
      return;
    }
    result.textContent = "calling…";
    resultRegion.dataset.state = "calling";
    const items: unknown[] = [];
    call.disabled = true;
    new RpcClient(conn)
      .call(method.value, value, {
        onItem: (item: unknown) => {
          items.push(item);
          result.textContent = items.map((i) => JSON.stringify(i)).join("\n");
        },
      })
      .then((value: unknown) => {
        resultRegion.dataset.state = "ok";
        result.textContent = items.length > 0 ? `${items.map((i) => JSON.stringify(i)).join("\n")}\n(${items.length} items)` : JSON.stringify(value, null, 2) ?? "(no result)";
      })
      .catch((err: unknown) => {
        resultRegion.dataset.state = "error";
        result.textContent = `${errorCode(err) ?? "Error"}: ${describeError(err).replace(/^E_[A-Z_]+: /, "")}`;
      })
      .finally(() => {
        call.disabled = false;
      });
  });

  const unsubscribe = session.onConnect(() => void load());
  return {
    element,
    show: () => {
      if (methods.length === 0) void load();
    },
    dispose: unsubscribe,
  };
}
