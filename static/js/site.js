// Small progressive enhancements; every page works without this file.
(function () {
  // Sort menu: apply on change (a submit button is shown when scripts are off).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Wide screens have room for the filter panel: open it beside the results.
  // Phones: the drawer's × closes it without reloading.
  var filters = document.querySelector("details.filters");
  if (filters && window.matchMedia("(min-width: 1000px)").matches) filters.open = true;
  if (filters) filters.addEventListener("click", function (event) {
    if (event.target === filters) filters.open = false;  // the backdrop around the drawer
  });
  document.querySelectorAll("[data-close-filters]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (!filters) return;
      event.preventDefault();
      filters.open = false;
    });
  });

  // Product page: show the chosen variant's price, stock and SKU.
  var price = document.getElementById("price");
  var stock = document.getElementById("stock");
  var sku = document.getElementById("sku");
  document.querySelectorAll('input[name="variant_id"]').forEach(function (input) {
    input.addEventListener("change", function () {
      if (price) price.textContent = input.dataset.price;
      // Promotional price: the normal price struck through, the saving, and the week's note.
      var wasRow = document.getElementById("price-was");
      if (wasRow) {
        var promo = !!input.dataset.was;
        wasRow.hidden = !promo;
        if (price) price.classList.toggle("price-promo", promo);
        document.getElementById("was").textContent = input.dataset.was || "";
        document.getElementById("off").textContent = input.dataset.off || "";
      }
      document.querySelectorAll(".promo-line[data-variant]").forEach(function (line) {
        line.hidden = line.dataset.variant !== input.value;
      });
      if (sku) sku.textContent = input.dataset.sku;
      if (stock) {
        var n = parseInt(input.dataset.stock, 10);
        var span = document.createElement("span");
        if (n <= 0) { span.className = "stock-out"; span.textContent = stock.dataset.out; }
        else if (n <= 5) { span.className = "stock-low"; span.textContent = stock.dataset.low.replace("__N__", n); }
        else { span.className = "stock-in"; span.textContent = stock.dataset.in; }
        stock.replaceChildren(span);
      }
    });
  });
})();

// Shared cached pages hold nothing personal: a visitor with a session (the
// readable ocop_p cookie says so) gets the cart count, the account menu and the
// verification banner from /ca-nhan. Without scripts the header still links to
// the cart and the account page.
(function () {
  if (!document.body.hasAttribute("data-shared")) return;
  var label = document.querySelector('[data-personal="account"] .account-label');
  if (!/(?:^|; )ocop_p=1/.test(document.cookie)) {
    if (label && label.dataset.anonymous) label.textContent = label.dataset.anonymous;
    return;
  }
  var here = location.pathname + location.search;
  fetch("/ca-nhan?next=" + encodeURIComponent(here), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (p) {
      var account = document.querySelector('[data-personal="account"]');
      if (account) account.innerHTML = p.account;
      var banner = document.querySelector('[data-personal="banner"]');
      if (banner) banner.innerHTML = p.banner;
      var badge = document.querySelector('[data-personal="cart"]');
      if (badge) { badge.textContent = p.cart; badge.hidden = !p.cart; }
    })
    .catch(function () { /* the generic header stays: it still works */ });
})();

// Product gallery: a dot scrolls the track sideways (not the page under the
// header), and the dot of the photo in view is marked.
(function () {
  var track = document.querySelector(".gallery-track");
  var dots = document.querySelectorAll(".gallery-dots a");
  if (!track || !dots.length) return;
  dots.forEach(function (dot, i) {
    dot.addEventListener("click", function (event) {
      event.preventDefault();
      track.scrollTo({ left: track.clientWidth * i, behavior: "smooth" });
    });
  });
  var mark = function () {
    var i = Math.round(track.scrollLeft / Math.max(1, track.clientWidth));
    dots.forEach(function (dot, j) { dot.setAttribute("aria-current", j === i ? "true" : "false"); });
  };
  track.addEventListener("scroll", function () { window.requestAnimationFrame(mark); }, { passive: true });
})();

// Cart: change quantities without reloading the page.
(function () {
  var groups = document.getElementById("cart-groups");
  if (!groups) return;
  groups.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-cart-update")) return;
    event.preventDefault();
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.html !== undefined) groups.innerHTML = body.html;
      var badge = document.querySelector('[data-personal="cart"]');
      if (badge) { badge.textContent = body.count; badge.hidden = !body.count; }
      var note = document.getElementById("cart-note");
      if (note) note.textContent = (body.error && body.error.message) || body.message || "";
    }).catch(function () { form.submit(); });
  });
  groups.addEventListener("change", function (event) {
    if (event.target.name === "quantity") event.target.form.requestSubmit();
  });
})();

// Promotion countdowns: the date and time are in the page already; this adds
// the time left ("2 ngày 03:04:05"), from an ISO UTC instant in data-countdown.
(function () {
  var items = document.querySelectorAll("[data-countdown]");
  if (!items.length) return;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = Date.now();
    items.forEach(function (el) {
      var left = el.querySelector(".countdown-left");
      var target = Date.parse(el.dataset.countdown);
      if (!left || isNaN(target)) return;
      var s = Math.floor((target - now) / 1000);
      if (s <= 0) { el.classList.add("is-done"); left.textContent = el.dataset.done; return; }
      var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
      left.textContent = (el.dataset.prefix ? el.dataset.prefix + " " : "") + (d ? d + " " + el.dataset.day + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(s % 60);
    });
  }
  tick();
  setInterval(tick, 1000);
})();

// Producer portal on a phone: the menu is one sideways-scrolling row; show the
// page's own item rather than leaving it off-screen to the right.
(function () {
  var current = document.querySelector(".portal-nav [aria-current=page]");
  if (!current) return;
  var row = current.closest("ul");
  if (row && row.scrollWidth > row.clientWidth) {
    row.scrollLeft = current.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
  }
})();
