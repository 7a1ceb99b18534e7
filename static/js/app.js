// supportdesk: small progressive enhancements, loaded with `defer`.
// Templates carry no inline scripts, no on*= handlers and no style="" attributes, so a
// strict Content-Security-Policy (script-src 'self'; style-src 'self') holds. Put any
// behaviour here (or in htmx attributes) instead.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
})();
