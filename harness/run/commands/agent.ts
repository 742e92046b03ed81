// `sehil agent --bind tcp://HOST:PORT --rig RIG.yaml [--keys server.key --allow clients.txt]`
// exposes the rig's roles (named tc, dut, sniffer) to remote rigs; `sehil agent keygen --out NAME`
// writes a CURVE key pair (NAME.key, mode 600) and prints the public key for the other side.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as zmq from 'zeromq';
import { AgentConfigError, isLoopbackEndpoint, startAgent, type CurveServerKeys } from '../../remote/agent.ts';
import { loadRigFile, RigFileError } from '../../rig/load.ts';
import { openRig } from '../../rig/registry.ts';
import { RigUnavailableError } from '../../rig/roles.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';

const USAGE = 'agent --bind tcp://HOST:PORT --rig RIG.yaml [--keys SERVER.key --allow CLIENTS.txt]';

function readKeyPair(file: string): { publicKey: string; secretKey: string } {
  let k: { publicKey?: unknown; secretKey?: unknown };
  try {
    k = JSON.parse(readFileSync(file, 'utf8')) as typeof k;
  } catch (e) {
    throw new UsageError(`--keys ${file}: ${(e as Error).message}`);
  }
  if (typeof k.publicKey !== 'string' || typeof k.secretKey !== 'string' || k.publicKey.length !== 40 || k.secretKey.length !== 40) {
    throw new UsageError(`--keys ${file}: expected {"publicKey": Z85(40), "secretKey": Z85(40)} as \`sehil agent keygen\` writes`);
  }
  return { publicKey: k.publicKey, secretKey: k.secretKey };
}

/** One Z85 public key per line; # comments and blank lines ignored. */
export function readAllowList(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--allow ${file}: ${(e as Error).message}`);
  }
  const keys: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    if (!/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/.test(line)) throw new UsageError(`--allow ${file} line ${i + 1}: expected a 40-character Z85 public key`);
    keys.push(line);
  }
  return keys;
}

export const agentKeygen: Command = {
  words: ['agent', 'keygen'],
  usage: 'agent keygen --out NAME',
  summary: 'make a CURVE key pair for an agent or a client (NAME.key, mode 600); prints the public key',
  async run(args: string[], io: CliIO): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({ args, options: { out: { type: 'string' } } }));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!values.out) throw new UsageError('expected --out NAME (writes NAME.key)');
    const pair = zmq.curveKeyPair();
    const file = `${values.out}.key`;
    writeFileSync(file, JSON.stringify(pair, null, 2) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    io.out(`${file} written (keep it secret)\npublic key: ${pair.publicKey}`);
    return EXIT.ok;
  },
};

export const agent: Command = {
  words: ['agent'],
  usage: USAGE,
  summary: 'expose this host\'s rig roles to remote rigs over ZeroMQ (CURVE required off loopback)',
  async run(args: string[], io: CliIO): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({ args, options: { bind: { type: 'string', default: 'tcp://127.0.0.1:5555' }, rig: { type: 'string' }, keys: { type: 'string' }, allow: { type: 'string' } } }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    if (!values.rig) throw new UsageError(`expected --rig RIG.yaml (the devices this host exposes)\nUsage: sehil ${USAGE}`);
    if (!!values.keys !== !!values.allow) throw new UsageError('--keys and --allow go together');
    let curve: CurveServerKeys | undefined;
    if (values.keys && values.allow) curve = { ...readKeyPair(values.keys), allow: readAllowList(values.allow) };
    if (!curve && !isLoopbackEndpoint(values.bind)) {
      throw new UsageError(`${values.bind} is not loopback: give --keys (sehil agent keygen) and --allow (client public keys), or bind 127.0.0.1`);
    }
    let config;
    try {
      config = loadRigFile(values.rig);
    } catch (e) {
      if (e instanceof RigFileError) throw new UsageError(e.message);
      throw e;
    }
    let rig;
    try {
      rig = await openRig(config, values.rig);
    } catch (e) {
      if (e instanceof RigUnavailableError) {
        io.err(`sehil agent: ${e.message}`);
        return EXIT.rigUnavailable;
      }
      throw e;
    }
    let a;
    try {
      a = await startAgent({
        bind: values.bind, curve, log: (l) => io.err(`agent: ${l}`),
        devices: (['tc', 'dut', 'sniffer'] as const).map((r) => ({ name: r, role: rig[r], driver: config.roles[r].driver })),
      });
    } catch (e) {
      await rig.close();
      if (e instanceof AgentConfigError) throw new UsageError(e.message);
      throw e;
    }
    io.err(`sehil agent: rig ${config.name} at ${a.endpoint} (devices tc, dut, sniffer; ${curve ? `CURVE, ${curve.allow.length} client key(s) allowed` : 'loopback, no authentication'}; epoch ${a.epoch})`);
    io.out(JSON.stringify({ endpoint: a.endpoint, epoch: a.epoch }));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await a.close();
    await rig.close();
    io.err(`sehil agent: stopped after ${a.stats.requests} request(s), ${a.stats.malformed} refused message(s), ${a.stats.rejectedClients} rejected client(s)`);
    return EXIT.ok;
  },
};
