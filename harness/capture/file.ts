// Node side of captures: streaming writers that put every frame on disk as it arrives, and
// readCaptureFile. Each frame is one complete pcapng EPB (or pcap record) handed to the kernel
// with fs.writeSync before writeFrame returns, so a process killed at any moment leaves a file
// that reads up to its last frame. `fsync: true` also survives power loss, at a cost per frame.

import * as fs from 'node:fs';
import { createCaptureEncoder, type CaptureEncoderOptions } from './encode.ts';
import type { CaptureFrame, Ieee802154LinkType } from './link.ts';
import { CaptureStream, readCapture, type Capture } from './read.ts';

export interface CaptureWriter {
  readonly path: string;
  readonly linkType: Ieee802154LinkType;
  /** Frames written so far. */
  readonly packets: number;
  /** Appends one frame and hands it to the OS before returning. */
  writeFrame(frame: CaptureFrame): void;
  close(): void;
}

export interface FileWriterOptions {
  /** Default 283 (IEEE 802.15.4 TAP). */
  linkType?: Ieee802154LinkType;
  /** fdatasync after every frame (default false: the OS page cache already survives a killed process). */
  fsync?: boolean;
}

export type PcapngWriterOptions = FileWriterOptions & Omit<CaptureEncoderOptions, 'format' | 'linkType'>;
export type PcapWriterOptions = FileWriterOptions & { snapLen?: number; tsresol?: 6 | 9 };

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

function openWriter(path: string, opts: CaptureEncoderOptions, fsync: boolean): CaptureWriter {
  const enc = createCaptureEncoder(opts);
  const header = enc.header(); // validate options before creating the file
  const fd = fs.openSync(path, 'w');
  let open = true;
  let packets = 0;
  try {
    writeAll(fd, header);
    if (fsync) fs.fdatasyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return {
    path,
    linkType: enc.linkType,
    get packets() {
      return packets;
    },
    writeFrame(frame: CaptureFrame): void {
      if (!open) throw new Error(`capture writer for ${path} is closed`);
      const bytes = enc.frame(frame); // encode fully first: a bad frame writes nothing
      writeAll(fd, bytes);
      if (fsync) fs.fdatasyncSync(fd);
      packets++;
    },
    close(): void {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}

/**
 * Opens `path` for a pcapng capture (SHB + one IDB written at once) and returns a writer that
 * appends one Enhanced Packet Block per frame.
 * @spec draft-ietf-opsawg-pcapng §4.1, §4.2, §4.3
 */
export function openPcapngWriter(path: string, opts: PcapngWriterOptions = {}): CaptureWriter {
  const { fsync = false, ...enc } = opts;
  return openWriter(path, { ...enc, format: 'pcapng' }, fsync);
}

/** Classic libpcap writer (µs magic, or ns with tsresol 9); comments are not kept. @spec draft-ietf-opsawg-pcap */
export function openPcapWriter(path: string, opts: PcapWriterOptions = {}): CaptureWriter {
  const { fsync = false, ...enc } = opts;
  return openWriter(path, { ...enc, format: 'pcap' }, fsync);
}

/** Reads a capture file; see readCapture for what is a warning and what is an error. */
export function readCaptureFile(path: string): Capture {
  const buf = fs.readFileSync(path);
  return readCapture(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}

/** Bytes read per step by streamCaptureFile. */
const STREAM_CHUNK = 64 * 1024;

/**
 * Streams a capture file's packets (see CaptureStream) reading it 64 KiB at a time, for one pass
 * over a large file: every packet still views bytes that stay valid (each step reads into a new
 * array, never into one handed out before), but a file whose packets are dropped as they are
 * decoded is never in memory whole. (readFileSync of a 10 MB file costs more than decoding its
 * first tenth: the fresh pages of one large buffer; small arrays reuse freed memory.)
 * The file is closed at its end, on an error, or by close().
 */
export function streamCaptureFile(path: string): CaptureStream {
  const fd = fs.openSync(path, 'r');
  let open = true;
  const close = (): void => {
    if (open) {
      open = false;
      fs.closeSync(fd);
    }
  };
  try {
    /** Reads into out[from, out.length) until full or the end of the file; returns the bytes read. */
    const readInto = (out: Uint8Array, from: number): number => {
      let at = from;
      while (open && at < out.length) {
        const n = fs.readSync(fd, out, at, out.length - at, null);
        if (n === 0) {
          close();
          break;
        }
        at += n;
      }
      return at - from;
    };
    const source = {
      more(tail: Uint8Array, need: number): Uint8Array | undefined {
        if (!open) return undefined;
        const out = new Uint8Array(tail.length + Math.max(STREAM_CHUNK, need - tail.length));
        out.set(tail);
        const n = readInto(out, tail.length);
        if (n === 0) return undefined;
        return tail.length + n === out.length ? out : out.subarray(0, tail.length + n);
      },
      close,
    };
    const first = new Uint8Array(STREAM_CHUNK);
    const n = readInto(first, 0);
    return new CaptureStream(n === first.length ? first : first.subarray(0, n), source);
  } catch (e) {
    close();
    throw e;
  }
}
