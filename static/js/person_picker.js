/* Pickers of people: as one types in an input marked data-person-picker, its datalist offers the people matching
   (a bounded list, from the input's data-suggest-url?q=). Without script the input is a plain text field: the
   typed name or email is resolved when the form is sent. */
(function () {
  "use strict";

  var DELAY_MS = 200;

  function options(results) {
    return results.map(function (result) {
      var option = document.createElement("option");
      option.value = result.value;
      return option;
    });
  }

  function picker(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var latest = "";
    if (!list || !input.dataset.suggestUrl) { return; }

    function picked() {
      return Array.prototype.some.call(list.options, function (option) { return option.value === input.value; });
    }

    function suggest() {
      var text = input.value.trim();
      if (!text) { list.replaceChildren(); return; }
      if (picked()) { return; }
      var url = new URL(input.dataset.suggestUrl, window.location.href);
      url.searchParams.set("q", text);
      latest = url.href;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          if (url.href === latest) { list.replaceChildren.apply(list, options(data.results)); }
        })
        .catch(function () { /* no suggestions: the typed text is still resolved on submit */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, DELAY_MS);
    });
  }

  document.querySelectorAll("input[data-person-picker]").forEach(picker);
}());
