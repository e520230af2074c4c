// Every <time datetime="..."> shows in the viewer's own zone; its title keeps the UTC time it was recorded in.
// A static file (the Content-Security-Policy allows no inline script); htmx swaps run it again.
(function () {
  function localise(root) {
    root.querySelectorAll("time[datetime]").forEach(function (node) {
      if (node.dataset.local) return;
      var moment = new Date(node.getAttribute("datetime"));
      if (isNaN(moment.getTime())) return;
      node.dataset.local = "1";
      node.title = node.getAttribute("datetime") + " (UTC)";
      node.textContent = moment.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
        timeZoneName: "short",
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSwap", function (event) { localise(event.target); });
})();
