#!/usr/bin/env node
/**
 * The `wharf` command as tsc compiles it: one verb group per module in this folder (verb-groups.ts), and only the
 * module of the verb being run is imported (with its service's client), so that `wharf ls` does not pay for the
 * server, the logger and every schema. What ships (package.json's `bin`) is the bundle of the same program made
 * by scripts/build-cli.mjs, one file per verb group (issue 15).
 */
import { markPhase } from "./phase-timer.js";
import { runWharf } from "./program.js";
import type { Register } from "./verb-groups.js";

markPhase("main loaded");

await runWharf(async (group) => ((await import(group.module)) as Record<string, Register>)[group.register]);
