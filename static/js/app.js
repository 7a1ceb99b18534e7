// supportdesk: small progressive enhancements, loaded with `defer`.
// Templates carry no inline scripts, no on*= handlers and no style="" attributes, so a
// strict Content-Security-Policy (script-src 'self'; style-src 'self') holds. Put any
// behaviour here (or in htmx attributes) instead.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
})();

// Contact support: the chosen product's known incidents, fetched as the product changes
// (POL-SELF-1), and the severity-A duties shown only while A is within reach (POL-SLA-2).
// Without JavaScript the server renders both on every post.
(function () {
  "use strict";

  function showIncidents(select) {
    var target = document.querySelector(select.dataset.incidentsTarget);
    if (!target) {
      return;
    }
    if (!select.value || typeof window.htmx === "undefined") {
      target.textContent = "";
      return;
    }
    window.htmx.ajax(
      "GET",
      select.dataset.incidentsUrl + "?service=" + encodeURIComponent(select.value),
      { target: target, swap: "innerHTML" }
    );
  }

  function syncDuties() {
    var duties = document.getElementById("a-duties");
    var assessment = document.querySelector("#assessment .assessment");
    if (duties && assessment) {
      duties.dataset.aPossible = assessment.dataset.aPossible;
    }
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select instanceof HTMLSelectElement && select.dataset.incidentsUrl) {
      showIncidents(select);
    }
  });
  document.addEventListener("htmx:afterSwap", syncDuties);
})();
