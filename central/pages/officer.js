// The officers' page: sign in, today's visits (refreshed every 2 s), silent watching of a live visit,
// messages to the resident's screen, and ending or cancelling a visit with a reason.
//
// Central decides and audits; this page asks and shows what it answers. Watching is receive-only: the
// page lists the room's participants with the VideoRoom `listparticipants` request (which needs no join)
// and subscribes to each publisher's feed. It never joins as a publisher, not even without media: Janus
// tells everyone in the room when a publisher leaves, including one that never published. It never asks
// for a camera or a microphone, and the page's Permissions-Policy refuses both anyway.
//
// Test hooks on window: officerView ("loading" | "signin" | "dashboard"), visitsShown (the last list),
// watchState ("idle" | "connecting" | "watching" | "ended"), watchFrames (video frames received, by
// display name, counted with requestVideoFrameCallback), watchSenders() (tracks this page sends: 0).

(function () {
  "use strict";

  const STAFF = "/api/v1/staff";
  const VIDEOROOM = "janus.plugin.videoroom";
  const RESIDENT_DISPLAY = "Resident";
  const REFRESH_MS = 2000;
  const TERMINALS_EVERY = 3; // refreshes: the terminals' list every 6 s (a heartbeat is every 30 s)
  const PARTICIPANTS_MS = 1000;
  const MAX_BACKOFF_MS = 5000;
  const TOAST_MS = 6000;
  const MESSAGE_MAX = 300;
  const REASON_MIN = 3;
  const REASON_MAX = 200;
  const NO_SUCH_FEED = 428;
  const ROOM_GONE = new Set([426, 427]);
  const NAME_KEY = "visit-control-officer";

  const STATUS = {
    scheduled: { label: "Scheduled", tone: "neutral" },
    ready: { label: "Ready to join", tone: "info" },
    live: { label: "Live", tone: "live" },
    ended: { label: "Ended", tone: "muted" },
    ended_by_staff: { label: "Ended by staff", tone: "warning" },
    cancelled: { label: "Cancelled", tone: "danger" },
    no_show: { label: "Did not take place", tone: "muted" },
  };
  const PRIVILEGED_TEXT = "Privileged — not recorded, cannot be watched";
  const ENDED_TEXT = "This visit has ended. There is nothing more to watch.";

  // Line icons, drawn as SVG paths on a 24x24 grid (no icon font, nothing fetched).
  const SVG = "http://www.w3.org/2000/svg";
  const ICONS = {
    lock: ["M7 11V8a5 5 0 0 1 10 0v3", "M5.5 11h13v10h-13z"],
    eye: ["M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z", "M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6z"],
    soundOff: ["M3 9.5h4l5-4v13l-5-4H3z", "M16 9.5l5 5", "M21 9.5l-5 5"],
    soundOn: ["M3 9.5h4l5-4v13l-5-4H3z", "M15.5 9a4.2 4.2 0 0 1 0 6", "M18.5 6.5a8 8 0 0 1 0 11"],
  };

  const $ = (id) => document.getElementById(id);

  const page = {
    signedIn: false,
    loop: 0, // moves on at every sign-in and sign-out, so an old refresh loop stops
    visits: new Map(), // visit id -> the latest StaffVisit
    dialog: null, // {kind, visit} while a dialog is open
    watch: null, // the watch in progress, see startWatching
    toastTimer: null,
    janusReady: false,
    refreshes: 0, // counts refreshes of the visits; the terminals are fetched every TERMINALS_EVERY of them
  };

  window.officerView = "loading";
  window.visitsShown = [];
  window.watchState = "idle";
  window.watchFrames = {};
  window.watchSenders = () => {
    let sending = 0;
    for (const feed of page.watch ? page.watch.feeds.values() : []) {
      const pc = feed.handle && feed.handle.webrtcStuff && feed.handle.webrtcStuff.pc;
      if (pc) sending += pc.getSenders().filter((sender) => sender.track).length;
    }
    return sending;
  };

  // -- small helpers ------------------------------------------------------------------------------

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function clockTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  function names(list) {
    if (list.length <= 1) return list.join("");
    return `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
  }

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function icon(name) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    for (const d of ICONS[name]) {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      svg.append(path);
    }
    return svg;
  }

  function who(visit) {
    const visitors = visit.visitors.length ? names(visit.visitors) : "no visitor";
    return `${visit.resident_name || "the resident"} (ID ${visit.resident_id}) with ${visitors}`;
  }

  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(`${STAFF}${path}`, options);
    } catch (_) {
      return { ok: false, status: 0, code: null, data: null };
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (_) {
        data = null;
      }
    }
    const code = !response.ok && data && typeof data.code === "string" ? data.code : null;
    return { ok: response.ok, status: response.status, code, data };
  }

  // The sentence a person reads when an action was refused or failed.
  function problem(action, answer) {
    if (answer.status === 0) {
      return "Central cannot be reached. Check the network connection, then try again.";
    }
    switch (answer.code) {
      case "not_allowed":
        return action === "watch"
          ? "This is a privileged visit (attorney or clergy). It is not recorded, and no one can watch it."
          : "You are not allowed to do this.";
      case "not_ready":
        if (action === "watch") return "This visit is not live right now, so there is nothing to watch.";
        if (action === "message") return "This visit is not live right now, so no message can be shown.";
        return "This visit cannot be changed right now.";
      case "unknown_visit":
        return "This visit has already ended or been cancelled. The list now shows where it stands.";
      case "invalid_request":
        return action === "message"
          ? `A message needs 1 to ${MESSAGE_MAX} characters.`
          : `A reason needs ${REASON_MIN} to ${REASON_MAX} characters.`;
      case "media_unavailable":
        return "The video service is not available right now. Try again in a moment.";
      default:
        break;
    }
    if (answer.status >= 500) {
      return (
        "Central could not do this because of a problem on the server. Try again in a moment; " +
        "if it keeps happening, tell the system administrator."
      );
    }
    return "That did not work. Try again in a moment.";
  }

  function setView(view) {
    window.officerView = view;
    document.body.dataset.view = view;
  }

  function setBusy(button, busy, label) {
    if (busy) {
      button.dataset.label = button.textContent;
      button.textContent = label;
      button.disabled = true;
    } else {
      if (button.dataset.label) button.textContent = button.dataset.label;
      button.disabled = false;
    }
  }

  function showNotice(text) {
    $("notice-text").textContent = text;
    $("notice").hidden = false;
  }

  function hideNotice() {
    $("notice").hidden = true;
  }

  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(page.toastTimer);
    page.toastTimer = setTimeout(() => (box.hidden = true), TOAST_MS);
  }

  function showConnection(text) {
    const banner = $("connection-banner");
    banner.textContent = text;
    banner.hidden = !text;
  }

  // -- signing in and out -------------------------------------------------------------------------

  function showSignIn(info) {
    page.signedIn = false;
    page.loop += 1;
    stopWatching();
    closeDialog();
    hideNotice();
    showConnection("");
    clearTimeout(page.toastTimer);
    $("toast").hidden = true;
    page.visits = new Map();
    window.visitsShown = [];
    $("visit-rows").replaceChildren();
    $("visits-summary").textContent = "";
    $("updated").textContent = "";
    $("bar-officer").hidden = true;
    $("bar-place").textContent = "";
    $("signin-info").textContent = info || "";
    $("signin-info").hidden = !info;
    $("signin-error").hidden = true;
    setView("signin");
    $(($("username").value ? "password" : "username")).focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const username = $("username").value.trim().toLowerCase();
    const password = $("password").value;
    const error = $("signin-error");
    if (!username || !password) {
      error.textContent = "Enter your username and your password.";
      error.hidden = false;
      $(username ? "password" : "username").focus();
      return;
    }
    error.hidden = true;
    $("signin-info").hidden = true;
    const button = $("sign-in");
    setBusy(button, true, "Signing in…");
    const answer = await api("POST", "/login", { username, password });
    setBusy(button, false);
    if (answer.ok) {
      $("password").value = "";
      sessionStorage.setItem(NAME_KEY, answer.data.display_name);
      enterDashboard(answer.data.display_name);
      return;
    }
    if (answer.code === "bad_credentials" || answer.code === "invalid_request") {
      error.textContent = "The username or password is not right. Check both and try again.";
    } else {
      error.textContent = problem("sign-in", answer);
    }
    error.hidden = false;
    $("password").value = "";
    $("password").focus();
  }

  async function signOut() {
    await api("POST", "/logout");
    sessionStorage.removeItem(NAME_KEY);
    $("username").value = "";
    showSignIn("You are signed out.");
  }

  function sessionEnded() {
    sessionStorage.removeItem(NAME_KEY);
    showSignIn("Your session has ended. Sign in again to go on.");
  }

  function enterDashboard(name) {
    page.signedIn = true;
    $("officer-name").textContent = name || "Signed in";
    $("bar-officer").hidden = false;
    setView("dashboard");
    page.refreshes = 0; // the terminals come with the first refresh
    refreshLoop();
  }

  // -- the terminals: where they are, and the ones staff must know about ---------------------------------

  async function refreshTerminals() {
    const answer = await api("GET", "/terminals");
    if (!answer.ok || !Array.isArray(answer.data)) return;
    const current = answer.data.filter((terminal) => terminal.retired_at == null);
    const places = [...new Set(current.map((terminal) => terminal.location).filter(Boolean))];
    $("bar-place").textContent = places.join(" · ");
    renderAttention(current.filter((terminal) => (terminal.attention || []).length > 0));
  }

  function renderAttention(terminals) {
    window.terminalsNeedingAttention = terminals.map((terminal) => terminal.name);
    const list = $("attention-list");
    list.replaceChildren(
      ...terminals.map((terminal) => {
        const item = element("li");
        item.dataset.terminalId = terminal.id;
        const name = element("div", "attention-terminal", terminal.name);
        if (terminal.location) name.append(element("span", "sub", terminal.location));
        const text = element("div", "attention-text");
        text.append(...terminal.attention.map((sentence) => element("p", undefined, sentence)));
        item.append(name, text);
        return item;
      }),
    );
    $("terminals-attention").hidden = terminals.length === 0;
  }

  // -- today's visits -----------------------------------------------------------------------------

  async function refreshLoop() {
    const loop = ++page.loop;
    while (page.signedIn && loop === page.loop) {
      await refresh();
      await sleep(REFRESH_MS);
    }
  }

  async function refresh() {
    const loop = page.loop;
    const answer = await api("GET", "/visits");
    if (!page.signedIn || loop !== page.loop) return;
    if (answer.status === 401) {
      sessionEnded();
      return;
    }
    if (!answer.ok || !Array.isArray(answer.data)) {
      showConnection(
        answer.status === 0
          ? "Central cannot be reached. The list below may be out of date; this page keeps trying."
          : "The list could not be updated. It may be out of date; this page keeps trying.",
      );
      return;
    }
    showConnection("");
    renderVisits(answer.data);
    if (page.refreshes++ % TERMINALS_EVERY === 0) await refreshTerminals();
  }

  function renderVisits(list) {
    list.sort((a, b) => a.starts_at.localeCompare(b.starts_at) || a.visit_id - b.visit_id);
    window.visitsShown = list;
    page.visits = new Map(list.map((visit) => [visit.visit_id, visit]));
    const body = $("visit-rows");
    const rows = new Map([...body.children].map((row) => [Number(row.dataset.visitId), row]));
    const watching = page.watch ? page.watch.visit.visit_id : null;
    let previous = null;
    for (const visit of list) {
      const signature = JSON.stringify([visit, watching === visit.visit_id]);
      let row = rows.get(visit.visit_id);
      rows.delete(visit.visit_id);
      if (!row || row.dataset.signature !== signature) {
        const fresh = visitRow(visit, watching === visit.visit_id);
        fresh.dataset.signature = signature;
        if (row) row.replaceWith(fresh);
        row = fresh;
      }
      const expected = previous ? previous.nextSibling : body.firstChild;
      if (row !== expected) body.insertBefore(row, expected);
      previous = row;
    }
    for (const row of rows.values()) row.remove();
    $("no-visits").hidden = list.length > 0;
    $("visits-summary").textContent = summary(list);
    const now = new Date().toLocaleTimeString([], { hour: "numeric", minute: "2-digit", second: "2-digit" });
    $("updated").textContent = `Updated ${now}`;
    const watched = page.watch && page.visits.get(page.watch.visit.visit_id);
    if (page.watch && (!watched || watched.status !== "live")) {
      // Ended elsewhere (another officer, the resident, the clock): say how, once the list knows.
      watchEnded(page.watch, ENDED_TEXT);
      if (watched) $("watch-empty-text").textContent = endedText(watched);
    }
  }

  function endedText(visit) {
    const reason = visit.status_reason;
    if (visit.status === "ended_by_staff") return reason ? `Staff ended this visit: ${reason}` : "Staff ended this visit.";
    if (visit.status === "cancelled") return reason ? `This visit was cancelled: ${reason}` : "This visit was cancelled.";
    return ENDED_TEXT;
  }

  function summary(list) {
    if (!list.length) return "";
    const count = (status) => list.filter((visit) => visit.status === status).length;
    const parts = [`${list.length} ${list.length === 1 ? "visit" : "visits"}`];
    const live = count("live");
    const waiting = count("scheduled") + count("ready");
    if (live) parts.push(`${live} live`);
    if (waiting) parts.push(`${waiting} still to come`);
    return parts.join(" · ");
  }

  // How the call went, from the terminal's report.
  function qualityLine(visit) {
    const q = visit.quality;
    const parts = [];
    if (q) {
      const seen = q.received;
      if (seen.fps !== null) parts.push(`${Math.round(seen.fps)} fps`);
      parts.push(`${seen.freezes} ${seen.freezes === 1 ? "freeze" : "freezes"}`);
      parts.push(`${seen.packet_loss_pct.toFixed(1)}% loss`);
      if (seen.rtt_ms !== null) parts.push(`${Math.round(seen.rtt_ms)} ms round trip`);
      if (q.reconnects) parts.push(`${q.reconnects} ${q.reconnects === 1 ? "reconnect" : "reconnects"}`);
    }
    return parts.length ? `Call: ${parts.join(" · ")}` : "";
  }

  function visitRow(visit, watching) {
    const row = element("tr", `visit-row status-${visit.status}`);
    row.dataset.visitId = String(visit.visit_id);
    if (watching) row.classList.add("row-watching");

    const time = element("td", "cell-time");
    time.append(
      element("span", "strong", clockTime(visit.starts_at)),
      element("span", "sub", `until ${clockTime(visit.ends_at)}`),
    );

    const resident = element("td", "cell-resident");
    resident.append(element("span", "strong", visit.resident_name || "—"), element("span", "sub", `ID ${visit.resident_id}`));

    const visitors = element("td", "cell-visitors", visit.visitors.length ? names(visit.visitors) : "—");

    const terminal = element("td", "cell-terminal");
    if (visit.terminal) terminal.textContent = visit.terminal;
    else terminal.append(element("span", "sub", "Not started"));

    const status = element("td", "cell-status");
    const known = STATUS[visit.status] || { label: visit.status, tone: "neutral" };
    const chips = element("div", "chips");
    chips.append(element("span", `chip chip-${known.tone}`, known.label));
    if (visit.privileged) {
      const privileged = element("span", "chip chip-privileged");
      privileged.append(icon("lock"), element("span", "", PRIVILEGED_TEXT));
      chips.append(privileged);
    }
    status.append(chips);
    if (visit.status_reason) status.append(element("span", "reason", visit.status_reason));
    const quality = qualityLine(visit);
    if (quality) status.append(element("span", "quality", quality));
    if (visit.media_lost_s >= 1) {
      const minutes = `${visit.credit_minutes} ${visit.credit_minutes === 1 ? "minute" : "minutes"}`;
      status.append(element("span", "credit", `Credit due: ${minutes} (media lost for ${Math.round(visit.media_lost_s)} s)`));
    }

    const actions = element("td", "cell-actions");
    const buttons = element("div", "row-actions");
    if (visit.status === "live") {
      if (!visit.privileged) {
        const watch = actionButton("watch", watching ? "Watching" : "Watch", watching ? "button-watching" : "button-primary");
        watch.prepend(icon("eye"));
        watch.disabled = watching;
        buttons.append(watch);
      }
      buttons.append(actionButton("message", "Send message"), actionButton("end", "End visit", "button-danger"));
    } else if (visit.status === "scheduled" || visit.status === "ready") {
      buttons.append(actionButton("cancel", "Cancel visit", "button-danger"));
    }
    actions.append(buttons);

    row.append(time, resident, visitors, terminal, status, actions);
    return row;
  }

  function actionButton(action, label, tone) {
    const button = element("button", `button button-small ${tone || ""}`.trim(), label);
    button.type = "button";
    button.dataset.action = action;
    return button;
  }

  function onRowClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const row = button.closest("tr");
    const visit = page.visits.get(Number(row.dataset.visitId));
    if (!visit) return;
    hideNotice();
    if (button.dataset.action === "watch") {
      startWatching(visit, button);
    } else {
      openDialog(button.dataset.action, visit);
    }
  }

  // -- messages, ends and cancellations -----------------------------------------------------------

  const DIALOGS = {
    message: (visit) => ({
      title: "Send a message to the resident's screen",
      text: `It appears on ${visit.terminal || "the terminal"} during the visit of ${who(visit)}.`,
      label: "Message",
      min: 1,
      max: MESSAGE_MAX,
      confirm: "Send message",
      tone: "button-primary",
      placeholder: "For example: Please keep the handset close.",
    }),
    end: (visit) => ({
      title: "End this visit now?",
      text: `The visit of ${who(visit)} ends at once for everyone in it. They are shown the reason you give.`,
      label: "Reason (shown to the resident and the visitors)",
      min: REASON_MIN,
      max: REASON_MAX,
      confirm: "End the visit",
      tone: "button-danger-solid",
      placeholder: "For example: Count time in the unit.",
    }),
    cancel: (visit) => ({
      title: "Cancel this visit?",
      text:
        `The visit of ${who(visit)} at ${clockTime(visit.starts_at)} will not take place. ` +
        "The resident and the visitors are shown the reason you give.",
      label: "Reason (shown to the resident and the visitors)",
      min: REASON_MIN,
      max: REASON_MAX,
      confirm: "Cancel the visit",
      tone: "button-danger-solid",
      placeholder: "For example: Facility lockdown.",
    }),
  };

  function openDialog(kind, visit) {
    const spec = DIALOGS[kind](visit);
    page.dialog = { kind, visit, spec };
    $("dialog-title").textContent = spec.title;
    $("dialog-text").textContent = spec.text;
    $("dialog-label").textContent = spec.label;
    const input = $("dialog-input");
    input.value = "";
    input.maxLength = spec.max;
    input.placeholder = spec.placeholder;
    const confirm = $("dialog-confirm");
    confirm.textContent = spec.confirm;
    confirm.className = `button ${spec.tone}`;
    confirm.disabled = false;
    $("dialog-error").hidden = true;
    updateCounter();
    $("action-dialog").hidden = false;
    input.focus();
  }

  function closeDialog() {
    page.dialog = null;
    $("action-dialog").hidden = true;
  }

  function updateCounter() {
    if (!page.dialog) return;
    const length = $("dialog-input").value.length;
    $("dialog-counter").textContent = `${length} / ${page.dialog.spec.max}`;
  }

  async function submitDialog(event) {
    event.preventDefault();
    const dialog = page.dialog;
    if (!dialog) return;
    const { kind, visit, spec } = dialog;
    const text = $("dialog-input").value.trim();
    const error = $("dialog-error");
    if (text.length < spec.min || text.length > spec.max) {
      error.textContent = kind === "message" ? "Write the message first." : `Give a reason of at least ${spec.min} characters.`;
      error.hidden = false;
      $("dialog-input").focus();
      return;
    }
    error.hidden = true;
    const confirm = $("dialog-confirm");
    setBusy(confirm, true, kind === "message" ? "Sending…" : "Please wait…");
    const body = kind === "message" ? { text } : { reason: text };
    const answer = await api("POST", `/visits/${visit.visit_id}/${kind}`, body);
    setBusy(confirm, false);
    if (page.dialog !== dialog) return;
    if (answer.status === 401) {
      sessionEnded();
      return;
    }
    if (!answer.ok) {
      error.textContent = problem(kind, answer);
      error.hidden = false;
      if (answer.code === "unknown_visit" || answer.code === "not_ready") refresh();
      return;
    }
    closeDialog();
    if (kind === "message") {
      toast(`Message sent to ${visit.terminal || "the terminal"}.`);
    } else {
      if (page.watch && page.watch.visit.visit_id === visit.visit_id) stopWatching();
      toast(
        kind === "end"
          ? `The visit of ${who(visit)} has ended. They are shown your reason.`
          : `The visit of ${who(visit)} at ${clockTime(visit.starts_at)} is cancelled.`,
      );
    }
    refresh();
  }

  // -- watching -----------------------------------------------------------------------------------

  // A watch: {visit, grant, janus, lister, feeds (feed id -> feed), generation, backoff, timer}.
  // `generation` moves on at every teardown, so callbacks of an old Janus session do nothing.

  function setWatchState(state) {
    window.watchState = state;
    $("watch").dataset.state = state;
  }

  async function startWatching(visit, button) {
    if (!page.janusReady) {
      showNotice("The video player of this page did not load. Reload the page, then try again.");
      return;
    }
    stopWatching();
    const watch = { visit, grant: null, janus: null, lister: null, feeds: new Map(), generation: 0, backoff: 0, timer: null };
    page.watch = watch;
    setBusy(button, true, "Opening…");
    const answer = await api("POST", `/visits/${visit.visit_id}/watch`);
    setBusy(button, false);
    if (page.watch !== watch) return;
    if (answer.status === 401) {
      sessionEnded();
      return;
    }
    if (!answer.ok) {
      page.watch = null;
      showNotice(problem("watch", answer));
      if (answer.code === "not_allowed" || answer.code === "not_ready") refresh();
      return;
    }
    watch.grant = answer.data;
    window.watchFrames = {};
    showWatchPanel(watch);
    connect(watch);
  }

  function showWatchPanel(watch) {
    const visit = watch.visit;
    $("watch-title").textContent = who(visit);
    const times = `${clockTime(visit.starts_at)} to ${clockTime(visit.ends_at)}`;
    $("watch-sub").textContent = `${visit.terminal || "Terminal"} · ${times}`;
    $("watch-grid").replaceChildren();
    $("watch-silent").hidden = false;
    $("watch-actions").hidden = false;
    $("stop-watching").textContent = "Stop watching";
    $("watch-eyebrow").textContent = "Watching";
    $("watch").hidden = false;
    setWatchState("connecting");
    updateWatchStatus(watch);
    refreshRows();
    $("watch").scrollIntoView({ block: "start" });
  }

  function refreshRows() {
    renderVisits([...page.visits.values()]);
  }

  function connect(watch) {
    const generation = ++watch.generation;
    const current = () => page.watch === watch && watch.generation === generation;
    watch.janus = new Janus({
      server: watch.grant.janus_url,
      iceServers: [], // never a public STUN server
      success: () => current() && attachLister(watch, current),
      error: (why) => current() && watchLost(watch, `Janus session: ${why}`),
      destroyed: () => {},
    });
  }

  // A handle that never joins the room: it only asks who is publishing in it.
  function attachLister(watch, current) {
    watch.janus.attach({
      plugin: VIDEOROOM,
      success: (handle) => {
        if (!current()) return;
        watch.lister = handle;
        listParticipants(watch, current);
      },
      error: (why) => current() && watchLost(watch, `attach: ${why}`),
    });
  }

  function listParticipants(watch, current) {
    if (!current() || !watch.lister) return;
    watch.lister.send({
      message: { request: "listparticipants", room: watch.grant.room },
      success: (result) => {
        if (!current()) return;
        onParticipants(watch, current, result || {});
        if (current()) watch.timer = setTimeout(() => listParticipants(watch, current), PARTICIPANTS_MS);
      },
      error: (why) => current() && watchLost(watch, `listparticipants: ${why}`),
    });
  }

  function onParticipants(watch, current, result) {
    if (result.error_code) {
      if (ROOM_GONE.has(result.error_code)) {
        watchEnded(watch, ENDED_TEXT);
      } else {
        watchLost(watch, `listparticipants: ${result.error_code} ${result.error || ""}`);
      }
      return;
    }
    watch.backoff = 0;
    const publishing = (result.participants || []).filter((p) => p.publisher === true && typeof p.id === "number");
    const ids = new Set(publishing.map((p) => p.id));
    for (const feed of [...watch.feeds.values()]) {
      if (!ids.has(feed.id)) removeFeed(watch, feed);
    }
    for (const publisher of publishing) {
      if (!watch.feeds.has(publisher.id)) addFeed(watch, publisher, current);
    }
    if (window.watchState === "connecting") setWatchState("watching");
    updateWatchStatus(watch);
  }

  function feedLabel(watch, display) {
    if (display === RESIDENT_DISPLAY) return { name: watch.visit.resident_name || "Resident", role: "Resident" };
    return { name: display || "Visitor", role: "Visitor" };
  }

  function addFeed(watch, publisher, current) {
    const display = typeof publisher.display === "string" ? publisher.display : "";
    const feed = { id: publisher.id, display, handle: null, tile: null, video: null, audio: null, soundOn: false, media: false };
    feed.tile = feedTile(watch, feed);
    watch.feeds.set(feed.id, feed);
    const grid = $("watch-grid");
    // The resident first, then the visitors in the order they came.
    if (display === RESIDENT_DISPLAY) grid.prepend(feed.tile);
    else grid.append(feed.tile);
    grid.dataset.count = String(watch.feeds.size);
    subscribe(watch, feed, current);
  }

  function feedTile(watch, feed) {
    const label = feedLabel(watch, feed.display);
    const tile = element("figure", `tile ${feed.display === RESIDENT_DISPLAY ? "tile-resident" : "tile-visitor"}`);
    tile.dataset.display = feed.display;
    tile.dataset.feedId = String(feed.id);
    const video = element("video");
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // the sound plays through the audio element, muted until the officer unmutes it
    const overlay = element("div", "tile-overlay");
    overlay.append(element("span", "dot"), element("span", "", `Connecting to ${label.name}'s video…`));
    const tag = element("figcaption", "tag");
    tag.append(element("span", "tag-name", label.name), element("span", "tag-role", label.role));
    const sound = element("button", "sound");
    sound.append(icon("soundOff"), element("span", "", "Unmute"));
    sound.type = "button";
    sound.setAttribute("aria-pressed", "false");
    sound.setAttribute("aria-label", `Sound of ${label.name}`);
    sound.addEventListener("click", () => setSound(feed, !feed.soundOn));
    const audio = element("audio");
    audio.autoplay = true;
    audio.muted = true;
    tile.append(video, overlay, tag, sound, audio);
    feed.video = video;
    feed.audio = audio;
    feed.overlay = overlay;
    feed.sound = sound;
    return tile;
  }

  function setSound(feed, on) {
    feed.soundOn = on;
    feed.audio.muted = !on;
    if (on) feed.audio.play().catch(() => {});
    feed.sound.replaceChildren(icon(on ? "soundOn" : "soundOff"), element("span", "", on ? "Mute" : "Unmute"));
    feed.sound.setAttribute("aria-pressed", on ? "true" : "false");
    feed.sound.classList.toggle("sound-on", on);
    feed.tile.classList.toggle("tile-sound-on", on);
    if (page.watch) updateWatchStatus(page.watch);
  }

  function subscribe(watch, feed, current) {
    const grant = watch.grant;
    let attempts = 0;
    const mine = () => current() && watch.feeds.get(feed.id) === feed;
    const join = (handle) =>
      handle.send({
        message: { request: "join", ptype: "subscriber", room: grant.room, pin: grant.pin, streams: [{ feed: feed.id }] },
      });
    watch.janus.attach({
      plugin: VIDEOROOM,
      success: (handle) => {
        if (!mine()) {
          handle.detach();
          return;
        }
        feed.handle = handle;
        join(handle);
      },
      error: (why) => mine() && dropFeed(watch, feed, `attach subscriber: ${why}`),
      iceState: (state) => mine() && state === "failed" && dropFeed(watch, feed, "subscriber ICE failed"),
      webrtcState: (up) => {
        if (!mine()) return;
        if (!up) dropFeed(watch, feed, "subscriber hung up");
      },
      onmessage: (message, jsep) => {
        if (!mine()) return;
        if (message.error_code === NO_SUCH_FEED && attempts < 20) {
          // The publisher's media is not up yet; Janus knows it a moment later.
          attempts += 1;
          setTimeout(() => mine() && feed.handle && join(feed.handle), 150);
          return;
        }
        if (message.error_code) {
          if (ROOM_GONE.has(message.error_code)) watchEnded(watch, ENDED_TEXT);
          else dropFeed(watch, feed, `VideoRoom error ${message.error_code}: ${message.error}`);
          return;
        }
        if (message.videoroom === "destroyed") {
          watchEnded(watch, ENDED_TEXT);
          return;
        }
        if (jsep) {
          feed.handle.createAnswer({
            jsep,
            tracks: [], // receive only: nothing is captured, nothing is sent
            success: (answer) => mine() && feed.handle.send({ message: { request: "start" }, jsep: answer }),
            error: (why) => mine() && dropFeed(watch, feed, `subscribe answer: ${why}`),
          });
        }
      },
      onremotetrack: (track, mid, on) => mine() && onRemoteTrack(watch, feed, track, on),
    });
  }

  function onRemoteTrack(watch, feed, track, on) {
    if (track.kind === "video") {
      if (on) {
        feed.video.srcObject = new MediaStream([track]);
        feed.video.play().catch(() => {});
        feed.overlay.hidden = true;
        feed.media = true;
        countFrames(feed);
      } else {
        const label = feedLabel(watch, feed.display);
        feed.overlay.lastChild.textContent = `${label.name}'s video is paused.`;
        feed.overlay.hidden = false;
      }
    } else if (track.kind === "audio" && on) {
      feed.audio.srcObject = new MediaStream([track]);
      feed.audio.muted = !feed.soundOn;
      feed.audio.play().catch(() => {});
    }
    updateWatchStatus(watch);
  }

  function countFrames(feed) {
    if (feed.counting || !("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
    feed.counting = true;
    const video = feed.video;
    const onFrame = () => {
      if (!video.isConnected) return;
      if (video.srcObject) window.watchFrames[feed.display] = (window.watchFrames[feed.display] || 0) + 1;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  // One feed broke: drop it; the next participants list subscribes again if it is still published.
  function dropFeed(watch, feed, why) {
    console.warn(`watch: feed ${feed.id} dropped: ${why}`);
    removeFeed(watch, feed);
    updateWatchStatus(watch);
  }

  function removeFeed(watch, feed) {
    if (watch.feeds.get(feed.id) !== feed) return;
    watch.feeds.delete(feed.id);
    const handle = feed.handle;
    feed.handle = null;
    if (handle) {
      try {
        handle.detach();
      } catch (error) {
        console.warn("subscriber handle not detached", error);
      }
    }
    feed.video.srcObject = null;
    feed.audio.srcObject = null;
    feed.tile.remove();
    $("watch-grid").dataset.count = String(watch.feeds.size);
  }

  function updateWatchStatus(watch) {
    if (page.watch !== watch) return;
    const isResident = (feed) => (feed.display === RESIDENT_DISPLAY ? 0 : 1);
    const feeds = [...watch.feeds.values()].sort((a, b) => isResident(a) - isResident(b));
    const state = window.watchState;
    const empty = $("watch-empty");
    const emptyText = $("watch-empty-text");
    if (state === "ended") return;
    if (state === "connecting") {
      empty.hidden = false;
      emptyText.textContent = watch.backoff
        ? "The connection to the video service was lost. Trying again…"
        : "Connecting to the video service…";
      $("watch-status").textContent = "";
      return;
    }
    empty.hidden = feeds.length > 0;
    emptyText.textContent = "No one is in the visit's room right now. Their video appears here as soon as they join.";
    const name = (feed) => feedLabel(watch, feed.display).name;
    const hearing = feeds.filter((feed) => feed.soundOn).map(name);
    const sound = hearing.length ? `You hear ${names(hearing)}.` : "Sound is off: unmute a person to hear them.";
    $("watch-status").textContent = feeds.length ? `You see ${names(feeds.map(name))}. ${sound}` : "";
  }

  function watchLost(watch, why) {
    if (page.watch !== watch || window.watchState === "ended") return;
    console.warn(`watch: connection lost: ${why}`);
    teardown(watch);
    setWatchState("connecting");
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** watch.backoff);
    watch.backoff += 1;
    updateWatchStatus(watch);
    setTimeout(() => {
      if (page.watch === watch && window.watchState === "connecting" && watch.janus === null) connect(watch);
    }, delay);
  }

  function watchEnded(watch, text) {
    if (page.watch !== watch || window.watchState === "ended") return;
    teardown(watch);
    setWatchState("ended");
    $("watch-grid").replaceChildren();
    $("watch-empty").hidden = false;
    $("watch-empty-text").textContent = text;
    $("watch-status").textContent = "";
    $("watch-actions").hidden = true;
    $("watch-silent").hidden = true;
    $("stop-watching").textContent = "Close";
    $("watch-eyebrow").textContent = "Visit over";
  }

  function teardown(watch) {
    watch.generation += 1;
    clearTimeout(watch.timer);
    const janus = watch.janus;
    watch.janus = null;
    watch.lister = null;
    for (const feed of [...watch.feeds.values()]) removeFeed(watch, feed);
    if (janus) {
      try {
        janus.destroy({ cleanupHandles: true, notifyDestroyed: false });
      } catch (error) {
        console.warn("Janus session not destroyed", error);
      }
    }
  }

  function stopWatching() {
    const watch = page.watch;
    if (!watch) return;
    teardown(watch);
    page.watch = null;
    setWatchState("idle");
    $("watch").hidden = true;
    $("watch-grid").replaceChildren();
    refreshRows();
  }

  // -- start --------------------------------------------------------------------------------------

  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("visit-rows").addEventListener("click", onRowClick);
    $("notice-close").addEventListener("click", hideNotice);
    $("stop-watching").addEventListener("click", stopWatching);
    $("watch-message").addEventListener("click", () => page.watch && openDialog("message", page.watch.visit));
    $("watch-end").addEventListener("click", () => page.watch && openDialog("end", page.watch.visit));
    $("action-form").addEventListener("submit", submitDialog);
    $("dialog-back").addEventListener("click", closeDialog);
    $("dialog-input").addEventListener("input", () => {
      $("dialog-error").hidden = true;
      updateCounter();
    });
    for (const id of ["username", "password"]) $(id).addEventListener("input", () => ($("signin-error").hidden = true));
    $("dialog-input").addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter starts a new line.
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        $("action-form").requestSubmit();
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && page.dialog) closeDialog();
    });
  }

  async function start() {
    wire();
    const answer = await api("GET", "/visits");
    if (answer.ok) {
      enterDashboard(sessionStorage.getItem(NAME_KEY));
    } else {
      showSignIn(answer.status === 0 ? "Central cannot be reached right now. Check the network, then sign in." : "");
    }
  }

  if (typeof Janus !== "undefined" && typeof adapter !== "undefined") {
    Janus.init({
      debug: ["warn", "error"],
      dependencies: Janus.useDefaultDependencies(),
      callback: () => (page.janusReady = true),
    });
  }
  start();
})();
