import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isArrayFile, parseArraySpec, readArrayFile, writeArrayFile } from '../src/data/arrayFile.js';
import { encodeSafetensors, parseSafetensors } from '../src/data/safetensors.js';
import { encodeNpy } from '../src/data/npy.js';
import { concatBytes, npyBytes, typedBytes, zipFile } from './helpers-datasets.js';

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-array-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** a safetensors file written by hand, independently of encodeSafetensors */
function handSafetensors(table: Record<string, unknown>, data: Uint8Array, headerPad = ''): Buffer {
  const json = Buffer.from(JSON.stringify(table) + headerPad, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return concatBytes([len, json, data]);
}

const u16 = (...v: number[]) => typedBytes(Uint8Array.from(new Uint8Array(Uint16Array.from(v).buffer)));

describe('safetensors', () => {
  it('reads F16 and BF16 to f32 with exact known values (normal, subnormal, largest, infinities)', () => {
    // F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), 0.333251953125, -inf
    const f16 = u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0xfc00);
    // BF16: 1, -3, 3.140625, 1e-40-ish subnormal 0x0001 -> 2^-133
    const bf16 = u16(0x3f80, 0xc040, 0x4049, 0x0001);
    const file = handSafetensors(
      { __metadata__: { format: 'pt' }, h: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] }, b: { dtype: 'BF16', shape: [4], data_offsets: [12, 20] } },
      concatBytes([f16, bf16]),
    );
    const t = parseSafetensors(file, 'x.safetensors');
    const h = t.get('h')!;
    expect(h.shape).toEqual([2, 3]);
    expect(h.data instanceof Float32Array).toBe(true);
    expect(Array.from(h.data)).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125, -Infinity]);
    expect(Array.from(t.get('b')!.data)).toEqual([1, -3, 3.140625, Math.fround(2 ** -133)]);
  });

  it('reads integer tensors (I64 labels, U8, BOOL) to Int32Array and refuses values past int32', () => {
    const labels = new BigInt64Array([0n, 2n, 1n, 9n]);
    const file = handSafetensors(
      { y: { dtype: 'I64', shape: [4], data_offsets: [0, 32] }, m: { dtype: 'BOOL', shape: [2], data_offsets: [32, 34] }, u: { dtype: 'U8', shape: [2], data_offsets: [34, 36] } },
      concatBytes([new Uint8Array(labels.buffer), Uint8Array.of(1, 0), Uint8Array.of(255, 7)]),
    );
    const t = parseSafetensors(file, 'y.safetensors');
    expect(t.get('y')!.data instanceof Int32Array).toBe(true);
    expect(Array.from(t.get('y')!.data)).toEqual([0, 2, 1, 9]);
    expect(t.get('y')!.dtype).toBe('i64');
    expect(Array.from(t.get('m')!.data)).toEqual([1, 0]);
    expect(Array.from(t.get('u')!.data)).toEqual([255, 7]);
    const big = handSafetensors({ y: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(new BigInt64Array([2n ** 40n]).buffer));
    expect(() => parseSafetensors(big, 'big.safetensors')).toThrow(/big.safetensors:y: I64 value 1099511627776 at index 0 does not fit in int32/);
  });

  it('F32/F64 at unaligned offsets, and the writer round-trips through the reader', () => {
    const x = Float32Array.from({ length: 15 }, (_, i) => i * 0.25 - 1.5);
    const d = Float64Array.from({ length: 3 }, (_, i) => Math.PI * (i + 1));
    // the F32 tensor starts at data byte 3 (after three U8 values): not 4-byte aligned
    const file = handSafetensors(
      { pad: { dtype: 'U8', shape: [3], data_offsets: [0, 3] }, x: { dtype: 'F32', shape: [5, 3], data_offsets: [3, 63] }, d: { dtype: 'F64', shape: [3], data_offsets: [63, 87] } },
      concatBytes([Uint8Array.of(1, 2, 3), typedBytes(x), typedBytes(d)]),
    );
    const t = parseSafetensors(file, 'a.safetensors');
    expect(Array.from(t.get('x')!.data)).toEqual(Array.from(x));
    expect(Array.from(t.get('d')!.data)).toEqual(Array.from(d));
    const labels = Int32Array.of(3, 1, 4);
    const back = parseSafetensors(encodeSafetensors({ x: { data: x, shape: [5, 3] }, d: { data: d, shape: [3] }, y: { data: labels, shape: [3] } }, { note: 'n' }));
    expect([...back.keys()]).toEqual(['x', 'd', 'y']);
    expect(Array.from(back.get('x')!.data)).toEqual(Array.from(x));
    expect(back.get('x')!.shape).toEqual([5, 3]);
    expect(Array.from(back.get('d')!.data)).toEqual(Array.from(d));
    expect(back.get('y')!.data instanceof Int32Array && Array.from(back.get('y')!.data)).toEqual([3, 1, 4]);
    expect(() => encodeSafetensors({ x: { data: x, shape: [4, 3] } })).toThrow(/tensor 'x' has 15 values but shape \[4, 3\] needs 12/);
  });

  it('names the file and the problem for malformed files', () => {
    const ok = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const data = new Uint8Array(8);
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.of(1, 2, 3), /f.safetensors: not a safetensors file: 3 bytes/],
      [handSafetensors(ok, data).subarray(0, 20), /f.safetensors: not a safetensors file, or truncated: the header claims/],
      [handSafetensors(ok, data).subarray(0, 66), /tensor 'x' lies outside the file .*truncated/],
      [concatBytes([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"x"')]), /the safetensors header is not valid JSON/],
      [concatBytes([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('[]')]), /not a safetensors file: the header is not a JSON object/],
      [handSafetensors({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data), /tensor 'x' \(F32, shape \[3\]\) needs 12 bytes but its offsets give 8/],
      [handSafetensors({ x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, data), /tensor 'x' has dtype C64, which ncgpu does not read/],
      [handSafetensors({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } }, data), /tensor 'x' has a bad shape/],
      [handSafetensors({ x: { dtype: 'F32', shape: [2] } }, data), /tensor 'x' has a malformed entry/],
    ];
    for (const [bytes, message] of cases) expect(() => parseSafetensors(bytes, 'f.safetensors')).toThrow(message);
    expect(() => parseSafetensors(handSafetensors(ok, data), 'f.safetensors', ['y'])).toThrow(/f.safetensors: has no tensor 'y'; it holds 'x'/);
  });
});

describe('readArrayFile and writeArrayFile', () => {
  const X = Float32Array.from({ length: 14 }, (_, i) => (i % 5) - 2.5);
  const y = Int32Array.of(0, 1, 2, 0, 1, 2, 1);
  const y64 = new Uint8Array(new BigInt64Array(Array.from(y, BigInt)).buffer);

  it('parses specs: a name only after .npz / .safetensors', () => {
    expect(parseArraySpec('a/b.npz:x_train')).toEqual({ path: 'a/b.npz', name: 'x_train' });
    expect(parseArraySpec('f.safetensors:labels')).toEqual({ path: 'f.safetensors', name: 'labels' });
    expect(parseArraySpec('c:/data/X.npy')).toEqual({ path: 'c:/data/X.npy' });
    expect(isArrayFile('X.npy') && isArrayFile('f.NPZ') && isArrayFile('f.safetensors:w')).toBe(true);
    expect(isArrayFile('X.csv') || isArrayFile('mnist')).toBe(false);
  });

  it('reads .npy, .npz (one array or a named one, stored or deflated) and .safetensors', async () => {
    writeFileSync(join(dir, 'X.npy'), encodeNpy(X, [7, 2]));
    writeFileSync(join(dir, 'one.npz'), zipFile([{ name: 'arr_0.npy', data: encodeNpy(X, [7, 2]), method: 8 }]));
    writeFileSync(join(dir, 'two.npz'), zipFile([
      { name: 'feats.npy', data: encodeNpy(X, [7, 2]), method: 0 },
      { name: 'labels.npy', data: npyBytes('<i8', [7], y64), method: 8 },
    ]));
    writeFileSync(join(dir, 'pt.safetensors'), encodeSafetensors({ feats: { data: X, shape: [7, 2] }, labels: { data: y, shape: [7] } }));
    writeFileSync(join(dir, 'one.safetensors'), encodeSafetensors({ w: { data: X, shape: [2, 7] } }));
    for (const spec of ['X.npy', 'one.npz', 'two.npz:feats', 'pt.safetensors:feats']) {
      const a = await readArrayFile(join(dir, spec));
      expect(a.shape).toEqual([7, 2]);
      expect(Array.from(a.data)).toEqual(Array.from(X));
    }
    const w = await readArrayFile(join(dir, 'one.safetensors'));
    expect(w.shape).toEqual([2, 7]);
    for (const spec of ['two.npz:labels', 'pt.safetensors:labels']) {
      const l = await readArrayFile(join(dir, spec));
      expect(l.data instanceof Int32Array && Array.from(l.data)).toEqual(Array.from(y));
      expect(l.source).toBe(join(dir, spec));
    }
  });

  it('says which array to name, and which exist', async () => {
    await expect(readArrayFile(join(dir, 'two.npz'))).rejects.toThrow(/two.npz: the .npz archive holds 2 arrays \('feats', 'labels'\); name one as .*two.npz:NAME/);
    await expect(readArrayFile(join(dir, 'pt.safetensors'))).rejects.toThrow(/holds 2 arrays \('feats', 'labels'\)/);
    await expect(readArrayFile(join(dir, 'two.npz:nope'))).rejects.toThrow(/two.npz: has no array 'nope'; it holds 'feats', 'labels'/);
    await expect(readArrayFile(join(dir, 'missing.safetensors'))).rejects.toThrow(/missing.safetensors: cannot read \(ENOENT\)/);
    await expect(readArrayFile(join(dir, 'X.csv'))).rejects.toThrow(/X.csv: not an array file ncgpu reads; use .npy, .npz/);
  });

  it('writes .npy (one array) and .safetensors (several), atomically', async () => {
    await writeArrayFile(join(dir, 'out.safetensors'), { M: { data: X, shape: [7, 2] }, y: { data: y, shape: [7] } }, { layer: '1' });
    await writeArrayFile(join(dir, 'out.npy'), { M: { data: X, shape: [7, 2] } });
    expect(Array.from((await readArrayFile(join(dir, 'out.safetensors:M'))).data)).toEqual(Array.from(X));
    expect(Array.from((await readArrayFile(join(dir, 'out.npy'))).data)).toEqual(Array.from(X));
    await expect(writeArrayFile(join(dir, 'two.npy'), { a: { data: X, shape: [14] }, b: { data: X, shape: [14] } })).rejects.toThrow(/an .npy file holds one array, got 2/);
    await expect(writeArrayFile(join(dir, 'x.txt'), { a: { data: X, shape: [14] } })).rejects.toThrow(/must end in .npy or .safetensors/);
    expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false);
  });
});
