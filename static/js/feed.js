// The live feed (docs/events.md): an EventSource on the organization's event stream.
// The server renders every item; this file only inserts them, pauses and resumes, and
// reconnects. After a drop the browser resends Last-Event-ID, so the server catches up.
(function () {
  "use strict";

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function start(panel) {
    if (panel.dataset.feedStarted) return;
    panel.dataset.feedStarted = "1";
    var list = panel.querySelector("[data-feed-list]");
    var status = panel.querySelector("[data-feed-status]");
    var toggle = panel.querySelector("[data-feed-toggle]");
    var waiting = panel.querySelector("[data-feed-waiting]");
    var empty = panel.querySelector("[data-feed-empty]");
    var maxItems = parseInt(panel.dataset.maxItems || "200", 10);
    var lastId = panel.dataset.after || "0-0";
    var paused = false;
    var buffered = [];
    var source = null;
    var retryTimer = null;

    function setStatus(text, state) {
      status.textContent = text;
      panel.dataset.feedState = state;
    }

    function insert(node) {
      list.insertBefore(node, list.firstChild);
      while (list.children.length > maxItems) list.removeChild(list.lastChild);
      if (empty) empty.hidden = true;
    }

    function showWaiting() {
      waiting.hidden = buffered.length === 0;
      waiting.textContent = buffered.length === 1
        ? "1 new event while paused." : buffered.length + " new events while paused.";
    }

    function receive(node) {
      if (!node) return;
      if (paused) {
        buffered.push(node);
        showWaiting();
      } else {
        insert(node);
      }
    }

    function connect() {
      // A fresh EventSource (first connection, or after the browser gave up) names where
      // to resume; the browser's own reconnects send Last-Event-ID instead.
      source = new EventSource(panel.dataset.streamUrl + "?after=" + encodeURIComponent(lastId));
      source.addEventListener("open", function () { setStatus("Live", "live"); });
      source.addEventListener("feed", function (event) {
        if (event.lastEventId) lastId = event.lastEventId;
        receive(fragment(event.data));
        document.dispatchEvent(new CustomEvent("pp:feed-event", { detail: event }));
      });
      source.addEventListener("gap", function (event) { receive(fragment(event.data)); });
      source.addEventListener("revoked", function (event) {
        source.close();
        setStatus(event.data, "revoked");
      });
      source.addEventListener("error", function () {
        if (panel.dataset.feedState === "revoked") return;
        setStatus("Reconnecting…", "reconnecting");
        if (source.readyState === EventSource.CLOSED && !retryTimer) {
          retryTimer = setTimeout(function () { retryTimer = null; connect(); }, 5000);
        }
      });
    }

    toggle.addEventListener("click", function () {
      paused = !paused;
      toggle.textContent = paused ? "Resume" : "Pause";
      toggle.setAttribute("aria-pressed", paused ? "true" : "false");
      if (!paused) {
        buffered.forEach(insert);
        buffered = [];
      }
      showWaiting();
    });

    window.addEventListener("pagehide", function () { if (source) source.close(); });
    connect();
  }

  function startAll() {
    document.querySelectorAll("[data-live-feed]").forEach(start);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
