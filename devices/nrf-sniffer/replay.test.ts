// Record a session over a real PTY, then feed the recording back through a fresh driver: the
// same frames with the same timestamps, the same error reports, nothing left over.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RadioFrame } from '../../harness/rig/roles.ts';
import { RealClock } from '../../harness/sim/clock.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../../test/helpers/pty.ts';
import { NrfSnifferDriver } from './driver.ts';
import { parseTranscript, readTranscript, TranscriptFormatError } from './transcript.ts';
import { replayTranscript } from './transport.ts';
import { closeBenches, macDataFrame, makeBench, take, within } from './testkit.ts';

warnIfSocatMissing();
const dirs: string[] = [];
const drivers: NrfSnifferDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => within(3000, d.close(), 'replay driver close()').catch(() => {})));
  await closeBenches();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-rec-'));
  dirs.push(dir);
  return path.join(dir, name);
}

const view = (f: RadioFrame) => ({ ...f, psdu: Buffer.from(f.psdu).toString('hex') });

describe.skipIf(!socatAvailable)(`nRF sniffer record/replay (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('replays a recorded session through the driver: same frames, timestamps, errors and counts', async () => {
    const file = tmpFile('session.jsonl');
    const counter: { bits: 32; start: bigint } = { bits: 32, start: 0n };
    const b = await makeBench({ emulator: { counter }, driver: { counterBits: 32, recordTo: file } });
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    counter.start = 2n ** 32n - BigInt(Math.round(b.clock.now() * 1000)) - 40_000n; // the 32-bit counter wraps 40 ms from now
    const tx = b.radio(15);
    b.emu.injectRaw('\xff\x00garbage\r\n');
    await tx.transmit(macDataFrame(1));
    b.emu.mangleNextFrame((l) => l.replace('power:', 'powr:'));
    await tx.transmit(macDataFrame(2));
    for (let i = 3; i <= 6; i++) { await tx.transmit(macDataFrame(i)); await b.clock.sleep(25); }
    const live = await take(frames, 5);
    await within(3000, b.driver.stop(), 'stop()');
    await b.driver.close();

    const { header, entries } = readTranscript(file);
    expect(header).toMatchObject({ format: 'sehil-serial-transcript', version: 1, driver: 'nrf-sniffer', location: b.pair.a });
    expect(entries.filter((e) => e.dir === 'tx').map((e) => e.line)).toEqual(
      ['', 'sleep', 'shell echo off', 'channel 15', 'channel', 'receive', 'channel', '', 'sleep', 'channel']);

    const replay = replayTranscript(entries, b.pair.a);
    const again = new NrfSnifferDriver({ port: b.pair.a, clock: new RealClock(), counterBits: 32, source: replay.opener, idleProbeMs: 0, quietMs: 10 });
    drivers.push(again);
    const it2 = again.frames()[Symbol.asyncIterator]();
    await within(3000, again.start(15), 'replayed start(15)');
    const replayed = await take(it2, 5);
    await within(3000, again.stop(), 'replayed stop()');
    expect(replayed.map(view)).toEqual(live.map(view));
    expect(again.stats).toEqual(b.driver.stats);
    expect(again.lineErrors.map((e) => [e.field, e.column, e.reason])).toEqual([['power', b.driver.lineErrors[0].column, 'expected "power:", got "powr:"']]);
    expect(again.stats.counterWraps).toBe(1);
    expect(replay.remaining()).toBe(0);
  });

  it('fails with the mismatch when the driver does not do what the recording did', async () => {
    const file = tmpFile('session.jsonl');
    const b = await makeBench({ driver: { recordTo: file } });
    await within(5000, b.driver.start(15), 'start(15)');
    await within(3000, b.driver.stop(), 'stop()');
    await b.driver.close();
    const replay = replayTranscript(readTranscript(file).entries);
    const again = new NrfSnifferDriver({
      port: 'replay', clock: new RealClock(), source: replay.opener, idleProbeMs: 0, quietMs: 10, reopen: { attempts: 0 },
    });
    drivers.push(again);
    const err = await within(3000, again.start(16).then(() => null, (e: unknown) => e), 'replayed start(16) to fail');
    expect((err as Error).name).toBe('RigUnavailableError');
    expect((err as Error).message).toMatch(/replay: entry \d+ expected tx "channel 15", the driver sent "channel 16"/);
  });
});

describe('transcript files', () => {
  it('name the line and what is wrong with a bad recording', () => {
    const head = '{"format":"sehil-serial-transcript","version":1,"driver":"nrf-sniffer","location":"x","started":"t"}';
    expect(() => parseTranscript('', 'a.jsonl')).toThrow(TranscriptFormatError);
    expect(() => parseTranscript('{"format":"pcap"}', 'a.jsonl')).toThrow(/a.jsonl:1: expected format "sehil-serial-transcript" version 1/);
    expect(() => parseTranscript(`${head}\n{"t":1,"dir":"rx","line":"ok"}\nnot json`, 'a.jsonl')).toThrow(/a.jsonl:3: not a JSON object/);
    expect(() => parseTranscript(`${head}\n{"t":1,"dir":"sideways","line":"x"}`, 'a.jsonl')).toThrow(/a.jsonl:2: expected \{"t": number, "dir": one of tx\|rx/);
    expect(() => parseTranscript(`${head}\n{"t":1,"dir":"rx-nul"}`, 'a.jsonl')).toThrow(/a.jsonl:2: "count" must be a number/);
    expect(parseTranscript(`${head}\n{"t":1,"dir":"rx","line":"ok"}\n`).entries).toEqual([{ t: 1, dir: 'rx', line: 'ok' }]);
  });
});
