// hash-wasm's build of xxhash128 alone (20 KB, where its index bundles every algorithm in 270 KB): a UMD file
// without types of its own, loaded as CommonJS (its exports object is the default import).
declare module "hash-wasm/dist/xxhash128.umd.min.js" {
  const xxhash128Build: { createXXHash128: typeof import("hash-wasm").createXXHash128 };
  export default xxhash128Build;
}
