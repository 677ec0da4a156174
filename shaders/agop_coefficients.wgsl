// Z[j, c d + p] = alpha[j, c0 + c] * xm[j, p] for `rows` centers and the kc outputs from c0: the
// right-hand side of the AGOP GEMM (shaders/agop.wgsl), one d-wide block of scaled center
// coordinates per output. alpha rows are k long; Z rows are kc d long.

struct CoefParams {
  rows: u32,
  d: u32,
  k: u32,
  kc: u32,
  c0: u32,
  offZ: u32,
  offAlpha: u32,
  offXm: u32,
  groupsX: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> cp: CoefParams;
@group(0) @binding(1) var<storage, read> alpha: array<f32>;
@group(0) @binding(2) var<storage, read> xm: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wg.y * cp.groupsX + wg.x) * 256u + lid;
  let kd = cp.kc * cp.d;
  if (e >= cp.rows * kd) {
    return;
  }
  let j = e / kd;
  let rem = e - j * kd;
  let c = rem / cp.d;
  let p = rem - c * cp.d;
  z[cp.offZ + e] = alpha[cp.offAlpha + j * cp.k + cp.c0 + c] * xm[cp.offXm + j * cp.d + p];
}
