/**
 * Which URLs the edge may fetch (image URLs) or call (customer webhooks, GPU function): https
 * to a public host. Refused: private, loopback, link-local, carrier-grade NAT, reserved and
 * cloud metadata addresses, written as IPv4 (any form the URL parser normalises, such as
 * 2130706433 or 0x7f.1), IPv6 (including IPv4-mapped and NAT64 forms), and host names that only
 * resolve inside a network (localhost, single labels, .internal, .local, .home.arpa). The local
 * development switch admits http and loopback hosts, nothing else.
 *
 * Host names are not resolved here (a Worker has no DNS API); in production, Workers' outbound
 * fetches cannot reach private networks, which covers names that resolve to private addresses.
 */

export interface OutboundUrlPolicy {
  readonly allowLoopback: boolean;
}

type AddressClass = 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved';

interface Cidr4 {
  readonly base: number;
  readonly bits: number;
  readonly kind: AddressClass;
}

function ipv4ToInt(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = value * 256 + byte;
  }
  return value;
}

function cidr(text: string, kind: AddressClass): Cidr4 {
  const [address, bits] = text.split('/');
  return { base: ipv4ToInt(address!)!, bits: Number(bits), kind };
}

/** Most specific first: the metadata addresses sit inside link-local and CGNAT. */
const IPV4_BLOCKS: readonly Cidr4[] = [
  cidr('169.254.169.254/32', 'metadata'),
  cidr('169.254.170.2/32', 'metadata'),
  cidr('100.100.100.200/32', 'metadata'),
  cidr('0.0.0.0/8', 'reserved'),
  cidr('10.0.0.0/8', 'private'),
  cidr('100.64.0.0/10', 'private'),
  cidr('127.0.0.0/8', 'loopback'),
  cidr('169.254.0.0/16', 'link-local'),
  cidr('172.16.0.0/12', 'private'),
  cidr('192.0.0.0/24', 'reserved'),
  cidr('192.0.2.0/24', 'reserved'),
  cidr('192.88.99.0/24', 'reserved'),
  cidr('192.168.0.0/16', 'private'),
  cidr('198.18.0.0/15', 'reserved'),
  cidr('198.51.100.0/24', 'reserved'),
  cidr('203.0.113.0/24', 'reserved'),
  cidr('224.0.0.0/4', 'reserved'),
  cidr('240.0.0.0/4', 'reserved'),
];

function classifyIpv4(value: number): AddressClass | undefined {
  for (const block of IPV4_BLOCKS) {
    const size = 2 ** (32 - block.bits);
    if (value >= block.base && value < block.base + size) return block.kind;
  }
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (as the URL parser writes it, without brackets). */
function ipv6Groups(text: string): number[] | undefined {
  let address = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const v4 = ipv4ToInt(dotted[1]!);
    if (v4 === undefined) return undefined;
    address = `${address.slice(0, -dotted[1]!.length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : undefined;
}

function classifyIpv6(groups: number[]): AddressClass | undefined {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const embedded = g6 * 65536 + g7;
  if (groups.every((group) => group === 0)) return 'reserved';
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0 && g6 === 0 && g7 === 1)
    return 'loopback';
  // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d carry an IPv4 address.
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && (g5 === 0xffff || g5 === 0)) {
    return classifyIpv4(embedded) ?? 'reserved';
  }
  // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0)
    return classifyIpv4(embedded);
  if (
    g0 === 0xfd00 &&
    g1 === 0x0ec2 &&
    g7 === 0x0254 &&
    g2 === 0 &&
    g3 === 0 &&
    g4 === 0 &&
    g5 === 0 &&
    g6 === 0
  ) {
    return 'metadata';
  }
  if ((g0 & 0xfe00) === 0xfc00) return 'private';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'private';
  if ((g0 & 0xff00) === 0xff00) return 'reserved';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved';
  return undefined;
}

const INTERNAL_SUFFIXES = ['.localhost', '.internal', '.local', '.home.arpa', '.intranet', '.lan'];

function classifyName(host: string): AddressClass | undefined {
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  if (host === 'metadata.google.internal' || host === 'instance-data') return 'metadata';
  if (!host.includes('.')) return 'private';
  if (INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) return 'private';
  return undefined;
}

/** Why a host is not public, or undefined for a public host. */
export function classifyHost(hostname: string): AddressClass | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host.startsWith('[') && host.endsWith(']')) {
    const groups = ipv6Groups(host.slice(1, -1));
    return groups ? classifyIpv6(groups) : 'reserved';
  }
  const v4 = ipv4ToInt(host);
  if (v4 !== undefined) return classifyIpv4(v4);
  return classifyName(host);
}

/** The reason a URL may not be fetched or called, or undefined when it may. */
export function outboundUrlProblem(raw: string, policy: OutboundUrlPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (url.username || url.password) return 'must not embed credentials';
  const kind = classifyHost(url.hostname);
  const loopbackAllowed = policy.allowLoopback && kind === 'loopback';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackAllowed)) {
    return `must use https, not ${url.protocol.slice(0, -1)}`;
  }
  if (kind !== undefined && !loopbackAllowed) {
    return `points at ${url.hostname}, a ${kind} address; only public hosts are allowed`;
  }
  return undefined;
}
