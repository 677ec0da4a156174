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

fn write_partial(slot: RowSlot, lid: u32, rowLoss: f32) {
  var v = 0.0;
  if (slot.valid && slot.lane == 0u) {
    v = rowLoss;
  }
  let total = group_sum(lid, v);
  // a folded grid may hold groups past the last row: they must not write
  if (lid == 0u && slot.group * (WG / TPR) < np.rows) {
    lPartial[np.offD + slot.group] = total;
  }
}

@compute @workgroup_size(WG)
fn ce_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slot = row_slot(wg, lid);
  let base = np.offA + slot.row * np.cols;
  var y = 0u;
  var m = -F32_MAX;
  if (slot.valid) {
    y = u32(lY[np.offB + slot.row]);
    for (var c = slot.lane; c < np.cols; c += TPR) {
      m = max_step(m, lZ[base + c]);
    }
  }
  m = row_max(lid, slot.lane, m);
  var s = 0.0;
  var o = 0.0;
  if (slot.valid) {
    for (var c = slot.lane; c < np.cols; c += TPR) {
      let e = exp(lZ[base + c] - m);
      s += e;
      if (c != y) {
        o += e;
      }
    }
  }
  s = row_sum(lid, slot.lane, s);
  o = row_sum(lid, slot.lane, o);
  var loss = 0.0;
  if (slot.valid) {
    let inv = 1.0 / s;
    let gbase = np.offC + slot.row * np.cols;
    for (var c = slot.lane; c < np.cols; c += TPR) {
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
  write_partial(slot, lid, loss);
}

@compute @workgroup_size(WG)
fn mse_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let slot = row_slot(wg, lid);
  var q = 0.0;
  if (slot.valid) {
    let off = slot.row * np.cols;
    for (var c = slot.lane; c < np.cols; c += TPR) {
      let d = lZ[np.offA + off + c] - lY[np.offB + off + c];
      q += d * d;
      lGrad[np.offC + off + c] = np.a * d;
    }
  }
  write_partial(slot, lid, row_sum(lid, slot.lane, q));
}
