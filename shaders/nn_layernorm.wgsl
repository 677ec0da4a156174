// LayerNorm without affine over each row (one sample per row), eps in np.a:
//   ln_forward:  y = (x - mean) * rstd, rstd = 1 / sqrt(var + eps) (biased variance, two turns
//                so a large mean does not cancel); stats[2 r] = mean, stats[2 r + 1] = rstd
//   ln_backward: dx = rstd (dy - mean(dy) - y mean(dy y))
// forward: x at 1, y at 2, stats at 3 (offA, offB, offC).
// backward: y at 1, stats at 2, dy at 3, dx at 4 (offA, offB, offC, offD).
//!include nn_row_core

@group(0) @binding(1) var<storage, read> lnIn1: array<f32>;
@group(0) @binding(2) var<storage, read_write> lnOut2: array<f32>;
@group(0) @binding(3) var<storage, read_write> lnOut3: array<f32>;
@group(0) @binding(2) var<storage, read> lnIn2: array<f32>;
@group(0) @binding(3) var<storage, read> lnIn3: array<f32>;
@group(0) @binding(4) var<storage, read_write> lnOut4: array<f32>;

@compute @workgroup_size(WG)
fn ln_forward(ids: RowIds) {
  let invC = 1.0 / f32(np.cols);
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = nn_slot(ids, turn);
    let off = slot.row * np.cols;
    var s = 0.0;
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        s += lnIn1[np.offA + off + c];
      }
    }
    let mean = row_sum(ids, slot, s) * invC;
    var q = 0.0;
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        let d = lnIn1[np.offA + off + c] - mean;
        q += d * d;
      }
    }
    let rstd = inverseSqrt(row_sum(ids, slot, q) * invC + np.a);
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        lnOut2[np.offB + off + c] = (lnIn1[np.offA + off + c] - mean) * rstd;
      }
      if (slot.lane == 0u) {
        lnOut3[np.offC + 2u * slot.row] = mean;
        lnOut3[np.offC + 2u * slot.row + 1u] = rstd;
      }
    }
  }
}

@compute @workgroup_size(WG)
fn ln_backward(ids: RowIds) {
  let invC = 1.0 / f32(np.cols);
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = nn_slot(ids, turn);
    let off = slot.row * np.cols;
    var sg = 0.0;
    var sgy = 0.0;
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        let g = lnIn3[np.offC + off + c];
        sg += g;
        sgy += g * lnIn1[np.offA + off + c];
      }
    }
    let mg = row_sum(ids, slot, sg) * invC;
    let mgy = row_sum(ids, slot, sgy) * invC;
    if (slot.valid) {
      let rstd = lnIn2[np.offB + 2u * slot.row + 1u];
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        let g = lnIn3[np.offC + off + c];
        lnOut4[np.offD + off + c] = rstd * (g - mg - lnIn1[np.offA + off + c] * mgy);
      }
    }
  }
}
