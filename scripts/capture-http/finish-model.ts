/**
 * Turns the model that `dust model build` fitted to the HTTP capture into the shipped built-in
 * `http` model (issue 6 "Built-in models from captured traffic"; models/http.md, "What was changed
 * and why"). capture.sh bundles it with esbuild and runs it:
 *
 *   node finish-model.cjs CAPTURED.json CAPTURE.pcap PORT VERSIONS.txt OUT.json
 *
 * Kept exactly as fitted: both directions' byte weights, packet lengths and prefixes, and the
 * server's packets per second. Changed, because loopback and curl make them useless for a Dust
 * connection that carries Tor:
 * - client → server packets per second: from every segment the client sends (its ACKs included),
 *   not only those with payload. HTTP's requests come about once a second, while its ACKs come at
 *   about half the server's segment rate; Dust needs that rate for Tor's and Ensemble's upstream.
 * - connection durations: the captured ones plus nginx's keepalive_timeout (65 s). curl closes a
 *   connection the moment its transfers end (after 1 ms to 12 s on loopback); a browser leaves it
 *   open, and nginx closes it after that much idle time.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { reassembleFlows } from '../../src/tools/flows.js';
import { empiricalDistribution, formatModelJson, packetsPerWindow, type Quantity } from '../../src/tools/model-build.js';
import { readCapture } from '../../src/tools/pcap.js';
import { MAX_PACKETS_PER_SECOND, parseModel, type DistributionJson, type ModelDefinition } from '../../src/shaping/model.js';

/** nginx's keepalive_timeout in capture.sh's nginx.conf, in ms. */
export const KEEPALIVE_TIMEOUT_MS = 65_000;

/** Packets per second, binned as `dust model build` bins them. */
const FLOW: Quantity = { integer: true, lo: 0, hi: MAX_PACKETS_PER_SECOND, maxExact: 256, maxBins: 64 };

/** Every value and bin of a real-valued distribution moved up by `by`. */
export function shiftDistribution(d: DistributionJson, by: number): DistributionJson {
  switch (d.family) {
    case 'fixed':
      return { family: 'fixed', value: d.value + by };
    case 'histogram':
      return {
        family: 'histogram',
        ...(d.values && { values: d.values.map((v) => ({ value: v.value + by, weight: v.weight })) }),
        ...(d.bins && { bins: d.bins.map((b) => ({ min: b.min + by, max: b.max + by, weight: b.weight })) }),
      };
    default:
      throw new Error(`BUG: dust model build writes fixed or histogram durations, got ${d.family}`);
  }
}

/**
 * Per-second counts of every segment the client sends (SYN, requests, ACKs, FIN), windows as
 * `dust model build` takes them: from each flow's first segment to its last.
 */
export function clientSegmentsPerSecond(capture: Uint8Array, name: string, port: number): number[] {
  const segments = readCapture(capture, name);
  const counts: number[] = [];
  for (const flow of reassembleFlows(segments, { port })) {
    if (flow.c2s.length === 0 && flow.s2c.length === 0) continue; // as dust model build does
    const sent = segments.filter(
      (s) =>
        s.src.ip === flow.client.ip &&
        s.src.port === flow.client.port &&
        s.dst.ip === flow.server.ip &&
        s.dst.port === flow.server.port &&
        s.timeMs >= flow.startMs &&
        s.timeMs <= flow.endMs,
    );
    counts.push(...packetsPerWindow(flow, sent.map((s) => ({ timeMs: s.timeMs, payload: s.payload }))));
  }
  return counts;
}

function main(argv: string[]): void {
  if (argv.length !== 5) {
    console.error('usage: node finish-model.cjs CAPTURED.json CAPTURE.pcap PORT VERSIONS.txt OUT.json');
    process.exit(2);
  }
  const [capturedPath, pcapPath, portText, versionsPath, outPath] = argv as [string, string, string, string, string];
  const captured = parseModel(JSON.parse(readFileSync(capturedPath, 'utf8')), capturedPath).definition;
  const perSecond = clientSegmentsPerSecond(readFileSync(pcapPath), pcapPath, Number(portText));
  const versions = readFileSync(versionsPath, 'utf8');
  const line = (key: string) => versions.match(new RegExp(`^${key}: (.*)$`, 'm'))?.[1] ?? '?';
  const definition: ModelDefinition = {
    ...captured,
    name: 'http',
    description:
      `HTTP/1.1 page loads and file downloads between curl ${line('curl').split(' ')[1]} and nginx ${line('nginx').replace('nginx/', '')}, ` +
      `captured with tcpdump on a loopback with a 1500-byte MTU on ${line('captured').slice(0, 10)} ` +
      `(scripts/capture-http/capture.sh). ${captured.description} ` +
      'Bytes, lengths, prefixes and server packets per second as captured; client packets per second count every client ' +
      'segment (ACKs included) and durations add nginx\'s 65 s keep-alive, so that a Dust connection can carry Tor (models/http.md).',
    duration_ms: shiftDistribution(captured.duration_ms, KEEPALIVE_TIMEOUT_MS),
    client_to_server: { ...captured.client_to_server, flow_packets_per_second: empiricalDistribution(perSecond, FLOW) },
  };
  const model = parseModel(definition, outPath);
  writeFileSync(outPath, formatModelJson(model.definition));
  const rate = (d: 'clientToServer' | 'serverToClient') => {
    const flow = model[d].flowPacketsPerSecond;
    return flow === 'on_demand' ? 'on demand' : `${flow.mean.toFixed(1)} packets/s × ${model[d].lengthBytes.mean.toFixed(0)} B`;
  };
  const fitted = parseModel(captured, capturedPath).clientToServer.flowPacketsPerSecond;
  console.log(
    `wrote ${outPath}: client→server ${rate('clientToServer')} (segments with payload only: ${fitted === 'on_demand' ? '-' : fitted.mean.toFixed(1)}/s), ` +
      `server→client ${rate('serverToClient')}; durations ${(model.durationMs.min / 1000).toFixed(1)}..${(model.durationMs.max / 1000).toFixed(1)} s`,
  );
}

main(process.argv.slice(2));
