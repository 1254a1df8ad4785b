/**
 * `wharf/rpc`: remote procedure calls over wharf frames. Servers register methods (functions, streams, or tasks
 * run on a thread pool) with zod-checked parameters; clients call them through a typed proxy with deadlines and
 * cancellation; any language can call them as JSON-RPC 2.0. See docs/rpc.md.
 *
 * @example
 * ```ts
 * import { registerRpc, rpcClient } from "wharf/rpc";
 * const rpc = registerRpc(server);
 * rpc.method("add", ([a, b]: [number, number]) => a + b);
 * const api = rpcClient<{ add(a: number, b: number): number }>(conn);
 * await api.add(1, 2); // 3
 * ```
 *
 * @module
 */
export { MAX_DEPTH, pack, toFrame, unpack, type Packed } from "./binary.js";
export {
  DEADLINE_GRACE_MS,
  RpcCall,
  RpcClient,
  rpcClient,
  type CallItem,
  type CallOptions,
  type CallResult,
  type RpcProxy,
} from "./client.js";
export { RpcContext } from "./context.js";
export { registerDemoMethods } from "./demo.js";
export { RpcErrorCode } from "./errors.js";
export { answerJsonRpc, BATCH_CONCURRENCY, JsonRpcCode, MAX_BATCH, MAX_STREAM_ITEMS, toJsonRpcError, type AnswerJsonRpcOptions } from "./jsonrpc.js";
export { DEFAULT_REPLY_BUDGET, MIN_REPLY_BUDGET } from "./budget.js";
export { DEFAULT_SLICE_MS, TimeSlice } from "./time-slice.js";
export { RpcRegistry, describeIssues, type MethodInfo, type MethodOptions, type RpcHandler, type RpcRegistryOptions } from "./registry.js";
export { RpcService, registerRpc, type RegisterRpcOptions } from "./server.js";
export { ErrorCode, WharfError } from "../../wire/index.js";
