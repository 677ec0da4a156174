/**
 * Just enough of the zip format to open NumPy's .npz archives (np.savez writes stored members,
 * np.savez_compressed deflated ones): the end-of-central-directory record, the central directory
 * and the local headers. Sizes and offsets come from the central directory, because NumPy forces
 * zip64 extra fields into every *local* header (0xffffffff in the size fields) even for small
 * arrays; only archives whose central directory itself needs zip64 (a member or the archive over
 * 4 GiB, or over 65,535 members) are refused.
 */
import * as zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const ZIP64_HELP = 'zip64 archives (members or archives over 4 GiB) are not read; save the arrays as separate .npy files (np.save) instead';

let crcTable: Uint32Array | undefined;

/** CRC-32 (the zip / gzip polynomial), node:zlib's when this Node has it. */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The members listed in the central directory. `file` names the archive in errors. */
export function listZip(bytes: Uint8Array, file: string): ZipEntry[] {
  const view = viewOf(bytes);
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
    if (view.getUint32(p, true) === EOCD_SIGNATURE) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip archive, or a truncated one (no end-of-central-directory record); .npz files are zip archives`);
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new Error(`${file}: ${ZIP64_HELP}`);
  if (cdOffset + cdSize > eocd) {
    throw new Error(`${file}: the central directory (bytes ${cdOffset}..${cdOffset + cdSize}) lies outside the archive; it is truncated or damaged`);
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CENTRAL_SIGNATURE) throw new Error(`${file}: central directory entry ${i} is damaged`);
    const flags = view.getUint16(p + 8, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(bytes.subarray(p + 46, p + 46 + nameLength));
    const entry: ZipEntry = {
      name,
      method: view.getUint16(p + 10, true),
      flags,
      crc32: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localHeaderOffset: view.getUint32(p + 42, true),
    };
    if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff || entry.localHeaderOffset === 0xffffffff) {
      throw new Error(`${file}: member '${name}' needs zip64; ${ZIP64_HELP}`);
    }
    entries.push(entry);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** A member's bytes (a view into the archive when stored), checked against its size and CRC. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  const where = `${file}: member '${entry.name}'`;
  if (entry.flags & 0x1) throw new Error(`${where} is encrypted`);
  const view = viewOf(bytes);
  const p = entry.localHeaderOffset;
  if (p + 30 > bytes.length || view.getUint32(p, true) !== LOCAL_SIGNATURE) throw new Error(`${where}: no local header at byte ${p}; the archive is damaged`);
  const start = p + 30 + view.getUint16(p + 26, true) + view.getUint16(p + 28, true);
  if (start + entry.compressedSize > bytes.length) {
    throw new Error(`${where} is truncated: it needs ${entry.compressedSize} bytes from byte ${start} but the archive ends at ${bytes.length}`);
  }
  const raw = bytes.subarray(start, start + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) {
    try {
      data = zlib.inflateRawSync(raw);
    } catch (e) {
      throw new Error(`${where}: the deflated data is damaged (${(e as Error).message})`);
    }
  } else {
    throw new Error(`${where} uses compression method ${entry.method}; only stored (0) and deflate (8), what np.savez and np.savez_compressed write, are read`);
  }
  if (data.length !== entry.size) throw new Error(`${where}: ${data.length} bytes after decompression, the directory says ${entry.size}`);
  if (crc32(data) !== entry.crc32) throw new Error(`${where}: CRC-32 mismatch; the archive is damaged`);
  return data;
}
