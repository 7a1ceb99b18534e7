// supportdesk agent desk: live countdowns, queue keyboard shortcuts, selection kept across
// the live refresh, canned replies. Loaded with `defer`; no inline scripts (strict CSP).
(function () {
  "use strict";

  // --- Countdowns -------------------------------------------------------------------------
  // The server renders each deadline as <time class="countdown" datetime="ISO"
  // data-countdown="response|customer">; the translated phrases come from #countdown-texts.
  var texts = null;

  function phrases() {
    if (texts) return texts;
    var node = document.getElementById("countdown-texts");
    if (!node) return null;
    texts = node.dataset;
    return texts;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : whole;
    });
  }

  function span(seconds, t) {
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    if (days) return fill(t.days, { d: days, h: hours });
    if (hours) return fill(t.hours, { h: hours, m: minutes });
    return fill(t.minutes, { m: minutes, s: (secs < 10 ? "0" : "") + secs });
  }

  // --- Queue rows (issue 16): short countdown phrases and the at-risk / breached state ------
  // data-countdown="queue" or "queue-customer" reads data-queue-future etc.; any unknown
  // kind falls back to the response phrases.
  function countdownKind(name, t) {
    var kind = (name || "response").replace(/-(\w)/g, function (whole, letter) {
      return letter.toUpperCase();
    });
    return t[kind + "Future"] ? kind : "response";
  }

  // A row's response clock (data-countdown="queue") turns amber at its warning moment
  // (data-warning) and red at the deadline, without waiting for the next refresh.
  function queueClockState(node, now, left) {
    var warning = Date.parse(node.dataset.warning);
    var state = left <= 0 ? "breached" : !isNaN(warning) && warning <= now ? "at_risk" : "ok";
    ["ok", "at_risk", "breached"].forEach(function (name) {
      node.classList.toggle("sla-" + name, name === state);
    });
  }
  // --- end queue rows ---------------------------------------------------------------------

  function tick() {
    var t = phrases();
    if (!t) return;
    var now = Date.now();
    var nodes = document.querySelectorAll("time.countdown[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var due = Date.parse(node.getAttribute("datetime"));
      if (isNaN(due)) continue;
      var kind = countdownKind(node.dataset.countdown, t);
      var left = Math.round((due - now) / 1000);
      var template = left > 0 ? t[kind + "Future"] : t[kind + "Past"];
      var text = fill(template, { time: span(Math.abs(left), t) });
      if (node.textContent !== text) node.textContent = text;
      node.classList.toggle("is-overdue", left <= 0);
      if (node.dataset.countdown === "queue") queueClockState(node, now, left);
    }
  }

  // --- Queue: keyboard and selection --------------------------------------------------------
  var currentTicket = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-table tr.queue-row"));
  }

  function markCurrent(row) {
    rows().forEach(function (r) {
      r.classList.toggle("is-current", r === row);
    });
    if (row) {
      currentTicket = row.dataset.ticket;
      var link = row.querySelector("a.queue-open");
      if (link) link.focus();
    }
  }

  function currentIndex(list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].dataset.ticket === currentTicket) return i;
    }
    return -1;
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) return;
    var list = rows();
    if (!list.length) return;
    var index = currentIndex(list);
    if (event.key === "j" || event.key === "k") {
      var next = event.key === "j" ? index + 1 : index - 1;
      if (index === -1) next = 0;
      next = Math.max(0, Math.min(list.length - 1, next));
      markCurrent(list[next]);
      event.preventDefault();
    } else if (event.key === "Enter" && index !== -1) {
      var link = list[index].querySelector("a.queue-open");
      if (link && document.activeElement !== link) {
        link.click();
        event.preventDefault();
      }
    } else if (event.key === "c" && index !== -1) {
      var claim = list[index].querySelector("button.queue-claim");
      if (claim) {
        claim.click();
        event.preventDefault();
      }
    }
  });

  document.addEventListener("focusin", function (event) {
    var row = event.target.closest ? event.target.closest("#queue-table tr.queue-row") : null;
    if (row) {
      currentTicket = row.dataset.ticket;
      rows().forEach(function (r) {
        r.classList.toggle("is-current", r === row);
      });
    }
  });

  // The live refresh replaces the queue; keep the ticked boxes, the current row and focus.
  var kept = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "queue-live") return;
    var active = document.activeElement;
    kept = {
      checked: Array.prototype.map.call(
        target.querySelectorAll("input.queue-pick:checked"),
        function (box) {
          return box.value;
        }
      ),
      focusId: active && target.contains(active) ? active.id : null,
      focusRow:
        active && target.contains(active) && active.closest("tr.queue-row")
          ? active.closest("tr.queue-row").dataset.ticket
          : null,
    };
  });

  document.addEventListener("htmx:afterSettle", function () {
    var live = document.getElementById("queue-live");
    if (!live || !kept) return;
    kept.checked.forEach(function (value) {
      var box = document.getElementById("pick-" + value);
      if (box) box.checked = true;
    });
    rows().forEach(function (r) {
      r.classList.toggle("is-current", r.dataset.ticket === currentTicket);
    });
    if (kept.focusId && document.getElementById(kept.focusId)) {
      document.getElementById(kept.focusId).focus();
    } else if (kept.focusRow) {
      var row = live.querySelector('tr.queue-row[data-ticket="' + kept.focusRow + '"] a.queue-open');
      if (row) row.focus();
    }
    kept = null;
    tick();
  });

  // --- Canned replies -------------------------------------------------------------------------
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-macro-target]")) return;
    var option = select.options[select.selectedIndex];
    var box = document.getElementById(select.dataset.macroTarget);
    if (!option || !option.value || !box) return;
    var text = option.dataset.body || "";
    var start = box.selectionStart || 0;
    var end = box.selectionEnd || 0;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.setSelectionRange(start + text.length, start + text.length);
    select.value = "";
  });

  // --- Ticket workspace: presence ("is replying") ------------------------------------------
  // Typing in the composer marks the agent as replying on the page's next beat (sent at
  // once on the first keystroke); 30 s without typing they are back to viewing.
  var replyingUntil = 0;

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("#composer-form") || target.tagName !== "TEXTAREA") return;
    var state = document.getElementById("presence-state");
    if (!state) return;
    var wasReplying = state.value === "replying";
    replyingUntil = Date.now() + 30000;
    state.value = "replying";
    if (!wasReplying && window.htmx) window.htmx.trigger(document.body, "presence-typing");
  });

  // The composer's switch names the text box after the mode (the buttons follow in CSS).
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches("#composer-form input[type=radio]")) return;
    var form = radio.form;
    var box = form.querySelector("textarea");
    var label = box && form.querySelector('label[for="' + box.id + '"]');
    if (!label) return;
    var suffix = (label.textContent.match(/\s*:\s*$/) || [""])[0];
    label.textContent =
      (radio.value === "note" ? form.dataset.labelNote : form.dataset.labelPublic) + suffix;
  });

  // "SLA ledger" in the strip unfolds the ledger it jumps to.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest('a[href="#ledger"]') : null;
    var ledger = document.getElementById("ledger");
    if (link && ledger) ledger.open = true;
  });

  window.setInterval(function () {
    var state = document.getElementById("presence-state");
    if (state && state.value === "replying" && Date.now() > replyingUntil) state.value = "viewing";
  }, 5000);

  tick();
  window.setInterval(tick, 1000);
})();
