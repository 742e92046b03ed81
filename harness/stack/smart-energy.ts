// Smart Energy on the simulated nodes: hosts the Key Establishment (0x0800) and Keep-Alive
// (0x0025) applications of harness/stack/apps on the SE endpoint of a TrustCenter and of a
// Joiner, so CBKE runs over the virtual air and its key becomes the TC link key at both ends:
//
//   const se = hostSeTrustCenter(tc, { credentials: tcCreds, keepAlive: true });
//   const dev = hostSeDevice(joiner, { credentials: devCreds });
//   const r = await dev.join({ channel: 15 });   // join, then CBKE: r.tclk === 'cbke'
//   await dev.startKeyEstablishment();            // or later, on demand (dynamic activation)
//
// The key swap itself is the apps' `ApsService.setLinkKey(…, 'cbke')`: on the TC it replaces the
// device's key-table entry (kind 'cbke', marked verified; what `freshJoinKey: 'current-key'` of
// the keeps-key-after-leave profile reuses), on the joiner its TC link key (tclk 'cbke'). Profiles
// stay live: the apps read `tc.behaviour.cbke` and `joiner.behaviour` at each decision.
// @spec SE 1.4 (07-5356) Annex C.3.1, C.4.2; protocol.md §6.2, §6.3, §7.2
import { KeStatus, type RandomSource, defaultRandom } from '../crypto/cbke-suites.ts';
import type { KeepAliveParams } from './apps/keep-alive-params.ts';
import { KeepAliveClient, type KeepAliveClientOptions, KeepAliveServer } from './apps/keep-alive.ts';
import {
  type KeClientOptions, type KeCredential, type KeOutcome, KeyEstablishmentClient, KeyEstablishmentServer, type KeServerOptions,
} from './apps/key-establishment.ts';
import { ZclEndpoint, type ZclCluster } from './apps/zcl-endpoint.ts';
import type { JoinerBehaviour, TcBehaviour } from './profiles.ts';
import type { Joiner, JoinRequest, StackJoinResult } from './joiner.ts';
import type { TrustCenter } from './trust-center.ts';

/** The Smart Energy endpoint both ends use unless told otherwise (any 1..240 works; EMBER SE samples use 1). */
export const SE_ENDPOINT = 1;

export interface SeTrustCenterOptions {
  /** One credential per suite the TC offers (certificate, private key, trusted CAs). */
  credentials: readonly KeCredential[];
  endpoint?: number;
  /**
   * Keep-Alive server: `true` = the profile's TC Keep-Alive Base/Jitter, or explicit values.
   * A profile without Keep-Alive (no-keepalive) hosts none either way. Default: none.
   */
  keepAlive?: boolean | KeepAliveParams;
  /** Ephemeral keys (seed it in tests for reproducible captures; default: the platform CSPRNG). */
  random?: RandomSource;
  /** Further KE server options (timing, untrusted credentials); `behaviour` follows the TC profile. */
  keyEstablishment?: Omit<Partial<KeServerOptions>, 'credentials' | 'behaviour' | 'random'>;
}

export interface SeTrustCenter {
  readonly endpoint: ZclEndpoint;
  readonly keyEstablishment: KeyEstablishmentServer;
  readonly keepAlive: KeepAliveServer | undefined;
  /** Every exchange the TC took part in, in order. */
  readonly outcomes: readonly KeOutcome[];
  /** Takes the SE endpoint off the node. */
  remove(): void;
}

/** Hosts the KE server (and the Keep-Alive server if asked) on the TC's SE endpoint. */
export function hostSeTrustCenter(tc: TrustCenter, opts: SeTrustCenterOptions): SeTrustCenter {
  const ke = new KeyEstablishmentServer({
    ...opts.keyEstablishment, credentials: opts.credentials, random: opts.random, behaviour: liveTcCbke(tc),
  });
  const kaParams = opts.keepAlive === undefined || opts.keepAlive === false || tc.behaviour.keepAlive === null
    ? undefined
    : opts.keepAlive === true ? tc.behaviour.keepAlive : opts.keepAlive;
  const ka = kaParams ? new KeepAliveServer(kaParams) : undefined;
  const clusters: ZclCluster[] = ka ? [ke, ka] : [ke];
  const endpoint = new ZclEndpoint({ endpoint: opts.endpoint ?? SE_ENDPOINT, clusters });
  tc.node.registerApplication(endpoint);
  endpoint.attach(tc.node.service);
  tc.node.ctx.trace('se.hosted', { endpoint: endpoint.endpoint, suites: ke.offeredSuites, keepAlive: kaParams ?? null });
  return {
    endpoint, keyEstablishment: ke, keepAlive: ka,
    get outcomes() { return ke.outcomes; },
    remove: () => { tc.node.unregisterApplication(endpoint.endpoint); },
  };
}

export interface SeDeviceOptions {
  credentials: readonly KeCredential[];
  endpoint?: number;
  /** The TC's SE endpoint (default: SE_ENDPOINT). */
  serverEndpoint?: number;
  /**
   * Run CBKE by itself after every network-up (join, rejoin) while the TC link key is not a CBKE
   * key; default false = only through join() or startKeyEstablishment() (dynamic activation).
   */
  autoStart?: boolean;
  autoStartDelayMs?: number;
  /**
   * Also run the Zigbee 3.0 TC link key exchange before CBKE (joiner tclkMode as its profile says).
   * Default false: the joiner runs in SE mode (tclkMode 'cbke': the install-code key stays until
   * CBKE replaces it; SE does not use Request Key, protocol.md §7.2).
   */
  tclkExchange?: boolean;
  /**
   * How often to try again after the TC answered Terminate NO_RESOURCES (busy with another
   * device), each after the WaitTime it asked for (SE C.3.1). Default 3.
   */
  busyRetries?: number;
  /** Keep-Alive client: `true` or options; started on network-up, stopped on network-down. Default: none. */
  keepAlive?: boolean | Omit<Partial<KeepAliveClientOptions>, 'control'>;
  /** Ephemeral keys and keep-alive jitter (seed it in tests; default: the platform CSPRNG). */
  random?: RandomSource;
  /** Further KE client options (timing, suite read); `behaviour` follows the joiner profile. */
  keyEstablishment?: Omit<Partial<KeClientOptions>, 'credentials' | 'behaviour' | 'random' | 'control' | 'onOutcome'>;
}

export interface SeJoinResult extends StackJoinResult {
  /** The CBKE outcome of the join (absent when the join itself failed). */
  keyEstablishment?: KeOutcome;
}

export interface SeDevice {
  readonly endpoint: ZclEndpoint;
  readonly keyEstablishment: KeyEstablishmentClient;
  readonly keepAlive: KeepAliveClient | undefined;
  readonly outcomes: readonly KeOutcome[];
  /** Join, then CBKE with the TC; `tclk` says where the TC link key stands afterwards. */
  join(req: JoinRequest): Promise<SeJoinResult>;
  /** CBKE with the TC now (retrying a busy TC per `busyRetries`); resolves with the last outcome. */
  startKeyEstablishment(): Promise<KeOutcome>;
  /** Detaches from the joiner's events and takes the SE endpoint off the node. */
  remove(): void;
}

/** Hosts the KE client (and the Keep-Alive client if asked) on the joiner's SE endpoint. */
export function hostSeDevice(joiner: Joiner, opts: SeDeviceOptions): SeDevice {
  const node = joiner.node;
  if (!opts.tclkExchange) joiner.behaviour = { ...joiner.behaviour, tclkMode: 'cbke' };
  const serverEndpoint = opts.serverEndpoint ?? SE_ENDPOINT;
  const ke = new KeyEstablishmentClient({
    ...opts.keyEstablishment, credentials: opts.credentials, random: opts.random, control: joiner,
    server: { endpoint: serverEndpoint, ...opts.keyEstablishment?.server }, behaviour: liveJoinerKe(joiner), autoStart: false,
  });
  const kaOpts = opts.keepAlive === undefined || opts.keepAlive === false ? undefined : opts.keepAlive === true ? {} : opts.keepAlive;
  const ka = kaOpts
    ? new KeepAliveClient({
      server: { endpoint: serverEndpoint }, random: opts.random ?? defaultRandom, behaviour: liveKeepAliveBehaviour(joiner), ...kaOpts, control: joiner,
    })
    : undefined;
  const clusters: ZclCluster[] = ka ? [ke, ka] : [ke];
  const endpoint = new ZclEndpoint({ endpoint: opts.endpoint ?? SE_ENDPOINT, clusters });
  node.registerApplication(endpoint);
  endpoint.attach(node.service);

  const busyRetries = opts.busyRetries ?? 3;
  let running: Promise<KeOutcome> | undefined;
  let cancelAuto: (() => void) | undefined;
  const hasCbkeKey = () => {
    const tcEui = joiner.trustCenterEui64;
    return tcEui !== undefined && node.service.getLinkKey(tcEui)?.origin === 'cbke';
  };

  const runWithRetries = async (): Promise<KeOutcome> => {
    let outcome = await ke.startKeyEstablishment();
    for (let i = 0; i < busyRetries && isBusy(outcome); i++) {
      // SE C.3.1: the initiator waits at least the WaitTime the responder named before trying again.
      const waitS = Math.max(1, (outcome as { waitTimeS?: number }).waitTimeS ?? 0);
      node.ctx.trace('se.ke-retry', { attempt: i + 1, afterS: waitS });
      await node.clock.sleep(waitS * 1000);
      if (!joiner.joined) break;
      outcome = await ke.startKeyEstablishment();
    }
    return outcome;
  };
  const startKeyEstablishment = (): Promise<KeOutcome> => {
    cancelAuto?.();
    cancelAuto = undefined;
    running ??= runWithRetries().finally(() => { running = undefined; });
    return running;
  };

  const off = joiner.events.on((e) => {
    if (e.kind === 'network-up') {
      ka?.start(); // EMBER starts keep-alive on NETWORK_UP (protocol.md §6.3); a no-op while it runs
      if (opts.autoStart && !running && !hasCbkeKey()) {
        cancelAuto?.();
        cancelAuto = node.clock.setTimer(opts.autoStartDelayMs ?? 0, () => {
          cancelAuto = undefined;
          if (joiner.joined && !hasCbkeKey()) void startKeyEstablishment();
        });
      }
    } else if (e.kind === 'network-down') {
      cancelAuto?.();
      cancelAuto = undefined;
      ka?.stop();
    }
  });

  return {
    endpoint, keyEstablishment: ke, keepAlive: ka,
    get outcomes() { return ke.outcomes; },
    startKeyEstablishment,
    async join(req: JoinRequest): Promise<SeJoinResult> {
      const r = await joiner.join(req);
      if (!r.joined) return r;
      const outcome = hasCbkeKey() ? undefined : await startKeyEstablishment();
      return { ...r, tclk: joiner.tclk, ...(outcome ? { keyEstablishment: outcome } : {}) };
    },
    remove() {
      off();
      cancelAuto?.();
      ka?.stop();
      node.unregisterApplication(endpoint.endpoint);
    },
  };
}

function isBusy(o: KeOutcome): boolean {
  return !o.ok && o.terminate === 'received' && o.status === KeStatus.NO_RESOURCES;
}

/** TcBehaviour.cbke read at each decision (a profile swapped mid-run takes effect at once). */
function liveTcCbke(tc: TrustCenter): Partial<TcBehaviour['cbke']> {
  return {
    get suites() { return tc.behaviour.cbke.suites; },
    get corruptMac() { return tc.behaviour.cbke.corruptMac; },
    get unknownIssuer() { return tc.behaviour.cbke.unknownIssuer; },
    get extraDelayS() { return tc.behaviour.cbke.extraDelayS; },
    get brokenCertificate() { return tc.behaviour.cbke.brokenCertificate; },
    get ephemeralBeforeInitiate() { return tc.behaviour.cbke.ephemeralBeforeInitiate; },
  };
}

function liveJoinerKe(joiner: Joiner): Partial<Pick<JoinerBehaviour, 'checkIssuer' | 'checkSubject' | 'checkSequence' | 'checkKeyConfirm' | 'checkKeyUsage' | 'terminateAfterTimeout' | 'cbkeSuites'>> {
  return {
    get checkIssuer() { return joiner.behaviour.checkIssuer; },
    get checkSubject() { return joiner.behaviour.checkSubject; },
    get checkSequence() { return joiner.behaviour.checkSequence; },
    get checkKeyConfirm() { return joiner.behaviour.checkKeyConfirm; },
    get checkKeyUsage() { return joiner.behaviour.checkKeyUsage; },
    get terminateAfterTimeout() { return joiner.behaviour.terminateAfterTimeout; },
    get cbkeSuites() { return joiner.behaviour.cbkeSuites; },
  };
}

function liveKeepAliveBehaviour(joiner: Joiner): Partial<Pick<JoinerBehaviour, 'tcso' | 'adoptKeepAliveValues'>> {
  return { get tcso() { return joiner.behaviour.tcso; }, get adoptKeepAliveValues() { return joiner.behaviour.adoptKeepAliveValues; } };
}
