// Address form: when a province is chosen, fill the ward select from
// /dia-gioi/<province>/phuong-xa. Without this script the form still works:
// submitting a province with no ward shows that province's wards.
(function () {
  var province = document.getElementById("province_id");
  var ward = document.getElementById("ward_id");
  if (!province || !ward || !province.dataset.wardsUrl) return;
  var hint = document.getElementById("ward_id-hint");
  var placeholder = ward.options.length ? ward.options[0] : null;
  var loading = 0;

  function fill(wards) {
    var first = placeholder ? placeholder.cloneNode(false) : document.createElement("option");
    first.value = "";
    first.textContent = ward.dataset.choose || "—";
    var options = [first];
    wards.forEach(function (w) {
      var option = document.createElement("option");
      option.value = String(w.id);
      option.textContent = w.name;
      options.push(option);
    });
    ward.replaceChildren.apply(ward, options);
    ward.disabled = false;
    if (hint) hint.hidden = true;
  }

  province.addEventListener("change", function () {
    var chosen = province.options[province.selectedIndex];
    var slug = chosen && chosen.dataset.slug;
    if (!slug) { fill([]); return; }
    var request = ++loading;
    ward.disabled = true;
    fetch(province.dataset.wardsUrl.replace("__SLUG__", encodeURIComponent(slug)), { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (wards) { if (request === loading) fill(wards); })
      .catch(function () { ward.disabled = false; });  // the form falls back to a server round trip
  });
})();
