/**
 * Event as the traffic light: cars wait at red (wait()), a light switches to green (set()) and back to red
 * (clear()); every car waiting at a green light drives on at once.
 * Run: `npm run build && node dist/examples/traffic-light-event.js`.
 */
// In your project: import { Event } from "wharf/sync";
import { setTimeout as sleep } from "node:timers/promises";
import { Event } from "../src/sync/index.js";

const green = new Event();
const log: string[] = [];

async function car(name: string, arrives: number): Promise<void> {
  await sleep(arrives);
  if (!green.isSet()) log.push(`${name} stops at red`);
  await green.wait();
  log.push(`${name} drives on green`);
}

async function light(): Promise<void> {
  await sleep(30);
  log.push("light: green");
  green.set();
  await sleep(30);
  green.clear();
  log.push("light: red");
  const late = car("car 4", 0); // arrives while the light is red, however late the timers fire on a busy machine
  await sleep(30);
  log.push("light: green");
  green.set();
  await late;
}

await Promise.all([light(), car("car 1", 0), car("car 2", 10), car("car 3", 45)]);
for (const line of log) console.log(line);
