/**
 * Reading the bytes of a dataset file, with errors that name the file: a missing file, a damaged
 * gzip stream. Synchronous on purpose: a load is one-shot and the files are read whole.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** The bytes of a file; a `.gz` name is decompressed. */
export function readDatasetFile(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!path.endsWith('.gz')) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new Error(`${path}: the gzip data is damaged or truncated (${(e as Error).message}); download the file again or gunzip it by hand to check`);
  }
}
