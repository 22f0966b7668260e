/* 安全生产托管平台门户 — progressive enhancement only: every page and form works without this file. */
(function () {
  'use strict';
  var zh = (document.documentElement.lang || '').indexOf('zh') === 0;
  var T = zh ? { big: '文件超过 10 MiB', waiting: '条服务记录等待联网后发送', sent: '条离线记录已发送', refused: '条离线记录被拒绝，请重新填报' }
             : { big: 'The file is larger than 10 MiB', waiting: 'visit(s) waiting for the connection', sent: 'offline visit(s) sent', refused: 'offline visit(s) refused; record them again' };

  // A dangerous action asks first.
  document.addEventListener('submit', function (event) {
    var button = event.submitter;
    if (button && button.getAttribute('data-confirm') && !window.confirm(button.getAttribute('data-confirm'))) {
      event.preventDefault();
    }
  });

  // A file over the limit is refused before it is sent.
  document.addEventListener('change', function (event) {
    var input = event.target;
    if (input.type !== 'file' || !input.getAttribute('data-max-bytes')) { return; }
    var tooBig = input.files && input.files[0] && input.files[0].size > Number(input.getAttribute('data-max-bytes'));
    input.setCustomValidity(tooBig ? T.big : '');
    if (tooBig) { input.reportValidity(); }
  });

  // After a refused submission, the list of problems takes the focus (screen readers read it).
  var summary = document.getElementById('form-errors');
  if (summary) { summary.focus(); }

  // The offline visit queue (static/sw.js): registered for signed-in people.
  if (!('serviceWorker' in navigator) || !document.body.getAttribute('data-signed-in')) { return; }
  navigator.serviceWorker.register('/portal/sw.js', { scope: '/portal/' }).then(function () {
    var note = document.getElementById('offline-note');
    if (note) { note.hidden = false; }
    flush();
  }).catch(function () { /* no worker: the page works as it is */ });

  function flush() {
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active && navigator.onLine) { registration.active.postMessage({ type: 'flush' }); }
      if (registration.active) { registration.active.postMessage({ type: 'status' }); }
    });
  }
  window.addEventListener('online', flush);
  navigator.serviceWorker.addEventListener('message', function (event) {
    var data = event.data || {};
    if (data.type !== 'status') { return; }
    // Something still waits while we are online (the worker's network may come back a moment
    // after the page's): ask again shortly, as long as this page is open.
    if (data.waiting && navigator.onLine) { window.setTimeout(flush, 3000); }
    var box = document.getElementById('offline-queue');
    if (!box) { return; }
    var parts = [];
    if (data.waiting) { parts.push(data.waiting + ' ' + T.waiting); }
    if (data.sent) { parts.push(data.sent + ' ' + T.sent); }
    if (data.refused) { parts.push(data.refused + ' ' + T.refused); }
    box.textContent = parts.join(' · ');
    box.hidden = parts.length === 0;
    box.setAttribute('role', 'status');
  });
})();
