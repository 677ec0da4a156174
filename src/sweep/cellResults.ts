/**
 * collect from a queue also lays each finished cell's results.json out as DIR/cells/KEY/, the
 * same layout as a local run, so scripts read either the same way.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectedCell } from './collect.js';
import { cellsRoot } from './local.js';

export async function writeCellResults(out: string, cells: CollectedCell[]): Promise<void> {
  for (const c of cells) {
    if (c.status !== 'done') continue;
    const dir = join(cellsRoot(out), c.key);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'results.json'), `${JSON.stringify(c.results, null, 2)}\n`);
  }
}
