// Alert rule form: picks the webhook format that the address obviously calls for (Slack,
// Microsoft Teams) while the address is typed, until the person chooses a format themselves:
// their choice wins. The server makes the same suggestion when the form is sent without one.
(function () {
  var url = document.querySelector("[data-suggest-format]");
  if (!url) return;
  var format = document.getElementById(url.getAttribute("data-suggest-format"));
  if (!format) return;
  // A format other than generic already set (an existing rule, a form sent back) was chosen.
  var chosen = format.value !== "generic";
  var picked = false;
  format.addEventListener("change", function () { chosen = true; });

  function suggestion(address) {
    var host;
    try {
      host = new URL(address).hostname.toLowerCase();
    } catch (error) {
      return null;
    }
    if (host === "hooks.slack.com") return "slack";
    var teams = ["webhook.office.com", "logic.azure.com", "powerplatform.com"];
    for (var i = 0; i < teams.length; i++) {
      if (host === teams[i] || host.slice(-(teams[i].length + 1)) === "." + teams[i]) {
        return "teams";
      }
    }
    return null;
  }

  url.addEventListener("input", function () {
    if (chosen) return;
    var suggested = suggestion(url.value.trim());
    if (suggested) {
      format.value = suggested;
      picked = true;
    } else if (picked) {
      format.value = "generic"; // undo only our own pick
      picked = false;
    }
  });
})();
