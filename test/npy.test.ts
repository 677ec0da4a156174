import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'ncgpu-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** a .npy file with a hand-written header (version 1.0 or 2.0) and raw data bytes */
function handBuilt(dict: string, data: Uint8Array, major = 1): Buffer {
  const pre = major === 1 ? 10 : 12;
  let header = dict;
  while ((pre + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = Buffer.alloc(pre + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  if (major === 1) out.writeUInt16LE(header.length, 8);
  else out.writeUInt32LE(header.length, 8);
  out.write(header, pre, 'latin1');
  out.set(data, pre + header.length);
  return out;
}

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe('.npy read and write', () => {
  it('round-trips float32, float64 and int32 in several shapes', async () => {
    const cases = [
      new Float32Array([1.5, -2.25, 3e-8, 4e30, 0, -0, 7, 8, 9, 10, 11, 12]),
      new Float64Array([Math.PI, -1e-300, 1e300, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
      new Int32Array([0, -1, 2147483647, -2147483648, 5, 6, 7, 8, 9, 10, 11, 12]),
    ];
    const shapes = [[12], [3, 4], [2, 3, 2], [1, 12]];
    for (const data of cases) {
      for (const shape of shapes) {
        const path = join(dir, `rt-${data.constructor.name}-${shape.join('x')}.npy`);
        await writeNpy(path, data, shape);
        const back = await readNpy(path);
        expect(back.shape).toEqual(shape);
        expect(back.data.constructor).toBe(data.constructor);
        expect(Array.from(back.data)).toEqual(Array.from(data));
      }
    }
    const empty = parseNpy(encodeNpy(new Float32Array(0), [0, 3]));
    expect(empty.shape).toEqual([0, 3]);
    expect(empty.data.length).toBe(0);
  });

  it('writes headers numpy accepts: 64-byte aligned, version 1.0, ending in a newline', () => {
    const b = encodeNpy(new Float32Array(6), [2, 3]);
    const headerLen = b.readUInt16LE(8);
    expect(b[6]).toBe(1);
    expect((10 + headerLen) % 64).toBe(0);
    expect(b.toString('latin1', 10, 10 + headerLen)).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
  });

  it('reads int64 as Int32Array when the values fit, and refuses values that do not', () => {
    const ok = new BigInt64Array([0n, -5n, 2147483647n, -2147483648n]);
    const a = parseNpy(handBuilt("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(ok.buffer)));
    expect(a.dtype).toBe('int64');
    expect(a.data).toBeInstanceOf(Int32Array);
    expect(Array.from(a.data)).toEqual([0, -5, 2147483647, -2147483648]);
    const big = new BigInt64Array([1n, 2n ** 40n]);
    expect(() => parseNpy(handBuilt("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(big.buffer)))).toThrow(
      'int64 value 1099511627776 at index 1 does not fit in int32',
    );
  });

  it('reads version 2.0 headers', () => {
    const f = new Float64Array([1, 2, 3, 4]);
    const a = parseNpy(handBuilt("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", new Uint8Array(f.buffer), 2));
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4]);
  });

  it('names what it cannot read: Fortran order, big-endian, other dtypes, not a .npy file, truncated data', async () => {
    const four = new Uint8Array(16);
    expect(() => parseNpy(handBuilt("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four), 'X.npy')).toThrow(
      /X\.npy: the array is stored in Fortran \(column-major\) order/,
    );
    expect(() => parseNpy(handBuilt("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", four))).toThrow(
      "dtype big-endian float32 ('>f4') is not supported",
    );
    expect(() => parseNpy(handBuilt("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 2), }", four))).toThrow("dtype uint16 ('<u2') is not supported");
    expect(() => parseNpy(handBuilt("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", four))).toThrow("dtype bool ('|b1') is not supported");
    expect(() => parseNpy(handBuilt("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2), }", four))).toThrow('the data is truncated');
    expect(() => parseNpy(Buffer.from('hello, this is not numpy'))).toThrow('not a .npy file');
    await expect(readNpy(join(dir, 'missing.npy'))).rejects.toThrow(/missing\.npy: cannot read \(ENOENT\)/);
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow('shape (2, 3) needs 6 values, got 5');
  });

  it.skipIf(!hasNumpy)('reads what numpy writes and numpy reads what it writes', async () => {
    const script = `
import numpy as np, sys
d = sys.argv[1]
a = np.arange(12, dtype=np.float32).reshape(3, 4) / 3
np.save(d + '/f4.npy', a)
np.save(d + '/f8.npy', a.astype(np.float64))
np.save(d + '/i4.npy', np.array([3, -1, 7], dtype=np.int32))
np.save(d + '/i8.npy', np.array([[0, 1], [2, 9]], dtype=np.int64))
np.save(d + '/fortran.npy', np.asfortranarray(a))
`;
    const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const f4 = await readNpy(join(dir, 'f4.npy'));
    expect(f4.shape).toEqual([3, 4]);
    expect(Array.from(f4.data)).toEqual(Array.from({ length: 12 }, (_, i) => Math.fround(Math.fround(i) / 3)));
    expect((await readNpy(join(dir, 'f8.npy'))).data[4]).toBeCloseTo(4 / 3, 6);
    expect(Array.from((await readNpy(join(dir, 'i4.npy'))).data)).toEqual([3, -1, 7]);
    const i8 = await readNpy(join(dir, 'i8.npy'));
    expect(i8.dtype).toBe('int64');
    expect(i8.shape).toEqual([2, 2]);
    expect(Array.from(i8.data)).toEqual([0, 1, 2, 9]);
    await expect(readNpy(join(dir, 'fortran.npy'))).rejects.toThrow('Fortran (column-major) order');

    await writeNpy(join(dir, 'ours.npy'), new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const back = spawnSync('python3', ['-c', `import numpy as np; a = np.load('${dir}/ours.npy'); print(a.dtype, a.shape, a.sum(), a[1, 2])`], { encoding: 'utf8' });
    expect(back.stdout.trim()).toBe('float64 (2, 3) 21.0 6.0');
  });

  it('a file path that is a directory or garbage gives a one-line error', async () => {
    const p = join(dir, 'garbage.npy');
    writeFileSync(p, Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 9, 0, 0, 0]));
    await expect(readNpy(p)).rejects.toThrow('unsupported .npy format version 9.0');
  });
});
