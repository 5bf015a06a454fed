// Praxis — patient portal: small enhancements only; every page works without this file.
"use strict";
// Slot refresh: while a patient looks at a day's times, check every 30 seconds which are
// still free and disable the ones that were taken, so they are not surprised on submit.
(function () {
  const list = document.getElementById("slot-list");
  if (!list || !window.fetch) return;
  const params = new URLSearchParams({
    service_id: list.dataset.service,
    clinic_id: list.dataset.clinic,
    from: list.dataset.day,
    until: list.dataset.day,
  });
  if (list.dataset.provider) params.set("provider_id", list.dataset.provider);
  const status = document.createElement("p");
  status.className = "muted small";
  status.setAttribute("role", "status");
  list.after(status);
  async function refresh() {
    try {
      const res = await fetch("/api/v1/slots?" + params.toString(), { credentials: "same-origin" });
      if (!res.ok) return;
      const slots = await res.json();
      const free = new Set(slots.map((s) => s.start + "|" + s.provider_id));
      let taken = 0;
      for (const b of list.querySelectorAll("button.slot")) {
        const still = free.has(b.dataset.start + "|" + b.dataset.provider);
        b.disabled = !still;
        if (!still) taken++;
      }
      const t = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      status.textContent = taken ? `Times updated at ${t}: ${taken} just taken.` : `Times checked at ${t}.`;
    } catch (_) {
      // Offline or server busy: keep the page as it is.
    }
  }
  setInterval(refresh, 30000);
})();
