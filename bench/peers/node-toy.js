#!/usr/bin/env node
// Peer for benchmarks M1a/M1b (see /work/shared/spec/perf-targets.md): a minimal
// Node `http` server that reads the whole body, JSON.parses it and answers 202.
// It stores nothing, so it is a lower bound on "HTTP + JSON" cost in Node.
//
// Usage: node bench/peers/node-toy.js [PORT]   (or PORT=... env; HOST defaults to 127.0.0.1)
'use strict';

const http = require('node:http');

const port = Number(process.argv[2] || process.env.PORT || 8787);
const host = process.env.HOST || '127.0.0.1';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
      return;
    }
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      // 400 makes a malformed benchmark body visible in the harness' error report.
      const msg = JSON.stringify({ errors: [{ status: 400, detail: String(e.message) }] });
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(msg) });
      res.end(msg);
      return;
    }
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  });
});

// Keep-alive connections from the load generator must not be reaped mid-run.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.requestTimeout = 0;

server.listen(port, host, () => {
  process.stdout.write(`node-toy listening on http://${host}:${port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
