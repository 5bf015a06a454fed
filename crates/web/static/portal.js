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
// Paying an invoice online: mounts the card processor's payment element in
// #payment-element (the publishable key and the payment's client secret are its data
// attributes) and confirms the payment there. The card goes from the browser to the
// processor, never to Praxis; its webhook records the payment.
(function () {
  const box = document.getElementById("payment-element");
  const form = document.getElementById("pay-form");
  if (!box || !form) return;
  const status = document.getElementById("pay-status");
  const button = document.getElementById("pay-submit");
  const say = (text) => { if (status) status.textContent = text; };
  if (typeof window.Stripe !== "function") {
    say("The card form could not be loaded. Check your connection and reload the page, or pay at the clinic.");
    if (button) button.disabled = true;
    return;
  }
  const stripe = window.Stripe(box.dataset.publishableKey);
  const elements = stripe.elements({ clientSecret: box.dataset.clientSecret });
  elements.create("payment").mount(box);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button) button.disabled = true;
    say("Sending your payment…");
    try {
      const returnUrl = new URL(box.dataset.returnUrl, window.location.href).href;
      const result = await stripe.confirmPayment({ elements, confirmParams: { return_url: returnUrl } });
      // On success the browser goes to the return address; an answer here is a refusal.
      if (result && result.error) {
        say(result.error.message || "The payment did not go through. Nothing was charged; please try again.");
      }
    } catch (_) {
      say("The payment could not be sent. Nothing was charged; please try again.");
    }
    if (button) button.disabled = false;
  });
})();
