// Runs one PSK role as a standalone CoAP endpoint, e.g. an SBS for a lab or the kit's own tests:
//   node --import tsx harness/psk/serve.ts --role sbs --listen udp://127.0.0.1:0 [--ik HEX] [--sk-cs HEX]
//        [--id-i N] [--id-c N] [--window-s N] [--sbs udp://HOST:PORT (role sbr)] [--profile NAME]
// Prints one JSON line {"role","listening"} on stdout once bound; runs until SIGTERM/SIGINT or
// stdin closes (so it dies with its parent); logs every exchange on stderr.
import { parseArgs } from 'node:util';
import { timestampFromMs } from '../crypto/psk-reconfig.ts';
import { formatUdpAddress, parseUdpAddress, provisioning, sbiEndpoint, sbrEndpoint, sbsEndpoint, type CoapEndpoint } from './coap-binding.ts';
import { PskController, PskNode, PskServer, pskProfile } from './roles.ts';

const { values } = parseArgs({
  options: {
    role: { type: 'string' }, listen: { type: 'string', default: 'udp://127.0.0.1:0' }, ik: { type: 'string' },
    'sk-cs': { type: 'string' }, 'id-i': { type: 'string' }, 'id-c': { type: 'string' }, 'window-s': { type: 'string' },
    sbs: { type: 'string' }, profile: { type: 'string', default: 'compliant' },
  },
});

function fail(message: string): never {
  process.stderr.write(`psk serve: ${message}\n`);
  process.exit(2);
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
let prov: ReturnType<typeof provisioning>;
let listen: ReturnType<typeof parseUdpAddress>;
try {
  prov = provisioning({ ik: values.ik, skCs: values['sk-cs'], idI: num(values['id-i']), idC: num(values['id-c']), windowS: num(values['window-s']) });
  listen = parseUdpAddress(values.listen!, '--listen', true);
} catch (e) {
  fail((e as Error).message);
}
const nowS = () => timestampFromMs(Date.now());
const log: string[] = [];
let endpoint: CoapEndpoint;
try {
  if (values.role === 'sbs') {
    endpoint = sbsEndpoint(new PskServer({ nodes: new Map([[prov.idI, prov.ikI]]), controllers: new Map([[prov.idC, prov.skCs]]), nowS, windowS: prov.windowS, behaviour: pskProfile('sbs', values.profile!) }), log);
  } else if (values.role === 'sbr') {
    if (!values.sbs) fail('--role sbr needs --sbs udp://HOST:PORT (the authentication server)');
    const sbs = parseUdpAddress(values.sbs, '--sbs');
    endpoint = sbrEndpoint(new PskController({ idC: prov.idC, skCs: prov.skCs, nowS, windowS: prov.windowS, behaviour: pskProfile('sbr', values.profile!) }), () => sbs, undefined, log);
  } else if (values.role === 'sbi') {
    endpoint = sbiEndpoint(new PskNode({ idI: prov.idI, ikI: prov.ikI, behaviour: pskProfile('sbi', values.profile!) }), undefined, log);
  } else {
    fail(`--role: expected sbi, sbr or sbs, got ${JSON.stringify(values.role)}`);
  }
} catch (e) {
  fail((e as Error).message);
}
// Log lines as they come.
const push = log.push.bind(log);
log.push = (...lines: string[]) => { for (const l of lines) process.stderr.write(`${l}\n`); return push(...lines); };

const bound = await endpoint.start(listen).catch((e: Error) => fail(e.message));
process.stdout.write(`${JSON.stringify({ role: values.role, listening: formatUdpAddress(bound) })}\n`);
const stop = () => { void endpoint.close().then(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
