/* The offline visit queue (issue #19): an engineer on a factory floor with no signal records a visit;
   the POST is kept here (IndexedDB) with its Idempotency-Key (the form's `idem` field, which the
   portal sends to the API as Idempotency-Key) and sent when the connection returns. The API
   answers a repeated key with the first answer, so a visit is recorded once however often it is
   sent. Without this worker the form posts as usual. Scope: /portal/. */
'use strict';
var DB = 'custody-portal-outbox';
var QUEUED = '/portal/visits/new';
var SHELL = ['/portal/static/portal.css', '/portal/static/portal.js'];
var CACHE = 'custody-portal-shell-v1';
var flushing = null;

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

function db() {
  return new Promise(function (resolve, reject) {
    var open = indexedDB.open(DB, 1);
    open.onupgradeneeded = function () {
      open.result.createObjectStore('queue', { keyPath: 'id' });
      open.result.createObjectStore('done', { keyPath: 'id' });
    };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });
}
function tx(store, mode, work) {
  return db().then(function (conn) {
    return new Promise(function (resolve, reject) {
      var t = conn.transaction(store, mode);
      var result = work(t.objectStore(store));
      t.oncomplete = function () { resolve(result && result.result !== undefined ? result.result : result); };
      t.onerror = function () { reject(t.error); };
    });
  });
}
function all(store) { return tx(store, 'readonly', function (s) { return s.getAll(); }); }

self.addEventListener('fetch', function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method === 'GET' && SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(request).catch(function () { return caches.match(request); }));
    return;
  }
  if (request.method !== 'POST' || url.pathname !== QUEUED) { return; }
  event.respondWith(send(request));
});

function send(request) {
  // two copies before the request is sent: one to read its fields, one kept byte for byte (the
  // form is multipart: its photos must be replayed as they were chosen)
  var copy = request.clone();
  var raw = request.clone();
  return fetch(request).then(function (response) {
    flush();
    return response;
  }).catch(function () {
    return copy.formData().then(function (form) {
      var op = form.get('op');
      if (op && op !== 'save') { return page(503, 'offline-row'); }
      var id = form.get('idem') || String(Date.now());
      return raw.arrayBuffer().then(function (body) {
        return tx('queue', 'readwrite', function (s) {
          return s.put({ id: id, url: raw.url, body: body, type: raw.headers.get('content-type'), at: Date.now() });
        });
      }).then(function () {
        if (self.registration.sync) { self.registration.sync.register('custody-outbox').catch(function () {}); }
        return page(202, 'queued');
      });
    });
  });
}

function flush() {
  if (flushing) { return flushing; }
  flushing = all('queue').then(function (items) {
    return items.reduce(function (previous, item) {
      return previous.then(function () {
        return fetch(item.url, { method: 'POST', body: item.body, headers: { 'Content-Type': item.type },
                                 credentials: 'same-origin', redirect: 'manual' })
          .then(function (response) {
            if (response.status >= 500 || response.status === 429) { return; } // try again later
            var ok = response.type === 'opaqueredirect' || response.status < 400;
            return tx('queue', 'readwrite', function (s) { s.delete(item.id); }).then(function () {
              return tx('done', 'readwrite', function (s) { s.put({ id: item.id, ok: ok, status: response.status, at: Date.now() }); });
            });
          })
          .catch(function () { /* still offline */ });
      });
    }, Promise.resolve());
  }).then(status).finally(function () { flushing = null; });
  return flushing;
}

function status() {
  return Promise.all([all('queue'), all('done')]).then(function (lists) {
    var message = { type: 'status', waiting: lists[0].length,
                    sent: lists[1].filter(function (d) { return d.ok; }).length,
                    refused: lists[1].filter(function (d) { return !d.ok; }).length };
    return self.clients.matchAll({ type: 'window' }).then(function (clients) {
      clients.forEach(function (client) { client.postMessage(message); });
    });
  });
}

self.addEventListener('sync', function (event) { if (event.tag === 'custody-outbox') { event.waitUntil(flush()); } });
self.addEventListener('message', function (event) {
  var data = event.data || {};
  if (data.type === 'flush') { event.waitUntil(flush()); }
  if (data.type === 'status') { event.waitUntil(status()); }
});

function page(code, kind) {
  var text = kind === 'queued'
    ? ['<h1>已保存在本机，联网后自动发送</h1><p>服务记录已保存在本设备上，网络恢复后会自动发送一次（不会重复登记）。</p>',
       '<p lang="en">Saved on this device: the visit is sent once when the connection returns (never twice).</p>']
    : ['<h1>离线时无法添加行</h1><p>请先填写已有的行并保存，或联网后再添加。</p>',
       '<p lang="en">Rows cannot be added offline; save the rows you have, or add rows when back online.</p>'];
  var html = '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>离线保存 / Saved offline</title><link rel="stylesheet" href="/portal/static/portal.css"><script src="/portal/static/portal.js" defer></script></head>' +
    '<body data-signed-in="1"><main id="main"><div class="notice ok" role="status" id="offline-saved">' + text.join('') + '</div>' +
    '<div id="offline-queue" class="notice" hidden></div><p><a href="/portal/visits">服务记录 / Visits</a></p></main></body></html>';
  return new Response(html, { status: code, headers: { 'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'" } });
}
