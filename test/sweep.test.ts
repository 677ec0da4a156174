/**
 * ncgpu sweep end to end: local pool, BullMQ workers on a Redis server this file starts itself
 * (a free loopback port, a temporary folder), a killed worker, a Redis outage, a failing cell.
 * Cells are tiny `ufm train` runs on the cpu backend.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'ncgpu-sweep-test-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** a grid test's limit: each cell is a process start, so a busy shared machine stretches them a lot */
const GRID_TIMEOUT = 300_000;

/** Runs a CLI command to its end without blocking this process, so workers' output keeps flowing in. */
function runCli(args: string[], timeoutMs = 240_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { env: { ...process.env, CI: 'true' }, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A long-running CLI process (a worker) whose output is kept for assertions. */
class CliProcess {
  readonly child: ChildProcess;
  output = '';
  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { env: { ...process.env, CI: 'true' } });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
  }
  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(pattern);
      if (m) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern} in:\n${this.output}`);
      await sleep(100);
    }
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** redis-server on 127.0.0.1:port, data in dir (append-only file, so a restart keeps the queue). */
class RedisServer {
  private proc?: ChildProcess;
  constructor(readonly port: number, readonly dir: string) {}
  async start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return;
      await sleep(100);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }
}

function writeGrid(name: string, grid: object): string {
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify(grid));
  return path;
}

const tiny = { classes: 3, 'n-per-class': 2, width: 8, steps: 40, backend: 'cpu' };
const sixCells = { command: 'ufm train', args: tiny, grid: { depth: [1, 2, 3], seed: [0, 1] } };

interface CellsJson { axes: string[]; cells: { key: string; status: string; values: Record<string, unknown>; results: Record<string, number>; error?: string; seconds?: number; host?: string }[] }
const readCells = (dir: string): CellsJson => JSON.parse(readFileSync(join(dir, 'cells.json'), 'utf8'));
/** cells.json less what differs between runs of the same cells: wall times and hosts */
const comparable = (c: CellsJson) => ({ axes: c.axes, cells: c.cells.map(({ seconds: _s, host: _h, ...rest }) => rest) });
/** how many times each cell's command was started (the runner logs each start in the cell's log.txt) */
const starts = (cellsDir: string) =>
  readdirSync(cellsDir).map((k) => readFileSync(join(cellsDir, k, 'log.txt'), 'utf8').split('\n').filter((l) => l.startsWith('$ ncgpu')).length);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('grid files', () => {
  it('are checked before any cell runs, naming the entry at fault', async () => {
    const out = join(tmp, 'never');
    const cases: [object, RegExp][] = [
      [{ command: 'ufm trian', grid: { seed: [0] } }, /'command' must be one of .*'ufm train'/],
      [{ command: 'ufm train', grid: {} }, /'grid' is empty/],
      [{ command: 'ufm train', grid: { seed: [] } }, /grid\.seed must be a non-empty array/],
      [{ command: 'ufm train', args: { dept: 2 }, grid: { seed: [0] } }, /args\.dept: 'dept' is not an option of 'ncgpu ufm train'/],
      [{ command: 'ufm train', args: { out: 'x' }, grid: { seed: [0] } }, /'out' is set by the sweep runner/],
      [{ command: 'ufm train', args: { seed: 1 }, grid: { seed: [0] } }, /'seed' is both in args and in grid/],
    ];
    for (const [grid, message] of cases) {
      const r = await runCli(['sweep', 'run', writeGrid('bad', grid), '--out', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  }, GRID_TIMEOUT);
});

describe('ncgpu sweep run (local)', () => {
  const out = join(tmp, 'local');
  it('runs every cell of a 6-cell grid exactly once with 2 workers and collects them', async () => {
    const r = await runCli(['sweep', 'run', writeGrid('six', sixCells), '--out', out, '--workers', '2']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ran 6 cells, 0 already finished, 0 failed/);
    expect(starts(join(out, 'cells'))).toEqual([1, 1, 1, 1, 1, 1]);
    const cells = readCells(out);
    expect(cells.axes).toEqual(['depth', 'seed']);
    expect(cells.cells.length).toBe(6);
    expect(cells.cells.every((c) => c.status === 'done' && Number.isFinite(c.results['result.final.effectiveRank']))).toBe(true);
    const csv = readFileSync(join(out, 'cells.csv'), 'utf8').trim().split('\n');
    expect(csv.length).toBe(7);
    expect(csv[0]).toMatch(/^key,status,.*depth,seed,.*result\.final\.effectiveRank/);
    expect(existsSync(join(out, 'plots', 'result.final.effectiveRank-vs-depth.png'))).toBe(true);
  }, GRID_TIMEOUT);

  it('runs nothing on a rerun of the finished grid, and only the changed cells of a changed grid', async () => {
    const again = await runCli(['sweep', 'run', writeGrid('six', sixCells), '--out', out, '--workers', '2', '--no-plots']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/ran 0 cells, 6 already finished/);
    expect(starts(join(out, 'cells'))).toEqual([1, 1, 1, 1, 1, 1]);
    const grown = await runCli(['sweep', 'run', writeGrid('eight', { ...sixCells, grid: { depth: [1, 2, 3, 4], seed: [0, 1] } }), '--out', out, '--workers', '2', '--no-plots']);
    expect(grown.status, grown.stderr).toBe(0);
    expect(grown.stdout).toMatch(/ran 2 cells, 6 already finished/);
  }, GRID_TIMEOUT);
});

describe('ufm sweep --workers', () => {
  it('runs each depth x seed as a cell and matches the in-process sweep run for run', async () => {
    const flags = ['ufm', 'sweep', '--classes', '3', '--n-per-class', '2', '--width', '8', '--depths', '1,2', '--seeds', '2', '--steps', '100', '--backend', 'cpu'];
    const [grid, single] = await Promise.all([
      runCli([...flags, '--workers', '2', '--out', join(tmp, 'ufm-grid')]),
      runCli([...flags, '--out', join(tmp, 'ufm-single')]),
    ]);
    expect(grid.status, grid.stderr).toBe(0);
    expect(single.status, single.stderr).toBe(0);
    const cells = readCells(join(tmp, 'ufm-grid'));
    expect(cells.axes).toEqual(['depths', 'seed']);
    const rows = JSON.parse(readFileSync(join(tmp, 'ufm-single', 'results.json'), 'utf8')).rows as { depth: number; perSeed: { seed: number; effectiveRank: number }[] }[];
    const inProcess = rows.flatMap((r) => r.perSeed.map((p) => `${r.depth}/${p.seed}: ${p.effectiveRank}`)).sort();
    const asCells = cells.cells.map((c) => `${c.values.depths}/${c.values.seed}: ${c.results['rows.perSeed.effectiveRank']}`).sort();
    expect(asCells).toEqual(inProcess);
  }, GRID_TIMEOUT);
});

describe('ncgpu sweep run, interrupted', () => {
  it('Ctrl-C stops the running cell; a rerun resumes it from its checkpoint', async () => {
    const out = join(tmp, 'interrupted');
    const grid = writeGrid('interrupted', { command: 'ufm train', args: { ...tiny, steps: 10000, 'checkpoint-every': 500, depth: 2 }, grid: { seed: [0] } });
    const run = new CliProcess(['sweep', 'run', grid, '--out', out, '--no-plots']);
    const cells = join(out, 'cells');
    const checkpointed = () => existsSync(cells) && readdirSync(cells).some((k) => existsSync(join(cells, k, 'checkpoint.ufm')));
    for (let i = 0; i < 1200 && !checkpointed(); i++) await sleep(100);
    expect(checkpointed()).toBe(true);
    await run.stop('SIGINT');
    expect(run.child.exitCode).toBe(130);
    expect(run.output).toMatch(/rerun the same command to resume/);
    const again = await runCli(['sweep', 'run', grid, '--out', out, '--no-plots']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/ran 1 cells, 0 already finished/);
    const [key] = readdirSync(cells);
    const results = JSON.parse(readFileSync(join(cells, key!, 'results.json'), 'utf8'));
    expect(results.config.resumedAtStep).toBeGreaterThan(0);
    expect(results.result.steps).toBe(10000);
  }, GRID_TIMEOUT);
});

describe.skipIf(!hasRedis)('ncgpu sweep on a Redis queue', () => {
  let redis: RedisServer;
  let url: string;
  const workers: CliProcess[] = [];
  const worker = (queue: string, artifacts: string, extra: string[] = []) => {
    const w = new CliProcess(['worker', '--queue', queue, '--artifacts', artifacts, '--lock-ms', '1500', '--stalled-ms', '500', ...extra]);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    const port = await freePort();
    redis = new RedisServer(port, mkdtempSync(join(tmp, 'redis-')));
    await redis.start();
    url = `redis://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await redis?.stop();
  });

  it('2 workers run each cell of a 6-cell grid exactly once; collect equals the local run', async () => {
    const queue = `${url}/six`;
    const artifacts = join(tmp, 'six-artifacts');
    const sub = await runCli(['sweep', 'submit', writeGrid('six', sixCells), '--queue', queue]);
    expect(sub.status, sub.stderr).toBe(0);
    expect(sub.stdout).toMatch(/6 cells added/);
    expect((await runCli(['sweep', 'submit', writeGrid('six', sixCells), '--queue', queue])).stdout).toMatch(/0 cells added, 6 already queued/);
    const [a, b] = [worker(queue, artifacts), worker(queue, artifacts)];
    const out = join(tmp, 'distributed');
    const col = await runCli(['sweep', 'collect', '--queue', queue, '--out', out, '--wait', '--no-plots']);
    expect(col.status, col.stderr).toBe(0);
    expect(col.stdout).toMatch(/collected 6 cells \(6 done, 0 failed\)/);
    const done = [...(a.output + b.output).matchAll(/cell (\w+) \(.*\): done/g)].map((m) => m[1]);
    expect(done.length).toBe(6);
    expect(new Set(done).size).toBe(6);
    expect(a.output.includes(': done') && b.output.includes(': done')).toBe(true);
    // the local run grew by two cells after its first pass; compare the six both have
    const local = comparable(readCells(join(tmp, 'local')));
    const distributed = comparable(readCells(out));
    expect(distributed.axes).toEqual(local.axes);
    for (const cell of distributed.cells) expect(cell).toEqual(local.cells.find((c) => c.key === cell.key));
    const status = await runCli(['sweep', 'status', '--queue', queue]);
    expect(status.stdout).toMatch(/6 done, 0 running, 0 failed, 0 waiting/);
    expect((await runCli(['sweep', 'submit', writeGrid('six', sixCells), '--queue', queue])).stdout).toMatch(/0 cells added, 0 already queued, 6 already done/);
    await Promise.all([a.stop(), b.stop()]);
  }, GRID_TIMEOUT);

  it('a cell whose worker is SIGKILLed is finished by the other worker from its checkpoint', async () => {
    const queue = `${url}/killed`;
    const artifacts = join(tmp, 'killed-artifacts');
    const grid = { command: 'ufm train', args: { ...tiny, steps: 10000, 'checkpoint-every': 500, depth: 2 }, grid: { seed: [0, 1] } };
    expect((await runCli(['sweep', 'submit', writeGrid('killed', grid), '--queue', queue])).status).toBe(0);
    const victim = worker(queue, artifacts);
    const [, key] = await victim.waitFor(/cell (\w+) \(seed=\d\): started/);
    const checkpoint = join(artifacts, key!, 'checkpoint.ufm');
    for (let i = 0; i < 300 && !existsSync(checkpoint); i++) await sleep(100);
    expect(existsSync(checkpoint)).toBe(true);
    await victim.stop('SIGKILL');
    const rescuer = worker(queue, artifacts);
    await rescuer.waitFor(new RegExp(`cell ${key} \\(seed=\\d\\): done in [\\d.]+ s \\(resumed from its checkpoint\\)`), 180_000);
    const out = join(tmp, 'killed-out');
    const col = await runCli(['sweep', 'collect', '--queue', queue, '--out', out, '--wait', '--no-plots']);
    expect(col.stdout).toMatch(/collected 2 cells \(2 done, 0 failed\)/);
    const keys = readCells(out).cells.map((c) => c.key);
    expect(new Set(keys).size).toBe(2);
    await rescuer.stop();
  }, GRID_TIMEOUT);

  it('a Redis outage is reported by workers and status, and the grid completes once Redis is back', async () => {
    const queue = `${url}/outage`;
    const artifacts = join(tmp, 'outage-artifacts');
    const grid = { command: 'ufm train', args: tiny, grid: { depth: [1, 2, 3], seed: [3] } };
    expect((await runCli(['sweep', 'submit', writeGrid('outage', grid), '--queue', queue])).status).toBe(0);
    const [a, b] = [worker(queue, artifacts), worker(queue, artifacts)];
    await Promise.all([a.waitFor(/started/), b.waitFor(/started/)]);
    await redis.stop();
    try {
      const status = await runCli(['sweep', 'status', '--queue', queue]);
      expect(status.status).toBe(1);
      expect(status.stderr).toMatch(/cannot reach Redis at 127\.0\.0\.1:\d+ \(ECONNREFUSED\); is redis-server running there\?/);
      await a.waitFor(/lost the connection to Redis at 127\.0\.0\.1:\d+/);
      await b.waitFor(/lost the connection to Redis at 127\.0\.0\.1:\d+/);
      await sleep(2000);
    } finally {
      await redis.start();
    }
    await a.waitFor(/Redis at 127\.0\.0\.1:\d+ is back/);
    const out = join(tmp, 'outage-out');
    const col = await runCli(['sweep', 'collect', '--queue', queue, '--out', out, '--wait', '--no-plots']);
    expect(col.stdout, col.stderr).toMatch(/collected 3 cells \(3 done, 0 failed\)/);
    expect(new Set(readCells(out).cells.map((c) => c.key)).size).toBe(3);
    await Promise.all([a.stop(), b.stop()]);
  }, GRID_TIMEOUT);

  it('a cell that always fails is reported with its error after the retries; the rest complete', async () => {
    const queue = `${url}/failing`;
    const grid = { command: 'ufm train', args: tiny, grid: { init: ['random', 'bogus'] } };
    expect((await runCli(['sweep', 'submit', writeGrid('failing', grid), '--queue', queue, '--attempts', '2', '--backoff', '100'])).status).toBe(0);
    const w = worker(queue, join(tmp, 'failing-artifacts'));
    const out = join(tmp, 'failing-out');
    const col = await runCli(['sweep', 'collect', '--queue', queue, '--out', out, '--wait', '--no-plots']);
    expect(col.stdout).toMatch(/collected 2 cells \(1 done, 1 failed\)/);
    expect(w.output.match(/init=bogus\): started/g)?.length).toBe(2);
    const failed = readCells(out).cells.find((c) => c.status === 'failed')!;
    expect(failed.values).toEqual({ init: 'bogus' });
    expect(failed.error).toMatch(/--init must be 'random' or 'hadamard', got 'bogus'.*after 2 attempts/s);
    const status = await runCli(['sweep', 'status', '--queue', queue]);
    expect(status.stdout).toMatch(/1 done, 0 running, 1 failed, 0 waiting/);
    expect(status.stdout).toMatch(/failed: cell \w+ \(init=bogus\): ncgpu ufm train failed \(exit code 1\): ncgpu ufm: --init must be 'random' or 'hadamard', got 'bogus' \(after 2 attempts\)/);
    await w.stop();
  }, GRID_TIMEOUT);
});
