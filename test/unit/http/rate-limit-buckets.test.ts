import { clientBucket } from '../../../src/http/rate-limits';

describe('clientBucket: the bucket a client address counts in', () => {
  test.each([
    ['198.51.100.7', '198.51.100.7'],
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['::FFFF:c633:6407', '198.51.100.7'],
    ['0:0:0:0:0:ffff:198.51.100.7', '198.51.100.7'],
    ['2001:db8:1:2::7', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:eeee:dddd:cccc', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:0:0:0:1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::198.51.100.7', '64:ff9b:0:0::/64'],
    ['2001:db8:1:2:3:4:198.51.100.7', '2001:db8:1:2::/64'],
  ])('%s → %s', (address, bucket) => {
    expect(clientBucket(address)).toBe(bucket);
  });

  test('every address of one /64 shares a bucket; the next /64 has its own', () => {
    const one = ['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:db8:1:2:8000::', '2001:db8:1:2:ffff:ffff:ffff:ffff'].map(clientBucket);
    expect(new Set(one).size).toBe(1);
    expect(clientBucket('2001:db8:1:3::1')).not.toBe(one[0]);
    expect(clientBucket('2001:db8:1:1:ffff:ffff:ffff:ffff')).not.toBe(one[0]);
  });

  test('IPv4 addresses stay apart, however close', () => {
    expect(clientBucket('198.51.100.7')).not.toBe(clientBucket('198.51.100.8'));
    expect(clientBucket('::ffff:198.51.100.7')).not.toBe(clientBucket('::ffff:198.51.100.8'));
  });

  test('what is no address is its own bucket, unchanged', () => {
    for (const s of ['unknown', '', '2001:db8::1::2', '198.51.100.256', 'not:an:address']) expect(clientBucket(s)).toBe(s);
  });
});
