/* Behaviour every page shares, kept out of the HTML so the Content-Security-Policy forbids inline scripts:
   - a form with data-confirm asks in a dialog before it submits. The attribute holds the consequence in
     figures; data-confirm-title and data-confirm-button name the action (the button defaults to the one
     pressed), data-confirm-warning adds a stronger warning, and data-confirm-selection counts the boxes
     checked (see withSelection). Cancel is the default: Escape or Enter on
     the first focus changes nothing. A button with data-no-confirm submits the same form to an action that
     can be undone, without asking;
   - a select with data-autosubmit submits its form when it changes (the language switch);
   - the menu button of phones ([data-menu-toggle]) opens the main menu. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-menu-toggle]");
    if (!toggle) { return; }
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.closest(".topbar").classList.toggle("menu-open", open);
  });

  var dialog = null;
  var pending = null;

  function text(id, value) {
    var element = document.getElementById(id);
    element.textContent = value || "";
    element.hidden = !value;
  }

  /* Money in the page's scripts: "12,50" or "12.50" as cents, and cents written the page's way. Shared with the
     apps' scripts as window.contribBudget. */
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

  window.contribBudget = { cents: cents, formatMoney: formatMoney };

  /* data-confirm-selection="<checkbox name>": {count} and {total} in the question become the number of boxes
     checked and the sum of their data-amount, in the page's language and the form's data-currency. */
  function withSelection(form, question) {
    var name = form.getAttribute("data-confirm-selection");
    if (!name || !question) { return question; }
    var boxes = form.querySelectorAll("input[type=checkbox][name='" + name + "']:checked");
    var total = 0;
    boxes.forEach(function (box) { total += cents(box.getAttribute("data-amount")) || 0; });
    return question.replace("{count}", String(boxes.length))
      .replace("{total}", formatMoney(total, form.getAttribute("data-currency")));
  }

  function ask(form, submitter) {
    dialog = dialog || document.getElementById("confirm-dialog");
    if (!dialog || !dialog.showModal) {
      return window.confirm(withSelection(form, form.getAttribute("data-confirm")));
    }
    pending = {form: form, submitter: submitter};
    text("confirm-dialog-title", form.getAttribute("data-confirm-title") || dialog.getAttribute("data-default-title"));
    text("confirm-dialog-text", withSelection(form, form.getAttribute("data-confirm")));
    text("confirm-dialog-warning", form.getAttribute("data-confirm-warning"));
    document.getElementById("confirm-dialog-ok").textContent = form.getAttribute("data-confirm-button")
      || (submitter && submitter.textContent.trim()) || dialog.getAttribute("data-default-button");
    dialog.returnValue = "";
    dialog.showModal();
    return false;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var undoable = event.submitter && event.submitter.hasAttribute("data-no-confirm");
    if (undoable || !form.getAttribute || !form.hasAttribute("data-confirm") || form.getAttribute("data-confirmed")) {
      if (form.removeAttribute) { form.removeAttribute("data-confirmed"); }
      return;
    }
    if (!ask(form, event.submitter)) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("close", function (event) {
    if (event.target.id !== "confirm-dialog" || !pending) { return; }
    var confirmed = pending;
    pending = null;
    if (event.target.returnValue === "confirm") {
      confirmed.form.setAttribute("data-confirmed", "1");
      confirmed.form.requestSubmit(confirmed.submitter || undefined);
    }
  }, true);

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]")) {
      event.target.form.submit();
    }
  });
})();
