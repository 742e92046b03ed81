// `sehil devices [--all] [--json]`: the serial devices plugged into this host, which radios they
// are, and the stable path to put in a rig file. Reads /sys (no udevadm needed: devices/discovery.ts).
import { parseArgs } from 'node:util';
import { discoverSerialDevices, preferredPath, type Discovery, type SerialDevice } from '../../../devices/discovery.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';

const USAGE = 'devices [--all] [--json]';

function describeDevice(d: SerialDevice): string {
  const id = d.usb ? `${d.usb.vid}:${d.usb.pid}` : 'not USB';
  const lines = [`${d.devPath}  ${id}  ${d.known?.name ?? (d.usb ? 'unknown device' : 'serial port')}`];
  if (d.usb) {
    const who = [d.usb.manufacturer, d.usb.product].filter(Boolean).join(' / ');
    lines.push(`    usb ${d.usb.location}${d.usb.serial ? `  serial ${d.usb.serial}` : ''}${who ? `  (${who})` : ''}${d.kernelDriver ? `  driver ${d.kernelDriver}` : ''}`);
  }
  for (const l of d.byId) lines.push(`    by-id ${l}`);
  if (d.known) lines.push(`    → ${d.known.hint}; rig port: ${preferredPath(d)}`);
  return lines.join('\n');
}

function human(r: Discovery, all: boolean): string {
  const out = r.devices.length > 0
    ? r.devices.map(describeDevice)
    : [`no ${all ? '' : 'USB '}serial devices found (read /sys/class/tty${all ? '' : '; --all lists other serial ports too'})`];
  for (const p of r.problems) out.push(`problem: ${p}`);
  return out.join('\n');
}

export const devices: Command = {
  words: ['devices'],
  usage: USAGE,
  summary: 'list serial devices (USB VID:PID, serial number, /dev/serial/by-id path) and name the radios it knows',
  async run(args: string[], io: CliIO): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          json: { type: 'boolean', default: false },
          all: { type: 'boolean', default: false },
          // For tests and odd systems: read another /sys and /dev tree.
          'sys-root': { type: 'string', default: '/sys' },
          'dev-root': { type: 'string', default: '/dev' },
        },
      }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const r = discoverSerialDevices({ sysRoot: values['sys-root'], devRoot: values['dev-root'], all: values.all });
    io.out(values.json ? JSON.stringify(r, null, 2) : human(r, values.all));
    return EXIT.ok;
  },
};
