/* Cobudget pages. Everything here improves a page that works without it; the server checks every value again.
   - Live funding bars: they are swapped out of band every few seconds; a bar whose amount changed since the
     last poll flashes, so a member sees someone else's allocation arrive.
   - After giving (the form is sent by htmx and its box swapped in place), the outcome takes the focus without
     scrolling: the page stays at the bucket.
   - Round set-up: a field marked data-when="<field1 field2>" data-values="<v1 v2>" shows only while one of
     those fields holds one of the values (the envelope policy's own fields), and, when also marked
     data-and-when/data-and-values, only while that holds too (the live mode's fields); the envelopes set per
     member add up live.
   - Bucket form: budget lines are added and removed (the formset renumbered), their goals add up live; the
     co-carriers list can be searched.
   - Merging: the confirmation states the figures of the bucket chosen in the list. */
(function () {
  "use strict";

  var seen = {};

  function remember() {
    document.querySelectorAll(".cb-funding[data-funded]").forEach(function (box) {
      var before = seen[box.id];
      var now = box.getAttribute("data-funded");
      if (before !== undefined && before !== now) {
        box.classList.remove("cb-changed");
        void box.offsetWidth;
        box.classList.add("cb-changed");
      }
      seen[box.id] = now;
    });
  }

  function focusOutcome() {
    var outcome = document.querySelector(".cb-outcome:not([data-focused])");
    if (outcome) {
      outcome.setAttribute("data-focused", "1");
      outcome.focus({ preventScroll: true });
    }
  }

  var cents = window.contribBudget.cents;
  var formatMoney = window.contribBudget.formatMoney;

  function valueOf(form, name) {
    var field = form.elements[name];
    if (!field) { return ""; }
    if (field.type === "checkbox") { return field.checked ? "on" : ""; }
    return field.value;
  }

  // Whether one of the fields named in `when` holds one of `values` (both lists space-separated).
  function holds(form, when, values) {
    var wanted = values.split(" ");
    return when.split(" ").some(function (name) { return wanted.indexOf(valueOf(form, name)) !== -1; });
  }

  function setUpShownWhen(form) {
    function update() {
      form.querySelectorAll("[data-when], [data-and-when]").forEach(function (box) {
        var shown = !box.hasAttribute("data-when")
          || holds(form, box.getAttribute("data-when"), box.getAttribute("data-values"));
        if (box.hasAttribute("data-and-when")) {
          shown = shown && holds(form, box.getAttribute("data-and-when"), box.getAttribute("data-and-values"));
        }
        box.hidden = !shown;
      });
    }
    form.addEventListener("change", update);
    update();
  }

  function setUpTotal(box) {
    var output = box.querySelector("[data-cb-total-min]");
    function update() {
      var total = 0;
      box.querySelectorAll("tbody input").forEach(function (input) { total += cents(input.value) || 0; });
      output.textContent = formatMoney(total, box.getAttribute("data-currency"));
    }
    box.addEventListener("input", update);
    update();
  }

  function setUpLines(box) {
    var prefix = box.getAttribute("data-prefix");
    var field = function (name) { return box.querySelector("input[name='" + prefix + "-" + name + "']"); };
    var rows = box.querySelector("[data-cb-line-rows]");
    var add = box.querySelector("[data-cb-add-line]");
    var totals = box.querySelector("[data-cb-lines-total]");
    var maximum = parseInt(field("MAX_NUM_FORMS").value, 10) || 20;
    var numbered = new RegExp(prefix + "-\\d+-");

    function lines() { return rows.querySelectorAll("[data-cb-line]"); }

    function blank(line) {
      return Array.prototype.every.call(line.querySelectorAll("input"), function (input) { return !input.value; });
    }

    function renumber() {
      lines().forEach(function (line, index) {
        line.querySelectorAll("[name], [id], label[for]").forEach(function (element) {
          ["name", "id", "for"].forEach(function (attribute) {
            var value = element.getAttribute(attribute);
            if (value) { element.setAttribute(attribute, value.replace(numbered, prefix + "-" + index + "-")); }
          });
        });
      });
      var count = lines().length;
      field("TOTAL_FORMS").value = count;
      field("INITIAL_FORMS").value = Math.min(parseInt(field("INITIAL_FORMS").value, 10) || 0, count);
      add.disabled = count >= maximum;
    }

    function sum() {
      var low = 0, high = 0;
      lines().forEach(function (line) {
        var minimum = cents((line.querySelector("input[name$='-min_amount']") || {}).value) || 0;
        var top = cents((line.querySelector("input[name$='-max_amount']") || {}).value);
        low += minimum;
        high += top === null ? minimum : top;
      });
      var currency = box.getAttribute("data-currency");
      totals.querySelector("[data-cb-sum=min]").textContent = formatMoney(low, currency);
      totals.querySelector("[data-cb-sum=max]").textContent = formatMoney(high, currency);
    }

    box.addEventListener("click", function (event) {
      var remove = event.target.closest("[data-cb-remove-line]");
      if (!remove) { return; }
      var line = remove.closest("[data-cb-line]");
      if (lines().length === 1) {
        line.querySelectorAll("input").forEach(function (input) { input.value = ""; });
        line.querySelector("input").focus();
      } else {
        var next = line.nextElementSibling || line.previousElementSibling;
        line.remove();
        renumber();
        next.querySelector("input").focus();
      }
      sum();
    });
    add.addEventListener("click", function () {
      // A copy of the last line, emptied: the same fields, renumbered below.
      var line = rows.lastElementChild.cloneNode(true);
      line.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      line.querySelectorAll(".errorlist").forEach(function (errors) { errors.remove(); });
      line.querySelectorAll(".has-error").forEach(function (field) { field.classList.remove("has-error"); });
      rows.appendChild(line);
      renumber();
      line.querySelector("input").focus();
    });
    // Lines can now be added at will: of the blank lines at the end, one is enough.
    var all = lines();
    for (var index = all.length - 1; index > 0 && blank(all[index]) && blank(all[index - 1]); index -= 1) {
      all[index].remove();
    }
    box.addEventListener("input", sum);
    box.querySelectorAll("[data-cb-remove-line]").forEach(function (button) { button.hidden = false; });
    add.hidden = false;
    totals.hidden = false;
    renumber();
    sum();
  }

  function plain(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  function setUpFilter(box) {
    var input = box.querySelector("[data-cb-filter-input]");
    var items = box.querySelectorAll("[data-cb-filter-item]");
    var none = box.querySelector("[data-cb-filter-none]");
    if (!input || !items.length) { return; }
    box.querySelector("[data-cb-filter-box]").hidden = false;
    input.addEventListener("input", function () {
      var words = plain(input.value);
      var shown = 0;
      items.forEach(function (item) {
        // A ticked person stays in sight: the list never hides a choice already made.
        var match = plain(item.textContent).indexOf(words) !== -1 || item.querySelector("input").checked;
        item.hidden = !match;
        shown += match ? 1 : 0;
      });
      none.hidden = shown > 0;
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
  }

  function setUpMerge(form) {
    var select = form.querySelector("select[name=into]");
    function sync() {
      var option = select.options[select.selectedIndex];
      if (option) { form.setAttribute("data-confirm", option.getAttribute("data-confirm")); }
    }
    select.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    remember();
    document.querySelectorAll("form[data-cb-round-form]").forEach(setUpShownWhen);
    document.querySelectorAll("[data-cb-total]").forEach(setUpTotal);
    document.querySelectorAll("[data-cb-lines]").forEach(setUpLines);
    document.querySelectorAll("[data-cb-filter]").forEach(setUpFilter);
    document.querySelectorAll("form[data-cb-merge]").forEach(setUpMerge);
  });
  document.addEventListener("htmx:afterSettle", function () {
    remember();
    focusOutcome();
  });
})();
