// Starts Swagger UI on the API docs page; a file, not an inline script, so that the content
// security policy can forbid inline scripts. The document's URL comes from the page.
(function () {
  "use strict";
  window.addEventListener("load", function () {
    var holder = document.getElementById("swagger-ui");
    window.ui = SwaggerUIBundle({
      url: holder.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  });
})();
