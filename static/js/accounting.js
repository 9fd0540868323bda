// The downloads list refreshes itself every second while an export is pending or running.
(function () {
  const box = document.getElementById("exports");
  if (!box) return;
  async function refresh() {
    if (!box.querySelector("[data-active]")) return;
    const response = await fetch(box.dataset.pollUrl, { credentials: "same-origin" });
    if (response.ok) box.innerHTML = await response.text();
    setTimeout(refresh, 1000);
  }
  setTimeout(refresh, 1000);
})();
