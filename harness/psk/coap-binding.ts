// The CoAP/UDP binding of the PSK reconfiguration roles (PROFILE.md P10): each role of
// harness/psk/roles.ts behind a real CoAP endpoint (npm `coap`, RFC 7252) on a UDP socket, and
// the client side that drives a run. Any role can instead be an external implementation at a UDP
// address (the rig file's `psk:` section); `openPskSystem` starts the ones the rig does not give.
//
// Every wait has a deadline and fails with a DeviceTimeoutError naming the role, the step and
// what was awaited. A payload that does not decode is answered 4.00 with a diagnostic; a handler
// that throws is answered 5.00 and logged: no input crashes a role.
import { Agent, createServer, type IncomingMessage, type OutgoingMessage, type Server } from 'coap';
import { bytesToHex, hexToBytes } from '../crypto/bytes.ts';
import { DEFAULT_FRESHNESS_WINDOW_S, timestampFromMs, type RandomSource } from '../crypto/psk-reconfig.ts';
import { DeviceTimeoutError } from '../rig/roles.ts';
import {
  PskController, PskNode, PskServer, diagnosticPayload, pskProfile, type NodeOutcome, type PskRefusal, type PskReply,
} from './roles.ts';

export const PSK_PATHS = { hello: '/psk/hello', auth: '/psk/auth', confirm: '/psk/confirm', start: '/psk/start' } as const;
/** Content-Format application/octet-stream (RFC 7252 §12.3). */
const OCTET_STREAM = 'application/octet-stream';

export interface UdpAddress { host: string; port: number }

/** Parses `udp://HOST:PORT` (IPv6 hosts in brackets); port 0 only where `allowAnyPort` (listen: pick one). */
export function parseUdpAddress(text: string, field = 'address', allowAnyPort = false): UdpAddress {
  const m = /^udp:\/\/(\[([0-9a-fA-F:.]+)\]|[^:/\s[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (port === 0 && !allowAnyPort)) {
    throw new RangeError(`${field}: expected udp://HOST:PORT with a port 1..65535 (e.g. udp://127.0.0.1:5683), got ${JSON.stringify(text)}`);
  }
  return { host: m[2] ?? m[1], port };
}

export function formatUdpAddress(a: UdpAddress): string {
  return `udp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** A CoAP response as the binding sees it. */
export interface CoapResult { code: string; payload: Uint8Array }

/** The peer answered something the protocol does not allow (not a timeout, not a refusal). */
export class PskTransportError extends Error {
  override name = 'PskTransportError';
  constructor(readonly role: string, readonly step: string, reason: string) {
    super(`${role}: ${step}: ${reason}`);
  }
}

export interface PostOptions {
  /** Role making the request and the step, for the errors. */
  role: string;
  step: string;
  deadlineMs: number;
  /** Lines of this exchange are appended here. */
  log?: string[];
}

/**
 * One confirmable CoAP POST with a deadline (CoAP's own retransmissions run inside it; a separate
 * response is awaited too). A fresh client socket per request, closed afterwards.
 */
export function coapPost(to: UdpAddress, path: string, payload: Uint8Array, o: PostOptions): Promise<CoapResult> {
  const where = `${formatUdpAddress(to)}${path}`;
  o.log?.push(`${o.role} → POST ${where} ${payload.length} B ${bytesToHex(payload)}`);
  return new Promise<CoapResult>((resolve, reject) => {
    const agent = new Agent({ type: to.host.includes(':') ? 'udp6' : 'udp4' });
    let done = false;
    let req: OutgoingMessage | undefined;
    const finish = (err: Error | undefined, r?: CoapResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (req) try { agent.abort(req); } catch { /* already finished */ }
      agent.close();
      if (err) {
        o.log?.push(`${o.role} ✗ ${err.message}`);
        reject(err);
      } else {
        o.log?.push(`${o.role} ← ${r!.code} ${r!.payload.length} B ${printable(r!)}`);
        resolve(r!);
      }
    };
    const timer = setTimeout(() => finish(new DeviceTimeoutError(o.role, o.step, `CoAP response to POST ${where}`, o.deadlineMs)), o.deadlineMs);
    try {
      req = agent.request({
        hostname: to.host, port: to.port, method: 'POST', pathname: path, confirmable: true,
        options: { 'Content-Format': OCTET_STREAM },
      });
      req.on('response', (res: IncomingMessage) => finish(undefined, { code: String(res.code), payload: new Uint8Array(res.payload) }));
      req.on('error', (e: Error) => finish(new PskTransportError(o.role, o.step, `POST ${where}: ${e.message}`)));
      req.on('timeout', (e: Error) => finish(new DeviceTimeoutError(o.role, o.step, `CoAP response to POST ${where} (${e.message})`, o.deadlineMs)));
      req.end(Buffer.from(payload));
    } catch (e) {
      finish(new PskTransportError(o.role, o.step, `POST ${where}: ${(e as Error).message}`));
    }
  });
}

function printable(r: CoapResult): string {
  if (r.code.startsWith('2')) return bytesToHex(r.payload);
  return JSON.stringify(new TextDecoder().decode(r.payload));
}

type Handler = (payload: Uint8Array, from: string) => Promise<PskReply> | PskReply;

/** A CoAP server on UDP with POST routes. Answers 4.04 / 4.05 itself; a throwing handler gets 5.00. */
export class CoapEndpoint {
  private server: Server | undefined;
  private bound: UdpAddress | undefined;
  constructor(readonly role: string, private readonly routes: Record<string, Handler>, readonly log: string[] = []) {}

  get address(): UdpAddress {
    if (!this.bound) throw new Error(`${this.role}: endpoint not started`);
    return this.bound;
  }

  async start(listen: UdpAddress = { host: '127.0.0.1', port: 0 }, deadlineMs = 5_000): Promise<UdpAddress> {
    const server = createServer({ type: listen.host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
    server.on('request', (req: IncomingMessage, res: OutgoingMessage) => { void this.dispatch(req, res); });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DeviceTimeoutError(this.role, 'start', `UDP socket bound at ${formatUdpAddress(listen)}`, deadlineMs)), deadlineMs);
      server.once('error', (e: Error) => { clearTimeout(timer); reject(new PskTransportError(this.role, 'start', `cannot listen at ${formatUdpAddress(listen)}: ${e.message}`)); });
      server.listen(listen.port, listen.host, () => { clearTimeout(timer); resolve(); });
    });
    const sock = (server as unknown as { _sock: { address(): { address: string; port: number } } })._sock;
    const a = sock.address();
    this.server = server;
    this.bound = { host: a.address, port: a.port };
    server.on('error', (e: Error) => this.log.push(`${this.role} ! socket error: ${e.message}`));
    return this.bound;
  }

  private async dispatch(req: IncomingMessage, res: OutgoingMessage): Promise<void> {
    const from = `${req.rsinfo.address}:${req.rsinfo.port}`;
    const path = new URL(req.url, 'coap://x').pathname;
    const payload = new Uint8Array(req.payload ?? Buffer.alloc(0));
    this.log.push(`${this.role} ← ${req.method ?? req.code} ${path} from ${from} ${payload.length} B ${bytesToHex(payload)}`);
    const send = (code: string, body: Uint8Array, binary: boolean) => {
      this.log.push(`${this.role} → ${code} ${body.length} B ${binary ? bytesToHex(body) : JSON.stringify(new TextDecoder().decode(body))}`);
      try {
        res.code = code;
        if (binary && body.length) res.setOption('Content-Format', OCTET_STREAM);
        res.end(Buffer.from(body));
      } catch (e) {
        this.log.push(`${this.role} ! could not send ${code}: ${(e as Error).message}`);
      }
    };
    const handler = this.routes[path];
    if (!handler) return send('4.04', new TextEncoder().encode(`no resource ${path}; this ${this.role} serves ${Object.keys(this.routes).join(', ')}`), false);
    if (req.method !== 'POST') return send('4.05', new TextEncoder().encode(`${path} takes POST`), false);
    try {
      const reply = await handler(payload, from);
      if (reply.ok) send(reply.code, reply.payload, true);
      else send(reply.code, diagnosticPayload(reply), false);
    } catch (e) {
      send('5.00', new TextEncoder().encode(`${this.role} failed: ${(e as Error).message}`), false);
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => { try { s.close(() => resolve()); } catch { resolve(); } });
  }
}

// ---------------------------------------------------------------------------------------------
// The three roles on CoAP.

export interface Deadlines {
  /** SBR waiting for the server's M3. */
  authMs: number;
  /** SBI waiting for M4 (the controller waits for the server inside it). */
  helloMs: number;
  /** SBI waiting for the answer to M5. */
  confirmMs: number;
  /** The kit waiting for an external node's whole run (/psk/start). */
  runMs: number;
}
export const DEFAULT_DEADLINES: Deadlines = { authMs: 5_000, helloMs: 10_000, confirmMs: 5_000, runMs: 20_000 };

/** SBS(s): POST /psk/auth (M2 → M3). */
export function sbsEndpoint(server: PskServer, log?: string[]): CoapEndpoint {
  return new CoapEndpoint('sbs', { [PSK_PATHS.auth]: (p) => server.handleAuthRequest(p) }, log);
}

/** SBR(c): POST /psk/hello (M1 → M4, asking the server at `sbs` in between) and /psk/confirm (M5). */
export function sbrEndpoint(controller: PskController, sbs: () => UdpAddress, deadlines: Deadlines = DEFAULT_DEADLINES, log?: string[]): CoapEndpoint {
  const ep: CoapEndpoint = new CoapEndpoint('sbr', {
    [PSK_PATHS.hello]: async (p) => {
      const m2 = controller.handleHello(p);
      if (!m2.ok) return m2;
      let answer: CoapResult | { unreachable: string };
      try {
        answer = await coapPost(sbs(), PSK_PATHS.auth, m2.authRequest, { role: 'sbr', step: `M2 of transaction ${m2.tid}`, deadlineMs: deadlines.authMs, log: ep.log });
      } catch (e) {
        answer = { unreachable: (e as Error).message };
      }
      return controller.handleAuthResponse(m2.tid, answer);
    },
    [PSK_PATHS.confirm]: (p) => controller.handleConfirm(p),
  }, log);
  return ep;
}

/** What a node's run came to, with the codes it got (the kit's evidence). */
export interface NodeRun {
  outcome: NodeOutcome;
  helloCode?: string;
  confirmCode?: string;
  /** True when the node sent M5. */
  sentConfirm: boolean;
}

/** Runs the node's side of one exchange against the controller at `sbr`. */
export async function runNode(node: PskNode, sbr: UdpAddress, deadlines: Deadlines = DEFAULT_DEADLINES, log?: string[]): Promise<NodeRun> {
  const m4 = await coapPost(sbr, PSK_PATHS.hello, node.hello(), { role: 'sbi', step: 'M1 (hello)', deadlineMs: deadlines.helloMs, log });
  if (m4.code !== '2.04') {
    node.handleConfirmResult('none');
    return { outcome: { installed: false, step: 'hello', reason: `controller answered M1 with ${m4.code} ${new TextDecoder().decode(m4.payload)}` }, helloCode: m4.code, sentConfirm: false };
  }
  const m5 = node.handleKeyOffer(m4.payload);
  if (!m5.ok) {
    log?.push(`sbi ✗ M4 refused: ${m5.detail}`);
    node.handleConfirmResult('none');
    return { outcome: { installed: false, step: 'keyOffer', reason: m5.detail }, helloCode: m4.code, sentConfirm: false };
  }
  const ack = await coapPost(sbr, PSK_PATHS.confirm, m5.confirm, { role: 'sbi', step: 'M5 (confirm)', deadlineMs: deadlines.confirmMs, log });
  return { outcome: node.handleConfirmResult(ack.code), helloCode: m4.code, confirmCode: ack.code, sentConfirm: true };
}

/**
 * SBI(i) as a CoAP endpoint, so that the kit can start an external (or child-process) node: POST
 * /psk/start with payload `udp://HOST:PORT` of the controller runs one exchange and answers 2.04
 * with a JSON report (no key material). A kit control resource, not part of the draft (PROFILE.md P10).
 */
export function sbiEndpoint(node: PskNode, deadlines: Deadlines = DEFAULT_DEADLINES, log?: string[]): CoapEndpoint {
  const ep: CoapEndpoint = new CoapEndpoint('sbi', {
    [PSK_PATHS.start]: async (p) => {
      let sbr: UdpAddress;
      try {
        sbr = parseUdpAddress(new TextDecoder().decode(p), 'controller address');
      } catch (e) {
        return { ok: false, code: '4.00', reason: 'malformed', detail: `malformed: ${(e as Error).message}` } satisfies PskRefusal;
      }
      const run = await runNode(node, sbr, deadlines, ep.log).catch((e: Error) => ({ error: e.message }));
      const report = 'error' in run
        ? { installed: false, step: 'transport', reason: run.error, sentConfirm: false }
        : { installed: run.outcome.installed, ...(run.outcome.installed ? {} : { step: run.outcome.step, reason: run.outcome.reason }), helloCode: run.helloCode, confirmCode: run.confirmCode, sentConfirm: run.sentConfirm };
      return { ok: true, code: '2.04', payload: new TextEncoder().encode(JSON.stringify(report)) };
    },
  }, log);
  return ep;
}

/** The JSON an SBI answers /psk/start with. */
export interface StartReport { installed: boolean; step?: string; reason?: string; helloCode?: string; confirmCode?: string; sentConfirm: boolean }

/** Asks the node at `sbi` to run one exchange against the controller at `sbr`. */
export async function startRemoteNode(sbi: UdpAddress, sbr: UdpAddress, deadlines: Deadlines = DEFAULT_DEADLINES, log?: string[]): Promise<StartReport> {
  const r = await coapPost(sbi, PSK_PATHS.start, new TextEncoder().encode(formatUdpAddress(sbr)), { role: 'kit', step: 'start the node', deadlineMs: deadlines.runMs, log });
  if (r.code !== '2.04') throw new PskTransportError('sbi', 'start', `node at ${formatUdpAddress(sbi)} answered /psk/start with ${r.code} ${new TextDecoder().decode(r.payload)}`);
  try {
    return JSON.parse(new TextDecoder().decode(r.payload)) as StartReport;
  } catch {
    throw new PskTransportError('sbi', 'start', `node at ${formatUdpAddress(sbi)} answered /psk/start with a payload that is not JSON`);
  }
}

// ---------------------------------------------------------------------------------------------
// A whole system from a rig's `psk:` section: each role either external (an address) or started
// here (in-process, optionally at a fixed `listen` address).

export interface PskRoleSetting { address?: string; listen?: string; profile?: string }
export interface PskSettings {
  sbi?: PskRoleSetting; sbr?: PskRoleSetting; sbs?: PskRoleSetting;
  ik?: string; skCs?: string; idI?: number; idC?: number; windowS?: number;
}

/** Provisioning the kit uses when the rig does not say (§3 items 1–2: set up before the run). */
export const PSK_DEFAULTS = {
  ik: '000102030405060708090a0b0c0d0e0f', skCs: '404142434445464748494a4b4c4d4e4f', idI: 0x5e500001, idC: 0xc0000001,
} as const;

export interface Provisioning { idI: number; idC: number; ikI: Uint8Array; skCs: Uint8Array; windowS: number }

export function provisioning(s: PskSettings | undefined): Provisioning {
  return {
    idI: s?.idI ?? PSK_DEFAULTS.idI, idC: s?.idC ?? PSK_DEFAULTS.idC,
    ikI: hexToBytes(s?.ik ?? PSK_DEFAULTS.ik, 'psk.ik'), skCs: hexToBytes(s?.skCs ?? PSK_DEFAULTS.skCs, 'psk.skCs'),
    windowS: s?.windowS ?? DEFAULT_FRESHNESS_WINDOW_S,
  };
}

export interface SystemOptions {
  nowS?: () => number;
  random?: RandomSource;
  firstTid?: number;
  deadlines?: Deadlines;
}

/** A role of a running system: where it answers, and the in-process object when the kit runs it. */
export interface PskRole<T> { address: UdpAddress; external: boolean; local?: T; endpoint?: CoapEndpoint }

export interface PskSystem {
  prov: Provisioning;
  sbs: PskRole<PskServer>;
  sbr: PskRole<PskController>;
  /** No address for an in-process node: it is a client, driven by `runNode`. */
  sbi: { address?: UdpAddress; external: boolean; local?: PskNode; endpoint?: CoapEndpoint };
  deadlines: Deadlines;
  /** Runs the node (in-process or external) once against `sbr` (default: this system's controller). */
  runNode(sbr?: UdpAddress): Promise<{ installed: boolean; report: StartReport; psk?: Uint8Array }>;
  /** Every CoAP line of the in-process roles and the kit, in order; `takeTranscript` also empties it. */
  transcript(): string[];
  takeTranscript(): string[];
  close(): Promise<void>;
}

const realNowS = () => timestampFromMs(Date.now());

export async function openPskSystem(settings: PskSettings | undefined, o: SystemOptions = {}): Promise<PskSystem> {
  const prov = provisioning(settings);
  const deadlines = o.deadlines ?? DEFAULT_DEADLINES;
  const nowS = o.nowS ?? realNowS;
  const kitLog: string[] = [];
  const started: CoapEndpoint[] = [];
  const listenOf = (r: PskRoleSetting | undefined, field: string) => (r?.listen ? parseUdpAddress(r.listen, `${field}.listen`, true) : undefined);
  try {
    let sbs: PskRole<PskServer>;
    if (settings?.sbs?.address) {
      sbs = { address: parseUdpAddress(settings.sbs.address, 'psk.sbs.address'), external: true };
    } else {
      const local = new PskServer({
        nodes: new Map([[prov.idI, prov.ikI]]), controllers: new Map([[prov.idC, prov.skCs]]), nowS, windowS: prov.windowS,
        behaviour: pskProfile('sbs', settings?.sbs?.profile ?? 'compliant'),
      });
      const endpoint = sbsEndpoint(local, kitLog);
      started.push(endpoint);
      sbs = { address: await endpoint.start(listenOf(settings?.sbs, 'psk.sbs')), external: false, local, endpoint };
    }
    let sbr: PskRole<PskController>;
    if (settings?.sbr?.address) {
      sbr = { address: parseUdpAddress(settings.sbr.address, 'psk.sbr.address'), external: true };
    } else {
      const local = new PskController({
        idC: prov.idC, skCs: prov.skCs, nowS, random: o.random, firstTid: o.firstTid, windowS: prov.windowS,
        behaviour: pskProfile('sbr', settings?.sbr?.profile ?? 'compliant'),
      });
      const endpoint = sbrEndpoint(local, () => sbs.address, deadlines, kitLog);
      started.push(endpoint);
      sbr = { address: await endpoint.start(listenOf(settings?.sbr, 'psk.sbr')), external: false, local, endpoint };
    }
    let sbi: PskSystem['sbi'];
    if (settings?.sbi?.address) {
      sbi = { address: parseUdpAddress(settings.sbi.address, 'psk.sbi.address'), external: true };
    } else {
      const local = new PskNode({ idI: prov.idI, ikI: prov.ikI, random: o.random, behaviour: pskProfile('sbi', settings?.sbi?.profile ?? 'compliant') });
      sbi = { external: false, local };
      if (settings?.sbi?.listen) {
        const endpoint = sbiEndpoint(local, deadlines, kitLog);
        started.push(endpoint);
        sbi.address = await endpoint.start(listenOf(settings.sbi, 'psk.sbi'));
        sbi.endpoint = endpoint;
      }
    }
    return {
      prov, sbs, sbr, sbi, deadlines,
      async runNode(target = sbr.address) {
        if (sbi.local && !sbi.external) {
          const run = await runNode(sbi.local, target, deadlines, kitLog);
          const report: StartReport = {
            installed: run.outcome.installed, sentConfirm: run.sentConfirm, helloCode: run.helloCode, confirmCode: run.confirmCode,
            ...(run.outcome.installed ? {} : { step: run.outcome.step, reason: run.outcome.reason }),
          };
          return { installed: run.outcome.installed, report, psk: run.outcome.installed ? run.outcome.psk : undefined };
        }
        const report = await startRemoteNode(sbi.address!, target, deadlines, kitLog);
        return { installed: report.installed, report };
      },
      transcript: () => [...kitLog],
      takeTranscript: () => kitLog.splice(0),
      async close() {
        for (const e of started) await e.close();
      },
    };
  } catch (e) {
    for (const ep of started) await ep.close();
    throw e;
  }
}
