import type { Server } from "../../server/index.js";
import { ServiceSet } from "../service.js";
import { registerChat, registerChatService } from "./handlers.js";
import type { ChatRedisLink } from "./redis-link.js";
import { SharedChatService } from "./redis-service.js";
import type { ChatDeps, ChatOptions } from "./options.js";
import { ChatClusterHub } from "./cluster-hub.js";
import { registerChatRelay, type ChatRelay } from "./cluster-relay.js";
import type { ChatService } from "./service.js";

/**
 * `wharf serve --workers N` without a shared store: the cluster primary owns chat; this makes the hub that
 * serves its workers' relayed requests (attach each forked worker to it).
 */
export function chatHubOf(services: ServiceSet): ChatClusterHub {
  return new ChatClusterHub(services.get("chat") as ChatService);
}

/**
 * A cluster worker's services with chat relayed to the primary: the local chat service registered by
 * `registerServices` is replaced (handlers and place in the set) by a {@link ChatRelay}.
 */
export function relayChatToPrimary(server: Server, services: ServiceSet): ServiceSet {
  const local = services.get("chat") as ChatService | undefined;
  const relay = registerChatRelay(server, { maxQueuedBytes: local?.maxQueuedBytes });
  void local?.close();
  return new ServiceSet([...services].map((service) => (service.name === "chat" ? relay : service)));
}

/**
 * The first step of a graceful stop, before `server.close()`: chat members are told to reconnect
 * (`chat.reconnect`), while their connections are still open. Returns how many were told.
 */
export function drainChat(services: ServiceSet): number {
  const chat = services.get("chat") as ChatService | ChatRelay | undefined;
  return chat === undefined ? 0 : chat.drain();
}

/**
 * The services with chat registered again with these options (`wharf serve --chat-rate`), and shared through
 * Redis when a link is given (`--redis`; the caller closes the link after the services): the chat service
 * `registerServices` made is closed and replaced, handlers and place in the set.
 */
export function reconfigureChat(server: Server, services: ServiceSet, deps: ChatDeps, options: ChatOptions, redis?: ChatRedisLink): ServiceSet {
  const before = services.get("chat") as ChatService | undefined;
  void before?.close();
  const chat = redis === undefined ? registerChat(server, deps, options) : registerChatService(server, new SharedChatService(deps, options, redis));
  return new ServiceSet([...services].map((service) => (service.name === "chat" ? chat : service)));
}
