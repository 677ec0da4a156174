// Losses on logits with one sample per row (n x k), each writing the gradient and one partial
// loss sum per workgroup (summed to the mean on the device by softmax_ce.wgsl's ce_sum, so a
// training loop needs no readback).
//   ce_rows:  grad = (softmax(z) - onehot) * a (a = 1/n); row loss = -log softmax(z)[y]
//   mse_rows: grad = a (z - t) (a = 2/n); row loss = ||z - t||^2
// Bindings: z at 1, labels (f32 class indices) or targets at 2, grad at 3, partials at 4.
// offA: z, offB: labels/targets, offC: grad, offD: partials (one per workgroup of the block).
//!include nn_row_core

@group(0) @binding(1) var<storage, read> lZ: array<f32>;
@group(0) @binding(2) var<storage, read> lY: array<f32>;
@group(0) @binding(3) var<storage, read_write> lGrad: array<f32>;
@group(0) @binding(4) var<storage, read_write> lPartial: array<f32>;

// log(1 + x) for x >= 0, accurate for tiny x (WGSL has no log1p)
fn loss_log1p(x: f32) -> f32 {
  if (x < 1e-4) {
    return x * (1.0 - x * (0.5 - x / 3.0));
  }
  return log(1.0 + x);
}

// The row's loss counted once (by its lane 0) in this invocation's share of the workgroup's sum.
fn loss_share(slot: RowSlot, rowLoss: f32) -> f32 {
  return select(0.0, rowLoss, slot.valid && slot.lane == 0u);
}

fn write_partial(ids: RowIds, share: f32) {
  let total = group_sum(ids, share);
  let group = group_index(ids, np.groupsX);
  // a folded grid may hold groups past the last row: they must not write
  if (ids.lid == 0u && group * rows_per_group() < np.rows) {
    lPartial[np.offD + group] = total;
  }
}

@compute @workgroup_size(WG)
fn ce_rows(ids: RowIds) {
  var share = 0.0;
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = nn_slot(ids, turn);
    let base = np.offA + slot.row * np.cols;
    var y = 0u;
    var m = -F32_MAX;
    if (slot.valid) {
      y = u32(lY[np.offB + slot.row]);
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        m = max_step(m, lZ[base + c]);
      }
    }
    m = row_max(ids, slot, m);
    var s = 0.0;
    var o = 0.0;
    if (slot.valid) {
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        let e = exp(lZ[base + c] - m);
        s += e;
        if (c != y) {
          o += e;
        }
      }
    }
    s = row_sum(ids, slot, s);
    o = row_sum(ids, slot, o);
    var loss = 0.0;
    if (slot.valid) {
      let inv = 1.0 / s;
      let gbase = np.offC + slot.row * np.cols;
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        // the label's entry as -(sum of the others) / s: exact when the loss is tiny
        var v = -o * inv;
        if (c != y) {
          v = exp(lZ[base + c] - m) * inv;
        }
        lGrad[gbase + c] = v * np.a;
      }
      let zy = lZ[base + y];
      if (zy == m) {
        loss = loss_log1p(o);
      } else {
        loss = (m - zy) + log(s);
      }
    }
    share += loss_share(slot, loss);
  }
  write_partial(ids, share);
}

@compute @workgroup_size(WG)
fn mse_rows(ids: RowIds) {
  var share = 0.0;
  let turns = row_turns(ids);
  for (var turn = 0u; turn < turns; turn++) {
    let slot = nn_slot(ids, turn);
    var q = 0.0;
    if (slot.valid) {
      let off = slot.row * np.cols;
      for (var c = slot.lane; c < np.cols; c += slot.stride) {
        let d = lZ[np.offA + off + c] - lY[np.offB + off + c];
        q += d * d;
        lGrad[np.offC + off + c] = np.a * d;
      }
    }
    share += loss_share(slot, row_sum(ids, slot, q));
  }
  write_partial(ids, share);
}
