/* Cobudget round pages: make the live updates visible. The funding bars are
   swapped out of band every few seconds; a bar whose amount changed since the
   last poll flashes, so a member sees someone else's allocation arrive. */
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

  document.addEventListener("DOMContentLoaded", remember);
  document.addEventListener("htmx:afterSettle", remember);
})();
