// Praxis — staff pages: small enhancements only; every page works without this file.
// Live patient search (GET /api/v1/patients with the session cookie) and a refresh of the
// free times on the new-appointment form (GET /api/v1/slots). No third-party code.
"use strict";
(function () {
  if (!window.fetch || !document.querySelector) return;

  function debounce(fn, ms) {
    var timer;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  // ---- After a refused form, start at the first field that needs attention.
  var invalid = document.querySelector('main [aria-invalid="true"]');
  if (invalid) invalid.focus();

  // ---- Live patient search: results appear as radio buttons while typing.
  var q = document.querySelector('input[data-live="patients"]');
  var box = document.getElementById("patient-results");
  if (q && box) {
    var asked = 0;
    var show = function (page, text) {
      var checked = box.querySelector('input[name="patient_id"]:checked');
      var keep = checked ? checked.closest("label") : null;
      box.querySelectorAll("label.cal-pick, p[data-empty], p[data-live-note]").forEach(function (n) {
        if (n !== keep) n.remove();
      });
      var before = box.querySelector(".error");
      page.items.forEach(function (p) {
        if (keep && keep.querySelector("input").value === p.id) return;
        var label = el("label", { "class": "cal-pick" });
        var input = el("input", { type: "radio", name: "patient_id", value: p.id });
        if (!keep && page.items.length === 1) input.checked = true;
        var span = el("span");
        span.appendChild(el("b", {}, (p.given_name + " " + p.family_name).trim()));
        var detail = [p.date_of_birth ? "born " + p.date_of_birth : "", p.phone || "", p.email || ""]
          .filter(function (x) { return x; }).join(" · ");
        span.appendChild(document.createTextNode(" "));
        span.appendChild(el("span", { "class": "muted" }, detail));
        label.appendChild(input);
        label.appendChild(document.createTextNode(" "));
        label.appendChild(span);
        box.insertBefore(label, before);
      });
      var note = "";
      if (page.total === 0) note = "No patients match “" + text + "”.";
      else if (page.total > page.items.length) {
        note = "Showing " + page.items.length + " of " + page.total + "; type more to narrow the list.";
      }
      if (note) box.insertBefore(el("p", { "class": "muted", "data-live-note": "" }, note), before);
    };
    q.addEventListener("input", debounce(function () {
      var text = q.value.trim();
      if (text.length < 2) return;
      var mine = ++asked;
      getJson("/api/v1/patients?per_page=20&q=" + encodeURIComponent(text)).then(function (page) {
        if (page && mine === asked) show(page, text);
      });
    }, 250));
  }

  // ---- New appointment: pick a free time without reloading, refresh the list on change.
  var form = document.getElementById("new-appointment");
  var list = document.getElementById("slot-list");
  var time = document.getElementById("f-time");
  if (form && list && time) {
    var mark = function () {
      list.querySelectorAll('button[name="pick"]').forEach(function (b) {
        b.setAttribute("aria-pressed", b.value === time.value ? "true" : "false");
      });
    };
    list.addEventListener("click", function (ev) {
      var b = ev.target.closest('button[name="pick"]');
      if (!b) return;
      ev.preventDefault();
      time.value = b.value;
      mark();
    });
    time.addEventListener("input", mark);
    mark();
    var heading = document.getElementById("slots-h");
    var refresh = function () {
      var s = form.elements.service_id.value, p = form.elements.provider_id.value;
      var c = form.elements.clinic_id.value, d = form.elements.date.value;
      if (!s || !p || !c || !/^\d{4}-\d{2}-\d{2}$/.test(d)) return;
      var url = "/api/v1/slots?service_id=" + encodeURIComponent(s) + "&provider_id=" + encodeURIComponent(p) +
        "&clinic_id=" + encodeURIComponent(c) + "&from=" + d + "&until=" + d;
      getJson(url).then(function (slots) {
        if (!slots) return;
        list.textContent = "";
        if (heading) heading.textContent = "Free times on " + d;
        var seen = {};
        slots.forEach(function (slot) {
          var hhmm = String(slot.local_start || "").slice(11, 16);
          if (!hhmm || seen[hhmm]) return;
          seen[hhmm] = true;
          list.appendChild(el("button", { type: "submit", name: "pick", value: hhmm }, hhmm));
        });
        if (!list.children.length) list.appendChild(el("p", { "class": "muted" }, "No free times on this day."));
        mark();
      });
    };
    ["service_id", "provider_id", "clinic_id", "date"].forEach(function (name) {
      var field = form.elements[name];
      if (field) field.addEventListener("change", refresh);
    });
  }
})();
