/* The declaration form: show the fields of the chosen value mode, keep the
   rate levels and missions of the chosen budget, compute the amount live.
   The server computes the amount again; this is only a preview.
   The reviewers' batch form of the list: the count and total of the ticked
   declarations, shown and stated in the confirmation dialog (app.js). */
(function () {
  "use strict";

  var cents = window.contribBudget.cents;
  var formatMoney = window.contribBudget.formatMoney;

  function keepOptionsOf(select, budget) {
    if (!select) { return; }
    var current = select.options[select.selectedIndex];
    Array.prototype.forEach.call(select.options, function (option) {
      var owner = option.getAttribute("data-budget");
      option.hidden = owner !== null && owner !== budget;
      option.disabled = option.hidden;
    });
    if (current && current.hidden) {
      var first = Array.prototype.find.call(select.options, function (option) {
        return !option.hidden && option.value;
      });
      select.value = first ? first.value : "";
    }
  }

  function setUp(form) {
    var field = function (name) { return form.querySelector("[name='" + name + "']"); };
    var budget = field("budget"), rate = field("rate_level"), custom = field("hourly_rate");
    var hours = field("hours"), minutes = field("minutes"), work = field("work");
    var output = form.querySelector("output");

    function mode() {
      var checked = form.querySelector("[name='value_mode']:checked");
      return checked ? checked.value : "time_rate";
    }

    function refresh() {
      var chosenBudget = budget.options[budget.selectedIndex];
      var budgetId = chosenBudget ? chosenBudget.value : "";
      var allowsCustom = chosenBudget && chosenBudget.getAttribute("data-custom-rate") === "1";
      keepOptionsOf(rate, budgetId);
      keepOptionsOf(work, budgetId);
      form.querySelectorAll("[data-mode]").forEach(function (element) {
        element.hidden = element.getAttribute("data-mode").split(" ").indexOf(mode()) === -1;
      });
      var customBox = form.querySelector("[data-custom-rate-box]");
      if (customBox) { customBox.hidden = !allowsCustom; }

      var level = rate && rate.options[rate.selectedIndex];
      var rateCents = level && level.value ? cents(level.getAttribute("data-rate"))
        : (allowsCustom && custom ? cents(custom.value) : null);
      var total = (parseInt(hours.value, 10) || 0) * 60 + (parseInt(minutes.value, 10) || 0);
      if (output) {
        output.textContent = rateCents === null || total < 0 ? "—"
          : formatMoney(Math.round(total * rateCents / 60), output.getAttribute("data-currency"));
      }
    }

    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    refresh();
  }

  function fill(template, count, total) {
    return (template || "").replace("%(count)s", String(count)).replace("%(total)s", total);
  }

  function setUpBatch(form) {
    var selectAll = document.getElementById("batch-select-all");
    var summary = form.querySelector("output");
    var boxes = function () {
      return Array.prototype.slice.call(document.querySelectorAll("input[name='ids'][form='" + form.id + "']"));
    };

    function refresh() {
      var all = boxes();
      var ticked = all.filter(function (box) { return box.checked; });
      var total = formatMoney(ticked.reduce(function (sum, box) {
        return sum + (cents(box.getAttribute("data-amount")) || 0);
      }, 0), form.getAttribute("data-currency"));
      if (ticked.length) {
        // The dialog states what will happen; with nothing ticked the server says what to do instead.
        form.setAttribute("data-confirm", fill(form.getAttribute(ticked.length === 1 ? "data-confirm-one"
          : "data-confirm-many"), ticked.length, total));
        summary.textContent = fill(form.getAttribute("data-summary"), ticked.length, total);
      } else {
        form.removeAttribute("data-confirm");
        summary.textContent = "";
      }
      if (selectAll) {
        selectAll.checked = ticked.length > 0 && ticked.length === all.length;
        selectAll.indeterminate = ticked.length > 0 && ticked.length < all.length;
      }
    }

    document.addEventListener("change", function (event) {
      if (event.target.name === "ids" && event.target.getAttribute("form") === form.id) { refresh(); }
    });
    if (selectAll) {
      selectAll.closest("[data-select-all]").hidden = false;
      selectAll.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = selectAll.checked; });
        refresh();
      });
    }
    refresh();
  }

  document.querySelectorAll("form.declaration-form").forEach(setUp);
  document.querySelectorAll("form.batch-validate").forEach(setUpBatch);
}());
