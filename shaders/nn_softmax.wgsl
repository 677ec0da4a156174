// Softmax over each row (attention scores), optionally causal, and its backward:
//   softmax_rows:     out = softmax(x) per row. flags bit 0 (causal): rows are stacked
//                     cols x cols blocks and row r sees columns j <= r % cols only (r counts from
//                     the whole matrix's first row: row0 + local row); the others get 0.
//   softmax_backward: dx = p (dp - sum_j dp_j p_j)
// forward: x at 1, out at 2 (offA, offB). backward: p at 1, dp at 2, dx at 3 (offA, offB, offC).
//!include nn_row_core

@group(0) @binding(1) var<storage, read> smIn1: array<f32>;
@group(0) @binding(2) var<storage, read_write> smOut2: array<f32>;
@group(0) @binding(2) var<storage, read> smIn2: array<f32>;
@group(0) @binding(3) var<storage, read_write> smOut3: array<f32>;

@compute @workgroup_size(WG)
fn softmax_rows(ids: RowIds) {
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = nn_slot(ids, turn);
    let off = slot.row * np.cols;
    var valid = np.cols;
    if ((np.flags & 1u) != 0u) {
      valid = (np.row0 + slot.row) % np.cols + 1u;
    }
    var m = -F32_MAX;
    if (slot.valid) {
      for (var c = slot.lane; c < valid; c += slot.stride) {
        m = max_step(m, smIn1[np.offA + off + c]);
      }
    }
    m = row_max(ids, slot, m);
    var s = 0.0;
    if (slot.valid) {
      for (var c = slot.lane; c < valid; c += slot.stride) {
        s += exp(smIn1[np.offA + off + c] - m);
      }
    }
    let inv = 1.0 / row_sum(ids, slot, s);
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        var p = 0.0;
        if (c < valid) {
          p = exp(smIn1[np.offA + off + c] - m) * inv;
        }
        smOut2[np.offB + off + c] = p;
      }
    }
  }
}

@compute @workgroup_size(WG)
fn softmax_backward(ids: RowIds) {
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = nn_slot(ids, turn);
    let off = slot.row * np.cols;
    var d = 0.0;
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        d += smIn1[np.offA + off + c] * smIn2[np.offB + off + c];
      }
    }
    d = row_sum(ids, slot, d);
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        let p = smIn1[np.offA + off + c];
        smOut3[np.offC + off + c] = p * (smIn2[np.offB + off + c] - d);
      }
    }
  }
}
