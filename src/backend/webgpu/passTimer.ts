/**
 * GPU time by timestamp queries: each compute pass begun while a PassTimer is active writes a
 * timestamp at its start and end, and the timer sums the differences. What it measures is the
 * GPU's own execution of the passes, without the submit, map and JavaScript time a wall clock
 * adds. Dawn quantizes timestamps unless its 'timestamp_quantization' toggle is off (adapter.ts
 * turns it off for ncgpu's instances).
 */

/** passes one timer can record; later passes run untimed and are counted in `untimedPasses` */
const CAPACITY = 1024;

export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private next = 0;
  /** passes begun after the query set was full: the sum then undercounts, and says so */
  untimedPasses = 0;

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * CAPACITY, label: 'ncgpu pass timer' });
  }

  /** The timestampWrites of the next pass, or undefined when the query set is full. */
  writes(): GPUComputePassTimestampWrites | undefined {
    if (this.next >= CAPACITY) {
      this.untimedPasses++;
      return undefined;
    }
    const i = this.next++;
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Passes recorded so far. */
  get passes(): number {
    return this.next;
  }

  /** Seconds summed over the recorded passes; call after their work was submitted. Frees the timer. */
  async seconds(): Promise<number> {
    try {
      if (this.next === 0) return 0;
      const bytes = 16 * this.next;
      const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      const readable = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
      try {
        const encoder = this.device.createCommandEncoder();
        encoder.resolveQuerySet(this.querySet, 0, 2 * this.next, resolved, 0);
        encoder.copyBufferToBuffer(resolved, 0, readable, 0, bytes);
        this.device.queue.submit([encoder.finish()]);
        await readable.mapAsync(GPUMapMode.READ);
        const stamps = new BigUint64Array(readable.getMappedRange().slice(0));
        readable.unmap();
        let ns = 0n;
        for (let i = 0; i < this.next; i++) if (stamps[2 * i + 1]! > stamps[2 * i]!) ns += stamps[2 * i + 1]! - stamps[2 * i]!;
        return Number(ns) / 1e9;
      } finally {
        resolved.destroy();
        readable.destroy();
      }
    } finally {
      this.querySet.destroy();
    }
  }
}
