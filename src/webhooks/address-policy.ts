// Where a webhook may point (no SSRF): http(s) URLs whose host resolves only to public unicast
// addresses. Checked when a webhook is created and again at every delivery, which then connects
// to the address it checked (no second DNS answer in between).
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Loopback, private, link-local, CGNAT, metadata, documentation, multicast and reserved ranges. */
const FORBIDDEN = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches loopback on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  FORBIDDEN.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses, private ones included
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, …)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local, fd00::/8 included (e.g. fd00:ec2::254 metadata)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  FORBIDDEN.addSubnet(net, bits, 'ipv6');
}

const V4_MAPPED = /^::ffff:(?:0:)?(\d+\.\d+\.\d+\.\d+)$/i;

/** True when an IP address is not a public unicast one (v4-mapped IPv6 judged by its IPv4). */
export function isForbiddenAddress(address: string): boolean {
  const mapped = V4_MAPPED.exec(address);
  if (mapped?.[1] !== undefined) return isForbiddenAddress(mapped[1]);
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6 && /^::ffff:/i.test(address)) return true; // a mapped form we cannot read
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class UrlRefusedError extends Error {
  override readonly name = 'UrlRefusedError';
}

export interface CheckedTarget {
  url: URL;
  /** The address to connect to (checked), and its family. */
  address: string;
  family: 4 | 6;
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Parses and checks a webhook URL's form (scheme, no credentials, a host); throws UrlRefusedError. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefusedError('not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UrlRefusedError(`the scheme must be http or https, not ${url.protocol.slice(0, -1).slice(0, 20)}`);
  if (url.username !== '' || url.password !== '') throw new UrlRefusedError('credentials in the URL are not allowed');
  if (hostOf(url) === '') throw new UrlRefusedError('the URL has no host');
  return url;
}

/**
 * Resolves the URL's host and checks every address it has (one forbidden address refuses the URL:
 * DNS may answer with any of them later). Returns the first address to connect to.
 */
export async function resolveWebhookTarget(raw: string, allowPrivate: boolean): Promise<CheckedTarget> {
  const url = parseWebhookUrl(raw);
  const host = hostOf(url);
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new UrlRefusedError(`the host ${host.slice(0, 100)} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'DNS error'})`);
    }
  }
  const first = addresses[0];
  if (first === undefined) throw new UrlRefusedError(`the host ${host.slice(0, 100)} has no address`);
  if (!allowPrivate) {
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    if (bad !== undefined) {
      throw new UrlRefusedError(`the host resolves to ${bad.address}, a loopback, private, link-local or otherwise non-public address (WEBHOOK_ALLOW_PRIVATE is off)`);
    }
  }
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
