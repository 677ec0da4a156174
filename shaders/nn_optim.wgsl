// Fused optimizer updates of one parameter (src/nn/optim.ts), in place, weight decay added to
// the gradient (loss + wd/2 ||p||^2):
//   sgd:   g' = g + wd p; vel = momentum vel + g'; p -= lr vel     (sgd_plain: p -= lr g')
//   adam:  g' = g + wd p; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
//          p -= lr (m / bc1) / (sqrt(v / bc2) + eps)
// One pass over the parameter and its state instead of the five or six of separate ops.

struct OptParams {
  count: u32,
  offP: u32,
  offG: u32,
  offM: u32,
  offV: u32,
  groupsX: u32,
  lr: f32,
  // sgd: momentum; adam: beta1
  b1: f32,
  b2: f32,
  eps: f32,
  wd: f32,
  bc1: f32,
  bc2: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> op: OptParams;
@group(0) @binding(1) var<storage, read_write> oP: array<f32>;
@group(0) @binding(2) var<storage, read> oG: array<f32>;
@group(0) @binding(3) var<storage, read_write> oM: array<f32>;
@group(0) @binding(4) var<storage, read_write> oV: array<f32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn first_element(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * op.groupsX + wg.x) * (WG * PER_THREAD) + lid;
}

@compute @workgroup_size(WG)
fn sgd_plain(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < op.count) {
      let p = oP[op.offP + e];
      oP[op.offP + e] = p - op.lr * (oG[op.offG + e] + op.wd * p);
    }
  }
}

@compute @workgroup_size(WG)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < op.count) {
      let p = oP[op.offP + e];
      let v = op.b1 * oM[op.offM + e] + (oG[op.offG + e] + op.wd * p);
      oM[op.offM + e] = v;
      oP[op.offP + e] = p - op.lr * v;
    }
  }
}

@compute @workgroup_size(WG)
fn adam(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var i = 0u; i < PER_THREAD; i++) {
    let e = e0 + i * WG;
    if (e < op.count) {
      let p = oP[op.offP + e];
      let g = oG[op.offG + e] + op.wd * p;
      let m = op.b1 * oM[op.offM + e] + (1.0 - op.b1) * g;
      let v = op.b2 * oV[op.offV + e] + (1.0 - op.b2) * g * g;
      oM[op.offM + e] = m;
      oV[op.offV + e] = v;
      oP[op.offP + e] = p - op.lr * (m / op.bc1) / (sqrt(v / op.bc2) + op.eps);
    }
  }
}
