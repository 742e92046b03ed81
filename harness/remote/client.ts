// Client side of the remote agent: one DEALER per agent endpoint, requests with deadlines, frame
// and clock-beacon delivery per device. ZeroMQ reconnects by itself when the agent restarts;
// the client notices the new epoch in the next beacon or hello and tells its owner.
import * as zmq from 'zeromq';
import { DeviceTimeoutError, RigUnavailableError } from '../rig/roles.ts';
import {
  decodeMessage, decodeValue, encodeMessage, encodeValue, RemoteWireError,
  type RemoteClockBeacon, type RemoteErrorInfo, type RemoteFrame, type RemoteOp,
} from './wire.ts';

export interface CurveClientKeys {
  serverPublicKey: string;
  publicKey: string;
  secretKey: string;
}

/** An error the agent reported for a request, with its original name and role/step when known. */
export class RemoteDeviceError extends Error {
  override name = 'RemoteDeviceError';
  constructor(readonly device: string, readonly op: string, readonly remote: RemoteErrorInfo) {
    super(`${device}.${op} on the agent: ${remote.name}: ${remote.message}`);
  }
}

export interface HelloInfo {
  agent: string;
  epoch: string;
  devices: { name: string; role: string; driver: string; capabilities: string[] }[];
}

export class AgentClient {
  private readonly socket: zmq.Dealer;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; device: string; op: string }>();
  private readonly frameListeners = new Map<string, Set<(f: RemoteFrame) => void>>();
  private readonly beaconListeners = new Set<(b: RemoteClockBeacon) => void>();
  private sending: Promise<void> = Promise.resolve();
  private closed = false;
  /** Malformed messages from the agent (should stay 0). */
  malformed = 0;

  constructor(readonly endpoint: string, keys?: CurveClientKeys) {
    this.socket = new zmq.Dealer({ linger: 0, reconnectInterval: 200, reconnectMaxInterval: 2000 });
    if (keys) {
      this.socket.curveServerKey = keys.serverPublicKey;
      this.socket.curvePublicKey = keys.publicKey;
      this.socket.curveSecretKey = keys.secretKey;
    }
    this.socket.connect(endpoint);
    void this.receive();
  }

  private async receive(): Promise<void> {
    try {
      for await (const [payload] of this.socket) {
        let m;
        try {
          m = decodeMessage(payload);
        } catch {
          this.malformed++;
          continue;
        }
        if (m.kind === 'reply') {
          const p = this.pending.get(m.id);
          if (!p) continue;
          this.pending.delete(m.id);
          if (m.ok) p.resolve(decodeValue(m.result));
          else p.reject(new RemoteDeviceError(p.device, p.op, m.error));
        } else if (m.kind === 'frame') {
          for (const l of this.frameListeners.get(m.device) ?? []) l(m);
        } else if (m.kind === 'clock') {
          for (const l of this.beaconListeners) l(m);
        }
      }
    } catch {
      // socket closed
    }
  }

  /** Sends `op` to `device` and waits `timeoutMs` (wall clock: the agent is another host) for the reply. */
  request(device: string, op: RemoteOp, args: unknown[] = [], timeoutMs = 10_000, role = device): Promise<unknown> {
    if (this.closed) return Promise.reject(new RigUnavailableError(role, this.endpoint, 'the connection to the agent is closed'));
    const id = this.nextId++;
    const bytes = encodeMessage({ v: 1, kind: 'request', id, device, op, args: encodeValue(args) as unknown[] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DeviceTimeoutError(role, `${op} via agent ${this.endpoint}`, 'reply from the agent', timeoutMs));
      }, timeoutMs);
      this.pending.set(id, {
        device, op,
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.sending = this.sending.then(() => this.socket.send(bytes)).catch((e) => {
        this.pending.get(id)?.reject(e instanceof Error ? e : new Error(String(e)));
        this.pending.delete(id);
      });
    });
  }

  /** Sends raw bytes (tests of the agent's input checking). */
  sendRaw(bytes: Uint8Array): Promise<void> {
    this.sending = this.sending.then(() => this.socket.send(bytes));
    return this.sending;
  }

  async hello(timeoutMs = 5_000): Promise<HelloInfo> {
    return (await this.request('', 'hello', [], timeoutMs, 'agent')) as HelloInfo;
  }

  onFrame(device: string, fn: (f: RemoteFrame) => void): () => void {
    let set = this.frameListeners.get(device);
    if (!set) this.frameListeners.set(device, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  onBeacon(fn: (b: RemoteClockBeacon) => void): () => void {
    this.beaconListeners.add(fn);
    return () => this.beaconListeners.delete(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new RemoteWireError('bad-shape', 'client closed'));
    this.pending.clear();
    this.socket.close();
  }
}
