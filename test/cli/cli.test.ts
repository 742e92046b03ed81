import { describe, expect, it } from 'vitest';
import { main } from '../../harness/run/cli.ts';
import { captureIO } from '../helpers/cli-io.ts';


describe('sehil CLI dispatch', () => {
  it('prints help and exits 0 on --help', async () => {
    const io = captureIO();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout).toContain('Usage:');
  });
  it('exits 2 with a message on an unknown command', async () => {
    const io = captureIO();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.stderr).toContain('unknown command "frobnicate"');
  });
});
