// The upload page of the files service: chunked uploads with progress, pause and resume, thumbnails.
// No framework and no third-party code. The token comes from the form or the URL fragment
// (#token=…&company=…&api=…), which browsers never send to a server; it is sent only in the
// Authorization header of API calls (and in the query of download links, as the API allows for links).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const MiB = 1024 * 1024;
  const RETRIES = 3;

  // ---- settings -------------------------------------------------------------------------------

  $('api').value = location.origin + '/internal/services/files/v1';
  const fragment = new URLSearchParams(location.hash.slice(1));
  for (const name of ['token', 'company']) {
    if (fragment.get(name)) $(name).value = fragment.get(name);
  }
  // A link may name another API (#api=) only on an origin the operator listed (page.api_origins, the
  // files-api-origins meta): a crafted link must not send the token to a server of its choosing.
  const listed = (document.querySelector('meta[name="files-api-origins"]')?.content || '').split(/\s+/).filter(Boolean);
  const allowedOrigins = new Set([location.origin, ...listed.map((o) => o.toLowerCase())]);
  let refusedApi = null;
  if (fragment.get('api')) {
    let origin = null;
    try {
      origin = new URL(fragment.get('api')).origin;
    } catch (e) {
      origin = null;
    }
    if (origin && allowedOrigins.has(origin.toLowerCase())) $('api').value = fragment.get('api');
    else refusedApi = fragment.get('api');
  }
  if (location.hash) history.replaceState(null, '', location.pathname + location.search); // the token leaves the address bar

  // A token naming exactly one company fills the company field.
  function companyFromToken(token) {
    try {
      const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(atob(payload));
      return Array.isArray(claims.companies) && claims.companies.length === 1 ? String(claims.companies[0]) : null;
    } catch (e) {
      return null;
    }
  }
  function fillCompany() {
    const c = companyFromToken($('token').value.trim());
    if (c && !$('company').value) $('company').value = c;
  }
  $('token').addEventListener('change', fillCompany);
  fillCompany();

  function settings() {
    const api = $('api').value.trim().replace(/\/+$/, '');
    const token = $('token').value.trim();
    const company = $('company').value.trim();
    const problems = [];
    if (!/^https?:\/\//.test(api)) problems.push('the API base URL must start with http:// or https://');
    if (!token) problems.push('a token is needed');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(company)) {
      problems.push('the company id must be a UUID');
    }
    const chunkSize = Math.max(64 * 1024, Math.round(Number($('chunk-mib').value || 1) * MiB));
    const parallel = Math.min(8, Math.max(1, Math.round(Number($('parallel').value || 3))));
    return { api, token, company, chunkSize, parallel, problems };
  }

  function showMessage(text) {
    $('message').textContent = text;
    $('message').hidden = !text;
  }
  if (refusedApi) {
    showMessage('The link names the API ' + refusedApi + ', which this page may not call (the operator lists the '
      + 'origins it may in page.api_origins); it uses ' + $('api').value + ' instead.');
  }

  // ---- words for errors ------------------------------------------------------------------------

  function sizeText(bytes) {
    if (bytes < 1024) return bytes + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = bytes / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(v < 10 ? 1 : 0) + ' ' + units[i];
  }

  /** A sentence for a failed call: status 0 is a network or CORS failure. */
  function describe(status, body, api) {
    let message = '';
    try {
      const json = JSON.parse(body || '');
      message = json.message || json.error || '';
    } catch (e) {
      message = '';
    }
    switch (status) {
      case 0: return 'The service at ' + api + ' could not be reached: it is down, the address is wrong, or it does not '
        + 'allow calls from this page\'s origin (' + location.origin + '; see http.cors.origins).';
      case 400: return 'The service refused the request as malformed: ' + message + '.';
      case 401: return 'The token was refused (' + message + '). Paste a valid, unexpired token.';
      case 403: return 'Not allowed: ' + message + '. Is the company id one of the token\'s companies?';
      case 404: return 'Not found: ' + message + '.';
      case 408: return 'The service stopped waiting for the data (' + message + '); the upload will be retried.';
      case 409: return 'Conflict: ' + message + '.';
      case 413: return 'Too large for this service: ' + message + '.';
      case 415: return 'The service did not accept the data\'s format: ' + message + '.';
      case 503: return 'The service is unavailable or busy (' + message + '); try again in a moment.';
      case 507: return 'The service\'s storage is full: ' + message + '.';
      default: return 'The service answered ' + status + (message ? ': ' + message : '') + '.';
    }
  }

  class CallError extends Error {
    constructor(status, body, api) {
      super(describe(status, body, api));
      this.status = status;
    }
    get retryable() {
      return this.status === 0 || this.status === 408 || this.status === 503 || this.status >= 500 && this.status !== 507;
    }
  }

  /** One API call with XMLHttpRequest (for upload progress); resolves {status, json}. */
  function call(s, method, url, body, onProgress, track) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader('Authorization', 'Bearer ' + s.token);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        if (xhr.status === 200 || xhr.status === 204) {
          let json = null;
          try { json = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { json = null; }
          resolve({ status: xhr.status, json });
        } else {
          reject(new CallError(xhr.status, xhr.responseText, s.api));
        }
      };
      xhr.onerror = () => reject(new CallError(0, '', s.api));
      xhr.onabort = () => reject(Object.assign(new Error('aborted'), { aborted: true }));
      if (track) track(xhr);
      xhr.send(body || null);
    });
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---- one file --------------------------------------------------------------------------------

  class Upload {
    constructor(file) {
      this.file = file;
      this.s = null;
      this.id = null;
      this.total = 0;
      this.stored = new Set();     // chunk numbers the service has
      this.queue = [];             // chunk numbers to send
      this.inflight = new Map();   // chunk number -> {xhr, loaded}
      this.paused = false;
      this.finished = false;
      this.row = $('row').content.firstElementChild.cloneNode(true);
      this.el = (cls) => this.row.querySelector('.' + cls);
      this.el('name').textContent = file.name;
      this.el('size').textContent = sizeText(file.size);
      this.el('kind').textContent = file.type || 'file';
      this.el('toggle').addEventListener('click', () => (this.paused ? this.resume() : this.pause()));
      this.row.dataset.name = file.name;
      $('uploads').appendChild(this.row);
    }

    state(name, text) {
      this.row.dataset.state = name;
      if (text !== undefined) this.el('status').textContent = text;
    }

    fail(err) {
      this.error = err;
      this.el('error').textContent = err.message;
      this.el('error').hidden = false;
      this.el('toggle').textContent = 'retry';
      this.paused = true;
      this.abortAll();
      this.state('error', 'stopped');
    }

    chunkRange(n) {
      const start = (n - 1) * this.s.chunkSize;
      return [start, n === this.total ? this.file.size : start + this.s.chunkSize];
    }

    fileUrl() {
      return this.s.api + '/companies/' + encodeURIComponent(this.s.company) + '/files/' + this.id;
    }

    chunkQuery(n) {
      return 'chunk_number=' + n + '&total_chunks=' + this.total + '&total_size=' + this.file.size;
    }

    async start(s) {
      this.s = s;
      // Resumable.js's split: floor(size / chunkSize) chunks, the remainder in the last one.
      this.total = Math.max(1, Math.floor(this.file.size / s.chunkSize));
      this.state('starting', 'starting…');
      const q = new URLSearchParams({ filename: this.file.name, total_chunks: String(this.total),
        total_size: String(this.file.size) });
      if (this.file.type) q.set('type', this.file.type);
      try {
        const r = await call(s, 'POST', s.api + '/companies/' + encodeURIComponent(s.company) + '/files?' + q);
        this.id = r.json.resource.id;
        this.row.dataset.fileId = this.id;
      } catch (err) {
        this.fail(err);
        return;
      }
      for (let n = 1; n <= this.total; n++) this.queue.push(n);
      this.state('uploading');
      this.pump();
    }

    progress() {
      let bytes = 0;
      for (const n of this.stored) { const [a, b] = this.chunkRange(n); bytes += b - a; }
      for (const f of this.inflight.values()) bytes += f.loaded;
      const p = this.file.size === 0 ? (this.stored.size === this.total ? 1 : 0) : Math.min(1, bytes / this.file.size);
      this.el('bar').value = p;
      if (this.row.dataset.state === 'uploading') {
        this.el('status').textContent = Math.floor(p * 100) + ' % · ' + sizeText(Math.min(bytes, this.file.size)) + ' of '
          + sizeText(this.file.size) + ' · ' + this.stored.size + ' of ' + this.total + ' chunks stored';
      }
    }

    pump() {
      while (!this.paused && !this.finished && this.inflight.size < this.s.parallel && this.queue.length) {
        this.send(this.queue.shift(), 0);
      }
      this.progress();
    }

    async send(n, attempt) {
      const [a, b] = this.chunkRange(n);
      const form = new FormData();
      form.append('file', this.file.slice(a, b), 'blob');
      const slot = { xhr: null, loaded: 0 };
      this.inflight.set(n, slot);
      try {
        const r = await call(this.s, 'POST', this.fileUrl() + '?' + this.chunkQuery(n) + '&thumbnail_sync=1', form,
          (loaded) => { slot.loaded = loaded; this.progress(); }, (xhr) => { slot.xhr = xhr; });
        this.inflight.delete(n);
        this.stored.add(n);
        if (r.json && r.json.resource && r.json.resource.upload_status === 'complete') {
          this.complete(r.json.resource);
          return;
        }
      } catch (err) {
        this.inflight.delete(n);
        if (err.aborted) {
          this.queue.unshift(n); // paused: sent again (or found stored) on resume
          this.progress();
          return;
        }
        if (err.retryable && attempt < RETRIES && !this.paused) {
          this.el('status').textContent = err.message + ' Retrying chunk ' + n + '…';
          await sleep(500 * (attempt + 1));
          if (!this.paused) {
            this.send(n, attempt + 1);
          } else {
            this.queue.unshift(n);
          }
          return;
        }
        this.queue.unshift(n);
        this.fail(err);
        return;
      }
      this.pump();
    }

    abortAll() {
      for (const f of this.inflight.values()) {
        if (f.xhr) f.xhr.abort();
      }
    }

    pause() {
      if (this.finished) return;
      this.paused = true;
      // Chunks being sent are cut off here, but the service may have received one whole already and
      // store it after the pause: resume asks which chunks it has, and says how many landed so.
      const cut = this.inflight.size;
      this.abortAll();
      this.storedAtPause = this.stored.size;
      this.el('toggle').textContent = 'resume';
      this.state('paused', 'paused · ' + this.stored.size + ' of ' + this.total + ' chunks stored'
        + (cut ? '; ' + cut + ' being sent ' + (cut === 1 ? 'was' : 'were') + ' stopped (the service may still store '
          + (cut === 1 ? 'it' : 'them') + ': resume checks)' : ''));
    }

    /** Asks which chunks the service has (Resumable.js's testChunks: 200 stored, 204 missing), then sends the rest. */
    async resume() {
      if (this.finished) return;
      this.el('error').hidden = true;
      this.el('toggle').textContent = 'pause';
      this.paused = false;
      if (!this.id) { // failed before the upload was created
        this.start(settings());
        return;
      }
      this.s = Object.assign(settings(), { chunkSize: this.s.chunkSize }); // a new token may have been pasted
      this.state('checking', 'asking which chunks are stored…');
      const stored = new Set();
      const numbers = [];
      for (let n = 1; n <= this.total; n++) numbers.push(n);
      try {
        const workers = [];
        for (let w = 0; w < this.s.parallel; w++) {
          workers.push((async () => {
            while (numbers.length) {
              const n = numbers.shift();
              const r = await call(this.s, 'GET', this.fileUrl() + '?chunk_number=' + n);
              if (r.status === 200) stored.add(n);
            }
          })());
        }
        await Promise.all(workers);
      } catch (err) {
        this.fail(err);
        return;
      }
      this.stored = stored;
      this.queue = [];
      for (let n = 1; n <= this.total; n++) if (!stored.has(n)) this.queue.push(n);
      const landed = this.storedAtPause === undefined ? 0 : stored.size - this.storedAtPause;
      this.resumeNote = stored.size + ' of ' + this.total + ' chunks were stored'
        + (landed > 0 ? ', ' + landed + ' of them landed after the pause' : '') + '; sending ' + this.queue.length;
      this.row.dataset.resumedWith = String(stored.size);
      if (!this.queue.length) { // every chunk is there: the upload is complete
        try {
          const r = await call(this.s, 'GET', this.fileUrl());
          this.complete(r.json.resource);
        } catch (err) {
          this.fail(err);
        }
        return;
      }
      this.state('uploading', 'resuming: ' + this.resumeNote);
      this.pump();
    }

    async complete(resource) {
      if (this.finished) return;
      this.finished = true;
      this.abortAll();
      this.el('bar').value = 1;
      this.el('toggle').disabled = true;
      const m = resource.metadata;
      this.state('complete', 'complete · ' + sizeText(resource.upload_data.size)
        + (this.resumeNote ? ' · resumed (' + this.resumeNote + ')' : ''));
      this.el('type').textContent = m.mime;
      this.el('size').textContent = sizeText(resource.upload_data.size);
      const link = this.el('download');
      link.href = this.fileUrl() + '/download?token=' + encodeURIComponent(this.s.token);
      link.setAttribute('download', m.name);
      this.el('details').hidden = false;
      if (m.thumbnail) {
        try {
          const origin = new URL(this.s.api).origin;
          const r = await fetch(origin + m.thumbnail, { headers: { Authorization: 'Bearer ' + this.s.token } });
          if (!r.ok) throw new CallError(r.status, await r.text(), this.s.api);
          const img = document.createElement('img');
          img.alt = 'thumbnail of ' + m.name;
          img.src = URL.createObjectURL(await r.blob());
          this.el('thumb').replaceChildren(img);
        } catch (err) {
          this.el('kind').textContent = 'no thumbnail: ' + (err.message || err);
        }
      } else {
        this.el('kind').textContent = m.thumbnails_status === 'waiting' ? 'thumbnail on its way' : (m.mime || 'file');
      }
    }
  }

  // ---- files in ---------------------------------------------------------------------------------

  function add(files) {
    const s = settings();
    if (s.problems.length) {
      showMessage('Cannot upload yet: ' + s.problems.join('; ') + '.');
      return;
    }
    showMessage('');
    for (const file of files) new Upload(file).start(s);
  }

  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    add(Array.from(e.dataTransfer.files));
  });
  $('pick').addEventListener('change', (e) => {
    add(Array.from(e.target.files));
    e.target.value = '';
  });
})();
