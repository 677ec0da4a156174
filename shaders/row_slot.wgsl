// The declarations both row cores share (row_reduce.wgsl and row_reduce_subgroups.wgsl, which the
// host swaps for each other): the workgroup size, which row an invocation works on, and where the
// workgroup sits in the grid. Each core declares its own RowIds (the subgroup core adds builtins).

const WG: u32 = 256u;
// largest finite f32: the start of a running max (WGSL has no -inf literal)
const F32_MAX: f32 = 0x1.fffffep+127f;

// the cores' partial values: per invocation (workgroup trees) or per subgroup
var<workgroup> rowScratch: array<f32, WG>;

struct RowSlot {
  row: u32,
  // this invocation's first column, and the step to its next one
  lane: u32,
  stride: u32,
  valid: bool,
  // the workgroup's index in the (folded) grid
  group: u32,
}

fn group_index(ids: RowIds, groupsX: u32) -> u32 {
  return ids.wg.y * groupsX + ids.wg.x;
}
