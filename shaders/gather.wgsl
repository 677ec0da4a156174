// Row gathers and indexed fills driven by a list of row indices (u32):
//   gather_rows: out[i, :] = src[idx[i] - row0, :] for the i < rows whose idx[i] lies in the bound
//                source rows [row0, row0 + srcRows); the host covers a source larger than one
//                binding in several launches, each writing the rows it holds
//   fill_at:     out[i, idx[i]] = value for i < rows (one entry per row, e.g. a sampled point's
//                own center in a weight matrix)
// gather_rows: idx at 1, src at 2, out at 3.  fill_at: idx at 1, out at 2.

struct GatherParams {
  rows: u32,
  cols: u32,
  row0: u32,
  srcRows: u32,
  offIdx: u32,
  offSrc: u32,
  offOut: u32,
  groupsX: u32,
  // fill_at: row stride of out and the value written
  ld: u32,
  value: f32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> gp: GatherParams;
@group(0) @binding(1) var<storage, read> gIdx: array<u32>;
@group(0) @binding(2) var<storage, read> gSrc: array<f32>;
@group(0) @binding(3) var<storage, read_write> gOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> gFill: array<f32>;

const WG: u32 = 256u;
const PER_THREAD: u32 = 4u;

fn first_element(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * gp.groupsX + wg.x) * (WG * PER_THREAD) + lid;
}

@compute @workgroup_size(WG)
fn gather_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e0 = first_element(wg, lid);
  for (var t = 0u; t < PER_THREAD; t++) {
    let e = e0 + t * WG;
    if (e < gp.rows * gp.cols) {
      let i = e / gp.cols;
      let c = e - i * gp.cols;
      let r = gIdx[gp.offIdx + i];
      if (r >= gp.row0 && r - gp.row0 < gp.srcRows) {
        gOut[gp.offOut + e] = gSrc[gp.offSrc + (r - gp.row0) * gp.cols + c];
      }
    }
  }
}

@compute @workgroup_size(WG)
fn fill_at(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * gp.groupsX + wg.x) * WG + lid;
  if (i < gp.rows) {
    gFill[gp.offOut + i * gp.ld + gIdx[gp.offIdx + i]] = gp.value;
  }
}
