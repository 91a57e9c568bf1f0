// Wizard, account step: a "Use this key" button puts one of the Stripe stand-in's demo keys in
// the key field, so nobody has to copy it from a README. The field hides what it holds, so a
// status line says it worked. A file, not an inline script: the Content-Security-Policy
// allows no inline scripts.
(function () {
  var panel = document.querySelector("[data-demo-keys]");
  if (!panel) return;
  var status = panel.querySelector("[data-fill-status]");

  panel.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill-key]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-fill-target"));
    if (!field) return;
    field.value = button.getAttribute("data-fill-key");
    field.dispatchEvent(new Event("input", { bubbles: true }));
    if (status) status.textContent = status.getAttribute("data-filled");
    // The account name is what is still missing on a new account; start there.
    var name = field.form && field.form.elements.namedItem("account_name");
    (name && !name.value ? name : field).focus();
  });
})();
