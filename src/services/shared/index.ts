/**
 * Helpers that more than one service uses: atomic file writes, folder fsync, the homes layout, versioned JSON
 * list files. Internal to wharf's services (not a package export); `writeAtomically` is re-exported from
 * `wharf/accounts`.
 *
 * @module
 */
export { writeAtomically } from "./atomic-write.js";
export { syncDir } from "./dir-sync.js";
export { homeOf, homesDir } from "./homes.js";
export { JsonListFile } from "./json-list-file.js";
