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

// Attachments: the size and number of files are checked as soon as they are chosen, so a
// 30 MB file is refused before a long upload, not after it. The limits come from the
// server (data-max-bytes, data-max-files on the input); the server checks again.
(function () {
  "use strict";

  function messageFor(input) {
    var id = input.id ? input.id + "-size-error" : "";
    var box = id ? document.getElementById(id) : null;
    if (!box) {
      box = document.createElement("p");
      box.className = "field-error upload-error";
      box.setAttribute("role", "alert");
      if (id) {
        box.id = id;
      }
      input.insertAdjacentElement("afterend", box);
    }
    return box;
  }

  function check(input) {
    var maxBytes = parseInt(input.dataset.maxBytes, 10);
    var maxFiles = parseInt(input.dataset.maxFiles, 10);
    var problems = [];
    var files = Array.prototype.slice.call(input.files || []);
    if (maxFiles && files.length > maxFiles) {
      problems.push(input.dataset.tooMany);
    }
    files.forEach(function (file) {
      if (maxBytes && file.size > maxBytes) {
        problems.push(input.dataset.tooLarge.replace("{name}", file.name));
      }
    });
    var text = problems.join(" ");
    input.setCustomValidity(text);
    if (text) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
    var box = messageFor(input);
    box.textContent = text;
    box.hidden = !text;
    return !text;
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file" && input.dataset.maxBytes) {
      check(input);
    }
  });
  document.addEventListener(
    "submit",
    function (event) {
      var inputs = event.target.querySelectorAll("input[type=file][data-max-bytes]");
      for (var i = 0; i < inputs.length; i += 1) {
        if (!check(inputs[i])) {
          event.preventDefault();
          inputs[i].focus();
          return;
        }
      }
    },
    true
  );
})();
