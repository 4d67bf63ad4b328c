// The visitor page's logic: join the visit with the code from the link, publish the camera and
// microphone to the visit's Janus room and show everyone else in it, with the time left and the end.
//
// Central decides (when the visit opens, how long it lasts, why it ended); this page shows it. Media goes
// through Janus with Janus's own client (janus.js). The visit outlives its peer connections: if they
// break, they are rebuilt with backoff while the clock and the screen stay where they are.
//
// Test hooks on window: visitState ("waiting" | "live" | "ended", or "left" / "problem"),
// framesReceived (video frames of the person visited, counted with requestVideoFrameCallback),
// endReason, endMessage (the sentence shown at the end), secondsLeft, warningS.

(function () {
  "use strict";

  const API = "/api/v1";
  const CODE_PATTERN = /^[A-Za-z0-9]{6,32}$/;
  const VIDEOROOM = "janus.plugin.videoroom";
  const RESIDENT_DISPLAY = "Resident";
  const JOIN_RETRY_MS = 3000;
  const STATUS_POLL_MS = 1000;
  const MAX_BACKOFF_MS = 2000;
  // The way to Janus is probed twice a second; silence for longer than SILENT_AFTER_MS is an outage, shown at once
  // (the browser's own ICE checks take many seconds). A resident's picture that stops for as long is shown as
  // reconnecting, never under "Connected".
  const LINK_PROBE_MS = 500;
  const RECEPTION_MS = 1000;
  const LINK_PROBE_TIMEOUT_MS = 1000;
  const SILENT_AFTER_MS = 1250;
  const MEDIA_RESUME_WAIT_MS = 1000;
  const RESIDENT_RECONNECTING = "The person you are visiting is reconnecting. Please wait.";
  const OWN_RECONNECTING = "Your connection was interrupted. Reconnecting…";
  const NO_SUCH_FEED = 428;

  const END_SENTENCES = {
    time_up: () => "The scheduled time is over.",
    ended_by_staff: (message) => (message ? `Staff ended the visit: ${message}` : "Staff ended the visit."),
    ended_by_resident: () => "The person you are visiting ended the visit.",
    hung_up: () => "The person you are visiting hung up the handset.",
    connection_failed: () => "The connection to the person you are visiting could not be restored.",
  };

  const UNKNOWN_END = { reason: null, sentence: "", title: "The visit has ended" };
  const timeUp = () => ({ reason: "time_up", sentence: END_SENTENCES.time_up(), title: "The visit has ended" });

  const $ = (id) => document.getElementById(id);

  const visit = {
    code: new URLSearchParams(window.location.search).get("code") || "",
    grant: null,
    deadline: null, // performance.now() at which the visit ends, anchored on the grant's arrival
    localStream: null,
    janus: null,
    generation: 0, // moves on at every teardown, so callbacks of old connections do nothing
    publisher: null,
    publishing: false, // Janus has our camera and microphone
    myFeedId: null,
    privateId: null,
    feeds: new Map(), // feed id -> {id, display, handle, tile, video, audio}
    residentFeedId: null,
    backoffAttempt: 0,
    lastHeard: 0, // performance.now() when Janus last answered a probe
    lastResidentFrame: 0, // performance.now() of the resident's last picture
    lostSince: null, // performance.now() from which this visitor's own link was down
    silentAt: 0, // performance.now() when the watch last found Janus silent
    linkBackAt: null, // when the probe heard Janus again after that
    lostMs: 0, // this visitor's own outages so far, for central's credit
    reportedLostMs: 0,
    sharing: false, // a reception report is on its way to central
    residentFrozen: false,
    closing: false, // the room is gone; the end is being confirmed with central
    ended: false,
    left: false,
    timers: [],
  };

  window.visitState = "waiting";
  window.connectionText = "";
  Object.defineProperty(window, "mediaLostS", { get: () => ownLostMs() / 1000 });
  window.framesReceived = 0;
  window.videoCapKbps = null; // central's cap on this visitor's video (for the tests)
  window.endReason = null;
  window.endMessage = "";
  Object.defineProperty(window, "secondsLeft", { get: () => (visit.deadline === null ? null : secondsLeft()) });
  window.warningS = null;

  // -- small helpers ------------------------------------------------------------------------------

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function clockTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  function duration(seconds) {
    const total = Math.max(0, Math.ceil(seconds));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const secs = String(total % 60).padStart(2, "0");
    return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
  }

  function names(list) {
    if (list.length <= 1) return list.join("");
    return `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
  }

  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, cache: "no-store" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(`${API}${path}`, options);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  function setView(view) {
    document.body.dataset.view = view;
  }

  function setState(state) {
    window.visitState = state;
    document.body.dataset.state = state;
  }

  function setConnection(text) {
    const pill = $("connection");
    pill.hidden = !text;
    pill.textContent = text || "";
    pill.classList.toggle("pill-ok", text === "Connected");
    window.connectionText = text || "";
  }

  function showWaiting(text, detail) {
    setView("waiting");
    $("waiting-text").textContent = text;
    $("waiting-detail").textContent = detail;
  }

  function showProblem(title, text, retry) {
    stopCamera();
    setState("problem");
    setView("problem");
    $("problem-title").textContent = title;
    $("problem-text").textContent = text;
    const button = $("retry");
    button.hidden = !retry;
    button.onclick = retry || null;
  }

  // -- the camera ---------------------------------------------------------------------------------

  async function startCamera() {
    const constraints = {
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
    };
    visit.localStream = await navigator.mediaDevices.getUserMedia(constraints);
    for (const track of visit.localStream.getTracks()) track.dontStop = true; // janus.js leaves them running
    $("preview").srcObject = visit.localStream;
    $("self-view").srcObject = visit.localStream;
    $("preview-empty").hidden = true;
  }

  function stopCamera() {
    if (visit.localStream) {
      for (const track of visit.localStream.getTracks()) track.stop();
    }
    visit.localStream = null;
    $("preview").srcObject = null;
    $("self-view").srcObject = null;
  }

  function cameraProblem(error) {
    const blocked = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
    const text = blocked
      ? "This page needs your camera and microphone for the visit. Allow them in your browser " +
        "(the camera icon in the address bar), then press Try again."
      : "No camera or microphone was found, or another program is using them. Connect them or close " +
        "the other program, then press Try again.";
    showProblem("Your camera is not available", text, () => start());
  }

  // -- joining ------------------------------------------------------------------------------------

  async function joinWhenOpen() {
    for (;;) {
      let answer;
      try {
        answer = await api("POST", "/visitor/join", { code: visit.code });
      } catch (_) {
        showWaiting(
          "The visit service cannot be reached right now.",
          "Check your internet connection. This page keeps trying.",
        );
        await sleep(JOIN_RETRY_MS);
        continue;
      }
      const arrived = performance.now();
      if (answer.ok) return { grant: answer.data, arrived };
      const code = answer.data && answer.data.code;
      if (code === "not_ready") {
        await describeNotReady();
      } else if (code === "visit_over") {
        await endFromStatus(true);
        return null;
      } else if (code === "unknown_visit" || code === "invalid_request") {
        showProblem(
          "This visit link is not valid",
          "Please check the link you were sent, or contact the facility that scheduled the visit.",
          null,
        );
        return null;
      } else {
        showWaiting("The video service is not ready yet.", "This page keeps trying every few seconds.");
      }
      await sleep(JOIN_RETRY_MS);
    }
  }

  async function describeNotReady() {
    let opens = "";
    try {
      const status = await api("GET", `/visitor/status?code=${encodeURIComponent(visit.code)}`);
      if (status.ok) {
        const summary = status.data.visit;
        showFacts(summary.visitors, status.data.display, summary.ends_at, summary.recorded, summary.starts_at);
        if (new Date(summary.joinable_from).getTime() > Date.now()) opens = clockTime(summary.joinable_from);
      }
    } catch (_) {
      // The join answer is enough to go on waiting.
    }
    showWaiting(
      opens ? `Your visit opens at ${opens}.` : "Your visit has not opened yet.",
      "This page will join the visit by itself. Keep it open.",
    );
  }

  function showFacts(visitors, me, endsAt, recorded, startsAt) {
    const labelled = visitors.map((name) => (name === me ? `${name} (you)` : name));
    $("fact-visitors").textContent = names(labelled);
    if (startsAt) $("fact-starts").textContent = clockTime(startsAt);
    $("fact-starts-row").hidden = !startsAt;
    $("fact-ends").textContent = clockTime(endsAt);
    $("fact-recorded-row").hidden = !recorded;
    $("facts").hidden = false;
    $("bar-names").textContent = names(labelled);
    $("recorded").hidden = !recorded;
  }

  // -- the clock ----------------------------------------------------------------------------------

  function secondsLeft() {
    return Math.max(0, (visit.deadline - performance.now()) / 1000);
  }

  function tick() {
    if (visit.deadline === null || visit.ended) return;
    const left = secondsLeft();
    const countdown = $("countdown");
    countdown.hidden = false;
    countdown.textContent = `${duration(left)} left`;
    const crossed = visit.grant.warnings_s.filter((w) => left <= w);
    const warning = crossed.length ? Math.min(...crossed) : null;
    window.warningS = warning;
    const banner = $("warning");
    if (warning !== null && left > 0) {
      const minutes = Math.max(1, Math.ceil(left / 60));
      banner.textContent = minutes === 1 ? "1 minute left in this visit" : `${minutes} minutes left in this visit`;
    }
    banner.hidden = warning === null || left <= 0;
    countdown.classList.toggle("countdown-warning", warning !== null);
    if (left <= 0) endVisit(timeUp());
  }

  async function pollStatus() {
    while (!visit.ended) {
      await endFromStatus(false);
      await sleep(STATUS_POLL_MS);
    }
  }

  // What central's status says about the end: {reason, sentence, title}, or null while the visit is open.
  function endOf(status) {
    const reason = status.end_reason;
    if (reason && END_SENTENCES[reason]) {
      return { reason, sentence: END_SENTENCES[reason](status.message), title: "The visit has ended" };
    }
    const summary = status.visit;
    if (summary.status === "cancelled") {
      const why = summary.status_reason || "";
      return {
        reason: "cancelled",
        sentence: why ? `The facility cancelled this visit: ${why}` : "The facility cancelled this visit.",
        title: "This visit was cancelled",
      };
    }
    if (summary.status === "no_show") {
      return {
        reason: "no_show",
        sentence: "The person you are visiting did not join, and the scheduled time is over.",
        title: "The visit did not take place",
      };
    }
    if (summary.status === "ended" || summary.status === "ended_by_staff") {
      return { reason: null, sentence: "", title: "The visit has ended" };
    }
    return null;
  }

  // Asks central where the visit stands and ends the page's visit when central says it ended.
  // `certain`: the visit is known to be over, so end it even when central cannot say why.
  async function endFromStatus(certain) {
    try {
      const status = await api("GET", `/visitor/status?code=${encodeURIComponent(visit.code)}`);
      const end = status.ok ? endOf(status.data) : null;
      if (end) {
        endVisit(end);
        return true;
      }
    } catch (_) {
      // Central unreachable for a moment: the next poll asks again.
    }
    if (certain) endVisit(UNKNOWN_END);
    return false;
  }

  // -- the room -----------------------------------------------------------------------------------

  function connectRoom() {
    const generation = ++visit.generation;
    const current = () => generation === visit.generation && !visit.ended && !visit.left;
    setConnection(visit.backoffAttempt ? "Reconnecting…" : "Connecting…");
    visit.janus = new Janus({
      server: visit.grant.janus_url,
      iceServers: [], // never a public STUN server
      success: () => current() && attachPublisher(current),
      error: (why) => current() && mediaLost(`Janus session: ${why}`),
      destroyed: () => {},
    });
  }

  function attachPublisher(current) {
    const grant = visit.grant;
    visit.janus.attach({
      plugin: VIDEOROOM,
      success: (handle) => {
        if (!current()) return;
        visit.publisher = handle;
        handle.send({
          message: { request: "join", ptype: "publisher", room: grant.room, pin: grant.pin, display: grant.display },
        });
      },
      error: (why) => current() && mediaLost(`attach: ${why}`),
      iceState: (state) => current() && state === "failed" && mediaLost("publisher ICE failed"),
      webrtcState: (up, reason) => {
        if (!current()) return;
        if (up) {
          visit.backoffAttempt = 0;
          visit.publishing = true;
          if (visit.lostSince === null && !visit.residentFrozen) setConnection("Connected");
          updateWaiting();
        } else {
          mediaLost(`publisher hung up: ${reason || ""}`);
        }
      },
      onmessage: (message, jsep) => current() && onPublisherMessage(message, jsep, current),
    });
  }

  function onPublisherMessage(message, jsep, current) {
    const kind = message.videoroom;
    if (message.error_code) {
      roomError(message.error_code, message.error);
      return;
    }
    if (kind === "joined") {
      visit.myFeedId = message.id;
      visit.privateId = message.private_id;
      publish(current);
      for (const publisher of message.publishers || []) addFeed(publisher, current);
      updateWaiting();
    } else if (kind === "destroyed") {
      roomClosed();
      return;
    } else if (kind === "event") {
      for (const publisher of message.publishers || []) addFeed(publisher, current);
      for (const gone of [message.unpublished, message.leaving]) {
        if (typeof gone === "number") removeFeed(gone);
      }
    }
    if (jsep && visit.publisher) visit.publisher.handleRemoteJsep({ jsep });
  }

  function publish(current) {
    const tracks = [];
    for (const track of visit.localStream.getAudioTracks().slice(0, 1)) {
      tracks.push({ type: "audio", capture: track, recv: false, dontStop: true });
    }
    for (const track of visit.localStream.getVideoTracks().slice(0, 1)) {
      tracks.push({ type: "video", capture: track, recv: false, dontStop: true });
    }
    visit.publisher.createOffer({
      tracks,
      success: (jsep) => current() && visit.publisher.send({ message: { request: "publish" }, jsep }),
      error: (why) => current() && mediaLost(`publish: ${why}`),
    });
  }

  // A room Janus does not have (it restarted) is made anew by central, so rejoining is right; whether the visit
  // ended, central's status says (mediaLost asks it).
  function roomError(code, text) {
    mediaLost(`VideoRoom error ${code}: ${text}`);
  }

  // Central closed the room: the visit is over. Central's status says why (it ends the visit first).
  async function roomClosed() {
    if (visit.closing || visit.ended) return;
    visit.closing = true;
    teardown();
    setConnection("");
    for (let attempt = 0; attempt < 10 && !visit.ended; attempt++) {
      if (await endFromStatus(false)) return;
      await sleep(300);
    }
    endVisit(UNKNOWN_END);
  }

  function mediaLost(why) {
    if (visit.ended || visit.closing || visit.left) return;
    console.warn(`visit media lost: ${why}`);
    // Janus hangs up every participant when central closes the room: it may be the end of the visit.
    endFromStatus(false);
    teardown();
    setConnection("Reconnecting…");
    if (window.visitState === "live") showResidentOverlay("Your connection was interrupted. Reconnecting…");
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** visit.backoffAttempt);
    visit.backoffAttempt += 1;
    const retry = () => {
      if (visit.ended || visit.closing || visit.left || visit.janus !== null) return;
      // While the link is down a new session only piles up timeouts: connect the moment Janus answers again.
      if (linkSilent()) setTimeout(retry, LINK_PROBE_MS / 2);
      else connectRoom();
    };
    setTimeout(retry, delay);
  }

  // -- the link to Janus --------------------------------------------------------------------------

  function linkSilent() {
    return performance.now() - visit.lastHeard > SILENT_AFTER_MS;
  }

  async function probeLink() {
    visit.lastHeard = performance.now();
    while (!visit.ended) {
      const started = performance.now();
      try {
        const answer = await fetch(`${visit.grant.janus_url}/info`, {
          cache: "no-store",
          signal: AbortSignal.timeout(LINK_PROBE_TIMEOUT_MS),
        });
        if (answer.ok) visit.lastHeard = performance.now();
      } catch (_) {
        // Not heard: the watch below decides what that means.
      }
      await sleep(Math.max(0, LINK_PROBE_MS - (performance.now() - started)));
    }
  }

  function ownLostMs() {
    return visit.lostMs + (visit.lostSince === null ? 0 : performance.now() - visit.lostSince);
  }

  function watchLink() {
    if (visit.ended || visit.left || visit.closing || window.visitState !== "live") return;
    const now = performance.now();
    if (linkSilent()) {
      visit.silentAt = now;
      if (visit.lostSince === null) visit.lostSince = visit.lastHeard; // the outage began when Janus went quiet
      visit.linkBackAt = null;
      setConnection("Reconnecting…");
      showResidentOverlay(OWN_RECONNECTING);
      return;
    }
    if (visit.lostSince !== null) {
      if (visit.linkBackAt === null) {
        visit.linkBackAt = now;
        askForPictures();
      }
      if (visit.lastResidentFrame > visit.linkBackAt || visit.residentFeedId === null) {
        ownOutageOver(now);
      } else if (now - visit.linkBackAt > MEDIA_RESUME_WAIT_MS && visit.janus !== null) {
        // The old connections did not come back with the link: build them anew, once.
        visit.linkBackAt = Infinity;
        mediaLost("no media after the link came back");
      }
      return;
    }
    const frozen = visit.residentFeedId !== null && visit.lastResidentFrame > 0 && now - visit.lastResidentFrame > SILENT_AFTER_MS;
    if (frozen && !visit.residentFrozen) {
      visit.residentFrozen = true;
      setConnection("Reconnecting…");
      showResidentOverlay(RESIDENT_RECONNECTING);
    } else if (!frozen && visit.residentFrozen) {
      visit.residentFrozen = false;
      $("resident-overlay").hidden = true;
      setConnection(visit.publishing ? "Connected" : "Reconnecting…");
    }
  }

  // After a cut the browser asks for a new picture only once its ICE checks pass again, up to a second after the
  // link is back; Janus asks every sender at once when a subscription's video is resumed.
  function askForPictures() {
    for (const feed of visit.feeds.values()) {
      if (!feed.handle || feed.videoMid === undefined) continue;
      feed.handle.send({ message: { request: "configure", streams: [{ mid: feed.videoMid, send: true }] } });
    }
  }

  function ownOutageOver(now) {
    visit.lostMs += now - visit.lostSince;
    visit.lostSince = null;
    visit.linkBackAt = null;
    if (visit.lastResidentFrame > 0 && now - visit.lastResidentFrame <= SILENT_AFTER_MS) $("resident-overlay").hidden = true;
    if (visit.publishing) setConnection("Connected");
    reportLost();
  }

  // Central credits the time a visitor's own link was down; the figure is the visit's total so far, so a repeat
  // or a lost report costs nothing.
  async function reportLost() {
    const lostMs = ownLostMs();
    if (lostMs <= visit.reportedLostMs) return;
    try {
      const answer = await api("POST", "/visitor/media-lost", { code: visit.code, media_lost_s: lostMs / 1000 });
      if (answer.ok) visit.reportedLostMs = Math.max(visit.reportedLostMs, lostMs);
    } catch (_) {
      // Sent again with the next outage's end, or at the end of the visit.
    }
  }

  // -- what this visitor's link carries ------------------------------------------------------------

  // Janus forwards each sender's video as it came and hears only the sender's own link, so only a receiver sees
  // that its link is too thin. Every participant tells central what it received; central answers each with the
  // most its own video should send, for the thinnest link to carry every feed.
  const received = { at: 0, bytes: 0, packets: 0, lost: 0, cut: false };

  function peerOf(handle) {
    return handle && handle.webrtcStuff ? handle.webrtcStuff.pc : null;
  }

  async function shareReception() {
    if (!visit.publishing || window.visitState !== "live" || visit.sharing) return;
    visit.sharing = true;
    try {
      const now = { at: performance.now(), bytes: 0, packets: 0, lost: 0 };
      let feeds = 0;
      for (const feed of visit.feeds.values()) {
        const pc = peerOf(feed.handle);
        if (!pc) continue;
        (await pc.getStats()).forEach((s) => {
          if (s.type !== "inbound-rtp" || s.kind !== "video") return;
          now.bytes += s.bytesReceived || 0;
          now.packets += s.packetsReceived || 0;
          now.lost += Math.max(0, s.packetsLost || 0);
          feeds += 1;
        });
      }
      const before = { ...received };
      Object.assign(received, now);
      // The first reading, or a feed gone (its counts with it): the next one measures.
      if (!before.at || now.bytes < before.bytes || now.packets < before.packets) return;
      const arrived = now.packets - before.packets;
      // A second in which nothing arrived, or the way to Janus fell silent, was a cut, not a thin link; and the
      // reading after it counts the cut's packets as missing all at once, when the video comes back. Neither says
      // what the link carries.
      received.cut = arrived === 0 || visit.silentAt >= before.at;
      if (received.cut || before.cut) return;
      const missing = Math.max(0, now.lost - before.lost);
      const answer = await api("POST", "/visitor/reception", {
        code: visit.code,
        video_kbps: Math.min(100000, (8 * (now.bytes - before.bytes)) / (now.at - before.at)),
        feeds: Math.min(8, feeds),
        lost: arrived + missing > 0 ? missing / (arrived + missing) : 0,
      });
      if (answer.ok && answer.data) await capVideo(answer.data.video_kbps);
    } catch (_) {
      // Central away: the video keeps the cap it has; the next second tries again.
    } finally {
      visit.sharing = false;
    }
  }

  async function capVideo(kbps) {
    const pc = peerOf(visit.publisher);
    if (!pc) return;
    const wanted = typeof kbps === "number" ? kbps * 1000 : undefined;
    window.videoCapKbps = wanted === undefined ? null : kbps;
    for (const sender of pc.getSenders()) {
      if (!sender.track || sender.track.kind !== "video") continue;
      const parameters = sender.getParameters();
      const encoding = parameters.encodings && parameters.encodings[0];
      if (!encoding || encoding.maxBitrate === wanted) continue;
      if (wanted === undefined) delete encoding.maxBitrate;
      else encoding.maxBitrate = wanted;
      await sender.setParameters(parameters);
    }
  }

  function teardown() {
    visit.generation += 1;
    visit.publishing = false;
    const janus = visit.janus;
    visit.janus = null;
    visit.publisher = null;
    for (const feed of visit.feeds.values()) dropFeedView(feed);
    visit.feeds.clear();
    if (janus) {
      try {
        janus.destroy({ cleanupHandles: true, notifyDestroyed: false });
      } catch (error) {
        console.warn("Janus session not destroyed", error);
      }
    }
  }

  // -- other participants -------------------------------------------------------------------------

  function addFeed(publisher, current) {
    const id = publisher.id;
    if (typeof id !== "number" || id === visit.myFeedId || visit.feeds.has(id)) return;
    const display = typeof publisher.display === "string" ? publisher.display : "";
    const feed = { id, display, handle: null, tile: null, video: null, audio: null, videoMid: undefined };
    visit.feeds.set(id, feed);
    if (display === RESIDENT_DISPLAY) {
      visit.residentFeedId = id;
      feed.video = $("resident-video");
      showResidentOverlay("Connecting…");
      goLive();
    } else {
      feed.tile = visitorTile(display);
      feed.video = feed.tile.querySelector("video");
      $("side").appendChild(feed.tile);
      updateWaiting();
    }
    subscribe(feed, current);
  }

  function visitorTile(display) {
    const tile = document.createElement("figure");
    tile.className = "tile tile-small";
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;
    const tag = document.createElement("figcaption");
    tag.className = "tag";
    tag.textContent = display || "Visitor";
    tile.append(video, tag);
    return tile;
  }

  function subscribe(feed, current) {
    const grant = visit.grant;
    let attempts = 0;
    const join = (handle) =>
      handle.send({
        message: {
          request: "join",
          ptype: "subscriber",
          room: grant.room,
          pin: grant.pin,
          streams: [{ feed: feed.id }],
          private_id: visit.privateId,
        },
      });
    visit.janus.attach({
      plugin: VIDEOROOM,
      success: (handle) => {
        if (!current() || visit.feeds.get(feed.id) !== feed) {
          handle.detach();
          return;
        }
        feed.handle = handle;
        join(handle);
      },
      error: (why) => current() && mediaLost(`attach subscriber: ${why}`),
      iceState: (state) => current() && state === "failed" && mediaLost("subscriber ICE failed"),
      onmessage: (message, jsep) => {
        if (!current()) return;
        if (message.error_code === NO_SUCH_FEED && attempts < 20) {
          // The publisher's media is not up yet; Janus knows it a moment later.
          attempts += 1;
          setTimeout(() => current() && feed.handle && join(feed.handle), 150);
          return;
        }
        if (message.error_code) {
          roomError(message.error_code, message.error);
          return;
        }
        if (jsep) {
          feed.handle.createAnswer({
            jsep,
            tracks: [],
            success: (answer) => current() && feed.handle.send({ message: { request: "start" }, jsep: answer }),
            error: (why) => current() && mediaLost(`subscribe answer: ${why}`),
          });
        }
      },
      onremotetrack: (track, mid, on) => current() && onRemoteTrack(feed, track, mid, on),
    });
  }

  function onRemoteTrack(feed, track, mid, on) {
    if (track.kind === "video") {
      if (on) {
        feed.videoMid = mid;
        feed.video.srcObject = new MediaStream([track]);
        feed.video.play().catch(() => {});
        if (feed.id === visit.residentFeedId) {
          $("resident-overlay").hidden = true;
          countFrames(feed.video);
        }
      } else if (feed.id === visit.residentFeedId) {
        showResidentOverlay("The video is paused. It will come back by itself.");
      }
    } else if (track.kind === "audio" && on) {
      if (!feed.audio) {
        feed.audio = document.createElement("audio");
        feed.audio.autoplay = true;
        $("audio-sinks").appendChild(feed.audio);
      }
      feed.audio.srcObject = new MediaStream([track]);
      feed.audio.play().catch(() => {
        $("sound").hidden = false; // the browser wants a tap before it plays sound
      });
    }
  }

  function removeFeed(id) {
    const feed = visit.feeds.get(id);
    if (!feed) return;
    visit.feeds.delete(id);
    if (feed.handle) feed.handle.detach();
    dropFeedView(feed);
    updateWaiting();
  }

  function dropFeedView(feed) {
    if (feed.audio) {
      feed.audio.srcObject = null;
      feed.audio.remove();
    }
    if (feed.tile) feed.tile.remove();
    if (feed.id === visit.residentFeedId) {
      visit.residentFeedId = null;
      $("resident-video").srcObject = null;
      if (!visit.ended && !visit.closing) {
        showResidentOverlay("The person you are visiting is reconnecting. Please wait.");
      }
    }
  }

  function showResidentOverlay(text) {
    $("resident-overlay-text").textContent = text;
    $("resident-overlay").hidden = false;
  }

  const counted = new WeakSet();
  function countFrames(video) {
    if (counted.has(video) || !("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
    counted.add(video);
    const onFrame = () => {
      if (video.srcObject) {
        window.framesReceived += 1;
        visit.lastResidentFrame = performance.now();
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  // -- the states of the page ---------------------------------------------------------------------

  function updateWaiting() {
    if (window.visitState !== "waiting") return;
    if (!visit.publishing) {
      showWaiting("Joining the visit…", "Connecting your camera and microphone…");
      return;
    }
    const others = [...visit.feeds.values()].filter((f) => f.display !== RESIDENT_DISPLAY).map((f) => f.display);
    showWaiting(
      "The person you are visiting will appear here as soon as they start the visit.",
      others.length ? `${names(others)} ${others.length === 1 ? "is" : "are"} here too. Keep this page open.` : "You are ready. Keep this page open.",
    );
  }

  function goLive() {
    if (visit.ended || visit.left) return;
    setState("live");
    setView("live");
  }

  function endVisit(end) {
    if (visit.ended) {
      // The end was known before its reason (the room closed first): add the reason now.
      if (end.sentence && !window.endReason) showEnd(end);
      return;
    }
    visit.ended = true;
    if (visit.lostSince !== null) ownOutageOver(performance.now());
    teardown();
    stopCamera();
    for (const timer of visit.timers) clearInterval(timer);
    visit.timers = [];
    setConnection("");
    $("countdown").hidden = true;
    $("recorded").hidden = true;
    $("warning").hidden = true;
    $("leave-dialog").hidden = true;
    showEnd(end);
    setState("ended");
    setView("ended");
    if (!end.sentence) confirmReasonLater();
  }

  function showEnd(end) {
    window.endReason = end.sentence ? end.reason : null;
    window.endMessage = end.sentence || "The visit has ended.";
    $("ended-title").textContent = end.title;
    $("end-reason").textContent = end.sentence;
  }

  async function confirmReasonLater() {
    for (let attempt = 0; attempt < 10 && !window.endReason; attempt++) {
      await sleep(STATUS_POLL_MS);
      try {
        const status = await api("GET", `/visitor/status?code=${encodeURIComponent(visit.code)}`);
        const end = status.ok ? endOf(status.data) : null;
        if (end && end.sentence) endVisit(end);
      } catch (_) {
        // Keep what is shown.
      }
    }
  }

  function askToLeave() {
    $("leave-dialog-text").textContent =
      `The visit goes on without you until ${clockTime(visit.grant.ends_at)}. ` +
      "You can join again from this page while it lasts.";
    $("leave-dialog").hidden = false;
    $("stay").focus();
  }

  function leave() {
    $("leave-dialog").hidden = true;
    if (visit.ended) return;
    visit.left = true;
    teardown();
    stopCamera();
    setConnection("");
    setState("left");
    setView("left");
    $("left-text").textContent = `The visit goes on without you until ${clockTime(visit.grant.ends_at)}.`;
  }

  async function rejoin() {
    if (visit.ended) return;
    try {
      await startCamera();
    } catch (error) {
      cameraProblem(error);
      return;
    }
    visit.left = false;
    visit.backoffAttempt = 0;
    setState("waiting");
    showWaiting("Joining the visit again…", "Connecting…");
    connectRoom();
  }

  // -- start --------------------------------------------------------------------------------------

  async function start() {
    setState("waiting");
    showWaiting("Getting your visit ready.", "Starting your camera…");
    if (!CODE_PATTERN.test(visit.code)) {
      showProblem(
        "This visit link is not complete",
        "Please open the whole link you were sent, or contact the facility that scheduled the visit.",
        null,
      );
      return;
    }
    try {
      await startCamera();
    } catch (error) {
      cameraProblem(error);
      return;
    }
    if (!visit.grant) {
      showWaiting("Checking your visit…", "Contacting the visit service…");
      const joined = await joinWhenOpen();
      if (!joined) return;
      visit.grant = joined.grant;
      visit.deadline = joined.arrived + joined.grant.seconds_left * 1000;
      const grant = visit.grant;
      showFacts(grant.visitors, grant.display, grant.ends_at, grant.recorded);
      $("self-tag").textContent = `You (${grant.display})`;
      tick();
      visit.timers.push(setInterval(tick, 250));
      visit.timers.push(setInterval(watchLink, LINK_PROBE_MS / 2));
      visit.timers.push(setInterval(shareReception, RECEPTION_MS));
      probeLink();
      pollStatus();
    }
    if (visit.ended) return;
    visit.left = false;
    showWaiting("Joining the visit…", "Connecting to the video service…");
    connectRoom();
  }

  function wireButtons() {
    $("leave").addEventListener("click", askToLeave);
    $("stay").addEventListener("click", () => ($("leave-dialog").hidden = true));
    $("confirm-leave").addEventListener("click", leave);
    $("rejoin").addEventListener("click", rejoin);
    $("sound").addEventListener("click", () => {
      for (const audio of document.querySelectorAll("#audio-sinks audio")) audio.play().catch(() => {});
      $("sound").hidden = true;
    });
  }

  wireButtons();
  if (typeof Janus === "undefined" || typeof adapter === "undefined") {
    showProblem(
      "This page could not load completely",
      "Please reload the page. If this keeps happening, contact the facility that scheduled the visit.",
      () => window.location.reload(),
    );
    return;
  }
  Janus.init({ debug: ["warn", "error"], dependencies: Janus.useDefaultDependencies(), callback: start });
})();
