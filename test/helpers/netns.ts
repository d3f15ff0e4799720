// A sandbox of separate "hosts" for one test: a network namespace per host, each with one veth into
// a bridge that lives in a hub namespace of its own, private addresses in a random 10.x.y.0/24 that
// exist only inside the sandbox (and on one veth of this test process, to reach it). Needs root.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Host {
  name: string;
  netns: string;
  ip: string;
}

export interface Sandbox {
  hosts: Map<string, Host>;
  /** This test process's address on the sandbox's network. */
  clientIp: string;
  host(name: string): Host;
  /** Pids of every process inside a host's namespace. */
  pids(name: string): number[];
  close(): void;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Null when namespaces can be made here; otherwise why not (for a visible skip). */
export function namespacesUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root: ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN';
  const probe = `tdprobe${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'exec', probe, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    return null;
  } catch (err) {
    return `ip netns/veth/bridge unavailable here: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim().slice(0, 200)}`;
  } finally {
    try {
      ip('netns', 'del', probe);
    } catch {
      // never made
    }
  }
}

export function makeSandbox(names: readonly string[]): Sandbox {
  const id = randomBytes(3).toString('hex');
  const subnet = `10.${200 + (parseInt(id.slice(0, 2), 16) % 50)}.${parseInt(id.slice(2, 4), 16)}`;
  const hub = `td${id}-hub`;
  const made: string[] = [];
  const rootLinks: string[] = [];
  const hosts = new Map<string, Host>();
  const sandbox: Sandbox = {
    hosts,
    clientIp: `${subnet}.1`,
    host(name) {
      const h = hosts.get(name);
      if (h === undefined) throw new Error(`no host ${name} in the sandbox`);
      return h;
    },
    pids(name) {
      return ip('netns', 'pids', sandbox.host(name).netns)
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(Number);
    },
    close() {
      for (const link of rootLinks) {
        try {
          ip('link', 'del', link);
        } catch {
          // gone with its peer's namespace
        }
      }
      // Deleting a namespace deletes its veth ends (and so their peers).
      for (const ns of made.reverse()) {
        try {
          for (const pid of ip('netns', 'pids', ns).split('\n').filter((l) => l.trim() !== '')) process.kill(Number(pid), 'SIGKILL');
        } catch {
          // nothing left
        }
        try {
          ip('netns', 'del', ns);
        } catch {
          // already gone
        }
      }
    },
  };
  try {
    ip('netns', 'add', hub);
    made.push(hub);
    ip('netns', 'exec', hub, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    ip('netns', 'exec', hub, 'ip', 'link', 'set', 'br0', 'up');
    // One veth per host (and one for this process): end "a" on the hub's bridge, end "b" in the host.
    const attach = (index: number, netns: string | null, address: string) => {
      const a = `t${id}${index}a`;
      const b = `t${id}${index}b`;
      ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
      ip('link', 'set', a, 'netns', hub);
      ip('netns', 'exec', hub, 'ip', 'link', 'set', a, 'master', 'br0');
      ip('netns', 'exec', hub, 'ip', 'link', 'set', a, 'up');
      if (netns === null) {
        rootLinks.push(b);
        ip('addr', 'add', `${address}/24`, 'dev', b);
        ip('link', 'set', b, 'up');
      } else {
        ip('link', 'set', b, 'netns', netns);
        ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${address}/24`, 'dev', b);
        ip('netns', 'exec', netns, 'ip', 'link', 'set', b, 'up');
        ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');
      }
    };
    attach(0, null, sandbox.clientIp);
    names.forEach((name, i) => {
      const netns = `td${id}-${name}`;
      ip('netns', 'add', netns);
      made.push(netns);
      const address = `${subnet}.${10 + i}`;
      attach(i + 1, netns, address);
      hosts.set(name, { name, netns, ip: address });
    });
  } catch (err) {
    sandbox.close();
    throw err;
  }
  return sandbox;
}
