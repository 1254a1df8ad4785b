import type { ConnectionChannel, DatagramSender, PeerInfo, RequestContext } from "../../server/index.js";
import { WharfError } from "../../wire/index.js";
import { currentUser } from "../accounts/index.js";

/**
 * The end of a stream connection a chat member is reached through: a connection of this process
 * ({@link ConnectionChannel}), or one a cluster worker holds and relays to ({@link RemoteChannel} in
 * cluster-hub.ts). Chat keeps one member per channel.
 */
export type MemberChannel = Pick<ConnectionChannel, "id" | "closed" | "close" | "onClose">;

/**
 * Where a chat request comes from, whatever carried it: a stream connection (with its logged-in user, or null
 * before a login), or a datagram (its source address and the UDP endpoint it came in on). Handlers work on this,
 * not on a RequestContext, so that the cluster primary can serve requests its workers relay.
 */
export interface ChatOrigin {
  /** Set for stream connections, local or relayed; null for datagrams. */
  stream: { channel: MemberChannel; user: string | null } | null;
  peer: PeerInfo;
  /** The UDP endpoint of a datagram (null for stream connections). */
  udp: DatagramSender | null;
}

/** The origin of a request this process received itself. */
export function originOf(ctx: RequestContext): ChatOrigin {
  if (ctx.channel === null) return { stream: null, peer: ctx.peer, udp: ctx.udp };
  return { stream: { channel: ctx.channel, user: loggedInUser(ctx) }, peer: ctx.peer, udp: null };
}

/** The connection's user name, or null before a login. */
export function loggedInUser(ctx: RequestContext): string | null {
  try {
    return currentUser(ctx).name;
  } catch (err) {
    if (err instanceof WharfError) return null;
    throw err;
  }
}
