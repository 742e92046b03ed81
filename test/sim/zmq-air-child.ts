// One simulated node in its own process on the ZeroMQ air, driven by test/sim/zmq-air.test.ts:
//   node --import tsx test/sim/zmq-air-child.ts ENDPOINT tc|joiner SLOWDOWN
// Commands arrive as lines on stdin (join, report, quit); results leave as JSON lines on stdout.
import { createInterface } from 'node:readline';
import { bytesToHex } from '../../harness/crypto/bytes.ts';
import { VirtualAir } from '../../harness/sim/air.ts';
import { VirtualClock } from '../../harness/sim/clock.ts';
import { connectAir, SlowClock } from '../../harness/sim/zmq-air.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { Transcript } from '../../harness/stack/transcript.ts';
import { CHANNEL, DUT_EUI, INSTALL_CODE, NETWORK_KEY, PAN_ID, TC_EUI } from '../stack/helpers.ts';

const [endpoint, role, slowdown] = process.argv.slice(2);
const say = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ role, ...o }) + '\n');

/**
 * One join on an in-process virtual air first: the first run of the stack's code paths is slow
 * (V8 compiles lazily), and on real time that delay would eat the MAC ack windows.
 */
async function warmUp(): Promise<void> {
  const clock = new VirtualClock();
  const air = new VirtualAir(clock);
  const tc = new TrustCenter({ air, clock, eui64: TC_EUI });
  const dut = new Joiner({ air, clock, eui64: DUT_EUI, installCode: INSTALL_CODE });
  try {
    await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
    await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
    await tc.permitJoin(60);
    await dut.join({ channel: CHANNEL });
  } finally {
    tc.stop();
    dut.stop();
  }
}

async function main(): Promise<void> {
  if (!endpoint || (role !== 'tc' && role !== 'joiner')) throw new Error('usage: zmq-air-child.ts ENDPOINT tc|joiner [SLOWDOWN]');
  await warmUp();
  const clock = new SlowClock(Number(slowdown ?? 1));
  const air = await connectAir(endpoint, { clock });
  const transcript = new Transcript();
  const tc = role === 'tc' ? new TrustCenter({ air, clock, eui64: TC_EUI, transcript }) : undefined;
  const dut = role === 'joiner' ? new Joiner({ air, clock, eui64: DUT_EUI, installCode: INSTALL_CODE, transcript }) : undefined;
  if (tc) {
    await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
    await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
    await tc.permitJoin(120);
  }
  await air.sync();
  say({ event: 'ready' });

  const quit = async (code: number) => {
    tc?.stop();
    dut?.stop();
    await air.close();
    process.exit(code);
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = line.trim();
    if (cmd === 'join' && dut) {
      // Network steering tries again after a failed attempt (BDB §8.3); on a loaded host a
      // scheduling stall can still outlast a (slowed) MAC ack window now and then.
      let result = await dut.join({ channel: CHANNEL });
      let attempts = 1;
      for (; attempts < 3 && !result.joined; attempts++) {
        await dut.reset();
        result = await dut.join({ channel: CHANNEL });
      }
      say({ event: 'joined', result, attempts, transcript: result.joined ? undefined : transcript.lines() });
    } else if (cmd === 'report' && tc) {
      const keys = (await tc.keyTable()).map((k) => ({ eui64: k.eui64, kind: k.kind, verified: k.verified, key: bytesToHex(k.key) }));
      say({ event: 'report', keys, stats: air.stats });
    } else if (cmd === 'quit') {
      break;
    } else {
      say({ event: 'error', message: `unknown command ${JSON.stringify(cmd)} for ${role}` });
    }
  }
  await quit(0); // stdin closed (the test ended) or quit
}

main().catch((e: unknown) => {
  say({ event: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
  process.exit(1);
});
