// Which serial devices are plugged in, and which of them are radios we know. Reads /sys directly:
// `SerialPort.list()` spawns udevadm, which containers and CI lack ("spawn udevadm ENOENT",
// radios.md "Verified on these machines"). Never throws: what it cannot read becomes a problem
// line in the result.
//
// Linux layout: /sys/class/tty/<tty>/device links to the USB interface (cdc_acm: …/1-2:1.0) or
// to a usb-serial port under it (cp210x, ftdi_sio: …/1-2:1.0/ttyUSB0); the USB device with
// idVendor, idProduct, serial, manufacturer, product is the first parent directory holding
// idVendor, and its name ("1-2", "1-1.4") is the location uhubctl takes (radios.md §7.1).
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface KnownDongle {
  vid: string;
  /** Omitted: any product of that vendor. */
  pid?: string;
  name: string;
  /** What to do with it in a rig. */
  hint: string;
  source: string;
}

/** VID:PID → what it is. More specific entries first. */
export const KNOWN_DONGLES: readonly KnownDongle[] = [
  { vid: '1915', pid: '154B', name: 'nRF Sniffer for 802.15.4 (NCS firmware)', hint: 'sniffer role: driver nrf-sniffer (64-bit timestamps)',
    source: 'NordicSemiconductor/nRF-Sniffer-for-802.15.4@e459feb:nrf802154_sniffer/nrf802154_sniffer.py SNIFFER_802154_PID (radios.md §1.1)' },
  { vid: '1915', pid: '154A', name: 'nRF Sniffer for 802.15.4 (pre-NCS firmware)', hint: 'sniffer role: driver nrf-sniffer (32-bit timestamps); consider the NCS firmware',
    source: 'nrf802154_sniffer.py before commit 229b4a6 (radios.md §1.1)' },
  { vid: '1915', pid: '0100', name: 'nRF Connect SDK shell over USB CDC (e.g. Zigbee shell)', hint: 'tc or dut role: driver nrf-zigbee-shell',
    source: 'radios.md §8 (NCS shell-USB 1915:0100)' },
  { vid: '1915', pid: '0001', name: 'nRF Connect SDK NCP dongle', hint: 'ZBOSS NCP (radios.md §2.3); not a shell',
    source: 'radios.md §8 (NCS NCP dongle 1915:0001)' },
  { vid: '1915', pid: '521F', name: 'Nordic Open DFU bootloader (nRF52840 dongle)', hint: 'in the bootloader: flash an image with nrfutil (radios.md §7.2)',
    source: 'NordicSemiconductor/pc-nrfconnect-shared:src/Device/sdfuOperations.ts (radios.md §7.2)' },
  { vid: '1915', name: 'Nordic Semiconductor device', hint: 'unknown Nordic firmware: check `channel` answers before using it as a sniffer',
    source: 'USB VID 0x1915 = Nordic Semiconductor (nrf802154_sniffer.py NORDICSEMI_VID)' },
  { vid: '10C4', pid: 'EA60', name: 'Silicon Labs CP210x USB-UART bridge', hint: 'EFR32 dongles (e.g. SkyConnect/ZBT-1) sit behind it: tell them apart by USB serial',
    source: 'torvalds/linux:drivers/usb/serial/cp210x.c id_table (radios.md §8: match EFR32 bridges by serial)' },
  { vid: '1A86', pid: '55D4', name: 'WCH CH9102 USB-UART bridge', hint: 'EFR32 dongles (e.g. Sonoff ZBDongle-E) sit behind it: tell them apart by USB serial',
    source: 'WCH ch343ser Linux driver id table ("ch9102 chip"); radios.md §8' },
  { vid: '1366', name: 'SEGGER J-Link (e.g. an nRF DK interface MCU)', hint: 'its VCOM is not the sniffer: the nRF sniffer enumerates on the nRF USB port (radios.md §1.1)',
    source: 'SEGGER J-Link udev rules 99-jlink.rules (ATTRS{idVendor}=="1366")' },
  { vid: '0403', pid: '6001', name: 'FTDI FT232R USB-UART', hint: 'a UART bridge: check what is wired behind it', source: 'torvalds/linux:drivers/usb/serial/ftdi_sio_ids.h FTDI_8U232AM_PID' },
  { vid: '0403', pid: '6010', name: 'FTDI FT2232 USB-UART', hint: 'a UART bridge: check what is wired behind it', source: 'torvalds/linux:drivers/usb/serial/ftdi_sio_ids.h FTDI_8U2232C_PID' },
  { vid: '0403', pid: '6014', name: 'FTDI FT232H USB-UART', hint: 'a UART bridge: check what is wired behind it', source: 'torvalds/linux:drivers/usb/serial/ftdi_sio_ids.h FTDI_232H_PID' },
  { vid: '0403', pid: '6015', name: 'FTDI FT-X USB-UART', hint: 'a UART bridge: check what is wired behind it', source: 'torvalds/linux:drivers/usb/serial/ftdi_sio_ids.h FTDI_FTX_PID' },
];

export function identify(vid: string, pid: string): KnownDongle | undefined {
  const v = vid.toUpperCase(), p = pid.toUpperCase();
  return KNOWN_DONGLES.find((k) => k.vid === v && (k.pid === undefined || k.pid === p));
}

export interface UsbInfo {
  vid: string;
  pid: string;
  serial?: string;
  manufacturer?: string;
  product?: string;
  /** USB device name in /sys ("1-2", "1-1.4"): the hub location uhubctl takes. */
  location: string;
}

export interface SerialDevice {
  tty: string;
  /** The device node, e.g. /dev/ttyACM0. */
  devPath: string;
  /** Stable links to it under /dev/serial/by-id (use these in rig files). */
  byId: string[];
  /** Kernel driver of the tty's interface (cdc_acm, cp210x, ftdi_sio …). */
  kernelDriver?: string;
  usb?: UsbInfo;
  known?: KnownDongle;
}

export interface Discovery {
  devices: SerialDevice[];
  /** What could not be read, one line each; never fatal. */
  problems: string[];
}

export interface DiscoveryOptions {
  /** Default /sys; tests pass a fake tree. */
  sysRoot?: string;
  /** Default /dev. */
  devRoot?: string;
  /** Also list ttys that are not on USB (e.g. the 8250 UARTs every PC reports). */
  all?: boolean;
}

function readAttr(dir: string, name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function usbDeviceOf(start: string, stopAt: string): { dir: string; info: UsbInfo } | undefined {
  let dir = start;
  for (let depth = 0; depth < 8 && dir.startsWith(stopAt) && dir !== stopAt; depth++, dir = path.dirname(dir)) {
    const vid = readAttr(dir, 'idVendor');
    const pid = readAttr(dir, 'idProduct');
    if (vid && pid) {
      const info: UsbInfo = { vid: vid.toUpperCase(), pid: pid.toUpperCase(), location: path.basename(dir) };
      for (const k of ['serial', 'manufacturer', 'product'] as const) {
        const v = readAttr(dir, k);
        if (v) info[k] = v;
      }
      return { dir, info };
    }
  }
  return undefined;
}

function byIdLinks(devRoot: string, problems: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const dir = path.join(devRoot, 'serial', 'by-id');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out; // no udev, or nothing plugged in: not a problem
  }
  for (const n of names.sort()) {
    try {
      const target = path.basename(path.resolve(dir, fs.readlinkSync(path.join(dir, n))));
      out.set(target, [...(out.get(target) ?? []), path.join(dir, n)]);
    } catch (e) {
      problems.push(`${path.join(dir, n)}: ${(e as Error).message}`);
    }
  }
  return out;
}

export function discoverSerialDevices(opts: DiscoveryOptions = {}): Discovery {
  const sysRoot = opts.sysRoot ?? '/sys';
  const devRoot = opts.devRoot ?? '/dev';
  const problems: string[] = [];
  const classDir = path.join(sysRoot, 'class', 'tty');
  let ttys: string[];
  try {
    ttys = fs.readdirSync(classDir);
  } catch (e) {
    return { devices: [], problems: [`cannot list ${classDir}: ${(e as Error).message}`] };
  }
  let sysReal = sysRoot;
  try { sysReal = fs.realpathSync(sysRoot); } catch { /* reported through classDir above */ }
  const links = byIdLinks(devRoot, problems);
  const devices: SerialDevice[] = [];
  for (const tty of ttys.sort()) {
    const link = path.join(classDir, tty, 'device');
    try {
      if (!fs.existsSync(link)) continue; // virtual consoles, ptys: no hardware behind them
      const deviceDir = fs.realpathSync(link);
      const usb = usbDeviceOf(deviceDir, sysReal);
      if (!usb && !opts.all) continue;
      const d: SerialDevice = { tty, devPath: path.join(devRoot, tty), byId: links.get(tty) ?? [] };
      // cdc_acm: the interface itself has the driver link; usb-serial: the port dir has it.
      for (const dir of [deviceDir, path.dirname(deviceDir)]) {
        const drv = path.join(dir, 'driver');
        if (fs.existsSync(drv)) { d.kernelDriver = path.basename(fs.realpathSync(drv)); break; }
      }
      if (usb) {
        d.usb = usb.info;
        const known = identify(usb.info.vid, usb.info.pid);
        if (known) d.known = known;
      }
      devices.push(d);
    } catch (e) {
      problems.push(`${path.join(classDir, tty)}: ${(e as Error).message}`);
    }
  }
  return { devices, problems };
}

/** The path a rig file should use: the by-id link when there is one (it survives replugs). */
export function preferredPath(d: SerialDevice): string {
  return d.byId[0] ?? d.devPath;
}
