/* The members page: "Edit" opens the person's dialog in place, asked of the server the first time (the page does
   not carry a dialog per person). Without script, the same link reloads the page with that dialog open
   (?edit=<id>), and its Close button still closes it (a form of method "dialog"). */
(function () {
  "use strict";

  var container = document.getElementById("member-dialogs");

  function openModal(dialog) {
    if (!dialog.showModal) { return false; }
    if (dialog.open) { dialog.close(); }
    dialog.showModal();
    return true;
  }

  function fetchDialog(opener) {
    var url = new URL(opener.href, window.location.href);
    url.searchParams.set("part", "dialog");
    url.hash = "";
    return fetch(url.toString(), {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      })
      .then(function (html) {
        container.insertAdjacentHTML("beforeend", html);
        return document.getElementById(opener.getAttribute("data-dialog-open"));
      });
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-dialog-open]");
    if (!opener || !container) { return; }
    var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
    if (dialog) {
      if (openModal(dialog)) { event.preventDefault(); }
      return;
    }
    if (!window.fetch || !HTMLDialogElement.prototype.showModal) { return; }  // the link reloads the page
    event.preventDefault();
    fetchDialog(opener).then(function (fetched) {
      if (!fetched || !openModal(fetched)) { window.location.href = opener.href; }
    }).catch(function () { window.location.href = opener.href; });
  });

  // A dialog the server opened (?edit=<id>) becomes modal too: focus stays in it and Escape closes it.
  document.querySelectorAll("dialog.member-dialog[open]").forEach(openModal);
}());
