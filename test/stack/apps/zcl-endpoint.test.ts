// The ZCL endpoint dispatcher: attribute reads, routing by cluster and direction, Default Response
// rules (ZCL 07-5123 §2.5.12.2) and the SE APS-security rule.
import { describe, expect, it } from 'vitest';
import { KeepAliveServer } from '../../../harness/stack/apps/keep-alive.ts';
import { KEY_ESTABLISHMENT_CLUSTER } from '../../../harness/stack/apps/key-establishment.ts';
import { ZclEndpoint } from '../../../harness/stack/apps/zcl-endpoint.ts';
import { decodeZclFrame } from '../../../harness/zigbee/zcl.ts';
import { inject } from './aps-pair.ts';
import { SE_ENDPOINT, makeRig } from './fixtures.ts';

function setup() {
  const rig = makeRig({ tcClusters: [new KeepAliveServer({ baseMinutes: 1, jitterSeconds: 5 })] });
  const send = async (payload: number[], o: { clusterId?: number; broadcast?: boolean; profileId?: number; apsSecurity?: boolean } = {}) => {
    const before = rig.net.frames.length;
    await inject(rig.dev.node, {
      dst: { short: o.broadcast ? 0xfffd : 0x0000 }, dstEndpoint: o.broadcast ? 0xff : SE_ENDPOINT, srcEndpoint: SE_ENDPOINT,
      clusterId: o.clusterId ?? KEY_ESTABLISHMENT_CLUSTER, profileId: o.profileId ?? 0x0109, payload: Uint8Array.of(...payload), apsSecurity: o.apsSecurity,
    });
    await rig.clock.sleep(100);
    return rig.net.frames.slice(before + 1).filter((f) => f.from === 'tc').map((f) => decodeZclFrame(f.payload).value);
  };
  return { rig, send };
}

describe('ZclEndpoint', () => {
  it('answers Read Attributes from the attribute table, UNSUPPORTED_ATTRIBUTE for the rest', async () => {
    const { send } = setup();
    const [rsp] = await send([0x00, 0x21, 0x00, 0x00, 0x00, 0x34, 0x12]);
    expect(rsp.header).toMatchObject({ frameType: 0, direction: 'server-to-client', disableDefaultResponse: true, tsn: 0x21, commandId: 0x01 });
    expect(rsp.command).toEqual({ type: 'readAttributesResponse', records: [
      { attributeId: 0x0000, status: 0, dataType: 0x31, value: 0x0003 },
      { attributeId: 0x1234, status: 0x86 },
    ] });
  });

  it.each([
    { what: 'a cluster the endpoint does not host', payload: [0x01, 1, 0x00], clusterId: 0x0702, status: 0xc3 },
    { what: 'the wrong direction (server→client to a server-only cluster)', payload: [0x09, 1, 0x00], clusterId: KEY_ESTABLISHMENT_CLUSTER, status: 0xc3 },
    { what: 'an unknown cluster command', payload: [0x01, 1, 0x07], clusterId: KEY_ESTABLISHMENT_CLUSTER, status: 0x81 },
    { what: 'an unknown global command', payload: [0x00, 1, 0x0c, 0x00, 0x00, 0x10], clusterId: KEY_ESTABLISHMENT_CLUSTER, status: 0x82 },
    { what: 'a manufacturer-specific cluster command', payload: [0x05, 0x4a, 0x10, 1, 0x00], clusterId: KEY_ESTABLISHMENT_CLUSTER, status: 0x83 },
    { what: 'a malformed Read Attributes (odd length)', payload: [0x00, 1, 0x00, 0x00], clusterId: KEY_ESTABLISHMENT_CLUSTER, status: 0x80 },
    { what: 'an unencrypted frame on an APS-required cluster (Keep-Alive)', payload: [0x00, 1, 0x00, 0x00, 0x00], clusterId: 0x0025, status: 0x7e },
  ])('answers $what with Default Response 0x$status', async ({ payload, clusterId, status }) => {
    const { send } = setup();
    const out = await send(payload, { clusterId });
    expect(out).toHaveLength(1);
    expect(out[0].command).toMatchObject({ type: 'defaultResponse', status, commandId: payload[payload[0] & 0x04 ? 4 : 2] });
    expect(out[0].header).toMatchObject({ tsn: payload[payload[0] & 0x04 ? 3 : 1], disableDefaultResponse: true });
  });

  it('Default Response SUCCESS only when asked for; none to broadcasts, to Default Responses or to other profiles', async () => {
    const { send } = setup();
    // A Terminate with no exchange running has no response command: SUCCESS unless disabled.
    const terminate = [0x03, 0x01, 0x1e, 0x01, 0x00];
    expect((await send([0x01, 7, ...terminate])).map((f) => f.command)).toEqual([{ type: 'defaultResponse', commandId: 0x03, status: 0 }]);
    expect(await send([0x11, 8, ...terminate])).toEqual([]);
    expect(await send([0x01, 9, 0x07], { broadcast: true })).toEqual([]);
    expect(await send([0x00, 10, 0x0b, 0x00, 0x81])).toEqual([]);
    expect(await send([0x01, 11, 0x07], { profileId: 0x0104 })).toEqual([]);
  });

  it('lists its server and client clusters for the simple descriptor, and refuses bad configurations', () => {
    const { rig } = setup();
    expect(rig.tcEndpoint.inClusters).toEqual([0x0800, 0x0025]);
    expect(rig.dev.endpoint.outClusters).toEqual([0x0800]);
    expect(() => new ZclEndpoint({ endpoint: 0, clusters: [] })).toThrow(RangeError);
    const ka = new KeepAliveServer({ baseMinutes: 1, jitterSeconds: 0 });
    expect(() => new ZclEndpoint({ endpoint: 1, clusters: [ka, ka] })).toThrow(/hosted twice/);
    expect(() => new KeepAliveServer({ baseMinutes: 0, jitterSeconds: 0 })).toThrow(/baseMinutes/);
    expect(() => new KeepAliveServer({ baseMinutes: 1, jitterSeconds: 513 })).toThrow(/jitterSeconds/);
  });
});
