/**
 * Files written whole or not at all: the bytes go to `<path>.tmp-<pid>` and are renamed over
 * `path`. A temporary file still pending when the process exits (e.g. after Ctrl-C, once a SIGINT
 * handler calls process.exit as the CLI's does) is removed, so no `*.tmp-<pid>` is left behind.
 */
import { unlinkSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';

const pending = new Set<string>();
let hooked = false;

function removePending(): void {
  for (const tmp of pending) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
  }
  pending.clear();
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  if (!hooked) {
    process.on('exit', removePending);
    hooked = true;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  pending.add(tmp);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  } finally {
    pending.delete(tmp);
  }
}
