// Small behaviours of producer-portal pages (kept out of the pages: the
// Content-Security-Policy runs no inline script).
(function () {
  "use strict";

  // Packing slip: the print button.
  var print = document.querySelector("[data-print]");
  if (print) print.addEventListener("click", function () { window.print(); });

  // Stock import report: the progress bar follows the worker until it is done.
  var box = document.querySelector("[data-status-url]");
  if (box && window.fetch) {
    var bar = box.querySelector("progress");
    var poll = function () {
      fetch(box.getAttribute("data-status-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (s) {
          bar.value = s.percent;
          bar.textContent = s.percent + "%";
          box.querySelector("[data-processed]").textContent = s.processed_rows;
          box.querySelector("[data-total]").textContent = s.total_rows;
          box.querySelector("[data-status]").textContent = s.status_label + "…";
          if (s.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }

  // A new API token: copy it with one button.
  var copy = document.querySelector("[data-copy]");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var input = document.getElementById(copy.getAttribute("data-copy"));
      navigator.clipboard.writeText(input.value).then(function () {
        document.querySelector("[data-copied]").hidden = false;
      });
    });
  }
})();
