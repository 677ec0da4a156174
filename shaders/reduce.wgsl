// Reductions: column sums, and whole-array max / non-finite count.
//
// colsum sums a block of rows of a row-major matrix into one partial row per workgroup: a
// CX x RY workgroup covers CX columns (consecutive invocations read consecutive columns) and
// RY * SERIAL rows; each invocation adds SERIAL rows, then a tree over RY in workgroup memory.
// The host applies it again to the partial rows until one row is left, so a column of 60000
// rows is summed in blocks (a few levels of short sums) rather than one long serial loop.
//
// max and the non-finite count work on bit patterns only, since a shader compiler may assume
// that floats are never NaN or Inf. Each workgroup reduces 4096 elements to one u32 partial;
// combine_u32 reduces partials further. max uses order-preserving keys (larger float, larger
// key; NaN maps to the largest key so it propagates; 0 means "no element").

struct ColParams {
  rows: u32,
  cols: u32,
  ldx: u32,
  offX: u32,
  ldo: u32,
  offOut: u32,
  pad0: u32,
  pad1: u32,
}

struct FoldParams {
  count: u32,
  offX: u32,
  offOut: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<uniform> cp: ColParams;
@group(0) @binding(0) var<uniform> fp: FoldParams;
@group(0) @binding(1) var<storage, read> xF32: array<f32>;
@group(0) @binding(1) var<storage, read> xU32: array<u32>;
@group(0) @binding(2) var<storage, read_write> outF32: array<f32>;
@group(0) @binding(2) var<storage, read_write> outU32: array<u32>;

override CX: u32 = 64u;
override RY: u32 = 4u;
const SERIAL: u32 = 16u;
const WG: u32 = 256u;
const PER_THREAD: u32 = 16u;

var<workgroup> colPartial: array<f32, WG>;
var<workgroup> foldPartial: array<u32, WG>;

@compute @workgroup_size(CX, RY)
fn colsum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = wg.x * CX + lid.x;
  let r0 = wg.y * RY * SERIAL + lid.y;
  var s = 0.0;
  if (col < cp.cols) {
    for (var i = 0u; i < SERIAL; i++) {
      let r = r0 + i * RY;
      if (r < cp.rows) {
        s += xF32[cp.offX + r * cp.ldx + col];
      }
    }
  }
  let slot = lid.y * CX + lid.x;
  colPartial[slot] = s;
  for (var h = RY / 2u; h > 0u; h = h / 2u) {
    workgroupBarrier();
    if (lid.y < h) {
      colPartial[slot] = colPartial[slot] + colPartial[slot + h * CX];
    }
  }
  if (lid.y == 0u && col < cp.cols) {
    outF32[cp.offOut + wg.y * cp.ldo + col] = colPartial[slot];
  }
}

fn max_key(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return 0xffffffffu;
  }
  if ((bits & 0x80000000u) != 0u) {
    return ~bits;
  }
  return bits | 0x80000000u;
}

override COMBINE: u32 = 0u; // 0 max, 1 sum

fn combine(a: u32, b: u32) -> u32 {
  if (COMBINE == 0u) {
    return max(a, b);
  }
  return a + b;
}

fn fold_index(wg: vec3<u32>) -> u32 {
  return wg.y * fp.groupsX + wg.x;
}

// Tree over the workgroup; every invocation must call it.
fn fold_tree(lid: u32, v: u32) -> u32 {
  foldPartial[lid] = v;
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    workgroupBarrier();
    if (lid < h) {
      foldPartial[lid] = combine(foldPartial[lid], foldPartial[lid + h]);
    }
  }
  workgroupBarrier();
  return foldPartial[0];
}

@compute @workgroup_size(WG)
fn max_keys(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = fold_index(wg);
  var k = 0u;
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = g * WG * PER_THREAD + i * WG + lid;
    if (e < fp.count) {
      k = max(k, max_key(bitcast<u32>(xF32[fp.offX + e])));
    }
  }
  let total = fold_tree(lid, k);
  if (lid == 0u) {
    outU32[fp.offOut + g] = total;
  }
}

@compute @workgroup_size(WG)
fn count_nonfinite(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = fold_index(wg);
  var n = 0u;
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = g * WG * PER_THREAD + i * WG + lid;
    if (e < fp.count) {
      let bits = bitcast<u32>(xF32[fp.offX + e]);
      if ((bits & 0x7f800000u) == 0x7f800000u) {
        n += 1u;
      }
    }
  }
  let total = fold_tree(lid, n);
  if (lid == 0u) {
    outU32[fp.offOut + g] = total;
  }
}

@compute @workgroup_size(WG)
fn combine_u32(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = fold_index(wg);
  var v = 0u;
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = g * WG * PER_THREAD + i * WG + lid;
    if (e < fp.count) {
      v = combine(v, xU32[fp.offX + e]);
    }
  }
  let total = fold_tree(lid, v);
  if (lid == 0u) {
    outU32[fp.offOut + g] = total;
  }
}
