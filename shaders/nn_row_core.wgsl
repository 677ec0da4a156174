// The uniform block shared by the nn row kernels (nn_loss, nn_layernorm, nn_softmax), on the row
// core of row_reduce.wgsl (or its subgroup version). Rows are contiguous (row stride = cols); the
// host folds the workgroup index over x and y (groupsX).
//
// Included with //!include nn_row_core; the including file declares its storage bindings
// (1 and up) and entry points.
//!include row_reduce

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

fn nn_slot(ids: RowIds, turn: u32) -> RowSlot {
  return row_slot(ids, turn, np.rows, np.groupsX);
}
