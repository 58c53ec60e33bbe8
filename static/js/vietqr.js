// The VietQR panel of an order page: copy buttons, and a look every few seconds
// at whether the transfer has arrived (then the page reloads to show it).
(function () {
  var panel = document.querySelector("[data-vietqr-status]");
  if (!panel) return;
  var copied = panel.querySelector("[data-copied]");
  if (navigator.clipboard) {
    panel.querySelectorAll("[data-copy-text]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy-text")).then(function () {
          if (copied) { copied.hidden = false; setTimeout(function () { copied.hidden = true; }, 2000); }
        });
      });
    });
  }
  var url = panel.getAttribute("data-vietqr-status");
  var received = panel.getAttribute("data-received");
  function check() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (data.status !== "awaiting_payment" || String(data.received) !== received) {
          window.location.reload();
        }
      })
      .catch(function () {});
  }
  setInterval(check, 3000);
})();
