// Search-as-you-type pickers with chips, over fields that work without JavaScript:
// - <select multiple data-picker>: the search filters the select's own options
//   (tone marks ignored); choosing one selects it in the hidden select;
// - <textarea data-picker-url=...>: one ref a line (product slugs); the search asks
//   the URL (JSON {"items": [{"value", "label"}]}) and a choice adds its value as a line.
// The input is an ARIA 1.2 combobox: arrows move through the suggestions, Enter
// chooses, Escape closes; each chip is a button that removes its item. The texts come
// from data-picker-strings on the container, translated by the server.
(function () {
  "use strict";

  var containers = document.querySelectorAll("[data-picker-strings]");
  if (!containers.length || !window.fetch) return;

  function fold(text) {
    return text.replace(/[đĐ]/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  function make(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) node.textContent = text;
    return node;
  }

  function Picker(source, strings) {
    var field = source.closest(".field") || source.parentNode;
    var label = field.querySelector("label[for='" + source.id + "']");
    var isSelect = source.tagName === "SELECT";
    var url = source.getAttribute("data-picker-url");
    var labels = {};
    try { labels = JSON.parse(source.getAttribute("data-picker-labels") || "{}"); } catch (e) { labels = {}; }
    var id = source.id + "-picker";
    var results = [];  // [{value, label}] shown in the list
    var active = -1;
    var timer = null;
    var asked = 0;

    var box = make("div", {"class": "picker"});
    var chips = make("ul", {"class": "picker-chips", "aria-label": (label ? label.textContent.trim() + ": " : "") + strings.chosen});
    var input = make("input", {
      type: "text", id: id, role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
      "aria-controls": id + "-list", autocomplete: "off", spellcheck: "false", placeholder: strings.placeholder,
      "class": "picker-input"
    });
    var list = make("ul", {id: id + "-list", role: "listbox", "class": "picker-list"});
    list.hidden = true;
    if (label) list.setAttribute("aria-label", label.textContent.trim());
    var status = make("p", {"class": "visually-hidden", role: "status"});
    var described = source.getAttribute("aria-describedby");
    if (described) input.setAttribute("aria-describedby", described);
    if (source.getAttribute("aria-invalid")) input.setAttribute("aria-invalid", "true");

    box.appendChild(chips);
    box.appendChild(input);
    box.appendChild(list);
    box.appendChild(status);
    source.hidden = true;
    source.setAttribute("aria-hidden", "true");
    source.tabIndex = -1;
    source.parentNode.insertBefore(box, source.nextSibling);
    if (label) label.setAttribute("for", id);

    function lines() {
      return source.value.split(/[\n,]/).map(function (s) { return s.trim(); }).filter(Boolean);
    }

    function chosen() {
      if (isSelect) {
        return Array.prototype.filter.call(source.options, function (o) { return o.selected; })
          .map(function (o) { return {value: o.value, label: o.textContent.replace(/^—\s*/, "")}; });
      }
      return lines().map(function (v) { return {value: v, label: labels[v] || v}; });
    }

    function isChosen(value) {
      return chosen().some(function (c) { return c.value === value; });
    }

    function say(text) { status.textContent = text; }

    function drawChips() {
      chips.textContent = "";
      var items = chosen();
      if (!items.length) {
        chips.appendChild(make("li", {"class": "picker-empty"}, strings.nothing));
        return;
      }
      items.forEach(function (item) {
        var li = make("li");
        var button = make("button", {type: "button", "class": "picker-chip", "aria-label": strings.remove.replace("{item}", item.label)});
        button.appendChild(make("span", {}, item.label));
        button.appendChild(make("span", {"aria-hidden": "true", "class": "picker-x"}, "×"));
        button.addEventListener("click", function () {
          remove(item.value);
          say(strings.removed.replace("{item}", item.label));
          input.focus();
        });
        li.appendChild(button);
        chips.appendChild(li);
      });
    }

    function remove(value) {
      if (isSelect) {
        Array.prototype.forEach.call(source.options, function (o) { if (o.value === value) o.selected = false; });
      } else {
        source.value = lines().filter(function (v) { return v !== value; }).join("\n");
      }
      drawChips();
      drawList();
    }

    function add(item) {
      if (isSelect) {
        Array.prototype.forEach.call(source.options, function (o) { if (o.value === item.value) o.selected = true; });
      } else if (!isChosen(item.value)) {
        labels[item.value] = item.label;
        source.value = lines().concat([item.value]).join("\n");
      }
      drawChips();
    }

    function choose(index) {
      var item = results[index];
      if (!item) return;
      if (isChosen(item.value)) {
        remove(item.value);
        say(strings.removed.replace("{item}", item.label));
      } else {
        add(item);
        say(strings.added.replace("{item}", item.label));
      }
      input.value = "";
      close();
      input.focus();
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function drawList() {
      list.textContent = "";
      if (!results.length) {
        list.appendChild(make("li", {"class": "picker-none", role: "option", "aria-disabled": "true"}, strings.none));
      }
      results.forEach(function (item, i) {
        var li = make("li", {id: id + "-opt-" + i, role: "option", "class": "picker-option",
          "aria-selected": isChosen(item.value) ? "true" : "false"}, item.label);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the focus in the input
        li.addEventListener("click", function () { choose(i); });
        list.appendChild(li);
      });
      move(active);
    }

    function move(index) {
      var options = list.querySelectorAll(".picker-option");
      active = options.length ? (index + options.length) % options.length : -1;
      Array.prototype.forEach.call(options, function (o, i) { o.classList.toggle("is-active", i === active); });
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", options[active].id);
        options[active].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(items) {
      results = items;
      active = -1;
      drawList();
      open();
      say(strings.results.replace("{n}", items.length));
    }

    function search(all) {
      var text = input.value;
      if (!all && !fold(text)) { close(); return; }
      if (isSelect) {
        var wanted = fold(text);
        show(Array.prototype.filter.call(source.options, function (o) {
          return o.value && fold(o.textContent).indexOf(wanted) !== -1;
        }).map(function (o) { return {value: o.value, label: o.textContent.replace(/^—\s*/, "")}; }));
        return;
      }
      if (!fold(text)) { close(); return; }
      var ticket = ++asked;
      fetch(url + "?q=" + encodeURIComponent(text), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : {items: []}; })
        .then(function (data) { if (ticket === asked && input.value === text) show(data.items || []); })
        .catch(function () { /* the typed lines still work */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(false); }, isSelect ? 0 : 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { search(isSelect); return; }
        move(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) { event.preventDefault(); choose(active); }
        else if (!list.hidden || input.value) { event.preventDefault(); }  // never submit the whole form from the search box
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
      } else if (event.key === "Backspace" && !input.value) {
        var items = chosen();
        if (items.length) {
          remove(items[items.length - 1].value);
          say(strings.removed.replace("{item}", items[items.length - 1].label));
        }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });

    drawChips();
  }

  Array.prototype.forEach.call(containers, function (container) {
    var strings = JSON.parse(container.getAttribute("data-picker-strings"));
    container.querySelectorAll("select[multiple][data-picker], textarea[data-picker-url]").forEach(function (source) {
      new Picker(source, strings);
    });
    var hint = container.querySelector("[data-picker-hint]");
    if (hint) hint.hidden = true;
  });
})();
