/* The operations picker of the listing forms (templates/listings/_operations_picker.html), plain JavaScript.
 *
 * The inputs "operations" and "material_ids" stay the form's values (ids separated by "; "); this script hides them
 * behind search-as-you-type boxes and chips, turns the operations recognised in the title and description into
 * clickable suggestions, and shows only the parameter inputs the chosen operations use (a hidden one is emptied
 * before the form is sent, so it cannot carry a value no chosen operation uses).
 */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function idsOf(value) {
    return value.split(/[;,\s]+/).filter(function (v) { return v.length > 0; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; });
  }

  /* A search box over ``url`` with a drop-down list; ``pick(item)`` is called with the chosen item. */
  function searchBox(container, url, placeholder, label, pick) {
    var wrapper = el("div", "position-relative mb-1");
    var input = el("input", "form-control form-control-sm");
    input.type = "search";
    input.placeholder = placeholder;
    input.setAttribute("aria-label", label);
    input.autocomplete = "off";
    var list = el("ul", "list-group position-absolute w-100 shadow-sm picker-results");
    list.style.zIndex = "10";
    list.hidden = true;
    wrapper.appendChild(input);
    wrapper.appendChild(list);
    container.appendChild(wrapper);
    var last = "";
    var lookup = debounce(function () {
      var q = input.value.trim();
      last = q;
      if (!q) { list.hidden = true; return; }
      getJSON(url + "?q=" + encodeURIComponent(q)).then(function (items) {
        if (q !== last) { return; }
        list.innerHTML = "";
        (items || []).forEach(function (item) {
          var li = el("li", "list-group-item list-group-item-action small");
          li.tabIndex = 0;
          li.textContent = item.name;
          if (item.path) { li.appendChild(el("span", "text-muted ms-1", "— " + item.path)); }
          if (item.grades && item.grades.length) { li.appendChild(el("span", "text-muted ms-1", item.grades.join(", "))); }
          var choose = function () { pick(item); input.value = ""; list.hidden = true; input.focus(); };
          li.addEventListener("click", choose);
          li.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); choose(); } });
          list.appendChild(li);
        });
        list.hidden = list.children.length === 0;
      }).catch(function () { list.hidden = true; });
    }, 200);
    input.addEventListener("input", lookup);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        var first = list.querySelector("li");
        if (first) { first.click(); }
      } else if (e.key === "Escape") { list.hidden = true; }
    });
    return input;
  }

  /* Chips for the ids held in ``hidden`` (names in ``names``), each with a remove button. */
  function chipSet(box, hidden, names, chipClass, onChange) {
    function render() {
      box.innerHTML = "";
      idsOf(hidden.value).forEach(function (id) {
        var chip = el("span", "badge " + chipClass + " d-inline-flex align-items-center gap-1", names[id] || id);
        var x = el("button", "btn-close btn-close-white", "");
        x.type = "button";
        x.style.fontSize = "0.6em";
        x.setAttribute("aria-label", "Убрать " + (names[id] || id));
        x.addEventListener("click", function () {
          hidden.value = idsOf(hidden.value).filter(function (v) { return v !== id; }).join("; ");
          render();
          onChange();
        });
        chip.appendChild(x);
        box.appendChild(chip);
      });
    }
    return {
      add: function (id, name) {
        names[id] = name;
        var ids = idsOf(hidden.value);
        if (ids.indexOf(id) < 0) { ids.push(id); hidden.value = ids.join("; "); }
        render();
        onChange();
      },
      render: render,
    };
  }

  function initPicker(root) {
    var form = root.closest("form");
    var opsInput = root.querySelector("#f-operations");
    var opParams = {};
    var opNames = {};
    root.querySelectorAll("[data-operation-id]").forEach(function (node) {
      var id = node.getAttribute("data-operation-id");
      opParams[id] = idsOf(node.getAttribute("data-parameters") || "");
      opNames[id] = node.getAttribute("data-name") || node.textContent.trim();
    });

    function syncParameters() {
      var used = {};
      idsOf(opsInput.value).forEach(function (id) { (opParams[id] || []).forEach(function (k) { used[k] = true; }); });
      root.querySelectorAll(".parameter-field").forEach(function (box) {
        var input = box.querySelector("input, textarea, select");
        var invalid = input && input.classList.contains("is-invalid");
        box.hidden = !(used[box.getAttribute("data-parameter")] || invalid);
      });
      renderSuggestions(lastSuggestions);
    }

    opsInput.type = "hidden";
    var chipsBox = root.querySelector(".chosen-operations");
    var ops = chipSet(chipsBox, opsInput, opNames, "text-bg-primary", syncParameters);
    function addOperation(item) {
      opParams[item.id] = item.parameters || [];
      ops.add(item.id, item.name);
    }
    var box = el("div", "");
    chipsBox.parentNode.insertBefore(box, opsInput);
    searchBox(box, root.getAttribute("data-search-url"), "Операция: токарная, порошковая окраска, лазерная резка…",
              "Поиск операции в каталоге", addOperation);
    ops.render();

    var suggestBox = root.querySelector(".suggested-operations");
    var lastSuggestions = null;
    suggestBox.querySelectorAll(".operation-suggestion").forEach(function (b) {
      b.addEventListener("click", function () {
        addOperation({ id: b.getAttribute("data-operation-id"), name: b.getAttribute("data-name"),
                       parameters: idsOf(b.getAttribute("data-parameters") || "") });
      });
    });
    function renderSuggestions(items) {
      if (items == null) {  // the server's suggestions: hide those already chosen
        var chosen = idsOf(opsInput.value);
        suggestBox.querySelectorAll(".operation-suggestion").forEach(function (b) {
          b.hidden = chosen.indexOf(b.getAttribute("data-operation-id")) >= 0;
        });
        return;
      }
      var ids = idsOf(opsInput.value);
      suggestBox.querySelectorAll(".operation-suggestion").forEach(function (b) { b.remove(); });
      var fresh = items.filter(function (item) { return ids.indexOf(item.id) < 0; });
      fresh.forEach(function (item) {
        var b = el("button", "btn btn-sm btn-outline-secondary operation-suggestion ms-1", "+ " + item.name);
        b.type = "button";
        b.title = "по словам «" + item.matched + "»";
        b.addEventListener("click", function () { addOperation(item); });
        suggestBox.appendChild(b);
      });
      suggestBox.hidden = fresh.length === 0;
    }
    var suggest = debounce(function () {
      var text = ["title", "description"].map(function (name) {
        var field = form.querySelector("[name='" + name + "']");
        return field ? field.value.trim() : "";
      }).join(" ").trim();
      if (!text) { return; }
      getJSON(root.getAttribute("data-suggest-url") + "?text=" + encodeURIComponent(text)).then(function (data) {
        if (data) { lastSuggestions = data.operations; renderSuggestions(lastSuggestions); }
      }).catch(function () { /* suggestions are a convenience */ });
    }, 600);
    ["title", "description"].forEach(function (name) {
      var field = form.querySelector("[name='" + name + "']");
      if (field) { field.addEventListener("input", suggest); }
    });

    var matInput = root.querySelector("[data-materials-input]");
    if (matInput) {
      var matNames = {};
      var matBox = root.querySelector(".chosen-materials");
      matBox.querySelectorAll("[data-material-id]").forEach(function (chip) {
        matNames[chip.getAttribute("data-material-id")] = chip.textContent.trim();
      });
      if (!matInput.classList.contains("is-invalid")) {  // a value the list did not resolve stays editable
        matInput.type = "hidden";
        var mats = chipSet(matBox, matInput, matNames, "text-bg-secondary", function () {});
        searchBox(matBox.parentNode, root.getAttribute("data-materials-url"), "Материал или марка: сталь, 09Г2С, АМг6…",
                  "Поиск материала", function (item) { mats.add(item.id, item.name); });
        mats.render();
      }
    }

    form.addEventListener("submit", function () {
      root.querySelectorAll(".parameter-field[hidden] input").forEach(function (input) { input.value = ""; });
    });
    syncParameters();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-operations-picker]").forEach(initPicker);
  });
})();
