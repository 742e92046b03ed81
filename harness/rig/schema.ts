// The rig file: which driver plays which role, where it is plugged in, the radio settings and the
// DUT's identity. The rig is data, apart from the tests (OpenHTF/labgrid); tests ask for roles
// and capabilities, never for ports. This schema is the single source: the loader validates with
// it and `sehil rig schema` prints the JSON Schema editors use.
import { z } from 'zod';

const hex = (bytes: number, what: string) =>
  z.string().transform((s) => s.replace(/[\s:.-]/g, '').replace(/^0x/i, '').toLowerCase())
    .refine((s) => s.length === bytes * 2 && /^[0-9a-f]*$/.test(s), `${what}: expected ${bytes} bytes as hex (separators allowed)`);

const eui64 = hex(8, 'EUI-64');
const channel = z.number({ error: 'must be a 2.4 GHz channel number 11..26' }).int('must be a whole channel number 11..26')
  .min(11, 'must be a 2.4 GHz channel 11..26').max(26, 'must be a 2.4 GHz channel 11..26');

/** Capabilities a driver or DUT can declare; tests that need one the rig lacks are skipped with the reason. */
export const CAPABILITIES = [
  'install-code', 'tclk-exchange', 'legacy-join', 'cbke-v1', 'cbke-v2', 'cbke-dynamic',
  'keepalive-client', 'keepalive-server', 'tcso', 'leave', 'rejoin-secured', 'rejoin-tc',
  'key-table-edit', 'power-control', 'psk-reconfig',
] as const;
export const capability = z.enum(CAPABILITIES);

const identity = z.object({
  eui64,
  installCode: z.string().optional().describe('install code with or without CRC, any separators'),
  certificates: z.object({
    suite1: z.object({ certificate: hex(48, 'suite-1 certificate'), privateKey: hex(21, 'suite-1 private key') }).strict().optional(),
    suite2: z.object({ certificate: hex(74, 'suite-2 certificate'), privateKey: hex(36, 'suite-2 private key') }).strict().optional(),
  }).strict().optional(),
}).strict();

const serialPort = z.string({
  error: (iss) => (iss.input === undefined ? 'required: the serial device, e.g. /dev/ttyACM0 or /dev/serial/by-id/usb-…' : 'must be a serial device path'),
}).min(1, 'must be a serial device path').describe('serial device, e.g. /dev/ttyACM0 or /dev/serial/by-id/usb-…');

/** A serial dongle's own power-cycle command; the rig-wide `power.cycle` is used where a role has none. */
const powerCycle = z.string().min(1).optional()
  .describe('shell command that power-cycles this role\'s dongle (e.g. uhubctl -l 1-1 -p 3 -a cycle); run by the recovery ladder when re-opening a lost port did not bring it back; overrides power.cycle for this role');

const simRole = z.object({
  driver: z.literal('sim'),
  profile: z.string().default('compliant').describe('behaviour profile of the simulated node (see `sehil selftest`)'),
  fault: z.enum(['stops-answering']).optional()
    .describe('for the kit\'s own tests: the simulated device stops answering its control channel (joins and leaves never complete)'),
}).strict();
const nrfSnifferRole = z.object({
  driver: z.literal('nrf-sniffer'),
  port: serialPort,
  baud: z.number().int().positive().default(115200),
  powerCycle,
}).strict();
const nrfShellRole = z.object({
  driver: z.literal('nrf-zigbee-shell'),
  port: serialPort,
  baud: z.number().int().positive().default(115200),
  powerCycle,
}).strict();
const emberRole = z.object({
  driver: z.literal('ember-cli'),
  port: serialPort,
  baud: z.number().int().positive().default(115200),
  powerCycle,
}).strict();
const remoteRole = z.object({
  driver: z.literal('remote'),
  endpoint: z.string().regex(/^tcp:\/\/[^:]+:\d+$/, 'expected tcp://HOST:PORT'),
  device: z.string().min(1).describe('device name on the agent, as `sehil devices` lists it there'),
  serverPublicKey: z.string().optional().describe('agent CURVE public key (Z85), required off loopback'),
  clientKeyFile: z.string().optional().describe('file with this client\'s CURVE key pair'),
}).strict();
const operatorRole = z.object({
  driver: z.literal('operator'),
  promptTimeoutS: z.number().positive().default(120).describe('how long to wait for the operator before failing'),
}).strict();

// PSK reconfiguration (draft-kang-core-secure-reconfiguration-00; harness/psk/PROFILE.md): which of
// the three roles is an external implementation at a UDP address. Roles not given run in-process.
const udpAddress = (what: string, anyPort: boolean) => z.string({ error: `${what}: expected udp://HOST:PORT` })
  .regex(/^udp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):\d{1,5}$/, `${what}: expected udp://HOST:PORT (IPv6 in brackets), e.g. udp://192.0.2.10:5683`)
  .refine((s) => { const p = Number(s.slice(s.lastIndexOf(':') + 1)); return p <= 65535 && (anyPort || p > 0); },
    `${what}: port must be ${anyPort ? '0' : '1'}..65535`);
const pskRole = (name: string, profiles: string) => z.object({
  address: udpAddress(`the external ${name}'s CoAP endpoint`, false).optional()
    .describe(`an external ${name} at this address (udp://HOST:PORT); leave out to run the kit's own in-process`),
  listen: udpAddress(`where the in-process ${name} listens`, true).optional()
    .describe(`in-process ${name} only: bind here (udp://HOST:PORT, port 0 = any) so external roles can reach it`),
  profile: z.string().optional().describe(`in-process ${name} only: behaviour profile (${profiles})`),
}).strict().refine((r) => !(r.address && (r.listen || r.profile)),
  `give either address (an external ${name}) or listen/profile (the in-process one), not both`);
const u32 = (what: string) => z.number({ error: `${what}: expected an integer 0..4294967295` }).int(`${what}: expected an integer`)
  .min(0, `${what}: expected 0..4294967295`).max(0xffffffff, `${what}: expected 0..4294967295`);
const pskSection = z.object({
  sbi: pskRole('SBI (new node)', 'compliant, skips-key-offer-check').optional()
    .describe('new node SBI(i); an external one must serve POST /psk/start (PROFILE.md P10)'),
  sbr: pskRole('SBR (controller)', 'compliant, accepts-any-confirmation, answers-replayed-hello').optional()
    .describe('controller SBR(c): serves /psk/hello and /psk/confirm; an external one must know the SBS address itself'),
  sbs: pskRole('SBS (authentication server)', 'compliant, ignores-mic, ignores-timestamp, accepts-replay').optional()
    .describe('authentication server SBS(s): serves /psk/auth'),
  ik: hex(16, 'psk.ik (IK_i, the node\'s initial key)').optional().describe('IK_i every role is provisioned with (default: the FIPS-197 C.1 key)'),
  skCs: hex(16, 'psk.skCs (SK_cs, controller–server key)').optional().describe('SK_cs shared by SBR and SBS'),
  idI: u32('psk.idI (ID_i)').optional().describe('ID_i of the node'),
  idC: u32('psk.idC (ID_c)').optional().describe('ID_c of the controller'),
  windowS: z.number().int('psk.windowS: whole seconds').min(1, 'psk.windowS: 1..3600 s').max(3600, 'psk.windowS: 1..3600 s').optional()
    .describe('timestamp window of the SBS, ± seconds (default 120, PROFILE.md P7)'),
}).strict();

export const DRIVERS = ['sim', 'nrf-sniffer', 'nrf-zigbee-shell', 'ember-cli', 'remote', 'operator'] as const;

const role = z.discriminatedUnion('driver', [simRole, nrfSnifferRole, nrfShellRole, emberRole, remoteRole, operatorRole]);

export const rigSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  clock: z.enum(['virtual', 'real']).default('virtual').describe('virtual only with the sim driver in every role'),
  channel,
  panId: z.number().int().min(0).max(0xfffe).default(0x1a62),
  extendedPanId: hex(8, 'extended PAN ID').optional(),
  roles: z.object({
    tc: role,
    dut: role.and(z.object({
      identity: identity.optional(),
      capabilities: z.array(capability).optional().describe('PICS-like list of what the DUT supports'),
    }).passthrough()),
    sniffer: role,
  }).strict(),
  psk: pskSection.optional().describe('PSK reconfiguration roles (suite psk-reconfig); leave out to run all three in-process'),
  power: z.object({
    cycle: z.string().min(1).describe('shell command that power-cycles the rig\'s USB devices, e.g. uhubctl -l 1-1 -p 2 -a cycle; the serial drivers (nrf-sniffer, nrf-zigbee-shell, ember-cli) run it when re-opening a lost port did not bring it back, unless their role has its own powerCycle'),
  }).strict().optional(),
}).strict();

export type RigFile = z.output<typeof rigSchema>;

/** The power-cycle command for a serial role: its own `powerCycle`, else the rig's `power.cycle`. */
export function powerCycleCommand(config: { powerCycle?: string }, rig: { power?: { cycle: string } }): string | undefined {
  return config.powerCycle ?? rig.power?.cycle;
}
export type RoleConfig = z.output<typeof role>;
export type PskRigSection = z.output<typeof pskSection>;

/** The JSON Schema for editors (`# yaml-language-server: $schema=…`). */
export function rigJsonSchema(): object {
  return z.toJSONSchema(rigSchema, { io: 'input', unrepresentable: 'any' });
}
