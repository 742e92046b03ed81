// Child process for the SIGKILL test in pcapng.test.ts: writes numbered frames to the capture
// given on the command line until it is killed. After every `report` frames it prints the count
// on stdout, so the parent knows at least that many frames reached the file.
//   SEHIL_WRITER_CHILD=1 node --import tsx test/capture/writer-child.ts OUT.pcapng pcapng|pcap
// (The env guard keeps the loop from starting when the test imports childFrame.)
import { openPcapngWriter, openPcapWriter } from '../../harness/capture/file.ts';

export function childFrame(i: number): { psdu: Uint8Array; timestampUs: bigint; channel: number; rssi: number; lqi: number } {
  const psdu = new Uint8Array(5 + (i % 40));
  psdu[0] = 0x41;
  psdu[1] = 0x88;
  psdu[2] = i & 0xff;
  psdu[3] = (i >> 8) & 0xff;
  for (let j = 4; j < psdu.length; j++) psdu[j] = (i * 7 + j) & 0xff;
  return { psdu, timestampUs: 1_700_000_000_000_000n + BigInt(i) * 1000n, channel: 11 + (i % 16), rssi: -30 - (i % 60), lqi: i % 256 };
}

const [out, format] = process.argv.slice(2);
if (process.env.SEHIL_WRITER_CHILD === '1' && out) {
  const w = format === 'pcap' ? openPcapWriter(out) : openPcapngWriter(out, { interfaceName: 'child' });
  let i = 0;
  const report = 50;
  const tick = (): void => {
    for (let k = 0; k < report; k++, i++) w.writeFrame({ ...childFrame(i), fcsIncluded: false, comment: format === 'pcap' ? undefined : `#${i}` });
    process.stdout.write(`${i}\n`);
    setImmediate(tick);
  };
  tick();
}
