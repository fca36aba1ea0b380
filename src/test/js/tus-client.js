// Drives the files service with the unmodified tus-js-client, in Node; run by TusJsClientTest.
// usage: node tus-client.js <scenario> <endpoint> <token> <file> [protocol]
//   protocol: tus-v1 (default), ietf-draft-03 (interop version 5) or ietf-draft-05 (interop version 6)
//   chunks     upload <file> in 1 MiB PATCHes
//   resume     abort after the first 1 MiB PATCH, then resume from the upload URL
//   terminate  abort after the first 1 MiB PATCH, then terminate the upload
//   creation   upload <file> in 1 MiB PATCHes, the first one with the creation (creation-with-upload)
//   deferred   upload <file> as a stream of unknown length (Upload-Defer-Length), 1 MiB PATCHes
//   parallel   upload <file> as 3 partial uploads at once and a final upload (parallelUploads: 3, concatenation)
//   move       as resume, but the resume goes to the origin in RESUME_ORIGIN (another node of a cluster)
// Prints one JSON object: {url, requests: [{method, offset, status}], resumed: [...]}.
'use strict';
const fs = require('fs');
const { Readable } = require('stream');
const tus = require('tus-js-client');

const [scenario, endpoint, token, file, protocol = 'tus-v1'] = process.argv.slice(2);
const content = fs.readFileSync(file);
const MiB = 1024 * 1024;

function options(requests, extra) {
  return Object.assign({
    endpoint,
    protocol,
    chunkSize: MiB,
    headers: { Authorization: 'Bearer ' + token },
    metadata: { filename: 'tus-js.bin', filetype: 'application/octet-stream' },
    retryDelays: [0, 200, 1000, 2000],
    storeFingerprintForResuming: false,
    onBeforeRequest(req) {
      const entry = { method: req.getMethod(), offset: req.getHeader('Upload-Offset') ?? null,
        concat: req.getHeader('Upload-Concat') ?? null };
      Object.defineProperty(entry, 'req', { value: req, enumerable: false }); // not printed
      requests.push(entry);
    },
    onAfterResponse(req, res) {
      const r = requests.find((x) => x.req === req && x.status === undefined) ?? requests[requests.length - 1];
      r.status = res.getStatus();
    },
  }, extra);
}

function run(input, opts, stopAfterFirstChunk) {
  return new Promise((resolve, reject) => {
    let upload;
    let stopped = false;
    opts.onSuccess = () => resolve(upload.url);
    opts.onError = reject;
    if (stopAfterFirstChunk) {
      opts.onChunkComplete = (size, accepted) => {
        if (!stopped && accepted >= MiB) {
          stopped = true;
          upload.abort().then(() => resolve(upload.url), reject);
        }
      };
    }
    upload = new tus.Upload(input, opts);
    upload.start();
  });
}

async function main() {
  const out = { requests: [] };
  if (scenario === 'chunks') {
    out.url = await run(content, options(out.requests));
  } else if (scenario === 'parallel') {
    out.url = await run(content, options(out.requests, { parallelUploads: 3 }));
  } else if (scenario === 'creation') {
    out.url = await run(content, options(out.requests, { uploadDataDuringCreation: true }));
  } else if (scenario === 'deferred') {
    const pieces = [];
    for (let i = 0; i < content.length; i += 64 * 1024) {
      pieces.push(content.subarray(i, i + 64 * 1024));
    }
    out.url = await run(Readable.from(pieces), options(out.requests, { uploadLengthDeferred: true }));
  } else if (scenario === 'resume' || scenario === 'terminate' || scenario === 'move') {
    out.url = await run(content, options(out.requests), true);
    if (scenario === 'resume' || scenario === 'move') {
      out.resumed = [];
      let at = out.url;
      if (scenario === 'move') {
        const moved = new URL(out.url);
        const origin = new URL(process.env.RESUME_ORIGIN);
        moved.host = origin.host;
        at = moved.toString();
        out.movedTo = at;
      }
      const url = await run(content, options(out.resumed, { uploadUrl: at }));
      if (url !== at) {
        throw new Error('resumed at ' + url + ', not ' + at);
      }
    } else {
      await tus.Upload.terminate(out.url, options([]));
    }
  } else {
    throw new Error('unknown scenario ' + scenario);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
