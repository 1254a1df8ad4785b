import { createBLAKE3, createSHA256 } from "hash-wasm";

/** The content hashes the files service verifies transfers with (docs/protocol.md, Hashes). */
export type HashAlgorithm = "blake3" | "sha256";

/** A running content hash: `update` per slice, `digest` once, as lowercase hex. */
export interface StreamingHash {
  readonly algorithm: HashAlgorithm;
  update(bytes: Uint8Array): void;
  digest(): string;
}

/**
 * A streaming hash from hash-wasm (WebAssembly, so it runs in any browser; WebCrypto cannot hash a stream).
 * BLAKE3 is what a wharf server prefers; sha256 for servers that only speak it.
 *
 * @example
 * ```ts
 * const hash = await createStreamingHash("blake3");
 * hash.update(new TextEncoder().encode("hi"));
 * hash.digest(); // "85052e9a..."
 * ```
 */
export async function createStreamingHash(algorithm: HashAlgorithm): Promise<StreamingHash> {
  const hasher = algorithm === "blake3" ? await createBLAKE3() : await createSHA256();
  hasher.init();
  return {
    algorithm,
    update: (bytes) => void hasher.update(bytes),
    digest: () => hasher.digest("hex"),
  };
}
