/* Gradient traces: drag-and-drop upload with a progress bar, and live state polling.
 * No inline scripts (CSP): everything hooks onto data-* attributes.
 *   form[data-trace-upload]        uploads with XMLHttpRequest (upload progress), JSON back
 *   [data-trace-status-url]        polled every POLL_MS until terminal, then replaced by the
 *                                  server-rendered card (and, on the trace page, the report);
 *                                  a diagnosed card keeps polling until its plots are drawn,
 *                                  then the bot's answer / the report is fetched again
 */
(function () {
  "use strict";
  var POLL_MS = 1500;
  var MAX_POLL_MS = 10 * 60 * 1000; // stop polling a page left open for ten minutes

  function poll(card) {
    if (card.dataset.tracePolling) return;
    card.dataset.tracePolling = "1";
    var url = card.getAttribute("data-trace-status-url");
    var started = Date.now();
    // A card rendered diagnosed only waits for its plots; a pending one for the verdict first.
    var wasTerminal = /trace-state-(diagnosed|failed)/.test(card.className);
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          var label = card.querySelector("[data-trace-state]");
          if (label) label.textContent = data.state_label;
          card.className = card.className.replace(/trace-state-\w+/, "trace-state-" + data.state);
          if (data.terminal && !(data.plots_pending && wasTerminal)) {
            finish(card, data);
            return;
          }
          if (Date.now() - started < MAX_POLL_MS) setTimeout(tick, POLL_MS);
        })
        .catch(function () {
          if (Date.now() - started < MAX_POLL_MS) setTimeout(tick, POLL_MS * 2);
        });
    }
    setTimeout(tick, POLL_MS);
  }

  function fragment(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content;
  }

  function finish(card, data) {
    var container = card.closest("[data-trace-swap-main]");
    if (container && data.state === "diagnosed") {
      swapMain();
      return;
    }
    var replacement = fragment(data.html).firstElementChild;
    card.replaceWith(replacement);
    init(replacement);
    var link = replacement.querySelector("[data-trace-answer]");
    if (link) insertAnswer(link.getAttribute("data-trace-answer"), !data.plots_pending);
  }

  function fetchPage() {
    return fetch(location.pathname + location.search, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (text) { return new DOMParser().parseFromString(text, "text/html"); });
  }

  /* The trace page: the full report arrives with the new page; swap the main content. */
  function swapMain() {
    fetchPage().then(function (doc) {
      var fresh = doc.getElementById("main");
      var main = document.getElementById("main");
      if (fresh && main) {
        main.innerHTML = fresh.innerHTML;
        init(main);
        if (window.gradhubCopyButtons) window.gradhubCopyButtons(main);
      }
    });
  }

  /* The question page: bring Gradient Doctor's answer in (or its edit with the plots). */
  function insertAnswer(id, refresh) {
    if (document.getElementById(id) && !refresh) return;
    fetchPage().then(function (doc) {
      var answer = doc.getElementById(id);
      if (!answer) return;
      var current = document.getElementById(id);
      if (current) {
        var fresh = document.importNode(answer, true);
        current.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
        return;
      }
      var parent = answer.parentElement;
      var target = parent && parent.id ? document.getElementById(parent.id) : null;
      if (!target && parent && parent.className) {
        target = document.querySelector("." + parent.className.trim().split(/\s+/).join("."));
      }
      if (!target) return;
      var node;
      if (!target.querySelector("[id^='answer-']")) {
        // No answers shown yet (an empty state, a "0 Answers" heading): take the new section.
        node = document.importNode(parent, true);
        target.replaceWith(node);
      } else {
        node = document.importNode(answer, true);
        target.appendChild(node);
      }
      if (window.htmx) window.htmx.process(node); // the forum's vote and comment buttons
    });
  }

  function setupUpload(form) {
    if (form.dataset.traceReady) return;
    form.dataset.traceReady = "1";
    var input = form.querySelector("[data-trace-file]");
    var drop = form.querySelector("[data-trace-drop]");
    var bar = form.querySelector("[data-trace-progress]");
    var error = form.querySelector("[data-trace-error]");

    function showError(message) {
      error.textContent = message;
      error.hidden = false;
      bar.hidden = true;
      form.classList.remove("is-uploading");
    }

    function send(file) {
      if (!file) return;
      error.hidden = true;
      bar.hidden = false;
      bar.value = 0;
      form.classList.add("is-uploading");
      var body = new FormData(form);
      body.set("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status !== 200 || !data || !data.html) {
          showError((data && data.error) || "The upload failed (HTTP " + xhr.status + ").");
          return;
        }
        bar.value = 100;
        form.classList.remove("is-uploading");
        bar.hidden = true;
        input.value = "";
        var list = document.querySelector("[data-trace-cards]");
        var existing = document.getElementById("trace-" + data.id);
        var card = fragment(data.html).firstElementChild;
        var oldCard = form.closest(".trace-card");
        if (existing) existing.replaceWith(card);
        else if (oldCard) oldCard.replaceWith(card);
        else if (list) list.appendChild(card);
        else form.parentElement.insertBefore(card, form);
        init(card.parentElement || document);
      });
      xhr.addEventListener("error", function () { showError("The upload failed: network error."); });
      xhr.send(body);
    }

    input.addEventListener("change", function () { send(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (e) {
        e.preventDefault();
        drop.classList.add("is-dragover");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function (e) {
        e.preventDefault();
        drop.classList.remove("is-dragover");
      });
    });
    drop.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) send(e.dataTransfer.files[0]);
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send(input.files[0]);
    });
  }

  function init(root) {
    root = root || document;
    var scope = root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("[data-trace-status-url]")) poll(scope);
    scope.querySelectorAll("[data-trace-status-url]").forEach(poll);
    scope.querySelectorAll("form[data-trace-upload]").forEach(setupUpload);
  }

  // The asker's upload form can arrive with the forum's member layer (forum.js).
  document.addEventListener("gradhub:layer", function () {
    document.querySelectorAll("form[data-trace-upload]").forEach(setupUpload);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
