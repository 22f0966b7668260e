/* Starts the vendored Swagger UI on /docs (a file, not an inline script: the CSP allows 'self' only). */
(function () {
  'use strict';
  var node = document.getElementById('swagger-ui');
  if (!node || typeof window.SwaggerUIBundle !== 'function') { return; }
  window.SwaggerUIBundle({ url: node.getAttribute('data-url') || '/openapi.json', domNode: node, deepLinking: true });
})();
