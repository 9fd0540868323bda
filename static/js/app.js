/* Behaviour every page shares, kept out of the HTML so the Content-Security-Policy forbids inline scripts:
   - a form with data-confirm asks before it submits (the text is the consequence to confirm);
   - a select with data-autosubmit submits its form when it changes (the language switch). */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]")) {
      event.target.form.submit();
    }
  });
})();
