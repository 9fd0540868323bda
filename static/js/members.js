/* The members page: "Edit" opens the person's dialog in place. Without script, the same link reloads the page
   with that dialog open (?edit=<id>), and its Close button still closes it (a form of method "dialog"). */
(function () {
  "use strict";

  function openModal(dialog) {
    if (!dialog.showModal) { return false; }
    if (dialog.open) { dialog.close(); }
    dialog.showModal();
    return true;
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-dialog-open]");
    if (!opener) { return; }
    var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
    if (dialog && openModal(dialog)) {
      event.preventDefault();
    }
  });

  // A dialog the server opened (?edit=<id>) becomes modal too: focus stays in it and Escape closes it.
  document.querySelectorAll("dialog.member-dialog[open]").forEach(openModal);
}());
