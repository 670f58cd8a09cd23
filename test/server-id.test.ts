import fc from 'fast-check';
import { bytesToHex } from '../src/core/bytes.js';
import { parseIpAddress, serverIdentifier } from '../src/core/server-id.js';

describe('server identifier (seed "Creating a server identifier")', () => {
  test.each([
    ['192.0.2.10', 443, 'tcp', '00c000020a01bb'],
    ['192.0.2.10', 443, 'udp', '02c000020a01bb'],
    ['::ffff:192.0.2.10', 443, 'tcp', '00c000020a01bb'],
    ['2001:db8:85a3::8a2e:370:7334', 8443, 'tcp', '0120010db885a3000000008a2e0370733420fb'],
    ['::1', 1, 'tcp', '01000000000000000000000000000000010001'],
    ['::', 0, 'udp', '03000000000000000000000000000000000000'],
  ] as const)('%s port %i %s', (ip, port, transport, hex) => {
    expect(bytesToHex(serverIdentifier(ip, port, transport))).toBe(hex);
  });

  test.each(['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '[::1]', 'fe80::1%eth0', 'localhost'])(
    'rejects %j',
    (ip) => {
      expect(parseIpAddress(ip)).toBeNull();
      expect(() => serverIdentifier(ip, 1)).toThrow(RangeError);
    },
  );

  test('rejects a bad port', () => {
    expect(() => serverIdentifier('1.2.3.4', 65536)).toThrow(RangeError);
  });

  test('agrees with node:net on random IPv6 addresses in canonical and full form', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
        const parsed = parseIpAddress(groups.join(':'))!;
        const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
        expect(bytesToHex(parsed)).toBe(bytesToHex(mapped ? bytes.slice(12) : bytes));
        const compressed = new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
        expect(bytesToHex(parseIpAddress(compressed)!)).toBe(bytesToHex(parsed));
      }),
      { numRuns: 300 },
    );
  });
});
