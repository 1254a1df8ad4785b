import { listBlocks } from "./delta-blocks.js";
import { ChunkListCache } from "./delta-list-cache.js";

/**
 * The block lists (delta-blocks.ts) of stored file versions this process knows: those it listed for a delta put,
 * and those it made while it stored the file (block-recorder.ts). A delta put onto a version found here starts
 * without reading it. About 320 KiB per GiB listed; 16 lists and 64 MiB at most.
 */
export const storedBlockLists = new ChunkListCache({ lister: listBlocks, capacity: 16, maxBytes: 64 * 1024 * 1024 });
