// Per-row reductions shared by the row kernels (rows.wgsl, softmax_ce.wgsl, nn_row_core.wgsl):
// which invocations work on which row, and sums and maxima over them. This is the version for
// every device; row_reduce_subgroups.wgsl is the same interface on subgroup operations, swapped in
// by the host when the device has them. A kernel is written once against this interface:
//
//   @compute @workgroup_size(WG)
//   fn k(ids: RowIds) {
//     let turns = row_turns(ids);
//     for (var turn = 0u; turn < turns; turn++) {
//       let slot = row_slot(ids, turn, rows, groupsX);
//       var s = 0.0;
//       if (slot.valid) { for (var c = slot.lane; c < cols; c += slot.stride) { s += ...; } }
//       let total = row_sum(ids, slot, s);   // every invocation calls it: it may hold barriers
//     }
//   }
//
// Here TPR invocations (a power of two <= 256) share one row: each sums a strided slice of the
// row, so consecutive invocations read consecutive elements, then a tree in workgroup memory adds
// the TPR partial sums. A 256-invocation workgroup covers 256 / TPR rows in one turn.

struct RowIds {
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
}

//!include row_slot

override TPR: u32 = 16u;

/** Rows one workgroup covers (the host dispatches ceil(rows / rows_per_group()) workgroups). */
fn rows_per_group() -> u32 {
  return WG / TPR;
}

/** Passes over the workgroup's rows: one here (every invocation has its row from the start). */
fn row_turns(ids: RowIds) -> u32 {
  return 1u;
}

fn row_slot(ids: RowIds, turn: u32, rows: u32, groupsX: u32) -> RowSlot {
  let group = group_index(ids, groupsX);
  let row = group * rows_per_group() + ids.lid / TPR;
  return RowSlot(row, ids.lid % TPR, TPR, row < rows, group);
}

// Sum of the TPR values of each row, returned to every lane of the row. Every invocation must
// call it (barriers); the leading barrier keeps a previous result readable until all have read it.
fn row_sum(ids: RowIds, slot: RowSlot, v: f32) -> f32 {
  workgroupBarrier();
  rowScratch[ids.lid] = v;
  for (var s = TPR / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (slot.lane < s) {
      rowScratch[ids.lid] = rowScratch[ids.lid] + rowScratch[ids.lid + s];
    }
  }
  workgroupBarrier();
  return rowScratch[ids.lid - slot.lane];
}

// Running max over a lane's slice of one row, NaN-propagating.
fn max_step(m: f32, v: f32) -> f32 {
  return select(m, v, !(v <= m) && m == m);
}

// Max of the TPR values of each row; a NaN anywhere gives NaN.
fn row_max(ids: RowIds, slot: RowSlot, v: f32) -> f32 {
  workgroupBarrier();
  rowScratch[ids.lid] = v;
  for (var s = TPR / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (slot.lane < s) {
      rowScratch[ids.lid] = max_step(rowScratch[ids.lid], rowScratch[ids.lid + s]);
    }
  }
  workgroupBarrier();
  return rowScratch[ids.lid - slot.lane];
}

// Sum over the whole workgroup, returned to every invocation.
fn group_sum(ids: RowIds, v: f32) -> f32 {
  workgroupBarrier();
  rowScratch[ids.lid] = v;
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (ids.lid < s) {
      rowScratch[ids.lid] = rowScratch[ids.lid] + rowScratch[ids.lid + s];
    }
  }
  workgroupBarrier();
  return rowScratch[0];
}
