// Tells the server this browser's time zone, so pages show times in it for people who have not
// chosen a zone in their preferences. A cookie, not a form: every page needs it, and the server
// reads it before rendering. Changes take effect from the next page.
(function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  // IANA names ("Asia/Seoul", "Etc/GMT+5") need no escaping in a cookie; the server checks them.
  if (!zone || !/^[A-Za-z0-9_+\-\/]+$/.test(zone)) return;
  var current = document.cookie.split("; ").find(function (c) { return c.indexOf("tz=") === 0; });
  if (current !== "tz=" + zone) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" + secure;
  }
})();
