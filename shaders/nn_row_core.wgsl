// Row-parallel scaffolding shared by the nn row kernels (nn_loss, nn_layernorm, nn_softmax):
// TPR invocations (a power of two <= 256) share one row of `cols` elements, each walking a
// strided slice so consecutive invocations read consecutive elements; a 256-invocation
// workgroup covers 256 / TPR rows. The host picks TPR from the row length and folds the
// workgroup index over x and y (groupsX). Rows are contiguous (row stride = cols).
//
// Included with //!include nn_row_core; the including file declares its storage bindings
// (1 and up) and entry points.

struct NnRowParams {
  rows: u32,
  cols: u32,
  offA: u32,
  offB: u32,
  offC: u32,
  offD: u32,
  groupsX: u32,
  flags: u32,
  // kernel-specific scalars (e.g. the gradient scale 1/N, LayerNorm's eps)
  a: f32,
  b: f32,
  // global index of the block's first row (the causal mask needs it)
  row0: u32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> np: NnRowParams;

override TPR: u32 = 16u;
const WG: u32 = 256u;
// largest finite f32: the start of a running max (WGSL has no -inf literal)
const F32_MAX: f32 = 0x1.fffffep+127f;

var<workgroup> nnPartial: array<f32, WG>;

struct RowSlot {
  row: u32,
  lane: u32,
  valid: bool,
  group: u32,
}

fn row_slot(wg: vec3<u32>, lid: u32) -> RowSlot {
  let group = wg.y * np.groupsX + wg.x;
  let row = group * (WG / TPR) + lid / TPR;
  return RowSlot(row, lid % TPR, row < np.rows, group);
}

// Sum of the TPR values of each row, returned to every lane of the row. Every invocation must
// call it (barriers); the leading barrier keeps a previous result readable until all have read it.
fn row_sum(lid: u32, lane: u32, v: f32) -> f32 {
  workgroupBarrier();
  nnPartial[lid] = v;
  for (var s = TPR / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lane < s) {
      nnPartial[lid] = nnPartial[lid] + nnPartial[lid + s];
    }
  }
  workgroupBarrier();
  return nnPartial[lid - lane];
}

// Max of the TPR values of each row; a NaN anywhere gives NaN.
fn row_max(lid: u32, lane: u32, v: f32) -> f32 {
  workgroupBarrier();
  nnPartial[lid] = v;
  for (var s = TPR / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lane < s) {
      let a = nnPartial[lid];
      let b = nnPartial[lid + s];
      nnPartial[lid] = select(a, b, !(b <= a) && a == a);
    }
  }
  workgroupBarrier();
  return nnPartial[lid - lane];
}

// Sum over the whole workgroup, returned to invocation 0.
fn group_sum(lid: u32, v: f32) -> f32 {
  workgroupBarrier();
  nnPartial[lid] = v;
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) {
      nnPartial[lid] = nnPartial[lid] + nnPartial[lid + s];
    }
  }
  workgroupBarrier();
  return nnPartial[0];
}

// Running max over a lane's slice of one row, NaN-propagating.
fn max_step(m: f32, v: f32) -> f32 {
  return select(m, v, !(v <= m) && m == m);
}
