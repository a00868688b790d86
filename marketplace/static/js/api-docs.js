// The interactive API documentation (/api/docs): Swagger UI over the project's OpenAPI document.
// swagger-ui-bundle.js comes from npm (swagger-ui-dist) via `npm run build`; the document's URL is the page's data-url.
(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    domNode: root,
    deepLinking: true,
    docExpansion: "list",
    tryItOutEnabled: false,
  });
})();
