/**
 * Which network addresses the server may connect to when it fetches an image, posts a webhook,
 * uploads an output or downloads a bundle: public unicast only. Private, loopback, link-local
 * (cloud metadata at 169.254.169.254 included), shared, multicast, documentation and reserved
 * ranges are refused, for IPv4, IPv6 and IPv4 inside IPv6. The local-development switch
 * (`--allow-loopback`) lets loopback through, nothing else.
 *
 * The check runs on the address a host name RESOLVES to, inside the connection's own lookup, so
 * the address checked is the address connected to (no second lookup to rebind in between).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const LOOPBACK: [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
];

/** Ranges refused whatever the settings, with what they are. */
const FORBIDDEN: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', '"this network"'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', '6to4 relay'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 96, 'ipv6', 'unspecified or IPv4-compatible'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64 (an IPv4 address in disguise)'],
  ['64:ff9b:1::', 48, 'ipv6', 'local NAT64'],
  ['100::', 64, 'ipv6', 'discard'],
  ['2001::', 23, 'ipv6', 'IETF protocol assignments'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['2002::', 16, 'ipv6', '6to4 (an IPv4 address in disguise)'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

function blockList(ranges: [string, number, 'ipv4' | 'ipv6', ...unknown[]][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

const loopback = blockList(LOOPBACK);
const forbidden = FORBIDDEN.map(([network, prefix, family, what]) => ({
  list: blockList([[network, prefix, family]]),
  what,
}));

/** The error a refused address raises; `code` lets callers map it without matching messages. */
export class AddressNotAllowed extends Error {
  override readonly name = 'AddressNotAllowed';
  readonly code = 'address_not_allowed';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly what: string,
  ) {
    super(
      host === address
        ? `${address} is a ${what} address`
        : `${host} resolves to ${address}, a ${what} address`,
    );
  }
}

/** Why `address` (an IP literal) may not be connected to, or undefined when it may. */
export function forbiddenAddress(address: string, allowLoopback: boolean): string | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  // BlockList compares IPv4-mapped IPv6 (::ffff:a.b.c.d) against the IPv4 ranges itself.
  if (loopback.check(address, family)) return allowLoopback ? undefined : 'loopback';
  return forbidden.find((range) => range.list.check(address, family))?.what;
}

/** Throws AddressNotAllowed when `address` is refused. */
export function assertAddressAllowed(host: string, address: string, allowLoopback: boolean): void {
  const what = forbiddenAddress(address, allowLoopback);
  if (what !== undefined) throw new AddressNotAllowed(host, address, what);
}

/**
 * A `lookup` for http(s).request and net.connect: resolves every address of the name and fails
 * unless ALL of them are allowed (a name mixing public and private answers is refused).
 */
export function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      try {
        for (const { address } of addresses) assertAddressAllowed(hostname, address, allowLoopback);
      } catch (refused) {
        callback(refused as NodeJS.ErrnoException, '', 0);
        return;
      }
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
