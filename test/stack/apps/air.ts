// Decodes the frames a MemoryNetwork carried, as a sniffer would list them.
import { keStatusName } from '../../../harness/crypto/cbke-suites.ts';
import {
  KEY_ESTABLISHMENT_CLUSTER, decodeKeyEstablishmentCommand, keyEstablishmentCommandName,
} from '../../../harness/zigbee/clusters/key-establishment.ts';
import { ZCL_STATUS_NAMES, ZclFrameType, decodeZclFrame } from '../../../harness/zigbee/zcl.ts';
import type { MemoryNetwork, SimFrame } from './aps-pair.ts';

export interface AirLine {
  at: number;
  from: string;
  to: string;
  /** e.g. "Initiate Key Establishment Request", "Read Attributes", "Default Response SUCCESS". */
  name: string;
  frameControl: number;
  tsn: number;
  payloadBytes: number;
  /** Terminate status name, for Terminate frames. */
  terminate?: string;
  waitTime?: number;
  apsSecured: boolean;
  broadcast: boolean;
  ackRequest: boolean;
  fate: SimFrame['fate'];
}

export function airOf(net: MemoryNetwork, clusterId: number): AirLine[] {
  return net.framesOf(clusterId).map((f) => {
    const { header, command } = decodeZclFrame(f.payload).value;
    let name: string;
    let terminate: string | undefined;
    let waitTime: number | undefined;
    if (header.frameType === ZclFrameType.CLUSTER && clusterId === KEY_ESTABLISHMENT_CLUSTER) {
      name = keyEstablishmentCommandName(header.commandId, header.direction);
      const raw = command.type === 'raw' ? command.raw : new Uint8Array(0);
      if (header.commandId === 3) {
        const t = decodeKeyEstablishmentCommand(3, raw).value;
        if (t.type === 'terminateKeyEstablishment') { terminate = keStatusName(t.status); waitTime = t.waitTime; }
      }
    } else if (command.type === 'defaultResponse') {
      name = `Default Response ${ZCL_STATUS_NAMES[command.status] ?? command.status}`;
    } else if (command.type === 'readAttributes') {
      name = 'Read Attributes';
    } else if (command.type === 'readAttributesResponse') {
      name = 'Read Attributes Response';
    } else {
      name = `command 0x${header.commandId.toString(16)}`;
    }
    return {
      at: f.at, from: f.from, to: f.to, name, frameControl: f.payload[0], tsn: header.tsn, payloadBytes: f.payload.length - 3,
      terminate, waitTime, apsSecured: f.apsSecured, broadcast: f.broadcast, ackRequest: f.ackRequest, fate: f.fate,
    };
  });
}

export const names = (lines: readonly AirLine[]) => lines.map((l) => `${l.from}: ${l.name}${l.terminate ? ` ${l.terminate}` : ''}`);
