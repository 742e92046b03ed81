// Child process of bench/decode.ts: our side of one decode case, alone in a fresh process — a JIT
// that has seen only this capture's traffic, as `sehil decode FILE` sees it, and as tshark gets a
// fresh process per run. Three warm-up passes, then three timed ones; prints them as one JSON line.
import { benchDevices, decodeFile } from './decode.ts';

const file = process.argv[2];
if (!file) {
  console.error('usage: decode-ours.ts CAPTURE');
  process.exit(2);
}
const devs = benchDevices();
// Warm-up: JIT tiers. Three passes, not one: TurboFan compiles the dissector's large functions
// on background threads during passes 2–3, and process.cpuUsage() counts those threads too.
for (let w = 0; w < 3; w++) decodeFile(file, devs);
const runs = Array.from({ length: 3 }, () => decodeFile(file, devs));
console.log(JSON.stringify(runs));
