/**
 * Was the machine ours while a configuration was measured? Compares the CPU time all cores spent
 * busy (os.cpus()) with the CPU time of this process and its descendants (the local servers'
 * process, PyKMIP and its helpers; Linux /proc/<pid>/stat utime + stime). The difference is other
 * work (other tests, builds) that ran beside the benchmark and slowed it down. Before each
 * configuration the benchmark waits a while for such work to end (waitForQuiet). Linux only;
 * elsewhere it reports nothing and does not wait.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Linux's USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on every common build). */
const TICKS_PER_SECOND = 100;

interface Snapshot {
  at: number;
  /** ms all cores spent not idle. */
  busyMs: number;
  /** ms of CPU used by this process tree. */
  oursMs: number;
}

function machineBusyMs(): number {
  return cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
}

/** pid -> [ppid, utime + stime in ticks] for every process we may read. */
function processTable(): Map<number, [number, number]> {
  const table = new Map<number, [number, number]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(name), [Number(fields[1]), Number(fields[11]) + Number(fields[12])]);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return table;
}

function ourTreeMs(): number {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, [ppid]] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let ticks = 0;
  const stack = [process.pid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    ticks += table.get(pid)?.[1] ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

export function cpuSnapshot(): Snapshot | null {
  if (process.platform !== 'linux') return null;
  try {
    return { at: performance.now(), busyMs: machineBusyMs(), oursMs: ourTreeMs() };
  } catch {
    return null;
  }
}

/** Share of the machine's total CPU capacity (all cores) used by other processes between two snapshots, 0..1. */
export function otherCpuShare(from: Snapshot | null, to: Snapshot | null): number | null {
  if (from === null || to === null || to.at <= from.at) return null;
  const capacityMs = (to.at - from.at) * cpus().length;
  const other = to.busyMs - from.busyMs - (to.oursMs - from.oursMs);
  return Math.min(1, Math.max(0, other / capacityMs));
}

/** Above this share of the machine's CPU, other processes count as disturbing a measurement. */
export const BUSY_SHARE = 0.05;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits (up to `maxMs`) until other processes use less than BUSY_SHARE of the machine over one
 * second, logging while it waits.
 * @returns whether the machine was quiet in the end (true off Linux)
 */
export async function waitForQuiet(maxMs: number, log: (line: string) => void): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  for (;;) {
    const from = cpuSnapshot();
    await sleep(1000);
    const share = otherCpuShare(from, cpuSnapshot());
    if (share === null || share < BUSY_SHARE) return true;
    if (performance.now() > deadline) {
      log(`  other processes still use ${(share * 100).toFixed(0)}% of the CPU; measuring anyway`);
      return false;
    }
    log(`  waiting for a quiet machine: other processes use ${(share * 100).toFixed(0)}% of the CPU`);
  }
}
