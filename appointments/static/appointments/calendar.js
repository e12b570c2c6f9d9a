/* The back office's day calendar (EventCalendar, vendored). Times are the branch's wall-clock
 * times: the server sends them without an offset ("floating") and reads them back the same way.
 * EventCalendar hands out Dates whose local fields carry that wall time, so the browser's own
 * zone never changes what is shown or sent. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("ap-calendar-config").textContent);
  const L = config.labels;
  const app = document.getElementById("ap-calendar-app");
  const calendarEl = document.getElementById("ap-calendar");
  if (!calendarEl) return;
  const csrf = app.dataset.csrf;
  const messageEl = document.getElementById("ap-message");
  const panel = document.getElementById("ap-panel");
  const panelBody = document.getElementById("ap-panel-body");
  const backdrop = document.getElementById("ap-dialog-backdrop");
  const form = document.getElementById("ap-book");
  const bookError = document.getElementById("ap-book-error");

  const state = {
    branch: config.branch,
    staff: null, // null: everyone; else a Set of ids
    cancelled: false,
    token: null,
    resources: [],
    range: null,
    loading: 0,
  };

  const pad = (n) => String(n).padStart(2, "0");
  // A calendar Date (local fields = branch wall time) -> "YYYY-MM-DDTHH:MM:SS".
  const wallOf = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00`;
  const dayOf = (d) => wallOf(d).slice(0, 10);
  const hm = (wall) => wall.slice(11, 16);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  function say(text, kind) {
    messageEl.textContent = "";
    messageEl.className = `ap-message ap-message-${kind || "info"}`;
    if (text instanceof Node) messageEl.appendChild(text); else messageEl.textContent = text;
    messageEl.hidden = false;
    clearTimeout(say.timer);
    if (kind !== "error") say.timer = setTimeout(() => { messageEl.hidden = true; }, 8000);
  }

  async function api(path, { method = "GET", body, query } = {}) {
    let url = config.api + path;
    if (query) url += "?" + new URLSearchParams(query).toString();
    const headers = { Accept: "application/json" };
    if (method !== "GET") { headers["Content-Type"] = "application/json"; headers["X-CSRFToken"] = csrf; }
    let response;
    try {
      response = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
    } catch (err) {
      return { ok: false, error: { code: "NETWORK", message: L.network } };
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    if (!response.ok) return { ok: false, error: data.error || { code: "HTTP_" + response.status, message: L.failed } };
    return { ok: true, data };
  }

  function feedQuery(range) {
    const query = new URLSearchParams({ branch: state.branch, start: range.start, end: range.end });
    if (state.staff) state.staff.forEach((id) => query.append("staff", id));
    if (state.cancelled) query.append("cancelled", "1");
    return query;
  }

  // While a feed request is under way the calendar carries data-busy; every finished load counts
  // up data-loads (what a test, or a script, waits on before acting on the fresh events).
  async function loadFeed() {
    if (!state.range) return;
    state.loading += 1;
    calendarEl.dataset.busy = "1";
    try {
      await renderFeed(state.range);
    } finally {
      state.loading -= 1;
      if (state.loading === 0) delete calendarEl.dataset.busy;
      calendarEl.dataset.loads = String(Number(calendarEl.dataset.loads || 0) + 1);
    }
  }

  async function renderFeed(range) {
    const result = await api("feed/?" + feedQuery(range).toString());
    if (!result.ok) { say(result.error.message, "error"); return; }
    if (state.range !== range) return; // navigated meanwhile
    const data = result.data;
    state.token = data.token;
    state.resources = data.resources;
    renderStaffFilter(data.resources);
    const resourceView = ec.getView().type.startsWith("resource");
    const events = data.events.filter((e) => resourceView || e.extendedProps.kind !== "absence" || e.resourceIds.length === data.resources.length);
    ec.setOption("resources", data.resources.map((r) => ({ id: r.id, title: r.title })));
    ec.setOption("events", events.map((e) => (e.display === "background" && !resourceView ? { ...e, resourceIds: [] } : e)));
    calendarEl.dataset.loaded = range.start;
  }

  // --- filters -------------------------------------------------------------------------------
  const staffOptions = document.getElementById("ap-staff-options");
  const staffCount = document.getElementById("ap-staff-count");
  let staffKnown = "";
  function renderStaffFilter(resources) {
    if (state.staff) return; // keep the person's choice as it is
    const key = resources.map((r) => r.id).join(",");
    if (key === staffKnown) return;
    staffKnown = key;
    staffOptions.innerHTML = resources.map((r) => `<label><input type="checkbox" value="${r.id}" checked> ${esc(r.title)}</label>`).join("");
    staffCount.textContent = `(${resources.length})`;
  }
  staffOptions.addEventListener("change", () => {
    const boxes = [...staffOptions.querySelectorAll("input")];
    const chosen = boxes.filter((b) => b.checked).map((b) => Number(b.value));
    state.staff = chosen.length === boxes.length ? null : new Set(chosen);
    staffCount.textContent = `(${chosen.length})`;
    loadFeed();
  });
  const branchSelect = document.getElementById("ap-branch");
  branchSelect.value = String(state.branch);
  branchSelect.addEventListener("change", () => {
    state.branch = Number(branchSelect.value);
    state.staff = null; staffKnown = "";
    loadFeed();
  });
  document.getElementById("ap-show-cancelled").addEventListener("change", (e) => { state.cancelled = e.target.checked; loadFeed(); });
  const dateInput = document.getElementById("ap-date");
  dateInput.value = config.date;
  dateInput.addEventListener("change", () => { if (dateInput.value) ec.setOption("date", dateInput.value); });

  // --- the calendar --------------------------------------------------------------------------
  const ec = EventCalendar.create(calendarEl, {
    view: config.view,
    date: config.date,
    timeZone: "UTC",
    locale: "de-DE",
    firstDay: 1,
    allDaySlot: false,
    nowIndicator: false,
    slotDuration: "00:15",
    slotLabelInterval: "01:00",
    slotMinTime: "07:00",
    slotMaxTime: "21:00",
    scrollTime: "08:00",
    slotHeight: 22,
    height: "auto",
    editable: config.may_book,
    eventDurationEditable: false,
    selectable: false,
    headerToolbar: { start: "prev,today,next", center: "title", end: "resourceTimeGridDay,timeGridWeek,listDay" },
    buttonText: (text) => ({ ...text, today: L.today, resourceTimeGridDay: L.day, timeGridWeek: L.week, listDay: L.list, prev: L.prev, next: L.next }),
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    dayHeaderFormat: { weekday: "short", day: "numeric", month: "numeric" },
    noEventsContent: L.no_events,
    resources: [],
    events: [],
    datesSet(info) {
      state.range = { start: dayOf(info.start), end: dayOf(info.end) };
      dateInput.value = dayOf(info.view.currentStart || info.start);
      loadFeed();
    },
    eventContent(info) {
      const e = info.event;
      if (e.display === "background") return e.title ? { html: `<span class="ap-bg-label">${esc(e.title)}</span>` } : "";
      const p = e.extendedProps;
      const staff = info.view.type.startsWith("resource") ? "" : ` · ${esc(resourceName(e.resourceIds[0]))}`;
      return {
        html: `<div class="ap-ev" data-appointment-id="${esc(e.id)}" data-status="${esc(p.status)}">` +
          `<div class="ap-ev-time">${hm(wallOf(e.start))}–${hm(wallOf(e.end))}${staff}</div>` +
          `<div class="ap-ev-title">${esc(e.title)}</div><div class="ap-ev-service">${esc(p.service)}</div></div>`,
      };
    },
    eventClick(info) {
      if (info.event.display === "background") return;
      openPanel(info.event.id);
    },
    dateClick(info) {
      if (!config.may_book) return;
      openBooking({ start: wallOf(info.date), staffId: info.resource ? Number(info.resource.id) : null });
    },
    async eventDrop(info) {
      const e = info.event;
      const body = { start: wallOf(e.start), version: e.extendedProps.version };
      if (info.newResource) body.staff_id = Number(info.newResource.id);
      const result = await api(`appointments/${e.id}/move/`, { method: "POST", body });
      if (!result.ok) {
        info.revert();
        say(refusal(result.error, L.move_refused), "error");
        return;
      }
      const moved = result.data.appointment;
      e.extendedProps.version = moved.version; // a second move before the feed reloads is not refused as stale
      const note = result.data.policy && result.data.policy.violated ? ` ${L.policy}: ${result.data.policy.label}` : "";
      say(`${L.moved} ${moved.when} (${moved.staff.name}).${note}`, "success");
      loadFeed();
    },
  });
  window.apCalendar = ec;

  function resourceName(id) {
    const found = state.resources.find((r) => String(r.id) === String(id));
    return found ? found.title : "";
  }

  // A refusal with its reason and, when there are some, the next free times as choices.
  function refusal(error, lead, onPick) {
    const box = document.createElement("div");
    const text = document.createElement("p");
    text.textContent = lead ? `${lead} ${error.message}` : error.message;
    box.appendChild(text);
    const alternatives = (error.details && error.details.alternatives) || [];
    if (alternatives.length) {
      const row = document.createElement("div");
      row.className = "ap-alternatives";
      row.append(L.next_free + ": ");
      alternatives.forEach((alt) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "ap-chip";
        button.dataset.start = alt.start;
        button.textContent = `${alt.label} (${resourceName(alt.staff_id) || ""})`.replace(" ()", "");
        button.addEventListener("click", () => (onPick ? onPick(alt) : ec.setOption("date", alt.start.slice(0, 10))));
        row.appendChild(button);
      });
      box.appendChild(row);
    }
    return box;
  }

  // --- polling -------------------------------------------------------------------------------
  setInterval(async () => {
    if (document.hidden || !state.token) return;
    const result = await api("changes/", { query: { branch: state.branch } });
    if (result.ok && result.data.token !== state.token) loadFeed();
  }, config.poll_seconds * 1000);

  // --- side panel ----------------------------------------------------------------------------
  async function openPanel(id) {
    const result = await api(`appointments/${id}/`);
    if (!result.ok) { say(result.error.message, "error"); return; }
    renderPanel(result.data);
  }

  function renderPanel(a) {
    const actions = config.may_book ? a.actions.map((x) => `<button type="button" class="ap-btn ap-btn-${x.status === "cancelled" ? "danger" : "secondary"}" data-status="${x.status}">${esc(x.label)}</button>`).join("") : "";
    const reminder = config.may_book && a.movable ? `<button type="button" class="ap-btn ap-btn-secondary" data-remind>${esc(L.send_reminder)}</button>` : "";
    panelBody.innerHTML = `
      <h2>${esc(a.customer.name || a.customer.phone)}</h2>
      <p class="ap-status-badge ap-status-${esc(a.status)}" data-testid="panel-status">${esc(a.status_label)}</p>
      <dl>
        <dt>${esc(L.when)}</dt><dd data-testid="panel-when">${esc(a.when)}</dd>
        <dt>${esc(L.service)}</dt><dd>${esc(a.service)} · ${esc(a.price)}</dd>
        <dt>${esc(L.staff)}</dt><dd>${esc(a.staff.name)} · ${esc(a.branch.name)}</dd>
        <dt>${esc(L.customer)}</dt><dd>${esc(a.customer.phone)}${a.customer.email ? "<br>" + esc(a.customer.email) : ""}<br><small>${esc(a.customer.journey)}</small></dd>
        <dt>${esc(L.source)}</dt><dd>${esc(a.source)}${a.call ? ` · ${esc(L.call)} ${esc(a.call.started)} (${esc(a.call.from_number)})` : ""}</dd>
        <dt>Cal.com</dt><dd>${a.calcom ? esc(a.calcom.label) + (a.calcom.error ? `<br><small>${esc(a.calcom.error)}</small>` : "") : esc(L.not_synced)}</dd>
        <dt>${esc(L.notes)}</dt><dd>${esc(a.notes) || "–"}</dd>
      </dl>
      <div class="ap-actions">${actions}${reminder}</div>
      <div class="ap-cancel-reason" hidden><label>${esc(L.cancel_reason)}<input type="text" name="reason"></label>
        <button type="button" class="ap-btn ap-btn-danger" data-confirm-cancel>${esc(L.cancel_confirm)}</button></div>
      <div class="ap-panel-result" data-testid="panel-result"></div>
      <p><a href="${config.change_url.replace("{id}", a.id)}">${esc(L.open_record)}</a></p>`;
    panel.hidden = false;
    panel.dataset.appointmentId = a.id;
    const resultEl = panelBody.querySelector(".ap-panel-result");
    const show = (text, kind) => { resultEl.textContent = text; resultEl.className = `ap-panel-result ap-message-${kind}`; };
    panelBody.querySelectorAll("[data-status]").forEach((button) => button.addEventListener("click", async () => {
      if (button.dataset.status === "cancelled") { panelBody.querySelector(".ap-cancel-reason").hidden = false; return; }
      await changeStatus(a, { status: button.dataset.status }, show);
    }));
    const confirmCancel = panelBody.querySelector("[data-confirm-cancel]");
    confirmCancel.addEventListener("click", () => changeStatus(a, { status: "cancelled", reason: panelBody.querySelector("input[name=reason]").value }, show));
    const remind = panelBody.querySelector("[data-remind]");
    if (remind) remind.addEventListener("click", async () => {
      const result = await api(`appointments/${a.id}/remind/`, { method: "POST", body: {} });
      show(result.ok ? result.data.message : result.error.message, result.ok ? "success" : "error");
    });
  }

  async function changeStatus(a, body, show) {
    const result = await api(`appointments/${a.id}/status/`, { method: "POST", body: { ...body, version: a.version } });
    if (!result.ok) { show(result.error.message, "error"); return; }
    renderPanel(result.data.appointment);
    const policy = result.data.policy;
    const text = policy ? (policy.violated ? `${L.cancelled_violation} ${policy.label}. ${L.fee}: ${policy.fee}` : L.cancelled_ok) : L.status_saved;
    panelBody.querySelector(".ap-panel-result").textContent = text;
    panelBody.querySelector(".ap-panel-result").className = `ap-panel-result ap-message-${policy && policy.violated ? "warning" : "success"}`;
    loadFeed();
  }

  // --- booking dialog ------------------------------------------------------------------------
  const field = (name) => form.elements.namedItem(name);
  function fillStaff(selected) {
    field("staff_id").innerHTML = `<option value="">${esc(L.any_staff)}</option>` +
      state.resources.map((r) => `<option value="${r.id}"${Number(selected) === r.id ? " selected" : ""}>${esc(r.title)}</option>`).join("");
  }
  function fillServices() {
    const staffId = Number(field("staff_id").value);
    const staff = state.resources.find((r) => r.id === staffId);
    const previous = field("service_id").value;
    const offered = config.services.filter((s) => !staff || staff.service_ids.includes(s.id));
    field("service_id").innerHTML = offered.map((s) => `<option value="${s.id}">${esc(s.name)} (${s.duration_minutes} min)</option>`).join("");
    if (offered.some((s) => String(s.id) === previous)) field("service_id").value = previous;
  }
  field("staff_id").addEventListener("change", fillServices);

  function openBooking({ start, staffId }) {
    form.reset();
    bookError.hidden = true;
    field("customer_id").value = "";
    document.getElementById("ap-customer-chosen").hidden = true;
    document.getElementById("ap-customer-results").innerHTML = "";
    field("start").value = start.slice(0, 16);
    fillStaff(staffId);
    fillServices();
    const branch = config.branches.find((b) => b.id === Number(state.branch));
    field("branch_name").value = branch ? branch.name : "";
    backdrop.hidden = false;
    field("customer_query").focus();
  }

  let searchTimer = null;
  field("customer_query").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = field("customer_query").value.trim();
      const results = document.getElementById("ap-customer-results");
      if (q.length < 2) { results.innerHTML = ""; return; }
      const result = await api("customers/", { query: { q } });
      if (!result.ok) return;
      const found = result.data.customers;
      results.innerHTML = found.length ? found.map((c) => `<button type="button" class="ap-chip" data-customer="${c.id}" data-label="${esc(c.name)} · ${esc(c.phone)}">${esc(c.name || "–")} · ${esc(c.phone)}</button>`).join("") : `<small>${esc(L.no_customer)}</small>`;
      if (!found.length && /\d/.test(q)) field("phone").value = q;
      results.querySelectorAll("[data-customer]").forEach((button) => button.addEventListener("click", () => {
        field("customer_id").value = button.dataset.customer;
        const chosen = document.getElementById("ap-customer-chosen");
        chosen.textContent = `${L.chosen}: ${button.dataset.label}`;
        chosen.hidden = false;
        results.innerHTML = "";
      }));
    }, 250);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    const body = {
      branch_id: state.branch, start: field("start").value, service_id: field("service_id").value,
      staff_id: field("staff_id").value || null, customer_id: field("customer_id").value || null,
      name: field("name").value, phone: field("phone").value, notes: field("notes").value,
    };
    const result = await api("book/", { method: "POST", body });
    submit.disabled = false;
    if (!result.ok) {
      bookError.innerHTML = "";
      bookError.appendChild(refusal(result.error, "", (alt) => {
        field("start").value = alt.start.slice(0, 16);
        if (alt.staff_id) { field("staff_id").value = String(alt.staff_id); }
        bookError.hidden = true;
      }));
      bookError.hidden = false;
      return;
    }
    backdrop.hidden = true;
    const a = result.data.appointment;
    say(`${L.booked} ${a.when} · ${a.customer.name || a.customer.phone} · ${a.staff.name}`, "success");
    loadFeed();
  });

  document.addEventListener("click", (event) => {
    const close = event.target.closest("[data-close]");
    if (!close) return;
    if (close.dataset.close === "dialog") backdrop.hidden = true;
    if (close.dataset.close === "panel") panel.hidden = true;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { backdrop.hidden = true; panel.hidden = true; }
  });
})();
