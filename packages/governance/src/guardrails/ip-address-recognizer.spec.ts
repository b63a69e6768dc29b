import { describe, expect, it } from '@jest/globals';
import { recognizeIpAddresses } from './ip-address-recognizer';

const detected = (text: string): string[] =>
  recognizeIpAddresses(text)
    .filter((finding) => finding.score >= 0.5)
    .map((finding) => text.slice(finding.start, finding.end));

describe('recognizeIpAddresses: IPv4', () => {
  it('finds dotted quads that node:net accepts', () => {
    expect(detected('from 203.0.113.45 and 10.0.0.1.')).toEqual(['203.0.113.45', '10.0.0.1']);
    expect(detected('0.0.0.0 and 255.255.255.255')).toEqual(['0.0.0.0', '255.255.255.255']);
  });

  it('keeps ports and prefix lengths out of the span', () => {
    expect(detected('10.1.2.3:3128 and 10.0.0.0/8')).toEqual(['10.1.2.3', '10.0.0.0']);
  });

  it('rejects octets over 255, leading zeros and longer dotted sequences', () => {
    expect(detected('192.168.1.300 and 01.2.3.4')).toEqual([]);
    expect(detected('1.2.3.4.5 and OID 1.3.6.1.4.1.311')).toEqual([]);
    expect(detected('build 10.0.19045.3693')).toEqual([]);
  });

  it('does not read version or section numbers as addresses', () => {
    expect(detected('Version 10.2.0.1 of the driver')).toEqual([]);
    expect(detected('Section 4.2.1.3 covers liability')).toEqual([]);
    expect(detected('upgrade to 1.0.5.0 or later')).toEqual([]);
  });

  it('does not match inside words', () => {
    expect(detected('v1.2.3.4 and Chrome/124.0.63.91x')).toEqual([]);
  });
});

describe('recognizeIpAddresses: IPv6', () => {
  it.each([
    ['::1', '::1'],
    ['fe80::1', 'fe80::1'],
    ['2001:db8::', '2001:db8::'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:0db8:85a3:0000:0000:8a2e:0370:7334'],
    ['::ffff:192.0.2.128', '::ffff:192.0.2.128'],
    ['fe80::1ff:fe23:4567:890a%eth0', 'fe80::1ff:fe23:4567:890a%eth0'],
  ])('finds %s', (address, expected) => {
    expect(detected(`addr ${address} seen`)).toEqual([expected]);
  });

  it('finds addresses in brackets, after a label and before sentence punctuation', () => {
    expect(detected('https://[2001:db8::1]:8443/health')).toEqual(['2001:db8::1']);
    expect(detected('IPv6:fe80::1 ok')).toEqual(['fe80::1']);
    expect(detected('use 2606:4700:4700::1111.')).toEqual(['2606:4700:4700::1111']);
    expect(detected('at fe80::1: timeout')).toEqual(['fe80::1']);
  });

  it('reports an IPv4-mapped address once, not also its IPv4 tail', () => {
    expect(recognizeIpAddresses('client ::ffff:192.0.2.128 connected')).toEqual([
      { entity_type: 'IP_ADDRESS', start: 7, end: 25, score: 0.9 },
    ]);
  });

  it('rejects times, MAC addresses, ratios and C++ scopes', () => {
    expect(detected('12:30:45 00:1A:2B:3C:4D:5E 1:2:3 std::vector<int>::at Foo::Bar :: ::.')).toEqual([]);
  });
});
