import type { Redis } from "ioredis";

/**
 * The Lua scripts of shared chat. Redis runs a script as one step, so a room's sequence number, its stream entry
 * and its pub/sub message are made together: every node receives a room's messages in msgId order. Keys of a
 * room share the hash tag `{room}` so that in a Redis Cluster a room lives on one shard (docs/scale.md).
 */

/** Server time in ms (the `ts` of messages: one clock for every node). */
const NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/**
 * KEYS: seq, log (stream), cids (hash), cidq (list). ARGV: from, dedupKey, retryId, text, maxlen, channel, extra
 * (JSON or ""), dedupMax. Returns {1, msgId, ts} for a new message, {0, msgId, ts} for a retry already accepted.
 */
const SEND = `${NOW}
local dkey = ARGV[2] .. '\\n' .. ARGV[3]
local prev = redis.call('HGET', KEYS[3], dkey)
if prev then
  local sep = string.find(prev, ':', 1, true)
  return {0, string.sub(prev, 1, sep - 1), string.sub(prev, sep + 1)}
end
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], id .. '-1', 'f', ARGV[1], 't', ARGV[4], 'ts', now, 'x', ARGV[7])
redis.call('HSET', KEYS[3], dkey, id .. ':' .. now)
redis.call('RPUSH', KEYS[4], dkey)
if redis.call('LLEN', KEYS[4]) > tonumber(ARGV[8]) then
  redis.call('HDEL', KEYS[3], redis.call('LPOP', KEYS[4]))
end
redis.call('PUBLISH', ARGV[6], cjson.encode({k = 'm', id = id, ts = now, f = ARGV[1], t = ARGV[4], x = ARGV[7]}))
return {1, tostring(id), tostring(now)}`;

/** Lua: true when the presence set holds an entry of this user (any node). */
const HAS_USER = `
local function has_user(key, user)
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local sep = string.find(m, '\\n', 1, true)
    if sep and string.sub(m, sep + 1) == user then return true end
  end
  return false
end
local function users(key)
  local seen, n = {}, 0
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local u = string.sub(m, (string.find(m, '\\n', 1, true) or 0) + 1)
    if not seen[u] then seen[u] = true; n = n + 1 end
  end
  return n
end`;

/**
 * KEYS: who (zset of "node\\nuser" scored by expiry), seq. ARGV: node, user, ttl ms, channel. Announces the user
 * when no node had it in the room. Returns {lastMsgId, users in the room}.
 */
const JOIN = `${NOW}${HAS_USER}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local present = has_user(KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1] .. '\\n' .. ARGV[2])
if not present then redis.call('PUBLISH', ARGV[4], cjson.encode({k = 'p', u = ARGV[2], a = 'join'})) end
return {tonumber(redis.call('GET', KEYS[2]) or '0'), users(KEYS[1])}`;

/** KEYS: who. ARGV: node, user, channel. Announces the user's leave when no node has it in the room any more. */
const LEAVE = `${NOW}${HAS_USER}
redis.call('ZREM', KEYS[1], ARGV[1] .. '\\n' .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not has_user(KEYS[1], ARGV[2]) then redis.call('PUBLISH', ARGV[3], cjson.encode({k = 'p', u = ARGV[2], a = 'leave'})) end
return 1`;

/**
 * KEYS: online (zset of nodes of the recipient, scored by expiry), inbox (counter). ARGV: to, from, text, extra,
 * channel. Returns {0} when the recipient has no chat client on any node, else {1, msgId, ts}.
 */
const DIRECT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) == 0 then return {0} end
local id = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[5], cjson.encode({k = 'd', id = id, ts = now, to = ARGV[1], f = ARGV[2], t = ARGV[3], x = ARGV[4]}))
return {1, tostring(id), tostring(now)}`;

/** The scripts as commands of a client (EVALSHA, loaded on first use). */
export interface ChatScripts {
  send(keys: string[], args: (string | number)[]): Promise<[number, string, string]>;
  join(keys: string[], args: (string | number)[]): Promise<[number, number]>;
  leave(keys: string[], args: (string | number)[]): Promise<number>;
  direct(keys: string[], args: (string | number)[]): Promise<[number, string?, string?]>;
}

/** Defines the scripts on a client and returns them. */
export function chatScripts(client: Redis): ChatScripts {
  const scripts = { wharfChatSend: [SEND, 4], wharfChatJoin: [JOIN, 2], wharfChatLeave: [LEAVE, 1], wharfChatDirect: [DIRECT, 2] } as const;
  for (const [name, [lua, numberOfKeys]] of Object.entries(scripts)) {
    if (!(name in client)) client.defineCommand(name, { lua, numberOfKeys });
  }
  const call = (name: string) => (keys: string[], args: (string | number)[]) =>
    (client as unknown as Record<string, (...a: (string | number)[]) => Promise<never>>)[name](...keys, ...args);
  return { send: call("wharfChatSend"), join: call("wharfChatJoin"), leave: call("wharfChatLeave"), direct: call("wharfChatDirect") };
}
