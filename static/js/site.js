// Small progressive enhancements; every page works without this file.
(function () {
  // Sort menu: apply on change (a submit button is shown when scripts are off).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Wide screens have room for the filter panel: open it beside the results.
  var filters = document.querySelector("details.filters");
  if (filters && window.matchMedia("(min-width: 1000px)").matches) filters.open = true;

  // Product page: show the chosen variant's price, stock and SKU.
  var price = document.getElementById("price");
  var stock = document.getElementById("stock");
  var sku = document.getElementById("sku");
  document.querySelectorAll('input[name="variant"]').forEach(function (input) {
    input.addEventListener("change", function () {
      if (price) price.textContent = input.dataset.price;
      if (sku) sku.textContent = input.value;
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
