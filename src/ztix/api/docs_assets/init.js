// Starts Swagger UI on /api/v1/docs. A file of its own, not an inline script: the page's
// Content-Security-Policy (script-src 'self') allows no inline code.
let csrfToken = null;

// Signed in, "Try it out" works as you: same-origin calls carry the session cookie, and
// the state-changing ones the CSRF token that GET /api/v1/me gives.
fetch("/api/v1/me", { credentials: "same-origin" })
  .then((response) => (response.ok ? response.json() : null))
  .then((me) => {
    if (me && me.csrf_token) csrfToken = me.csrf_token;
  })
  .catch(() => {});

window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: (request) => {
      if (csrfToken) request.headers["X-CSRF-Token"] = csrfToken;
      return request;
    },
  });
});
