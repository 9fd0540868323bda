/* The declaration form: show the fields of the chosen value mode, keep the
   rate levels and missions of the chosen budget, compute the amount live.
   The server computes the amount again; this is only a preview. */
(function () {
  "use strict";

  function cents(text) {
    var value = parseFloat(String(text || "").replace(",", "."));
    return isNaN(value) ? null : Math.round(value * 100);
  }

  function formatMoney(amountCents, currency) {
    var value = amountCents / 100;
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined,
        { style: "currency", currency: currency || "EUR" }).format(value);
    } catch (error) {
      return value.toFixed(2) + " " + (currency || "");
    }
  }

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

  document.querySelectorAll("form.declaration-form").forEach(setUp);
}());
