// One-hot label matrix for class sums: Y (rows x k, row-major) with Y[i, c] = 1 when
// labels[i] == c. Class sums are then the GEMM Y^T X (see kernels/classSums.ts).

struct OneHotParams {
  count: u32,
  k: u32,
  offLabels: u32,
  offOut: u32,
  groupsX: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

@group(0) @binding(0) var<uniform> op: OneHotParams;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> onehot: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = (wg.y * op.groupsX + wg.x) * (WG * 4u) + lid;
  for (var i = 0u; i < 4u; i++) {
    let e = e0 + i * WG;
    if (e < op.count) {
      let hit = labels[op.offLabels + e / op.k] == e % op.k;
      onehot[op.offOut + e] = select(0.0, 1.0, hit);
    }
  }
}
