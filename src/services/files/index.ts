/**
 * `wharf/files`: the files service. Users' private homes on the server, resumable uploads and downloads
 * verified end to end by BLAKE3 or sha256, sent as deltas onto older versions, atomic visibility, quotas. See
 * docs/files.md.
 *
 * @module
 */
export { login } from "../accounts/index.js";
export { FilesClient } from "./client.js";
export { downloadPartialPaths, getFile } from "./client-get.js";
export { putFile, type PutOptions, type TransferOptions, type TransferProgress, type TransferResult } from "./client-put.js";
export { FileErrorCode } from "./errors.js";
export { formatHash, parseHash, type HashAlgorithm } from "./hash.js";
export { upToDate, type QuickCheckOptions } from "./quick-check.js";
export { FileLayout } from "./layout.js";
export { COMPARE_MAX_ENTRIES, FileRequest, type CompareFile, type CompareGroup, type CompareResult, type FileEntry } from "./requests.js";
export { normalizeRemotePath } from "./remote-path.js";
export { registerFiles, type FilesDeps, type FilesOptions, type FilesService } from "./server.js";
