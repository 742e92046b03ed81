import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../harness/run/cli.ts';
import { discoverSerialDevices, identify, preferredPath } from './discovery.ts';

const roots: string[] = [];
afterEach(() => { for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true }); });

/**
 * A fake /sys and /dev laid out as Linux does it: cdc_acm ttys hang off the USB interface,
 * usb-serial ttys (cp210x) off a port directory under it; /sys/class/tty entries are symlinks.
 */
function fakeTree(): { sys: string; dev: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-sys-'));
  roots.push(root);
  const sys = path.join(root, 'sys');
  const dev = path.join(root, 'dev');
  const usb = path.join(sys, 'devices/pci0000:00/0000:00:14.0/usb1');
  const write = (dir: string, attrs: Record<string, string>) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const [k, v] of Object.entries(attrs)) fs.writeFileSync(path.join(dir, k), `${v}\n`);
  };
  const drivers = path.join(sys, 'bus/usb/drivers');
  for (const d of ['cdc_acm', 'cp210x']) fs.mkdirSync(path.join(drivers, d), { recursive: true });
  const classTty = path.join(sys, 'class/tty');
  fs.mkdirSync(classTty, { recursive: true });
  /** A tty whose `device` link points at `deviceDir`, registered in /sys/class/tty. */
  const tty = (name: string, deviceDir: string, driver?: string) => {
    const ttyDir = path.join(deviceDir, 'tty', name);
    fs.mkdirSync(ttyDir, { recursive: true });
    fs.symlinkSync(path.relative(ttyDir, deviceDir), path.join(ttyDir, 'device'));
    fs.symlinkSync(path.relative(classTty, ttyDir), path.join(classTty, name));
    if (driver) fs.symlinkSync(path.relative(deviceDir, path.join(drivers, driver)), path.join(deviceDir, 'driver'));
  };

  // nRF52840 dongle with the sniffer firmware (cdc_acm).
  write(path.join(usb, '1-1'), { idVendor: '1915', idProduct: '154b', serial: 'F1E2D3C4B5A6', manufacturer: 'Nordic Semiconductor ASA', product: 'nRF 802154 Sniffer' });
  tty('ttyACM0', path.join(usb, '1-1/1-1:1.0'), 'cdc_acm');
  // EFR32 stick behind a CP2102N (usb-serial: interface → ttyUSB0 port dir → tty).
  write(path.join(usb, '1-2'), { idVendor: '10c4', idProduct: 'ea60', serial: '9a7c1b2d', manufacturer: 'Silicon Labs', product: 'CP2102N USB to UART Bridge Controller' });
  fs.mkdirSync(path.join(usb, '1-2/1-2:1.0/ttyUSB0'), { recursive: true });
  tty('ttyUSB0', path.join(usb, '1-2/1-2:1.0/ttyUSB0'), 'cp210x');
  // Something nobody knows, behind a hub port (no serial, no by-id link).
  write(path.join(usb, '1-3/1-3.4'), { idVendor: 'abcd', idProduct: '0123' });
  tty('ttyACM1', path.join(usb, '1-3/1-3.4/1-3.4:1.0'), 'cdc_acm');
  // A motherboard 8250 UART (not USB) and a virtual console (no device at all).
  fs.mkdirSync(path.join(sys, 'devices/platform/serial8250'), { recursive: true });
  tty('ttyS0', path.join(sys, 'devices/platform/serial8250'));
  fs.mkdirSync(path.join(sys, 'devices/virtual/tty/tty0'), { recursive: true });
  fs.symlinkSync(path.relative(classTty, path.join(sys, 'devices/virtual/tty/tty0')), path.join(classTty, 'tty0'));

  const byId = path.join(dev, 'serial/by-id');
  fs.mkdirSync(byId, { recursive: true });
  fs.symlinkSync('../../ttyACM0', path.join(byId, 'usb-Nordic_Semiconductor_ASA_nRF_802154_Sniffer_F1E2D3C4B5A6-if00'));
  fs.symlinkSync('../../ttyUSB0', path.join(byId, 'usb-Silicon_Labs_CP2102N_USB_to_UART_Bridge_Controller_9a7c1b2d-if00-port0'));
  return { sys, dev };
}

describe('serial device discovery over /sys', () => {
  it('finds and names an nRF sniffer, a CP210x and an unknown device, with serials and by-id links', () => {
    const { sys, dev } = fakeTree();
    const r = discoverSerialDevices({ sysRoot: sys, devRoot: dev });
    expect(r.problems).toEqual([]);
    expect(r.devices.map((d) => d.tty)).toEqual(['ttyACM0', 'ttyACM1', 'ttyUSB0']);
    const [nrf, unknown, cp] = r.devices;
    expect(nrf).toMatchObject({
      devPath: path.join(dev, 'ttyACM0'), kernelDriver: 'cdc_acm',
      usb: { vid: '1915', pid: '154B', serial: 'F1E2D3C4B5A6', manufacturer: 'Nordic Semiconductor ASA', product: 'nRF 802154 Sniffer', location: '1-1' },
      known: { name: 'nRF Sniffer for 802.15.4 (NCS firmware)' },
    });
    expect(preferredPath(nrf)).toBe(path.join(dev, 'serial/by-id/usb-Nordic_Semiconductor_ASA_nRF_802154_Sniffer_F1E2D3C4B5A6-if00'));
    expect(cp).toMatchObject({ kernelDriver: 'cp210x', usb: { vid: '10C4', pid: 'EA60', serial: '9a7c1b2d', location: '1-2' }, known: { name: 'Silicon Labs CP210x USB-UART bridge' } });
    expect(cp.byId).toHaveLength(1);
    expect(unknown).toMatchObject({ usb: { vid: 'ABCD', pid: '0123', location: '1-3.4' }, byId: [] });
    expect(unknown.known).toBeUndefined();
    expect(unknown.usb?.serial).toBeUndefined();
    expect(preferredPath(unknown)).toBe(path.join(dev, 'ttyACM1'));
  });

  it('lists non-USB serial ports only with `all`, and never virtual consoles', () => {
    const { sys, dev } = fakeTree();
    const r = discoverSerialDevices({ sysRoot: sys, devRoot: dev, all: true });
    expect(r.devices.map((d) => d.tty)).toEqual(['ttyACM0', 'ttyACM1', 'ttyS0', 'ttyUSB0']);
    expect(r.devices[2].usb).toBeUndefined();
  });

  it('reports what it cannot read instead of throwing', () => {
    const r = discoverSerialDevices({ sysRoot: path.join(os.tmpdir(), 'sehil-no-such-sys'), devRoot: '/nonexistent' });
    expect(r.devices).toEqual([]);
    expect(r.problems[0]).toMatch(/cannot list .*class\/tty/);
    expect(() => discoverSerialDevices()).not.toThrow(); // this machine's real /sys, whatever is on it
  });

  it('knows the IDs radios.md lists, vendor-wide entries last', () => {
    expect(identify('1915', '521f')?.name).toMatch(/DFU bootloader/);
    expect(identify('1915', '0100')?.name).toMatch(/shell over USB/);
    expect(identify('1915', 'ffff')?.name).toBe('Nordic Semiconductor device');
    expect(identify('1366', '1015')?.name).toMatch(/J-Link/);
    expect(identify('0403', '6015')?.name).toMatch(/FTDI FT-X/);
    expect(identify('dead', 'beef')).toBeUndefined();
  });

  it('`sehil devices --json` prints one JSON document; the human form names the rig port', async () => {
    const { sys, dev } = fakeTree();
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(`ERR ${t}`) };
    expect(await main(['devices', '--json', '--sys-root', sys, '--dev-root', dev], io)).toBe(0);
    expect(out).toHaveLength(1);
    const doc = JSON.parse(out[0]) as { devices: { tty: string; known?: { name: string } }[]; problems: string[] };
    expect(doc.devices.map((d) => [d.tty, d.known?.name ?? null])).toEqual([
      ['ttyACM0', 'nRF Sniffer for 802.15.4 (NCS firmware)'], ['ttyACM1', null], ['ttyUSB0', 'Silicon Labs CP210x USB-UART bridge'],
    ]);
    out.length = 0;
    expect(await main(['devices', '--sys-root', sys, '--dev-root', dev], io)).toBe(0);
    expect(out[0]).toContain('1915:154B  nRF Sniffer for 802.15.4 (NCS firmware)');
    expect(out[0]).toContain('→ sniffer role: driver nrf-sniffer (64-bit timestamps); rig port: ' + path.join(dev, 'serial/by-id/usb-Nordic'));
    expect(out[0]).toContain('ABCD:0123  unknown device');
    out.length = 0;
    expect(await main(['devices', '--bogus'], io)).toBe(2);
    expect(out[0]).toMatch(/^ERR sehil devices: .*bogus/);
  });
});
