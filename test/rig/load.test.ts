import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRigFile, parseRig, RigFileError } from '../../harness/rig/load.ts';
import { powerCycleCommand } from '../../harness/rig/schema.ts';
import { RIG_SCHEMA_PATH, renderRigJsonSchema } from '../../harness/rig/write-schema.ts';

function problems(text: string): string[] {
  try {
    parseRig(text, 'rigs/bad.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(RigFileError);
    return (e as RigFileError).problems;
  }
  throw new Error('expected the rig file to be refused');
}

const base = (roles: string, extra = '') => `name: t\nchannel: 15\n${extra}roles:\n${roles}`;
const simRoles = '  tc: {driver: sim}\n  dut: {driver: sim}\n  sniffer: {driver: sim}\n';

describe('rig files', () => {
  it('loads every rig shipped in rigs/', () => {
    const files = readdirSync('rigs').filter((f) => f.endsWith('.yaml'));
    expect(files).toContain('sim.yaml');
    for (const f of files) expect(() => loadRigFile(`rigs/${f}`), f).not.toThrow();
  });
  it('fills defaults: virtual clock, compliant profiles', () => {
    const rig = parseRig(base(simRoles));
    expect(rig.clock).toBe('virtual');
    expect(rig.roles.tc).toMatchObject({ driver: 'sim', profile: 'compliant' });
  });
  it('names the line, the field path and the allowed values of each problem', () => {
    const p = problems(base('  tc: {driver: sim}\n  dut:\n    driver: nrf-snifer\n  sniffer:\n    driver: nrf-sniffer\n', 'clock: real\n').replace('channel: 15', 'channel: 30'));
    expect(p).toEqual([
      'line 2: channel: must be a 2.4 GHz channel 11..26',
      'line 7: roles.dut.driver: unknown driver "nrf-snifer"; allowed: sim, nrf-sniffer, nrf-zigbee-shell, ember-cli, remote, operator',
      'line 9: roles.sniffer.port: required: the serial device, e.g. /dev/ttyACM0 or /dev/serial/by-id/usb-…',
    ]);
  });
  it('refuses unknown fields, bad enums and role combinations that cannot work', () => {
    expect(problems(base(simRoles, 'colour: red\n'))).toEqual(['line 1: (top level): unknown field "colour"']);
    expect(problems(base(simRoles, 'clock: sometimes\n'))[0]).toBe('line 3: clock: must be one of "virtual", "real"');
    expect(problems(base('  tc: {driver: sim}\n  dut: {driver: sim}\n  sniffer: {driver: ember-cli, port: /dev/ttyUSB0}\n', 'clock: real\n')))
      .toEqual(['roles.sniffer.driver: "ember-cli" cannot sniff; allowed: sim, nrf-sniffer, remote']);
    expect(problems(base('  tc: {driver: sim}\n  dut: {driver: nrf-zigbee-shell, port: /dev/ttyACM0}\n  sniffer: {driver: sim}\n')))
      .toEqual(['roles.dut.driver: "nrf-zigbee-shell" needs clock: real (virtual time only works when every role is simulated)']);
  });
  it('power cycling per role: a serial role\'s own powerCycle, else the rig-wide power.cycle; an empty one is refused', () => {
    const roles = '  tc: {driver: ember-cli, port: /dev/ttyUSB0}\n  dut: {driver: nrf-zigbee-shell, port: /dev/ttyACM1, powerCycle: uhubctl -l 1-1 -p 3 -a cycle}\n  sniffer: {driver: nrf-sniffer, port: /dev/ttyACM0, powerCycle: uhubctl -l 1-1 -p 4 -a cycle}\n';
    const rig = parseRig(base(roles, 'clock: real\npower: {cycle: uhubctl -l 1-1 -a cycle}\n'));
    expect(powerCycleCommand(rig.roles.dut as { powerCycle?: string }, rig)).toBe('uhubctl -l 1-1 -p 3 -a cycle');
    expect(powerCycleCommand(rig.roles.sniffer as { powerCycle?: string }, rig)).toBe('uhubctl -l 1-1 -p 4 -a cycle');
    expect(powerCycleCommand(rig.roles.tc as { powerCycle?: string }, rig)).toBe('uhubctl -l 1-1 -a cycle');
    const alone = parseRig(base(roles, 'clock: real\n'));
    expect(powerCycleCommand(alone.roles.tc as { powerCycle?: string }, alone)).toBeUndefined();
    expect(problems(base(roles.replace('powerCycle: uhubctl -l 1-1 -p 3 -a cycle', 'powerCycle: ""'), 'clock: real\n'))[0]).toMatch(/roles\.dut\.powerCycle/);
    expect(problems(base('  tc: {driver: sim, powerCycle: x}\n  dut: {driver: sim}\n  sniffer: {driver: sim}\n'))[0]).toMatch(/roles\.tc.*unknown field "powerCycle"/);
  });
  it('reports YAML syntax errors with their line, and a missing file clearly', () => {
    expect(problems('name: x\nroles: [\n')[0]).toMatch(/^line \d+: YAML syntax: /);
    expect(() => loadRigFile('rigs/nope.yaml')).toThrow('rigs/nope.yaml: no such rig file');
  });
  it('keeps rigs/rig.schema.json in step with the schema (regenerate: npx tsx harness/rig/write-schema.ts)', () => {
    expect(readFileSync(RIG_SCHEMA_PATH, 'utf8')).toBe(renderRigJsonSchema());
  });
});
