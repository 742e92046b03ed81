// The nRF sniffer driver against the firmware emulator over a real socat pseudo-terminal pair.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceTimeoutError, RigUnavailableError } from '../../harness/rig/roles.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../../test/helpers/pty.ts';
import { SnifferLineError } from './protocol.ts';
import { closeBenches, macDataFrame, makeBench, replug, take, within, withoutFcs } from './testkit.ts';

warnIfSocatMissing();
afterEach(closeBenches);

/** Waits (real time, with a deadline) until `cond` holds. */
async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`test deadline: ${what} not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Drains frames() until it ends; returns the frames and the error it ended with. */
async function drain(frames: AsyncIterable<unknown>): Promise<{ count: number; error: unknown }> {
  let count = 0;
  try {
    for await (const _ of frames) count++;
    return { count, error: null };
  } catch (e) {
    return { count, error: e };
  }
}

describe.skipIf(!socatAvailable)(`nRF sniffer driver over a PTY (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('runs the extcap start sequence and delivers frames with PSDU (no FCS), channel, rssi and lqi', async () => {
    const b = await makeBench();
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    expect(b.emu.commands).toEqual(['sleep', 'shell echo off', 'channel 15', 'channel', 'receive', 'channel']);
    const tx = b.radio(15);
    const other = b.radio(20);
    const sent = [1, 2, 3, 4, 5].map((i) => macDataFrame(i, Uint8Array.from({ length: i * 7 }, (_, k) => k)));
    for (const [i, psdu] of sent.entries()) {
      await tx.transmit(psdu);
      if (i === 2) await other.transmit(macDataFrame(99)); // another channel: never heard
    }
    const got = await take(frames, 5);
    expect(got.map((f) => Buffer.from(f.psdu).toString('hex'))).toEqual(sent.map((p) => Buffer.from(withoutFcs(p)).toString('hex')));
    for (const f of got) {
      expect(f).toMatchObject({ fcsIncluded: false, channel: 15, rssi: -40, lqi: 255, heardBy: 'sniffer' });
    }
    expect(got.every((f, i) => i === 0 || f.timestampUs > got[i - 1].timestampUs)).toBe(true);
    expect(b.driver.stats).toMatchObject({ frames: 5, lineErrors: 0, garbageLines: 0 });

    const info = await within(3000, b.driver.probe(), 'probe()');
    expect(info).toMatchObject({ driver: 'nrf-sniffer', location: b.pair.a, channel: 15 });
    expect(info.notes?.some((n) => /DTR/.test(n))).toBe(true); // a PTY has no modem lines: noted, not fatal

    await within(3000, b.driver.stop(), 'stop()');
    expect(b.emu.commands.slice(-2)).toEqual(['sleep', 'channel']);
    expect((await within(1000, frames.next(), 'end of frames()')).done).toBe(true);
    const transcript = b.driver.takeTranscript();
    expect(transcript.some((l) => / > {2}sleep$/.test(l))).toBe(true);
    expect(transcript.some((l) => / < {2}shell echo off$/.test(l))).toBe(true); // echo, before it went off
    expect(transcript.some((l) => / < {2}received: /.test(l))).toBe(true);
    expect(b.driver.takeTranscript()).toEqual([]);
  });

  it('skips and counts garbage, NULs, cut and over-long lines, and keeps the frames around them', async () => {
    const b = await makeBench();
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    const before = { ...b.driver.stats }; // the start sequence's echo lines are "other" too
    const tx = b.radio(15);
    b.emu.injectRaw('\xff\xfe\x01\x02 noise\r\n');          // a garbage line
    b.emu.injectRaw('\x00\x00\x00');                        // NULs
    b.emu.injectRaw('received: 41c8000102 power:\r\n');     // a frame line cut short
    b.emu.injectRaw(`${'a'.repeat(700)}\r\n`);              // over the 512-byte bound
    await tx.transmit(macDataFrame(1));
    b.emu.injectRaw('received: 41c88');                     // a partial line, no ending: glued to the next frame
    await tx.transmit(macDataFrame(2));
    b.emu.injectRaw('<inf> usb_cdc: some log line\r\n');    // a printable log line: other
    await tx.transmit(macDataFrame(3));
    const got = await take(frames, 3);
    expect(got.map((f) => f.psdu[2])).toEqual([1, 2, 3]);
    expect(b.driver.stats).toMatchObject({ frames: 3, lineErrors: 1, garbageLines: 2, overlongLines: 1, nulBytes: 3 });
    expect(b.driver.stats.otherLines - before.otherLines).toBe(1);
    const t = b.driver.takeTranscript().join('\n');
    expect(t).toContain('<  \\xff\\xfe\\x01\\x02 noise');
    expect(t).toContain('3 NUL byte(s) dropped');
    expect(t).toContain('line longer than 512 bytes cut');
    expect(b.driver.lineErrors[0]).toBeInstanceOf(SnifferLineError);
    expect(b.driver.lineErrors[0]).toMatchObject({ field: 'power', reason: 'line ends before the power value' });
  });

  it('reports a frame line with bad hex as a typed error and delivers the next frame', async () => {
    const b = await makeBench();
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    b.emu.mangleNextFrame((l) => l.replace(/^received: ../, 'received: g1'));
    const tx = b.radio(15);
    await tx.transmit(macDataFrame(1));
    await tx.transmit(macDataFrame(2));
    const [f] = await take(frames, 1);
    expect(f.psdu[2]).toBe(2);
    expect(b.driver.stats.lineErrors).toBe(1);
    const e = b.driver.lineErrors[0];
    expect(e).toBeInstanceOf(SnifferLineError);
    expect(e).toMatchObject({ field: 'hex', column: 11 });
    expect(e.message).toMatch(/column 11 \(hex\): "g" is not a hex digit/);
    expect(b.driver.takeTranscript().some((l) => l.includes('"g" is not a hex digit'))).toBe(true);
  });

  it('ends frames() with RigUnavailableError naming the port when the dongle vanishes mid-stream', async () => {
    const b = await makeBench();
    const frames = b.driver.frames();
    await within(5000, b.driver.start(15), 'start(15)');
    const done = drain(frames);
    await b.radio(15).transmit(macDataFrame(1));
    await until(() => b.driver.stats.frames === 1, 'first frame');
    await b.emu.vanish();
    const { count, error } = await within(5000, done, 'frames() to end');
    expect(count).toBe(1);
    expect(error).toBeInstanceOf(RigUnavailableError);
    expect((error as Error).message).toContain(b.pair.a);
    expect((error as Error).message).toMatch(/port closed.*re-opened 2 time\(s\).*no powerCycle for the role nor power\.cycle in the rig file/);
    const t = b.driver.takeTranscript().join('\n');
    expect(t).toMatch(/port closed \(device gone\)/);
    expect(t).toMatch(/open failed: .*not plugged in/);
    await within(2000, b.driver.stop(), 'stop() after the loss'); // nothing left to hang on
  });

  it('re-opens the port when the dongle comes back at the same path and goes on capturing', async () => {
    const b = await makeBench({ driver: { reopen: { attempts: 20, firstDelayMs: 20, maxDelayMs: 50 } } });
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    const tx = b.radio(15);
    await tx.transmit(macDataFrame(1));
    await take(frames, 1);
    await b.emu.vanish();
    const plugged = await replug(b); // same path, firmware booted with echo on, radio asleep
    try {
      await until(() => b.driver.stats.recoveries === 1, 'recovery', 5000);
      expect(plugged.emu.commands).toEqual(['sleep', 'shell echo off', 'channel 15', 'channel', 'receive', 'channel']);
      await tx.transmit(macDataFrame(2));
      const [f] = await take(frames, 1);
      expect(f.psdu[2]).toBe(2);
      expect(b.driver.takeTranscript().join('\n')).toMatch(/recovered by re-open \d+\/20/);
    } finally {
      await plugged.close();
    }
  });

  it('power-cycles through the rig command when re-opening fails, then gets the dongle back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-pc-'));
    const marker = path.join(dir, 'cycled');
    const b = await makeBench({
      driver: { reopen: { attempts: 1, firstDelayMs: 10, maxDelayMs: 10 }, powerCycle: { command: `touch '${marker}'`, reappearMs: 5000 } },
    });
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    await b.emu.vanish();
    await until(() => fs.existsSync(marker), 'power.cycle command to run');
    const plugged = await replug(b, { counter: { start: 0n } }); // the hub port powers the dongle again: counter from 0
    try {
      await until(() => b.driver.stats.recoveries === 1, 'recovery after the power cycle', 30_000);
      await b.radio(15).transmit(macDataFrame(7));
      const [f] = await take(frames, 1);
      expect(f.psdu[2]).toBe(7);
      const t = b.driver.takeTranscript().join('\n');
      expect(t).toMatch(/power-cycling: touch/);
      expect(t).toMatch(/recovered by power cycle/);
    } finally {
      await plugged.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what the power cycle did when it fails too', async () => {
    const b = await makeBench({ driver: { reopen: { attempts: 1, firstDelayMs: 10, maxDelayMs: 10 }, powerCycle: { command: 'echo "hub 1-1 not found" >&2; exit 3' } } });
    const frames = b.driver.frames();
    await within(5000, b.driver.start(15), 'start(15)');
    const done = drain(frames);
    await b.emu.vanish();
    const { error } = await within(5000, done, 'frames() to end');
    expect(error).toBeInstanceOf(RigUnavailableError);
    expect((error as Error).message).toMatch(/re-opened 1 time\(s\) and power-cycled; last error: .* exited with 3: hub 1-1 not found/);
  });

  it('keeps a quiet channel alive: liveness probes are answered and nothing is recovered', async () => {
    const b = await makeBench({ driver: { idleProbeMs: 60 } });
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    await new Promise((r) => setTimeout(r, 400)); // several probe periods without a frame
    await b.radio(15).transmit(macDataFrame(5));
    const [f] = await take(frames, 1);
    expect(f.psdu[2]).toBe(5);
    expect(b.driver.stats.recoveries).toBe(0);
    expect(b.driver.takeTranscript().filter((l) => l.includes('[liveness probe]')).length).toBeGreaterThanOrEqual(2);
  });

  it('gives DeviceTimeoutError from probe() when the firmware stops answering', async () => {
    const b = await makeBench({ driver: { replyTimeoutMs: 300 } });
    b.emu.setMute(true);
    const err = await within(3000, b.driver.probe().then(() => null, (e: unknown) => e), 'probe() to fail');
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect(err).toMatchObject({ role: 'sniffer', step: 'probe', deadlineMs: 300 });
    expect((err as Error).message).toContain(`answer to "channel" from ${b.pair.a}`);
  });

  it('notices a mute firmware while capturing (liveness probe), runs the ladder and ends with RigUnavailableError', async () => {
    const b = await makeBench({ driver: { replyTimeoutMs: 200, idleProbeMs: 150, reopen: { attempts: 1, firstDelayMs: 10, maxDelayMs: 10 } } });
    const frames = b.driver.frames();
    await within(5000, b.driver.start(15), 'start(15)');
    const done = drain(frames);
    b.emu.setMute(true);
    const { error } = await within(5000, done, 'frames() to end');
    expect(error).toBeInstanceOf(RigUnavailableError);
    expect((error as Error).message).toMatch(/liveness probe: no answer to "channel".*re-opened 1 time/);
    expect(b.driver.takeTranscript().join('\n')).toMatch(/channel {3}\[liveness probe\]/);
  });

  it('fails start() with RigUnavailableError naming the port when nothing is there', async () => {
    const b = await makeBench();
    await b.pair.unplug();
    const err = await within(5000, b.driver.start(15).then(() => null, (e: unknown) => e), 'start() to fail');
    expect(err).toBeInstanceOf(RigUnavailableError);
    expect((err as Error).message).toContain(b.pair.a);
    await expect(within(1000, b.driver.frames()[Symbol.asyncIterator]().next(), 'frames()')).rejects.toBe(err);
  });
});
