/* Космос: small progressive enhancements, no framework.
 * 1. Classifier pickers: an <input data-classifier-picker="okved2" data-search-url="..."> gets search-as-you-type
 *    over /classifiers/<scheme>/search?q=; choosing a suggestion appends its code to the input ("25.62; 28.41").
 *    Without JavaScript the input still takes codes typed by hand.
 * 2. Forms with data-confirm ask before submitting.
 * 3. The registration form hides the organization fields when "join later" is chosen.
 */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function codesOf(value) {
    return value.split(/[;,\s]+/).filter(function (c) { return c.length > 0; });
  }

  function initPicker(input) {
    var url = input.getAttribute("data-search-url");
    var wrapper = document.createElement("div");
    wrapper.className = "classifier-picker position-relative";
    var search = document.createElement("input");
    search.type = "search";
    search.className = "form-control form-control-sm mt-1 picker-search";
    search.placeholder = "Поиск по коду или названию…";
    search.setAttribute("aria-label", "Поиск кода " + input.getAttribute("data-classifier-picker").toUpperCase());
    search.setAttribute("autocomplete", "off");
    var list = document.createElement("ul");
    list.className = "list-group picker-results";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    wrapper.appendChild(search);
    wrapper.appendChild(list);
    input.parentNode.insertBefore(wrapper, input.nextSibling);

    function choose(code) {
      var codes = codesOf(input.value);
      if (codes.indexOf(code) === -1) { codes.push(code); }
      input.value = codes.join("; ");
      input.dispatchEvent(new Event("change", { bubbles: true }));
      search.value = "";
      list.hidden = true;
      list.innerHTML = "";
      search.focus();
    }

    function render(items) {
      list.innerHTML = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "list-group-item list-group-item-action picker-item";
        li.setAttribute("role", "option");
        li.setAttribute("tabindex", "0");
        li.setAttribute("data-code", item.code);
        var code = document.createElement("strong");
        code.textContent = item.code;
        li.appendChild(code);
        li.appendChild(document.createTextNode(" " + item.name));
        li.addEventListener("click", function () { choose(item.code); });
        li.addEventListener("keydown", function (e) {
          if (e.key === "Enter") { e.preventDefault(); choose(item.code); }
        });
        list.appendChild(li);
      });
      if (!items.length) {
        var empty = document.createElement("li");
        empty.className = "list-group-item text-muted";
        empty.textContent = "Ничего не найдено";
        list.appendChild(empty);
      }
      list.hidden = false;
    }

    var lastQuery = "";
    var lookup = debounce(function () {
      var q = search.value.trim();
      if (q.length < 2) { list.hidden = true; return; }
      lastQuery = q;
      fetch(url + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) { if (q === lastQuery) { render(items); } })
        .catch(function () { list.hidden = true; });
    }, 200);

    // "Подобрать по описанию": the engine's classifier reads the listing's title and description.
    var suggestUrl = input.getAttribute("data-suggest-url");
    if (suggestUrl && input.form) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-primary mt-1 picker-suggest";
      button.textContent = "Подобрать коды по описанию";
      wrapper.insertBefore(button, list);
      button.addEventListener("click", function () {
        var parts = ["title", "description"].map(function (name) {
          var el = input.form.elements[name];
          return el ? el.value.trim() : "";
        }).filter(function (v) { return v.length > 0; });
        if (!parts.length) { render([]); return; }
        fetch(suggestUrl + "?text=" + encodeURIComponent(parts.join(". ")), { headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(render)
          .catch(function () { list.hidden = true; });
      });
    }

    search.addEventListener("input", lookup);
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {  // never submit the listing form from the search box
        e.preventDefault();
        var first = list.querySelector(".picker-item");
        if (first) { choose(first.getAttribute("data-code")); }
      } else if (e.key === "Escape") {
        list.hidden = true;
      } else if (e.key === "ArrowDown") {
        var item = list.querySelector(".picker-item");
        if (item) { e.preventDefault(); item.focus(); }
      }
    });
  }

  function initConfirm(form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  }

  function initRegistration(form) {
    var mode = form.querySelector("select[name=organization]");
    var fields = form.querySelector(".org-fields");
    if (!mode || !fields) { return; }
    var sync = function () { fields.hidden = mode.value !== "new"; };
    mode.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-classifier-picker]").forEach(initPicker);
    document.querySelectorAll("form[data-confirm]").forEach(initConfirm);
    var reg = document.getElementById("register-form");
    if (reg) { initRegistration(reg); }
  });
})();
