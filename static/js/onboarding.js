// Schedule step: on a first visit, switch the time zone to the browser's and show the
// suggested start time in it. Without this script the page works the same, in UTC.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector("select[data-detect-zone='1']");
  if (!select) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || select.value === zone || !select.querySelector(`option[value="${zone}"]`)) return;
  const from = select.value;
  select.value = zone;
  const input = document.querySelector("input[type='datetime-local']");
  if (!input || !input.value || from !== "UTC") return;
  const moment = new Date(`${input.value}:00Z`);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(moment).map((p) => [p.type, p.value]),
  );
  input.value = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
});
