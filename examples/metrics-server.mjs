// Embed ncgpu in a long-lived process: an HTTP service that keeps one context for its whole
// life and answers many requests on it, with memory that stays flat.
//
//   node examples/metrics-server.mjs [--port 8080] [--backend auto]
//   curl -s localhost:8080/metrics -d '{"features":[[0,1],[0,1.1],[1,0],[1.1,0]],"labels":[0,0,1,1]}'
//
//   node examples/metrics-server.mjs --requests 500     # load test against itself, then exit
//
// POST /metrics takes {"features": N rows of p numbers, "labels": N class indices} and returns
// every metric they allow (computeAllMetrics: NC1, NC2, ranks of the class means) as JSON; bad
// input gets a 400 with ncgpu's message. Creating a context is the expensive part (a GPU device,
// compiled shaders), so the service makes one at start and shares it: requests run concurrently
// on it. Each request disposes the matrices it made (`finally`), so device memory does not grow;
// `ctx.stats()` counts the live buffers to show it.
//
// With --requests N it runs N requests' work (after a warm-up of 200), then one good and one bad
// request over HTTP, and prints the resident memory (RSS), the JavaScript heap and the live
// buffers before and after, ending with one JSON line. Run with
// `node --expose-gc` to collect garbage before each reading, for steadier numbers.
//
// Why a process and not a worker thread: Dawn's Node binding (the GPU backend) crashes inside
// worker_threads. A server process like this one works with every backend; a worker thread
// must use backend 'cpu'.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { computeAllMetrics, createContext } from 'ncgpu';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    backend: { type: 'string', default: 'auto' },
    requests: { type: 'string' },
  },
});

const ctx = await createContext({ backend: args.backend });

async function metrics(body) {
  const { features, labels } = JSON.parse(body);
  if (!Array.isArray(features) || !Array.isArray(labels)) throw new TypeError("the body needs 'features' (rows of numbers) and 'labels'");
  const X = ctx.fromRows(features, { name: 'features' });
  try {
    const result = await computeAllMetrics({ features: X, labels });
    return { n: result.n, p: result.p, classes: result.numClasses, values: result.values, undefinedReasons: result.undefinedReasons };
  } finally {
    X.dispose(); // frees the storage now, not whenever garbage collection gets to it
  }
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    try {
      const out = await metrics(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    } catch (e) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: e.message }));
    }
  });
});

async function shutdown() {
  server.close();
  await ctx.dispose(); // frees the device; the process then exits on its own
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

await new Promise((resolve) => server.listen(args.requests ? 0 : Number(args.port), '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/metrics`;

if (!args.requests) {
  console.log(`ncgpu metrics service on ${url} (backend ${ctx.name}); POST {"features": [[...], ...], "labels": [...]}`);
} else {
  // A load test of the request handler: 4 classes, 200 samples of 32 features, different data
  // every request, 8 in flight at a time, all on the one context. It calls metrics() directly
  // rather than through HTTP because Node's own HTTP client and server hold on to memory of
  // their own as requests pass through them, which would hide what is measured here.
  const body = (seed) => {
    const features = [];
    const labels = [];
    for (let i = 0; i < 200; i++) {
      const c = i % 4;
      labels.push(c);
      features.push(Array.from({ length: 32 }, (_, j) => (j === c ? 3 : 0) + Math.sin(seed * 7.1 + i * 1.3 + j * 0.7)));
    }
    return JSON.stringify({ features, labels });
  };
  let last;
  const run = async (from, count) => {
    for (let i = from; i < from + count; i += 8) {
      const batch = [];
      for (let j = i; j < Math.min(i + 8, from + count); j++) batch.push(metrics(body(j)));
      last = (await Promise.all(batch)).at(-1);
    }
  };
  const snapshot = () => {
    globalThis.gc?.();
    const m = process.memoryUsage();
    return { rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20, liveBuffers: ctx.stats().liveBuffers };
  };
  const total = Number(args.requests);
  await run(0, 200); // warm-up: JIT, the JavaScript heap and allocator arenas reach their working size
  const start = snapshot();
  await run(200, total);
  const end = snapshot();

  // and the service itself, over HTTP: one good request and one bad
  const post = async (payload) => {
    const r = await fetch(url, { method: 'POST', body: payload });
    return { status: r.status, body: await r.json() };
  };
  const good = await post(body(0));
  const bad = await post(JSON.stringify({ features: [[1, 2], [3]], labels: [0, 1] }));
  console.log(
    `${total} requests on one ${ctx.name} context: RSS ${start.rssMiB.toFixed(1)} -> ${end.rssMiB.toFixed(1)} MiB, ` +
      `JS heap ${start.heapUsedMiB.toFixed(1)} -> ${end.heapUsedMiB.toFixed(1)} MiB, ` +
      `live buffers ${start.liveBuffers} -> ${end.liveBuffers}`,
  );
  console.log(JSON.stringify({
    backend: ctx.name, requests: total, start, end, lastNc1: last.values.nc1,
    http: { status: good.status, nc1: good.body.values?.nc1 }, badRequest: { status: bad.status, error: bad.body.error },
  }));
  await shutdown();
}
