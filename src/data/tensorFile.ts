/**
 * The container of ncgpu's checkpoint files: a JSON header and raw f32 (or f64) tensors in one
 * file, written to a temporary name and renamed, so an interrupted write never leaves a truncated
 * file.
 *
 * Layout (little-endian):
 *   bytes 0..7    an 8-character magic naming the kind of file
 *   bytes 8..11   u32 header length h (a multiple of 4; the JSON is padded with spaces)
 *   bytes 12..    h bytes of UTF-8 JSON: the caller's fields plus
 *                 `tensors: [{ ...the caller's description, rows, cols, offset }]`
 *   then          the tensors as raw f32 at the byte offsets the header gives (from the start of
 *                 the data block); a tensor written from a Float64Array is raw f64 and its entry
 *                 says dtype: 'f64
 *   last 32 bytes the SHA-256 of everything before them (the header says integrity: 'sha256';
 *                 files written before ncgpu sealed them lack both and are read unchecked)
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomicFile.js';

const INTEGRITY = 'sha256';
const DIGEST_BYTES = 32;

export interface TensorToWrite<E> {
  /** what the header records about the tensor besides its offset, e.g. { name, rows, cols } */
  entry: E;
  /** stored as f32, or as f64 (the entry then records dtype: 'f64') */
  data: Float32Array | Float64Array;
}

/** The element type of a stored tensor: f32 unless its entry says 'f64'. */
export type StoredDtype = 'f32' | 'f64';

/** Writes `header` (plus the tensor table) and the tensors to `path`, atomically. */
export async function writeTensorFile<E extends object>(
  path: string,
  magic: string,
  header: Record<string, unknown>,
  tensors: readonly TensorToWrite<E>[],
): Promise<void> {
  if (magic.length !== 8) throw new RangeError(`writeTensorFile: the magic must have 8 characters, got '${magic}'`);
  let offset = 0;
  const entries = tensors.map(({ entry, data }) => {
    const given = (entry as { dtype?: unknown }).dtype;
    const dtype: StoredDtype = data instanceof Float64Array ? 'f64' : 'f32';
    if (given !== undefined && given !== dtype) throw new TypeError(`writeTensorFile: an entry says dtype '${String(given)}' but its data is a ${data.constructor.name}`);
    const e = { ...entry, ...(dtype === 'f64' ? { dtype } : {}), offset };
    offset += data.byteLength;
    return e;
  });
  let json = Buffer.from(JSON.stringify({ ...header, tensors: entries, integrity: INTEGRITY }), 'utf8');
  const padded = Math.ceil(json.length / 4) * 4;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(12);
  prefix.write(magic, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  const body = Buffer.alloc(offset);
  tensors.forEach((t, i) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(body, entries[i]!.offset));
  const content = Buffer.concat([prefix, json, body]);
  await writeFileAtomic(path, Buffer.concat([content, createHash('sha256').update(content).digest()]));
}

export interface StoredTensorEntry {
  rows: number;
  cols: number;
  offset: number;
  /** absent for f32 */
  dtype?: StoredDtype;
}

export interface TensorFile<H> {
  header: H & { tensors: StoredTensorEntry[] };
  /** a copy of the f32 tensor an entry of header.tensors describes (an f64 entry is refused) */
  read(entry: StoredTensorEntry, what: string): Float32Array;
  /** a copy of the tensor an entry describes, in its stored dtype */
  readAny(entry: StoredTensorEntry, what: string): Float32Array | Float64Array;
}

/**
 * Reads a file written by writeTensorFile. `bad(why)` makes the error for a file that is not what
 * the caller expects (wrong magic, truncated, header not JSON, a tensor past the end).
 */
export async function readTensorFile<H>(path: string, magic: string, bad: (why: string) => Error): Promise<TensorFile<H>> {
  let buf = await readFile(path);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== magic) throw bad('wrong magic bytes');
  const h = buf.readUInt32LE(8);
  if (12 + h > buf.length) throw bad('truncated header');
  let header: H & { tensors: StoredTensorEntry[] };
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + h));
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(header.tensors)) throw bad('the header has no tensor table');
  const sealed = (header as { integrity?: unknown }).integrity;
  if (sealed !== undefined) {
    if (sealed !== INTEGRITY) throw bad(`unknown integrity check '${String(sealed)}'`);
    if (buf.length < 12 + h + DIGEST_BYTES) throw bad('truncated: the checksum is missing');
    const end = buf.length - DIGEST_BYTES;
    if (!createHash('sha256').update(buf.subarray(0, end)).digest().equals(buf.subarray(end))) {
      throw bad('checksum mismatch: the file was changed or damaged after it was written');
    }
    buf = buf.subarray(0, end);
  }
  const start = 12 + h;
  const readAny = (e: StoredTensorEntry, what: string): Float32Array | Float64Array => {
    const dtype = e.dtype ?? 'f32';
    if (dtype !== 'f32' && dtype !== 'f64') throw bad(`tensor ${what} has unknown dtype '${String(dtype)}'`);
    const out = dtype === 'f64' ? new Float64Array(e.rows * e.cols) : new Float32Array(e.rows * e.cols);
    const bytes = out.byteLength;
    if (start + e.offset + bytes > buf.length) throw bad(`tensor ${what} runs past the end of the file`);
    Buffer.from(out.buffer).set(buf.subarray(start + e.offset, start + e.offset + bytes));
    return out;
  };
  return {
    header,
    readAny,
    read(e, what) {
      const out = readAny(e, what);
      if (!(out instanceof Float32Array)) throw bad(`tensor ${what} is stored in f64 where f32 is expected`);
      return out;
    },
  };
}
